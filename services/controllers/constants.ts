/** Labels, annotations, finalizers and condition types kitfed's controllers use (docs/federation.md). */
export const MANAGED_BY_LABEL = 'kitfed.io/managed-by';
export const MANAGED_BY_VALUE = 'kitfed';
/** On member objects: the uid of the federated object they were made from. */
export const ORIGIN_UID_ANNOTATION = 'kitfed.io/origin-uid';
/** On federated objects: "true" lets kitfed take over a member object it did not create. */
export const ADOPT_ANNOTATION = 'kitfed.io/adopt';
/** On federated objects: the controller's conditions as JSON (kinds without a status of their own). */
export const CONDITIONS_ANNOTATION = 'kitfed.io/conditions';
export const CLUSTER_SELECTOR_ANNOTATION = 'federation.alpha.kubernetes.io/cluster-selector';
export const FEDERATION_FINALIZER = 'kitfed.io/federation';
export const ORPHAN_FINALIZER = 'orphan';
/** On the federation's records of a workload's revisions (ReplicaSets, ControllerRevisions; never propagated). */
export const REVISION_RECORD_LABEL = 'kitfed.io/revision-record';
/** Annotation prefix never copied to members (kitfed's own bookkeeping). */
export const KITFED_PREFIX = 'kitfed.io/';

/** Namespaces whose content is never propagated, and namespaces never propagated themselves. */
export const FEDERATION_ONLY_NAMESPACES = new Set(['kitfed-system', 'kube-system', 'kube-public', 'kube-node-lease']);
export const UNSYNCED_NAMESPACE_OBJECTS = new Set(['default', ...FEDERATION_ONLY_NAMESPACES]);

/** Event reasons (greppable; each documented in docs/federation.md). */
export const Reasons = {
  CreateInCluster: 'CreateInCluster',
  UpdateInCluster: 'UpdateInCluster',
  DeleteInCluster: 'DeleteInCluster',
  OrphanInCluster: 'OrphanInCluster',
  CreateInClusterFailed: 'CreateInClusterFailed',
  UpdateInClusterFailed: 'UpdateInClusterFailed',
  DeleteInClusterFailed: 'DeleteInClusterFailed',
  OrphanInClusterFailed: 'OrphanInClusterFailed',
  NotOwned: 'NotOwned',
  Adopted: 'Adopted',
  ClusterSelectorInvalid: 'ClusterSelectorInvalid',
  CleanupDeferred: 'CleanupDeferred',
  DeferredCleanupDone: 'DeferredCleanupDone',
  NamespaceKept: 'NamespaceKept',
  ClusterReady: 'ClusterReady',
  ClusterNotReady: 'ClusterNotReady',
  ClusterNotReachable: 'ClusterNotReachable',
} as const;
