/**
 * Aggregated status of a federated ReplicaSet/Deployment (reference §3.4, with v1's gaps fixed):
 * sums of the members' counters, member conditions merged per type, kitfed's own `Scheduled`
 * and `Propagated` conditions, and an `observedGeneration` that means "every member has seen
 * this generation". Pure code.
 */
import isEqual from 'lodash/isEqual.js';
import { isObject, type Condition, type KubeObject } from '../../core/kube.js';
import type { WorkloadKind } from './schedule.js';

/** Condition carrying the current plan: `message` is JSON `{"plan":{…},"overflow":{…},"unplaced":n}`. */
export const SCHEDULED_CONDITION = 'Scheduled';
/** Condition saying whether every member object matches the federated object. */
export const PROPAGATED_CONDITION = 'Propagated';

const COUNTERS: Record<WorkloadKind, readonly string[]> = {
  ReplicaSet: ['replicas', 'fullyLabeledReplicas', 'readyReplicas', 'availableReplicas'],
  Deployment: ['replicas', 'updatedReplicas', 'readyReplicas', 'availableReplicas', 'unavailableReplicas'],
};

/** Condition types that are bad news when True; for every other member condition type False is the bad news. */
const NEGATIVE_CONDITIONS = new Set(['ReplicaFailure']);

export interface MemberContribution {
  cluster: string;
  object: KubeObject;
  /** The member object already matches what kitfed wants there (no write pending). */
  upToDate: boolean;
}

export interface StatusInput {
  kind: WorkloadKind;
  federated: KubeObject;
  /** kitfed's member objects in selected Ready clusters. */
  members: readonly MemberContribution[];
  /** Every member has been written (no create/update/delete pending) and nothing blocks it (not-owned objects, errors). */
  allWritten: boolean;
  /** kitfed's own conditions, without times; times are carried over from the current status. */
  conditions: ReadonlyArray<Omit<Condition, 'lastTransitionTime'>>;
  now: Date;
}

const num = (v: unknown): number => (typeof v === 'number' ? v : 0);

/** The member saw its latest spec: its controller's `observedGeneration` caught up with its `generation`. */
export function memberObserved(obj: KubeObject): boolean {
  const status = isObject(obj.status) ? obj.status : {};
  return num(status.observedGeneration) >= (obj.metadata.generation ?? 1);
}

/** The federated object's new `status`. */
export function aggregateStatus(input: StatusInput): Record<string, unknown> {
  const { kind, federated, members } = input;
  const previous = isObject(federated.status) ? federated.status : {};
  const status: Record<string, unknown> = {};
  const generation = federated.metadata.generation ?? 1;
  const caughtUp = input.allWritten && members.every((m) => m.upToDate && memberObserved(m.object));
  const observed = caughtUp ? generation : previous.observedGeneration;
  if (typeof observed === 'number') status.observedGeneration = observed;
  for (const c of COUNTERS[kind])
    status[c] = members.reduce((sum, m) => sum + num(isObject(m.object.status) ? m.object.status[c] : undefined), 0);

  const prevConditions = Array.isArray(previous.conditions) ? (previous.conditions as Condition[]) : [];
  const conditions = [...mergeMemberConditions(members), ...input.conditions].map((c) =>
    withTransitionTime(c, prevConditions, input.now),
  );
  if (conditions.length > 0) status.conditions = conditions;
  return status;
}

/** Member conditions merged per type: the worst member wins; its message names the cluster(s). */
function mergeMemberConditions(members: readonly MemberContribution[]): Array<Omit<Condition, 'lastTransitionTime'>> {
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
    // A negative condition present in only some members is still "True" overall; a positive one
    // must hold in every member that reports it.
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

function withTransitionTime(
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
