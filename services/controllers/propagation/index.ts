/**
 * The propagation engine (docs/federation.md): engine.ts (the controller), plan.ts (one pass as
 * pure code), kinds.ts (per-kind rules), plus the catalog of kinds, overrides, dependencies and
 * replica scheduling they use.
 */
export {
  DEFAULT_EXCLUSIONS,
  exclusionList,
  parseExclusion,
  kindFromCrd,
  discoverKinds,
  federationOnly,
  type ExclusionRule,
  type KindInfo,
  type ScaleSpec,
} from './catalog.js';
export {
  FIELD_MANAGER,
  APPLIED_HASH_ANNOTATION,
  REPLICA_PREFERENCES_ANNOTATION,
  memberTemplate,
  isSubset,
} from './kinds.js';
export {
  OVERRIDE_API_VERSION,
  OVERRIDE_KIND,
  validateOverride,
  targets as overrideTargets,
  orderOverrides,
  applyOverrides,
  diffObjects,
  type OverrideObject,
  type FieldChange,
} from './overrides.js';
export {
  plan,
  desiredFor,
  effectiveObject,
  recordedStatus,
  isManaged,
  originUid,
  STATUS_ANNOTATION,
  type Plan,
  type PlanInput,
  type ClusterView,
  type MemberView,
  type ClusterStatus,
  type PropagationStatus,
  type SyncState,
  type Write,
} from './plan.js';
export { recordedPlan, ownedPods, SCHEDULED_CONDITION, PROPAGATED_CONDITION } from './scale.js';
export { dependenciesOf } from './dependencies.js';
export { PropagationEngine, startPropagation, type PropagationOptions } from './engine.js';
