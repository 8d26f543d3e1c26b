import { get, type ResourceType } from '../resources.js';
import { col, conditionStatus, list } from './columns.js';

/** kitfed's own kind: a member cluster registered with the federation. */
export const CLUSTER_KIND: ResourceType = {
  group: 'federation.kitfed.io',
  version: 'v1beta1',
  kind: 'Cluster',
  plural: 'clusters',
  singular: 'cluster',
  namespaced: false,
  // `proxy`: the member's API through the federation (services/apiserver/cluster-proxy.ts).
  subresources: ['status', 'proxy'],
  hasStatus: true,
  columns: [
    col('Ready', (o) => conditionStatus(o, 'Ready')),
    col('Region', (o) => get(o, 'status.region') ?? ''),
    col('Zones', (o) => list<string>(o, 'status.zones').join(',')),
  ],
};

/** Per-cluster overrides of federated objects (docs/federation.md "Overrides"). */
export const OVERRIDE_KIND: ResourceType = {
  group: 'federation.kitfed.io',
  version: 'v1beta1',
  kind: 'Override',
  plural: 'overrides',
  singular: 'override',
  namespaced: true,
  columns: [
    col('Targets', (o) =>
      list<Record<string, unknown>>(o, 'spec.resourceSelectors')
        .map((t) => `${String(t.kind ?? '')}/${String(t.name ?? '*')}`)
        .join(','),
    ),
    col('Rules', (o) => list(o, 'spec.rules').length, 'integer'),
  ],
};
