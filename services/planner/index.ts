/**
 * The replica planner: Federation v1's distribution of replicas over clusters, bit for bit,
 * plus the preferences annotation parser/validator and the current/capacity estimation.
 * Pure code, no I/O. See docs/planner.md.
 */
export { plan } from './plan.js';
export { decodePlanRequests, type PlanRequests } from './requests.js';
export {
  REPLICA_SET_PREFERENCES_ANNOTATION,
  DEPLOYMENT_PREFERENCES_ANNOTATION,
  JOB_PREFERENCES_ANNOTATION,
  PREFERENCE_ANNOTATIONS,
  defaultPreferences,
  type ClusterPreferences,
  type ReplicaPreferences,
  type PlanInput,
  type PlanResult,
} from './types.js';
export { clusterHash, fnv32 } from './hash.js';
export {
  parsePreferences,
  validatePreferences,
  validatePreferenceAnnotations,
  type FieldError,
} from './preferences.js';
export {
  replicaState,
  analysePods,
  selectorMatches,
  UNSCHEDULABLE_THRESHOLD_MS,
  type ClusterWorkload,
  type ReplicaState,
} from './replica-state.js';
