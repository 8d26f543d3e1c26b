import { AUTH_RESOURCES } from '../auth/resources.js';
import type { ResourceType } from '../resources.js';
import { APIEXTENSIONS } from './apiextensions.js';
import { CLUSTER } from './cluster.js';
import { CORE } from './core.js';
import { CLUSTER_KIND, OVERRIDE_KIND } from './kitfed.js';
import { WORKLOADS } from './workloads.js';

/**
 * The resource tables: what a stock Kubernetes 1.32 API server serves (`BUILTIN_RESOURCES`,
 * a sandbox member cluster's table) and what the federation serves (`RESOURCES`: the same,
 * plus kitfed's `clusters` and `overrides`, plus the `extensions/v1beta1` versions of the 2016 walkthrough).
 */

/** Every built-in resource of Kubernetes 1.32 this package defines, in discovery order. */
export const BUILTIN_RESOURCES: readonly ResourceType[] = [
  ...CORE,
  ...WORKLOADS,
  ...CLUSTER,
  ...APIEXTENSIONS,
  ...AUTH_RESOURCES,
];

/** Kinds that Kubernetes before 1.16 also served as `extensions/v1beta1` (the seed walkthrough's manifests). */
const EXTENSIONS_V1BETA1 = new Set(['Deployment', 'ReplicaSet', 'DaemonSet', 'Ingress']);

/** `types` with `extensions/v1beta1` served for Deployments, ReplicaSets, DaemonSets and Ingresses. */
export function withExtensionsV1beta1(types: readonly ResourceType[]): ResourceType[] {
  return types.map((t) =>
    EXTENSIONS_V1BETA1.has(t.kind) && (t.group === 'apps' || t.group === 'networking.k8s.io')
      ? { ...t, aliases: [...(t.aliases ?? []), { group: 'extensions', version: 'v1beta1' }] }
      : t,
  );
}

/** The federation API's table. */
export const RESOURCES: readonly ResourceType[] = [
  ...withExtensionsV1beta1(BUILTIN_RESOURCES),
  CLUSTER_KIND,
  OVERRIDE_KIND,
];

export { CLUSTER_KIND };
