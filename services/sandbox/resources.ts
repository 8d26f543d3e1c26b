import { BUILTIN_RESOURCES, type ResourceType } from '../apiserver/index.js';

/**
 * The resource table of a member (sandbox) cluster: exactly what a Kubernetes 1.32 API server
 * serves. Manifests in versions 1.32 no longer serves (the 2016 `extensions/v1beta1` ones) are
 * converted by the deployer before they are applied, as they must be for a real cluster.
 */

/** Served by every sandbox cluster. */
export const MEMBER_RESOURCES: readonly ResourceType[] = BUILTIN_RESOURCES;

export function memberType(kind: string): ResourceType {
  const t = MEMBER_RESOURCES.find((r) => r.kind === kind);
  if (!t) throw new Error(`sandbox: no member resource type ${kind}`);
  return t;
}

export { podStatusReason } from '../apiserver/index.js';
