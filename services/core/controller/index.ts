/** Controller machinery shared by every kitfed controller (controller-runtime's ideas in TypeScript). */
export { Informer, keyOf, splitKey, dropManagedFields, type InformerOptions } from './informer.js';
export { WorkQueue, type WorkQueueOptions } from './workqueue.js';
export {
  runController,
  TerminalError,
  type ControllerOptions,
  type ReconcileResult,
  type RunningController,
} from './controller.js';
export { LeaderElector, type LeaderElectorOptions } from './leader.js';
export {
  MemberClusters,
  isClusterReady,
  memberClient,
  FEDERATION_NAMESPACE,
  CLUSTER_API_VERSION,
  type ClusterObject,
  type ClusterCondition,
  type ReadyChange,
  type MemberClustersOptions,
} from './members.js';
export { ControllerMetrics } from './metrics.js';
