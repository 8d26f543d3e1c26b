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
import { isPodReady, isPodUnschedulable, stuckContainer } from '../../core/pods.js';
import { recordedPlan } from './status.js';

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
  if (obj.kind !== 'ReplicaSet' && obj.kind !== 'Deployment')
    throw new TypeError(`not a ReplicaSet or Deployment: ${obj.kind}`);
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
export function schedule(
  federated: KubeObject,
  clusters: readonly string[],
  members: Readonly<Record<string, MemberState>>,
  now: number = Date.now(),
): Schedule {
  const kind = workloadKind(federated);
  const key = objectKey(federated);
  const preferences = parsePreferences(federated.metadata.annotations?.[preferencesAnnotation(kind)]);
  const totalReplicas = specReplicas(federated);
  const state = replicaState(
    clusters.map((cluster) => ({
      cluster,
      object: members[cluster]?.object ?? null,
      pods: members[cluster]?.pods ?? [],
    })),
    now,
  );
  // A rollout in progress keeps its placement (docs/federation.md, differences §5):
  // - ready pods beyond the copy's spec.replicas (a rolling update's surge) are not placed
  //   replicas: v1 counted them and moved replicas towards the cluster mid-update (4/3 → 5/2 → 6/1);
  // - replicas still starting count as current, up to what kitfed last asked the cluster for (a
  //   hand scale-up of a member is drift to revert, not a placement to keep).
  const asked = recordedPlan(federated);
  for (const cluster of clusters) {
    const object = members[cluster]?.object;
    if (object && (state.current[cluster] ?? 0) > specReplicas(object)) state.current[cluster] = specReplicas(object);
    if (!object || !asked || state.estimatedCapacity[cluster] !== undefined) continue;
    const s = startingReplicas(object, members[cluster]?.pods ?? [], now);
    if (s.starting === 0) continue;
    const limit = Math.min(specReplicas(object), (asked.plan[cluster] ?? 0) + (asked.overflow[cluster] ?? 0));
    const current = state.current[cluster] ?? 0;
    if (current >= limit) continue;
    state.current[cluster] = Math.min(limit, current + s.starting);
    if (s.recheckAt !== undefined) state.recheckAt = Math.min(state.recheckAt ?? Infinity, s.recheckAt);
  }
  const result = plan({
    preferences,
    totalReplicas,
    clusters,
    currentReplicas: state.current,
    estimatedCapacity: state.estimatedCapacity,
    key,
  });
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

/** How long replicas a member is still starting count as current before they must be ready. */
export const STARTING_GRACE_MS = 60_000;

/** Will not become ready by itself: failed, unschedulable, or a container stuck waiting. */
function stuckPod(p: KubeObject): boolean {
  return (
    (isObject(p.status) && p.status.phase === 'Failed') || isPodUnschedulable(p) || stuckContainer(p) !== undefined
  );
}

/** When kitfed last wrote the member object: its creation or kitfed's newest managedFields entry (not the member's status writes). */
function lastWritten(object: KubeObject): number {
  const mine = (object.metadata.managedFields ?? []).filter((f) => f.manager === 'kitfed' && !f.subresource);
  const times = [object.metadata.creationTimestamp, ...mine.map((f) => f.time)].map((t) => Date.parse(t ?? ''));
  return Math.max(...times.filter((t) => !Number.isNaN(t)), -Infinity);
}

/**
 * Replicas `object`'s member is still starting, which kitfed counts as current (sticky under
 * `rebalance: false`, up to what kitfed last asked that member for) on top of v1's running-and-ready pods: pods not ready yet but younger than
 * STARTING_GRACE_MS, and, within that long after kitfed created or resized the copy, pods the member
 * has not created yet. v1 counted ready pods only, so a fresh or resized workload becoming ready at
 * different speeds in different clusters was re-planned mid-rollout (3/3/3 → 2/3/4 → 3/3/3: pods
 * created and killed for nothing). Any stuck pod (unschedulable, an image that does not pull, a crash
 * loop, failed) or a pod not ready after the grace turns this off for the cluster: v1's rules apply.
 * `recheckAt`: when the count changes by itself (a grace ends).
 */
export function startingReplicas(
  object: KubeObject,
  pods: readonly KubeObject[],
  now: number,
): { starting: number; recheckAt?: number } {
  const want = specReplicas(object);
  let existing = 0;
  let starting = 0;
  let recheckAt = Infinity;
  for (const p of pods) {
    if (p.metadata.deletionTimestamp) continue;
    existing++;
    if (isPodReady(p)) continue;
    const born = Date.parse(p.metadata.creationTimestamp ?? '');
    if (stuckPod(p) || Number.isNaN(born) || born + STARTING_GRACE_MS <= now) return { starting: 0 };
    starting++;
    recheckAt = Math.min(recheckAt, born + STARTING_GRACE_MS);
  }
  const written = lastWritten(object);
  if (existing < want && written + STARTING_GRACE_MS > now) {
    starting += want - existing;
    recheckAt = Math.min(recheckAt, written + STARTING_GRACE_MS);
  }
  return recheckAt === Infinity ? { starting } : { starting, recheckAt };
}

export function sortedRecord(r: Readonly<Record<string, number>>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of Object.keys(r).sort()) out[k] = r[k]!;
  return out;
}
