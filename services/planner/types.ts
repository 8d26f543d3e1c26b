/** Annotation carrying replica preferences on a federated ReplicaSet (Federation v1). */
export const REPLICA_SET_PREFERENCES_ANNOTATION = 'federation.kubernetes.io/replica-set-preferences';
/** Annotation carrying replica preferences on a federated Deployment (Federation v1). */
export const DEPLOYMENT_PREFERENCES_ANNOTATION = 'federation.kubernetes.io/deployment-preferences';
/** Annotation carrying parallelism/completions preferences on a federated Job (Federation v1). */
export const JOB_PREFERENCES_ANNOTATION = 'federation.kubernetes.io/job-preferences';
/** Every annotation whose value is a replica-preferences document. */
export const PREFERENCE_ANNOTATIONS: readonly string[] = [
  REPLICA_SET_PREFERENCES_ANNOTATION,
  DEPLOYMENT_PREFERENCES_ANNOTATION,
  JOB_PREFERENCES_ANNOTATION,
];

/** Per-cluster preferences. Absent fields take the v1 defaults: min 0, max unbounded, weight 0. */
export interface ClusterPreferences {
  minReplicas?: number;
  /** `null` or absent: unbounded. */
  maxReplicas?: number | null;
  weight?: number;
}

/** The decoded annotation: `clusters` is keyed by exact cluster name, `"*"` applies to the rest. */
export interface ReplicaPreferences {
  rebalance?: boolean;
  clusters: Record<string, ClusterPreferences>;
}

export interface PlanInput {
  preferences: ReplicaPreferences;
  totalReplicas: number;
  /** Ready clusters selected for the object; order does not matter. */
  clusters: readonly string[];
  /** Running-and-ready replicas per cluster (only used when rebalance is false). */
  currentReplicas?: Readonly<Record<string, number>>;
  /** Known capacity per cluster; an absent entry means unlimited. */
  estimatedCapacity?: Readonly<Record<string, number>>;
  /** Tie-break key, `namespace/name` of the federated object (`""` in the upstream unit tests). */
  key: string;
}

export interface PlanResult {
  /** Replicas per available cluster: every cluster of the input appears, and no other. */
  plan: Record<string, number>;
  /** Replicas wanted beyond a cluster's estimated capacity (only clusters with a positive value). */
  overflow: Record<string, number>;
}

/** `{"rebalance":false,"clusters":{"*":{"weight":1}}}`: what an object without the annotation gets. */
export function defaultPreferences(): ReplicaPreferences {
  return { rebalance: false, clusters: { '*': { minReplicas: 0, maxReplicas: null, weight: 1 } } };
}

/** Sets `obj[key]` as an own data property, even for keys such as `__proto__`. */
export function setOwn<T>(obj: Record<string, T>, key: string, value: T): void {
  if (key === '__proto__')
    Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
  else obj[key] = value;
}

/** `obj[key]` when it is an own property (never something inherited from Object.prototype). */
export function getOwn<T>(obj: Readonly<Record<string, T>> | undefined | null, key: string): T | undefined {
  return obj != null && Object.hasOwn(obj, key) ? obj[key] : undefined;
}
