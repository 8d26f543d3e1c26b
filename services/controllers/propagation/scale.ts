/**
 * Replicas of any scalable kind (a `scale` subresource: ReplicaSets, Deployments, StatefulSets,
 * custom resources declaring one): preferences, current/capacity from the members (reference
 * §1.5–1.6), the v1 planner, and the aggregated status written back (replica counters, member
 * conditions, `Scheduled`, `Propagated`, observedGeneration). The same aggregation of counters
 * serves DaemonSets (scheduled and ready pods) and Jobs (pods, and completion once every copy has
 * completed). Pure code.
 */
import isEqual from 'lodash/isEqual.js';
import { isObject, objectKey, type Condition, type KubeObject } from '../../core/kube.js';
import { isPodReady, isPodUnschedulable, stuckContainer } from '../../core/pods.js';
import { parsePreferences, plan, replicaState, type ReplicaPreferences } from '../../planner/index.js';
import type { KindInfo } from './catalog.js';
import { FIELD_MANAGER, getPath, memberTimes, POD_OWNING_KINDS, preferencesAnnotation, specReplicas } from './kinds.js';

type Obj = Record<string, unknown>;

/** Condition carrying the current plan: `message` is JSON `{"plan":{…},"overflow":{…},"unplaced":n}`. */
export const SCHEDULED_CONDITION = 'Scheduled';
/** Condition saying whether every member object matches the federated object. */
export const PROPAGATED_CONDITION = 'Propagated';

/** What the engine knows of one Ready, selected member for planning. */
export interface ReplicaMember {
  /** kitfed's copy (or, with adoption, the member's same-named object). */
  object?: KubeObject | undefined;
  /** Pods in the object's namespace (pod-owning kinds only). */
  pods?: readonly KubeObject[] | undefined;
}

export interface Schedule {
  key: string;
  preferences: ReplicaPreferences;
  totalReplicas: number;
  /** The planner's plan: every selected Ready cluster, 0 included. */
  plan: Record<string, number>;
  overflow: Record<string, number>;
  /** What each member copy is asked to run: plan + overflow (v1 §1.5). */
  replicas: Record<string, number>;
  unplaced: number;
  current: Record<string, number>;
  estimatedCapacity: Record<string, number>;
  recheckAt?: number;
}

const num = (v: unknown, d = 0): number => (typeof v === 'number' ? v : d);

/** The member object as the planner reads it: `spec.replicas`, `spec.selector`, `status.readyReplicas`. */
function plannerView(kind: KindInfo, obj: KubeObject): KubeObject {
  if (kind.scale?.specReplicasPath === '.spec.replicas' && POD_OWNING_KINDS.has(kind.id)) return obj;
  const status = isObject(obj.status) ? obj.status : {};
  const ready =
    typeof status.readyReplicas === 'number' ? status.readyReplicas : getPath(obj, kind.scale!.statusReplicasPath);
  return {
    ...obj,
    spec: {
      replicas: specReplicas(kind, obj),
      selector: getPath(obj, kind.scale?.labelSelectorPath ?? '.spec.selector'),
    },
    status: { readyReplicas: num(ready) },
  };
}

/**
 * Plans `federated` over `clusters` (Ready and selected). `asked`: what kitfed last asked each
 * cluster for (from the recorded status). Throws the planner's 400 for undecodable preferences.
 */
export function schedule(
  kind: KindInfo,
  federated: KubeObject,
  clusters: readonly string[],
  members: Readonly<Record<string, ReplicaMember>>,
  asked: Readonly<Record<string, number>> | undefined,
  now: number,
): Schedule {
  const key = objectKey(federated);
  const preferences = parsePreferences(federated.metadata.annotations?.[preferencesAnnotation(kind)]);
  const totalReplicas = specReplicas(kind, federated);
  const podBased = POD_OWNING_KINDS.has(kind.id);
  const state = replicaState(
    clusters.map((cluster) => {
      const o = members[cluster]?.object;
      return { cluster, object: o ? plannerView(kind, o) : null, pods: podBased ? (members[cluster]?.pods ?? []) : [] };
    }),
    now,
  );
  // A rollout in progress keeps its placement (docs/federation.md, differences from v1 §5).
  for (const cluster of clusters) {
    const object = members[cluster]?.object;
    if (!object) continue;
    const own = specReplicas(kind, object);
    if ((state.current[cluster] ?? 0) > own) state.current[cluster] = own;
    if (!podBased || !asked || state.estimatedCapacity[cluster] !== undefined) continue;
    const s = startingReplicas(kind, object, members[cluster]?.pods ?? [], now);
    if (s.starting === 0) continue;
    const limit = Math.min(own, asked[cluster] ?? 0);
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

function stuckPod(p: KubeObject): boolean {
  return (
    (isObject(p.status) && p.status.phase === 'Failed') || isPodUnschedulable(p) || stuckContainer(p) !== undefined
  );
}

/** When kitfed last wrote the member object: its creation or kitfed's newest managedFields entry. */
function lastWritten(object: KubeObject): number {
  const mine = (object.metadata.managedFields ?? []).filter((f) => f.manager === FIELD_MANAGER && !f.subresource);
  const times = [object.metadata.creationTimestamp, ...mine.map((f) => f.time)].map((t) => Date.parse(t ?? ''));
  return Math.max(...times.filter((t) => !Number.isNaN(t)), -Infinity);
}

/**
 * Replicas a member is still starting, counted as current on top of v1's running-and-ready
 * pods (up to what kitfed last asked for): pods not ready yet but younger than
 * STARTING_GRACE_MS, and, within that long after kitfed wrote the copy, pods not created yet.
 * A stuck pod or one not ready after the grace turns this off for the cluster.
 */
export function startingReplicas(
  kind: KindInfo,
  object: KubeObject,
  pods: readonly KubeObject[],
  now: number,
): { starting: number; recheckAt?: number } {
  const want = specReplicas(kind, object);
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

function controllerUid(o: KubeObject): string | undefined {
  return o.metadata.ownerReferences?.find((r) => r.controller)?.uid;
}

/**
 * The member pods that belong to `object`: controlled by it (ReplicaSet, StatefulSet) or by one
 * of its ReplicaSets (Deployment). Another workload's pods with the same labels never count.
 */
export function ownedPods(
  object: KubeObject,
  pods: readonly KubeObject[],
  replicaSets: readonly KubeObject[],
): KubeObject[] {
  const uid = object.metadata.uid;
  if (!uid) return [...pods];
  const owners = new Set([uid]);
  if (object.kind === 'Deployment')
    for (const rs of replicaSets) if (controllerUid(rs) === uid && rs.metadata.uid) owners.add(rs.metadata.uid);
  return pods.filter((p) => {
    const owner = controllerUid(p);
    return owner === undefined || owners.has(owner);
  });
}

/** Every replica the copy asks for is ready: pods need not be looked at (v1 §1.6). */
export function fullyReady(kind: KindInfo, o: KubeObject): boolean {
  const ready = isObject(o.status) && typeof o.status.readyReplicas === 'number' ? o.status.readyReplicas : 0;
  return specReplicas(kind, o) === ready;
}

// ---- status -------------------------------------------------------------------------------

const COUNTERS: Record<string, readonly string[]> = {
  'apps/ReplicaSet': ['replicas', 'fullyLabeledReplicas', 'readyReplicas', 'availableReplicas'],
  'apps/Deployment': ['replicas', 'updatedReplicas', 'readyReplicas', 'availableReplicas', 'unavailableReplicas'],
  'apps/StatefulSet': ['replicas', 'readyReplicas', 'currentReplicas', 'updatedReplicas', 'availableReplicas'],
  'apps/DaemonSet': [
    'currentNumberScheduled',
    'numberMisscheduled',
    'desiredNumberScheduled',
    'numberReady',
    'updatedNumberScheduled',
    'numberAvailable',
    'numberUnavailable',
  ],
  'batch/Job': ['active', 'succeeded', 'failed', 'ready', 'terminating'],
};

/** Condition types that are bad news when True; for every other member condition type False is. */
const NEGATIVE_CONDITIONS = new Set(['ReplicaFailure', 'ScalingLimited']);

export interface MemberContribution {
  cluster: string;
  object: KubeObject;
  /** The member object already matches what kitfed wants there (no write pending). */
  upToDate: boolean;
}

export interface StatusInput {
  kind: KindInfo;
  federated: KubeObject;
  members: readonly MemberContribution[];
  /** Nothing pending or blocked anywhere. */
  allWritten: boolean;
  conditions: ReadonlyArray<Omit<Condition, 'lastTransitionTime'>>;
  now: Date;
}

/** The member saw its latest spec: its controller's `observedGeneration` caught up with its `generation`. */
export function memberObserved(obj: KubeObject): boolean {
  const status = isObject(obj.status) ? obj.status : {};
  if (status.observedGeneration === undefined && obj.metadata.generation === undefined) return true;
  return num(status.observedGeneration) >= (obj.metadata.generation ?? 1);
}

function counters(kind: KindInfo, members: readonly MemberContribution[]): string[] {
  const known = COUNTERS[kind.id];
  if (known) return [...known];
  const names = new Set<string>();
  const leaf = kind.scale?.statusReplicasPath.replace(/^\.status\./, '');
  if (leaf && !leaf.includes('.')) names.add(leaf);
  for (const m of members)
    if (isObject(m.object.status))
      for (const [k, v] of Object.entries(m.object.status))
        if (typeof v === 'number' && /^(replicas|[a-z]+Replicas)$/.test(k)) names.add(k);
  return [...names].sort();
}

/**
 * What every aggregated status starts with: `observedGeneration`, the federated object's
 * generation once every copy is written and its member saw it (else the previous one).
 */
export function aggregatedStatusBase(input: StatusInput): Record<string, unknown> {
  const { federated, members } = input;
  const previous = isObject(federated.status) ? federated.status : {};
  const caughtUp = input.allWritten && members.every((m) => m.upToDate && memberObserved(m.object));
  const observed = caughtUp ? (federated.metadata.generation ?? 1) : previous.observedGeneration;
  return typeof observed === 'number' ? { observedGeneration: observed } : {};
}

/** `conditions` with their transition times carried over from the federated object's status. */
export function timedConditions(
  input: StatusInput,
  conditions: ReadonlyArray<Omit<Condition, 'lastTransitionTime'>>,
): Condition[] {
  const previous = isObject(input.federated.status) ? input.federated.status : {};
  const prevConditions = Array.isArray(previous.conditions) ? (previous.conditions as Condition[]) : [];
  return conditions.map((c) => withTransitionTime(c, prevConditions, input.now));
}

/** The federated object's new `status` for a scalable kind, a DaemonSet or a Job: the members' counters summed. */
export function aggregateCounters(input: StatusInput): Record<string, unknown> {
  const { kind, members } = input;
  const status = aggregatedStatusBase(input);
  for (const c of counters(kind, members))
    status[c] = members.reduce((sum, m) => sum + num(isObject(m.object.status) ? m.object.status[c] : undefined), 0);
  const merged = mergeMemberConditions(members);
  const timed = timedConditions(input, [
    ...(kind.id === 'batch/Job' ? jobConditions(input, merged, status) : merged),
    ...input.conditions,
  ]);
  if (timed.length > 0) status.conditions = timed;
  return status;
}

/** Conditions that say a Job is done: they hold for the federated Job only once every copy has them. */
const JOB_DONE_CONDITIONS = new Set(['Complete', 'SuccessCriteriaMet']);

/**
 * A federated Job runs a copy in every placed cluster (as Karmada's aggregation reads it): it is
 * Complete once every copy is and nothing is pending anywhere, Failed as soon as one copy is; it
 * started with the first copy and completed with the last. Sets the times on `status`.
 */
function jobConditions(
  input: StatusInput,
  merged: Array<Omit<Condition, 'lastTransitionTime'>>,
  status: Record<string, unknown>,
): Array<Omit<Condition, 'lastTransitionTime'>> {
  const { members } = input;
  const times = (field: string) =>
    memberTimes(
      members.map((m) => m.object),
      field,
    );
  const has = (m: MemberContribution, type: string) =>
    isObject(m.object.status) &&
    Array.isArray(m.object.status.conditions) &&
    (m.object.status.conditions as Condition[]).some((c) => c?.type === type && c.status === 'True');
  const done = (type: string) => input.allWritten && members.length > 0 && members.every((m) => has(m, type));
  const kept = merged.filter((c) => !JOB_DONE_CONDITIONS.has(c.type) || done(c.type));
  const started = times('startTime');
  if (started.length > 0) status.startTime = started[0];
  const completed = times('completionTime');
  if (done('Complete') && completed.length === members.length) status.completionTime = completed.at(-1);
  return kept;
}

/** Member conditions merged per type: the worst member wins; its message names the cluster(s). */
export function mergeMemberConditions(
  members: readonly MemberContribution[],
): Array<Omit<Condition, 'lastTransitionTime'>> {
  const byType = new Map<string, Array<{ cluster: string; c: Condition }>>();
  for (const m of [...members].sort((a, b) => (a.cluster < b.cluster ? -1 : a.cluster > b.cluster ? 1 : 0))) {
    const list =
      isObject(m.object.status) && Array.isArray(m.object.status.conditions)
        ? (m.object.status.conditions as Condition[])
        : [];
    for (const c of list) {
      if (!c || typeof c.type !== 'string') continue;
      const entry = byType.get(c.type) ?? [];
      entry.push({ cluster: m.cluster, c });
      byType.set(c.type, entry);
    }
  }
  const out: Array<Omit<Condition, 'lastTransitionTime'>> = [];
  for (const type of [...byType.keys()].sort()) {
    const entries = byType.get(type)!;
    const bad: Condition['status'] = NEGATIVE_CONDITIONS.has(type) ? 'True' : 'False';
    const good: Condition['status'] = bad === 'True' ? 'False' : 'True';
    const worst = entries.filter((e) => e.c.status === bad);
    const unknown = entries.filter((e) => e.c.status !== bad && e.c.status !== good);
    const pick = worst.length > 0 ? worst : unknown.length > 0 ? unknown : entries;
    const status: Condition['status'] = worst.length > 0 ? bad : unknown.length > 0 ? 'Unknown' : good;
    const first = pick[0]!.c;
    const cond: Omit<Condition, 'lastTransitionTime'> = { type, status };
    if (first.reason) cond.reason = first.reason;
    const message = pick.map((e) => `${e.cluster}: ${e.c.message ?? e.c.reason ?? e.c.status}`).join('; ');
    if (message) cond.message = message;
    out.push(cond);
  }
  return out;
}

export function withTransitionTime(
  c: Omit<Condition, 'lastTransitionTime'>,
  previous: readonly Condition[],
  now: Date,
): Condition {
  const prev = previous.find((p) => p.type === c.type);
  const lastTransitionTime =
    prev && prev.status === c.status && prev.lastTransitionTime
      ? prev.lastTransitionTime
      : now.toISOString().replace(/\.\d{3}Z$/, 'Z');
  return {
    type: c.type,
    status: c.status,
    lastTransitionTime,
    ...(c.reason ? { reason: c.reason } : {}),
    ...(c.message ? { message: c.message } : {}),
  };
}

/** True when writing `next` would change the federated object's status. */
export function statusDiffers(federated: KubeObject, next: Record<string, unknown>): boolean {
  return !isEqual(isObject(federated.status) ? federated.status : {}, next);
}

/** The plan recorded in a federated object's `Scheduled` condition, if any. */
export function recordedPlan(
  federated: KubeObject,
): { plan: Record<string, number>; overflow: Record<string, number>; unplaced: number } | undefined {
  const conditions =
    isObject(federated.status) && Array.isArray(federated.status.conditions)
      ? (federated.status.conditions as Condition[])
      : [];
  const c = conditions.find((x) => x.type === SCHEDULED_CONDITION);
  if (!c?.message) return undefined;
  try {
    const doc = JSON.parse(c.message) as unknown;
    if (!isObject(doc) || !isObject(doc.plan)) return undefined;
    return {
      plan: doc.plan as Record<string, number>,
      overflow: isObject(doc.overflow) ? (doc.overflow as Record<string, number>) : {},
      unplaced: num(doc.unplaced),
    };
  } catch {
    return undefined;
  }
}

export function scheduledCondition(sched: Schedule, selected: number): Omit<Condition, 'lastTransitionTime'> {
  const message = JSON.stringify({ plan: sched.plan, overflow: sched.overflow, unplaced: sched.unplaced });
  if (selected === 0) return { type: SCHEDULED_CONDITION, status: 'False', reason: 'NoClusters', message };
  if (sched.unplaced > 0) return { type: SCHEDULED_CONDITION, status: 'False', reason: 'ReplicasUnplaced', message };
  return {
    type: SCHEDULED_CONDITION,
    status: 'True',
    reason: Object.keys(sched.overflow).length > 0 ? 'Overflow' : 'Planned',
    message,
  };
}

export type { Obj as StatusObject };
