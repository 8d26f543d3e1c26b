import type { KubeObject } from '../core/kube.js';
import { toServedVersion } from './conversion.js';
import type { ResourceType } from './resources.js';

/** The object as a client of `group/version` sees it. */
export function convertForServing(obj: KubeObject, t: ResourceType, group: string, version: string): KubeObject {
  return toServedVersion(obj, t, group, version);
}
