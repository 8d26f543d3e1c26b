/**
 * kitfed's Cluster (`clusters.federation.kitfed.io`) as every part reads it: its shape, its
 * readiness, and where the federation serves the member's API (`clusters/NAME/proxy`). No
 * imports beyond types, so the CLI's light commands can take it.
 */
import type { KubeObject } from './kube.js';

export const FEDERATION_NAMESPACE = 'kitfed-system';
export const CLUSTER_API_VERSION = 'federation.kitfed.io/v1beta1';

export interface ClusterCondition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason?: string;
  message?: string;
  lastProbeTime?: string;
  lastTransitionTime?: string;
}

export type ClusterObject = KubeObject & {
  spec?: {
    serverAddressByClientCIDRs?: Array<{ clientCIDR?: string; serverAddress: string }>;
    secretRef?: { name: string };
  };
  status?: { conditions?: ClusterCondition[]; zones?: string[]; region?: string };
};

export function isClusterReady(c: ClusterObject): boolean {
  return (c.status?.conditions ?? []).some((x) => x.type === 'Ready' && x.status === 'True');
}

/** The path under which the federation API serves member `cluster`'s API (docs/federation.md, "Clusters"). */
export function clusterProxyPath(cluster: string): string {
  return `/apis/${CLUSTER_API_VERSION}/clusters/${encodeURIComponent(cluster)}/proxy`;
}
