/**
 * Replica scheduling for a federated ReplicaSet/Deployment (reference §1.5–1.6): preferences,
 * current/capacity from the members, the planner, and what each member is asked to run.
 * Pure code.
 */
import { isObject, objectKey, type KubeObject } from '../../core/kube.js';
import {
  DEPLOYMENT_PREFERENCES_ANNOTATION,
  REPLICA_SET_PREFERENCES_ANNOTATION,
  parsePreferences,
  plan,
  replicaState,
  type ReplicaPreferences,
} from '../../planner/index.js';

export type WorkloadKind = 'ReplicaSet' | 'Deployment';

/** What the controller knows of one Ready, selected member cluster. */
export interface MemberState {
  /** The member's object of the same name, if any (only kitfed's own copies are used for planning). */
  object?: KubeObject | undefined;
  /** Pods in the object's namespace (filtered by the object's selector here). */
  pods?: readonly KubeObject[] | undefined;
}

export interface Schedule {
  /** `namespace/name`: the planner's tie-break key. */
  key: string;
  preferences: ReplicaPreferences;
  totalReplicas: number;
  /** The planner's plan: every selected Ready cluster, 0 included. */
  plan: Record<string, number>;
  /** Replicas wanted beyond a capacity-limited cluster's estimated capacity. */
  overflow: Record<string, number>;
  /** What each member object is asked to run: plan + overflow (v1 §1.5). */
  replicas: Record<string, number>;
  /** Replicas of `totalReplicas` the plan could not place anywhere (max, weights, capacity). */
  unplaced: number;
  current: Record<string, number>;
  estimatedCapacity: Record<string, number>;
  /** Re-plan at this time (ms since epoch): a pod is about to count as unschedulable. */
  recheckAt?: number;
}

export function preferencesAnnotation(kind: WorkloadKind): string {
  return kind === 'Deployment' ? DEPLOYMENT_PREFERENCES_ANNOTATION : REPLICA_SET_PREFERENCES_ANNOTATION;
}

export function workloadKind(obj: KubeObject): WorkloadKind {
  if (obj.kind !== 'ReplicaSet' && obj.kind !== 'Deployment') throw new TypeError(`not a ReplicaSet or Deployment: ${obj.kind}`);
  return obj.kind;
}

/** `spec.replicas` with the API default of 1. */
export function specReplicas(obj: KubeObject): number {
  const r = isObject(obj.spec) ? obj.spec.replicas : undefined;
  return typeof r === 'number' ? r : 1;
}

/**
 * Plans `federated` over `clusters` (Ready and selected). `members` holds, per cluster, kitfed's
 * own copy of the object (absent if none) and the member's pods. Throws the planner's 400
 * KitfedError for preferences it cannot decode.
 */
export function schedule(federated: KubeObject, clusters: readonly string[], members: Readonly<Record<string, MemberState>>, now: number = Date.now()): Schedule {
  const kind = workloadKind(federated);
  const key = objectKey(federated);
  const preferences = parsePreferences(federated.metadata.annotations?.[preferencesAnnotation(kind)]);
  const totalReplicas = specReplicas(federated);
  const state = replicaState(
    clusters.map((cluster) => ({ cluster, object: members[cluster]?.object ?? null, pods: members[cluster]?.pods ?? [] })),
    now,
  );
  const result = plan({ preferences, totalReplicas, clusters, currentReplicas: state.current, estimatedCapacity: state.estimatedCapacity, key });
  const replicas: Record<string, number> = {};
  let placed = 0;
  for (const c of [...clusters].sort()) {
    const p = result.plan[c] ?? 0;
    placed += p;
    replicas[c] = p + (result.overflow[c] ?? 0);
  }
  const out: Schedule = {
    key,
    preferences,
    totalReplicas,
    plan: sortedRecord(result.plan),
    overflow: sortedRecord(result.overflow),
    replicas,
    unplaced: Math.max(0, totalReplicas - placed),
    current: state.current,
    estimatedCapacity: state.estimatedCapacity,
  };
  if (state.recheckAt !== undefined) out.recheckAt = state.recheckAt;
  return out;
}

export function sortedRecord(r: Readonly<Record<string, number>>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of Object.keys(r).sort()) out[k] = r[k]!;
  return out;
}
