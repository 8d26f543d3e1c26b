/**
 * One pass over one federated object as pure code, for every kind: placement (cluster
 * selector, dependencies), replicas (scalable kinds), what each member must hold (the kind's
 * rules, overrides, ownership markers), the member writes that get it there, and the status
 * (per cluster, and the kind's own aggregated status). The engine (engine.ts) reads its caches
 * into a `PlanInput`, acts on the `Plan` and writes the status once.
 */
import { KitfedError } from '../../core/errors.js';
import { isObject, objectKey, type Condition, type KubeObject } from '../../core/kube.js';
import {
  ADOPT_ANNOTATION,
  CLUSTER_SELECTOR_ANNOTATION,
  KITFED_PREFIX,
  MANAGED_BY_LABEL,
  MANAGED_BY_VALUE,
  ORIGIN_UID_ANNOTATION,
} from '../constants.js';
import { matchesSelector, parseClusterSelector } from '../selector.js';
import { aggregateAutoscaler } from './autoscaler.js';
import type { KindInfo } from './catalog.js';
import { dependenciesOf } from './dependencies.js';
import {
  aggregationOf,
  APPLIED_HASH_ANNOTATION,
  cronJobStatus,
  isSubset,
  loadBalancerStatus,
  memberTemplate,
  setPath,
  specReplicas,
  withMarkers,
} from './kinds.js';
import { isSplitJob, jobCounts, splitCondition, splitJob, splitSummary, type JobSplit } from './jobs.js';
import { affects, applyOverrides, type OverrideObject } from './overrides.js';
import {
  aggregateCounters,
  PROPAGATED_CONDITION,
  recordedPlan,
  schedule,
  scheduledCondition,
  SCHEDULED_CONDITION,
  statusDiffers,
  type MemberContribution,
  type ReplicaMember,
  type Schedule,
} from './scale.js';

/** On federated objects: the per-cluster propagation status (JSON, `PropagationStatus`). */
export const STATUS_ANNOTATION = `${KITFED_PREFIX}status`;

/** How a registered cluster can be used for this kind right now. */
export type ClusterAvailability = 'Available' | 'NotReady' | 'Syncing' | 'WaitingForCRD';

export interface ClusterView {
  name: string;
  labels?: Readonly<Record<string, string>> | undefined;
  availability: ClusterAvailability;
  /** Why it cannot be used (shown in the status). */
  message?: string;
  /** It cannot be used until something else is fixed (a custom resource's CRD failed there). */
  failed?: boolean;
  /** When it became Ready (ms since epoch). */
  readySince?: number;
}

export interface MemberView {
  /** The member's object of the same name (kitfed's or not): its cache, or kitfed's newer write. */
  object?: KubeObject | undefined;
  /** Pods in the object's namespace (pod-owning scalable kinds). */
  pods?: readonly KubeObject[] | undefined;
  /** A write to this object in this cluster is in flight. */
  writing?: boolean;
  /** The last write failed: what it wrote (hash) and the member's message. */
  failure?: { hash: string; message: string } | undefined;
}

export interface PlanInput {
  kind: KindInfo;
  federated: KubeObject;
  /** Every registered cluster. */
  clusters: readonly ClusterView[];
  /** Per Available cluster. */
  members: Readonly<Record<string, MemberView>>;
  /** Overrides targeting this object, in the order they apply. */
  overrides: readonly OverrideObject[];
  /** Clusters where objects that depend on this one land (see dependencies.ts). */
  requiredIn: readonly string[];
  /**
   * A federated HorizontalPodAutoscaler targets this object: each member's copy of it scales the
   * member's copy, so an existing copy keeps the replicas it has (the planner places new copies).
   */
  autoscaled?: boolean;
  now: number;
  /** A scalable kind waits this long for a just-Ready cluster's caches before planning without it. @default 5000 */
  syncGraceMs?: number;
}

export type Write =
  | {
      op: 'apply';
      cluster: string;
      /** The full configuration kitfed owns in the member (server-side apply). */
      object: KubeObject;
      hash: string;
      action: 'create' | 'update' | 'adopt';
      /** The member object's uid when updating (a guard: a re-created object is not written over). */
      uid?: string;
      replicas?: number;
      previousReplicas?: number;
    }
  | { op: 'delete'; cluster: string; object: KubeObject }
  | { op: 'release'; cluster: string; object: KubeObject };

export type SyncState = 'InSync' | 'Pending' | 'Failed' | 'ClusterNotReady';

export interface ClusterStatus {
  cluster: string;
  state: SyncState;
  reason?: string;
  message?: string;
  /** Scalable kinds: the replicas this cluster is asked to run; a split Job: its copy's parallelism. */
  replicas?: number;
  /** A split Job: the completions this cluster's copy runs. */
  completions?: number;
  /** The member copy's own status conditions (type, status, reason). */
  conditions?: Array<{ type: string; status: string; reason?: string }>;
  /** The override rules applied to this cluster's copy, in order (`NAMESPACE/NAME rules[i]`). */
  overrides?: string[];
}

export interface PropagationStatus {
  /** Why nothing is propagated (invalid selector or preferences). */
  reason?: string;
  message?: string;
  clusters: ClusterStatus[];
}

export interface PlanEvent {
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
  cluster?: string;
}

export interface Plan {
  /** A scalable kind holds back while a just-Ready cluster's caches sync. */
  wait?: boolean;
  writes: Write[];
  status: PropagationStatus;
  /** The status annotation's new value, when it differs from the object's. */
  statusAnnotation?: string;
  /** The kind's own status (`/status`), when kitfed aggregates it and it changed. */
  nativeStatus?: Record<string, unknown>;
  events: PlanEvent[];
  /** Clusters where the object is or will be (what its dependencies follow). */
  placement: string[];
  /** Queue keys of the objects it needs where it lands. */
  dependencies: string[];
  /** Plan again at this time (ms since epoch). */
  recheckAt?: number;
  /** Scalable kinds: the replica schedule. */
  schedule?: Schedule;
}

const byName = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** kitfed created (or adopted) this member object. */
export function isManaged(o: KubeObject): boolean {
  return o.metadata.labels?.[MANAGED_BY_LABEL] === MANAGED_BY_VALUE;
}

export function originUid(o: KubeObject): string | undefined {
  return o.metadata.annotations?.[ORIGIN_UID_ANNOTATION];
}

/** The status recorded on a federated object, if any. */
export function recordedStatus(obj: KubeObject): PropagationStatus | undefined {
  const text = obj.metadata.annotations?.[STATUS_ANNOTATION];
  if (!text) return undefined;
  try {
    const doc = JSON.parse(text) as unknown;
    return isObject(doc) && Array.isArray(doc.clusters) ? (doc as unknown as PropagationStatus) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * What `cluster` gets of the member template `base` before kitfed's markers: the planned
 * replicas (a split Job: its parallelism and completions), then the overrides that match the
 * cluster (`kitfed describe` shows the difference).
 */
export function effectiveObject(
  kind: KindInfo,
  base: KubeObject,
  cluster: { name: string; labels?: Readonly<Record<string, string>> | undefined },
  overrides: readonly OverrideObject[],
  replicas: number | undefined,
  completions?: number,
): { object: KubeObject; overrides: string[] } | { error: string } {
  let obj = base;
  if (replicas !== undefined && kind.scale) obj = setPath(obj, kind.scale.specReplicasPath, replicas);
  else if (replicas !== undefined && kind.id === 'batch/Job') obj = setPath(obj, '.spec.parallelism', replicas);
  if (completions !== undefined && kind.id === 'batch/Job') obj = setPath(obj, '.spec.completions', completions);
  if (overrides.length > 0 && affects(overrides, cluster)) {
    const r = applyOverrides(obj, overrides, cluster);
    if ('error' in r) return r;
    return { object: r.object, overrides: r.applied };
  }
  return { object: obj, overrides: [] };
}

/** The object `cluster` must hold: `effectiveObject`, then kitfed's markers and the hash of it all. */
export function desiredFor(
  kind: KindInfo,
  base: KubeObject,
  uid: string,
  cluster: { name: string; labels?: Readonly<Record<string, string>> | undefined },
  overrides: readonly OverrideObject[],
  replicas: number | undefined,
  completions?: number,
): { object: KubeObject; hash: string; overrides: string[] } | { error: string } {
  const e = effectiveObject(kind, base, cluster, overrides, replicas, completions);
  if ('error' in e) return e;
  const marked = withMarkers(e.object, uid);
  return { object: marked, hash: marked.metadata.annotations![APPLIED_HASH_ANNOTATION]!, overrides: e.overrides };
}

/** The member already holds what kitfed applies there: same hash, every applied field equal. */
export function inSync(desired: KubeObject, member: KubeObject): boolean {
  return (
    member.metadata.annotations?.[APPLIED_HASH_ANNOTATION] ===
      desired.metadata.annotations?.[APPLIED_HASH_ANNOTATION] && isSubset(desired, member)
  );
}

function memberConditions(o: KubeObject | undefined): ClusterStatus['conditions'] {
  const list = o && isObject(o.status) && Array.isArray(o.status.conditions) ? o.status.conditions : [];
  const out = list
    .filter(isObject)
    .filter((c) => typeof c.type === 'string' && typeof c.status === 'string')
    .map((c) => ({
      type: c.type as string,
      status: c.status as string,
      ...(typeof c.reason === 'string' && c.reason ? { reason: c.reason } : {}),
    }))
    .sort((a, b) => byName(a.type, b.type));
  return out.length > 0 ? out : undefined;
}

/** One pass: see the module comment. */
export function plan(input: PlanInput): Plan {
  const { kind, federated, now } = input;
  const uid = federated.metadata.uid ?? '';
  const adopt = federated.metadata.annotations?.[ADOPT_ANNOTATION] === 'true';
  const previous = recordedStatus(federated);
  const out: Plan = {
    writes: [],
    status: { clusters: [] },
    events: [],
    placement: [],
    dependencies: dependenciesOf(kind, federated),
  };
  const views = [...input.clusters].sort((a, b) => byName(a.name, b.name));
  const available = views.filter((c) => c.availability === 'Available');
  const member = (c: string) => input.members[c]?.object;
  const mine = (c: string) => {
    const o = member(c);
    return o && isManaged(o) ? o : undefined;
  };
  const statuses = new Map<string, ClusterStatus>();
  const setStatus = (s: ClusterStatus) => statuses.set(s.cluster, s);
  const kitfedConditions: Array<Omit<Condition, 'lastTransitionTime'>> = [];
  const contributions: MemberContribution[] = [];

  // 1. Placement: the cluster selector over every registered cluster, plus where dependents need it.
  let selected: string[] = [];
  let error: { reason: string; message: string } | undefined;
  try {
    const reqs = parseClusterSelector(federated.metadata.annotations?.[CLUSTER_SELECTOR_ANNOTATION]);
    selected = views.filter((c) => matchesSelector(reqs, c.labels)).map((c) => c.name);
  } catch (err) {
    error = {
      reason: 'ClusterSelectorInvalid',
      message:
        `annotation ${CLUSTER_SELECTOR_ANNOTATION} is invalid: ${err instanceof Error ? err.message : String(err)}; ` +
        'nothing is propagated until it is fixed',
    };
  }
  const targets = new Set([...selected, ...input.requiredIn]);

  // 2. Replicas (scalable kinds): the planner over the selected Available clusters. Like a split
  // Job (2b), they wait for a just-Ready cluster's caches first.
  const splitting = isSplitJob(kind, federated);
  const grace = input.syncGraceMs ?? 5000;
  if (
    (kind.scale || splitting) &&
    !error &&
    views.some((c) => c.availability === 'Syncing' && now - (c.readySince ?? 0) < grace)
  )
    return { ...out, wait: true };
  let sched: Schedule | undefined;
  if (kind.scale && !error) {
    // Planned over the Available clusters, and those waiting for a custom resource's CRD (it
    // follows the replicas there: see dependencies.ts), not those where the CRD failed.
    const planning = views
      .filter((c) => c.availability === 'Available' || (c.availability === 'WaitingForCRD' && !c.failed))
      .map((c) => c.name)
      .filter((c) => targets.has(c));
    const planMembers: Record<string, ReplicaMember> = {};
    for (const c of planning)
      planMembers[c] = { object: mine(c) ?? (adopt ? member(c) : undefined), pods: input.members[c]?.pods };
    // What kitfed last asked each cluster for: the recorded status, else the Scheduled condition.
    const recorded = recordedPlan(federated);
    const asked = previous
      ? Object.fromEntries(
          previous.clusters.filter((s) => s.replicas !== undefined).map((s) => [s.cluster, s.replicas!]),
        )
      : recorded
        ? Object.fromEntries(Object.entries(recorded.plan).map(([c, n]) => [c, n + (recorded.overflow[c] ?? 0)]))
        : undefined;
    try {
      sched = schedule(kind, federated, planning, planMembers, asked, now);
      out.schedule = sched;
      if (sched.recheckAt !== undefined) out.recheckAt = sched.recheckAt;
      const scheduled = scheduledCondition(sched, planning.length);
      // The members' autoscalers own the replicas of existing copies: the plan only places new ones.
      kitfedConditions.push(
        input.autoscaled && scheduled.status === 'True' ? { ...scheduled, reason: 'Autoscaled' } : scheduled,
      );
    } catch (err) {
      if (!(err instanceof KitfedError)) throw err;
      error = {
        reason: 'InvalidPreferences',
        message: `${err.message}; nothing is propagated until it is fixed`,
      };
      kitfedConditions.push({
        type: SCHEDULED_CONDITION,
        status: 'False',
        reason: 'InvalidPreferences',
        message: err.message,
      });
    }
  } else if (kind.scale && error) {
    kitfedConditions.push({
      type: SCHEDULED_CONDITION,
      status: 'False',
      reason: 'ClusterSelectorInvalid',
      message: error.message,
    });
  }

  // 2b. A Job with v1's job preferences: its parallelism and completions split over the clusters.
  let split: JobSplit | undefined;
  /** A first split: this pass only records it; the next creates the copies from the record. */
  let recording = false;
  if (splitting && !error) {
    // A copy being created is not in the caches yet: split once its write is done.
    if (available.some((c) => input.members[c.name]?.writing && !member(c.name))) return { ...out, wait: true };
    const held: Record<string, number | undefined> = {};
    for (const c of available) {
      const o = targets.has(c.name) ? (mine(c.name) ?? (adopt ? member(c.name) : undefined)) : undefined;
      if (o) held[c.name] = jobCounts(o).completions;
    }
    // The shares recorded for clusters without a copy in view (not Ready now, or the copy was
    // deleted there): they keep them, so the work is never handed out twice.
    for (const s of previous?.clusters ?? [])
      if (!(s.cluster in held) && targets.has(s.cluster) && (s.completions ?? s.replicas ?? 0) > 0)
        held[s.cluster] = s.completions;
    try {
      split = splitJob(
        federated,
        available.map((c) => c.name).filter((c) => targets.has(c)),
        held,
      );
      kitfedConditions.push(splitCondition(split));
      // Recorded before any copy exists, a share survives a copy whose creation fails (or a
      // cluster that drops out) between two passes: work is neither lost nor handed out twice.
      recording = Object.keys(held).length === 0 && Object.keys(split.shares).length > 0;
      if (recording) out.recheckAt = now + 1000;
    } catch (err) {
      if (!(err instanceof KitfedError)) throw err;
      error = { reason: 'InvalidPreferences', message: `${err.message}; nothing is propagated until it is fixed` };
    }
  }
  if (splitting && error)
    kitfedConditions.push({ type: SCHEDULED_CONDITION, status: 'False', reason: error.reason, message: error.message });

  if (error) {
    // Nothing is written; the status says why; kitfed's copies still count in the kind's status.
    out.status = { reason: error.reason, message: error.message, clusters: [] };
    for (const c of available) {
      const o = mine(c.name);
      if (o) contributions.push({ cluster: c.name, object: o, upToDate: false });
    }
  } else {
    // 3. What each cluster holds, and the writes that get it there.
    const base = memberTemplate(kind, federated);
    const shared = new Map<string, ReturnType<typeof desiredFor>>();
    const desired = (c: ClusterView, replicas: number | undefined, completions: number | undefined) => {
      if (input.overrides.length > 0 && affects(input.overrides, c))
        return desiredFor(kind, base, uid, c, input.overrides, replicas, completions);
      const key = `${replicas}/${completions}`;
      let d = shared.get(key);
      if (!d) shared.set(key, (d = desiredFor(kind, base, uid, c, [], replicas, completions)));
      return d;
    };
    for (const c of views) {
      if (!targets.has(c.name)) continue;
      if (c.availability !== 'Available') {
        if (sched && c.availability === 'WaitingForCRD' && !c.failed) {
          const replicas = sched.replicas[c.name] ?? 0;
          if (replicas === 0) setStatus({ cluster: c.name, state: 'InSync', replicas });
          else {
            out.placement.push(c.name);
            setStatus({
              cluster: c.name,
              state: 'Pending',
              reason: c.availability,
              message: c.message ?? '',
              replicas,
            });
          }
          continue;
        }
        // Replicas are planned over Available clusters; the others (not Ready, still being read) do not count.
        if (sched && c.availability !== 'WaitingForCRD') continue;
        // A split Job's copy there keeps its share; a cluster without one gets none.
        const share = split?.shares[c.name];
        if (splitting && !share) continue;
        out.placement.push(c.name);
        setStatus({
          ...(c.availability === 'NotReady'
            ? { cluster: c.name, state: 'ClusterNotReady', ...(c.message ? { message: c.message } : {}) }
            : {
                cluster: c.name,
                state: c.failed ? 'Failed' : 'Pending',
                reason: c.failed ? 'CRDNotEstablished' : c.availability,
                ...(c.message ? { message: c.message } : {}),
              }),
          ...(share ? { replicas: share.parallelism } : {}),
          ...(share?.completions !== undefined ? { completions: share.completions } : {}),
        });
        continue;
      }
      const m = input.members[c.name] ?? {};
      const existing = m.object;
      const owned = existing !== undefined && isManaged(existing);
      const share = split?.shares[c.name];
      const replicas =
        sched && input.autoscaled && existing && owned
          ? specReplicas(kind, existing)
          : sched
            ? (sched.replicas[c.name] ?? 0)
            : splitting
              ? (share?.parallelism ?? 0)
              : undefined;
      const completions = share?.completions;
      const entry: ClusterStatus = { cluster: c.name, state: 'InSync' };
      if (replicas !== undefined) entry.replicas = replicas;
      if (completions !== undefined) entry.completions = completions;
      if (existing && !owned && !adopt) {
        setStatus({
          ...entry,
          state: 'Failed',
          reason: 'NotOwned',
          message:
            'an object with this name exists in the cluster and was not created by kitfed; ' +
            `it is left alone (annotate the federated object ${ADOPT_ANNOTATION}="true" to adopt it)`,
        });
        continue;
      }
      if (existing && owned && existing.metadata.deletionTimestamp) {
        out.placement.push(c.name);
        setStatus({
          ...entry,
          state: 'Pending',
          reason: 'Deleting',
          message: 'the old copy is being deleted; it is re-created once gone',
        });
        continue;
      }
      if (!existing && replicas === 0) {
        setStatus(entry); // era A: a cluster planned 0 gets no copy
        continue;
      }
      out.placement.push(c.name);
      if (recording) {
        setStatus({ ...entry, state: 'Pending', reason: 'Splitting', message: 'the split is recorded first' });
        continue;
      }
      const d = desired(c, replicas, completions);
      if ('error' in d) {
        setStatus({ ...entry, state: 'Failed', reason: 'OverrideFailed', message: d.error });
        if (owned) contributions.push({ cluster: c.name, object: existing, upToDate: false });
        continue;
      }
      if (d.overrides.length > 0) entry.overrides = d.overrides;
      if (existing && owned && inSync(d.object, existing)) {
        const conds = memberConditions(existing);
        setStatus(conds && !aggregationOf(kind) ? { ...entry, conditions: conds } : entry);
        contributions.push({ cluster: c.name, object: existing, upToDate: true });
        continue;
      }
      if (owned) contributions.push({ cluster: c.name, object: existing, upToDate: false });
      // A write the member refused stays Failed while it is retried (no Failed/Pending flapping).
      const rejected = m.failure?.hash === d.hash ? m.failure.message : undefined;
      if (m.writing) {
        setStatus(
          rejected !== undefined
            ? { ...entry, state: 'Failed', reason: 'MemberRejected', message: rejected }
            : { ...entry, state: 'Pending', reason: 'Writing' },
        );
        continue;
      }
      const action = !existing ? 'create' : owned ? 'update' : 'adopt';
      const write: Write = { op: 'apply', cluster: c.name, object: d.object, hash: d.hash, action };
      if (existing?.metadata.uid) write.uid = existing.metadata.uid;
      if (replicas !== undefined && !splitting) {
        write.replicas = replicas;
        if (existing) write.previousReplicas = specReplicas(kind, existing);
      }
      out.writes.push(write);
      setStatus(
        rejected !== undefined
          ? { ...entry, state: 'Failed', reason: 'MemberRejected', message: rejected }
          : { ...entry, state: 'Pending', reason: action === 'create' ? 'Creating' : 'Updating' },
      );
    }
    // kitfed's copies where the object no longer belongs are deleted.
    for (const c of available) {
      if (targets.has(c.name)) continue;
      const o = mine(c.name);
      if (!o || o.metadata.deletionTimestamp) continue;
      setStatus({ cluster: c.name, state: 'Pending', reason: 'Deleting' });
      if (!input.members[c.name]?.writing) out.writes.push({ op: 'delete', cluster: c.name, object: o });
    }
    out.status = { clusters: [...statuses.values()].sort((a, b) => byName(a.cluster, b.cluster)) };
  }

  // 4. Status: per cluster (annotation) and the kind's own.
  const text = JSON.stringify(out.status);
  if (federated.metadata.annotations?.[STATUS_ANNOTATION] !== text) out.statusAnnotation = text;
  const aggregation = aggregationOf(kind);
  if (aggregation === 'counters' || aggregation === 'autoscaler') {
    kitfedConditions.push(propagatedCondition(out.status));
    const statusInput = {
      kind,
      federated,
      members: contributions,
      allWritten: !error && out.status.clusters.every((s) => s.state === 'InSync'),
      conditions: kitfedConditions,
      now: new Date(now),
    };
    const native = aggregation === 'counters' ? aggregateCounters(statusInput) : aggregateAutoscaler(statusInput);
    if (statusDiffers(federated, native)) out.nativeStatus = native;
  } else if (aggregation === 'loadBalancer' || aggregation === 'cronJob') {
    const members = contributions.map((c) => c.object);
    const native =
      aggregation === 'loadBalancer'
        ? loadBalancerStatus(federated.status, members)
        : cronJobStatus(federated.status, members);
    if (statusDiffers(federated, native)) out.nativeStatus = native;
  }
  const planned = input.autoscaled
    ? undefined
    : sched
      ? `plan ${Object.entries(sched.replicas)
          .map(([c, n]) => `${c}=${n}`)
          .join(', ')}`
      : split && splitSummary(split);
  out.events = events(federated, previous, out, kind.scale !== undefined || splitting, planned);
  return out;
}

function propagatedCondition(status: PropagationStatus): Omit<Condition, 'lastTransitionTime'> {
  const c = { type: PROPAGATED_CONDITION };
  if (status.reason) return { ...c, status: 'False', reason: status.reason, message: status.message ?? '' };
  const notOwned = status.clusters.filter((s) => s.reason === 'NotOwned').map((s) => s.cluster);
  if (notOwned.length > 0)
    return {
      ...c,
      status: 'False',
      reason: 'NotOwned',
      message:
        `an object of the same name that kitfed did not create exists in: ${notOwned.join(', ')} ` +
        `(left alone; annotate ${ADOPT_ANNOTATION}="true" to adopt it)`,
    };
  const failed = status.clusters.filter((s) => s.state === 'Failed');
  if (failed.length > 0)
    return {
      ...c,
      status: 'False',
      reason: 'Failed',
      message: failed.map((s) => `${s.cluster}: ${s.message ?? s.reason}`).join('; '),
    };
  const pending = status.clusters.filter((s) => s.state !== 'InSync').map((s) => s.cluster);
  if (pending.length > 0)
    return { ...c, status: 'False', reason: 'Pending', message: `writing to ${pending.join(', ')}` };
  return { ...c, status: 'True', reason: 'InSync', message: `${status.clusters.length} cluster(s) in sync` };
}

/** Events on transitions only (a new problem, a new plan), compared with the recorded status. */
function events(
  federated: KubeObject,
  previous: PropagationStatus | undefined,
  p: Plan,
  scalable: boolean,
  planned: string | undefined,
): PlanEvent[] {
  const out: PlanEvent[] = [];
  // Scalable kinds say it through the Scheduled condition (FailedScheduling below).
  if (!scalable && p.status.reason && (previous?.reason !== p.status.reason || previous.message !== p.status.message))
    out.push({ type: 'Warning', reason: p.status.reason, message: p.status.message ?? '' });
  const before = new Map((previous?.clusters ?? []).map((s) => [s.cluster, s]));
  for (const s of p.status.clusters) {
    if (s.state !== 'Failed' || (s.reason !== 'NotOwned' && s.reason !== 'OverrideFailed')) continue;
    const b = before.get(s.cluster);
    if (b?.reason === s.reason && b.message === s.message) continue;
    out.push({
      type: 'Warning',
      reason: s.reason,
      message:
        s.reason === 'NotOwned' ? `${federated.kind} "${objectKey(federated)}": ${s.message}` : (s.message ?? ''),
      cluster: s.cluster,
    });
  }
  if (scalable) {
    const cond = (st: unknown) =>
      isObject(st) && Array.isArray(st.conditions)
        ? (st.conditions as Condition[]).find((c) => c.type === SCHEDULED_CONDITION)
        : undefined;
    const b = cond(federated.status);
    const a = cond(p.nativeStatus ?? federated.status);
    if (a && a.message !== b?.message) {
      if (a.status === 'False')
        out.push({ type: 'Warning', reason: 'FailedScheduling', message: `${a.reason}: ${a.message}` });
      else if (planned) out.push({ type: 'Normal', reason: 'ReplicasPlanned', message: planned });
    }
  }
  return out;
}
