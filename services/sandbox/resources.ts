import { BUILTIN_RESOURCES, withExtensionsV1beta1 } from '../apiserver/builtin/index.js';
import type { ResourceType } from '../apiserver/resources.js';

/**
 * The resource table of a member (sandbox) cluster: what a Kubernetes 1.32 API server
 * serves. Until the deployer converts old API versions on apply, members still accept
 * `extensions/v1beta1` for the kinds the 2016 manifests use.
 */

/** Served by every sandbox cluster. */
export const MEMBER_RESOURCES: readonly ResourceType[] = withExtensionsV1beta1(BUILTIN_RESOURCES);

export function memberType(kind: string): ResourceType {
  const t = MEMBER_RESOURCES.find((r) => r.kind === kind);
  if (!t) throw new Error(`sandbox: no member resource type ${kind}`);
  return t;
}

export { podStatusReason } from '../apiserver/builtin/core.js';
