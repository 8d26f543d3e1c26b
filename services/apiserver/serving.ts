import { convertObject } from '../core/conversion.js';
import type { KubeObject } from '../core/kube.js';
import type { ResourceType } from './resources.js';
import type { CachedObject } from './watch-cache.js';

/** The stored object as a client of `group/version` sees it (core/conversion, as the deployer uses). */
export function convertForServing(obj: KubeObject, t: ResourceType, group: string, version: string): KubeObject {
  if (t.custom) {
    // Conversion strategy None: every version is the same object under its own apiVersion.
    const apiVersion = `${group}/${version}`;
    return obj.apiVersion === apiVersion ? obj : { ...obj, apiVersion };
  }
  if (group === t.group && version === t.version) return obj;
  return convertObject(obj, { group, version });
}

/** A request body in a served version, as stored (the type's storage version). */
export function convertForStorage(obj: KubeObject, t: ResourceType): KubeObject {
  if (t.custom) {
    const apiVersion = `${t.group}/${t.custom.storageVersion}`;
    return obj.apiVersion === apiVersion ? obj : { ...obj, apiVersion };
  }
  return convertObject(obj, { group: t.group, version: t.version });
}

/**
 * The cached object as a client of `group/version` sees it, as JSON text. Computed once per
 * object revision and served version, then shared by every GET, LIST and watch event that
 * returns it: serializing dominated the cost of reads and of watch fan-out.
 */
export function servedJson(entry: CachedObject, t: ResourceType, group: string, version: string): string {
  const forms = (entry.served ??= []);
  for (const f of forms) if (f.tag === t && f.version === version && f.group === group) return f.json;
  const json = JSON.stringify(convertForServing(entry.object, t, group, version));
  // A few forms at most (kinds served under several group/versions); a changed type replaces them.
  if (forms.length >= 4) forms.length = 0;
  forms.push({ tag: t, group, version, json });
  return json;
}

/** A list response assembled from served JSON texts (no re-serialization of the items). */
export function listJson(apiVersion: string, kind: string, metadata: object, items: readonly string[]): string {
  return `{"apiVersion":${JSON.stringify(apiVersion)},"kind":${JSON.stringify(kind)},"metadata":${JSON.stringify(metadata)},"items":[${items.join(',')}]}`;
}
