/**
 * What the views show, derived from the streamed objects. Pure functions (no DOM): the
 * placement of a federated object per cluster, cluster health, label selectors, formatting.
 */
import { labelSelectorText } from '../../core/label-selector.js';
import type {
  ClusterStatus,
  KubeObject,
  PropagationStatus,
  RolloutAction,
  RolloutStatus,
  RunRecord,
  StageStatus,
} from '../api.js';

export interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
  lastProbeTime?: string;
  lastTransitionTime?: string;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const num = (v: unknown): number | undefined => (typeof v === 'number' ? v : undefined);

export function conditionsOf(o: KubeObject): Condition[] {
  const s = isRecord(o.status) ? o.status : {};
  const fromStatus = Array.isArray(s.conditions) ? (s.conditions as Condition[]) : [];
  const annotation = o.metadata.annotations?.['kitfed.io/conditions'];
  if (!annotation) return fromStatus;
  try {
    const parsed = JSON.parse(annotation) as unknown;
    return Array.isArray(parsed) ? [...fromStatus, ...(parsed as Condition[])] : fromStatus;
  } catch {
    return fromStatus;
  }
}

// ---- clusters ------------------------------------------------------------------------

export interface ClusterView {
  name: string;
  ready: boolean;
  offline: boolean;
  /** Ready condition's reason and message when not Ready. */
  reason?: string;
  message?: string;
  region?: string;
  zones: string[];
  lastProbeTime?: string;
  lastTransitionTime?: string;
  labels: Record<string, string>;
}

export function clusterView(c: KubeObject): ClusterView {
  const s = isRecord(c.status) ? c.status : {};
  const conds = conditionsOf(c);
  const ready = conds.find((x) => x.type === 'Ready');
  const offline = conds.find((x) => x.type === 'Offline');
  const labels = c.metadata.labels ?? {};
  const region = typeof s.region === 'string' ? s.region : labels['kitfed.io/region'] || undefined;
  return {
    name: c.metadata.name ?? '',
    ready: ready?.status === 'True',
    offline: offline?.status === 'True',
    ...(ready && ready.status !== 'True' ? { reason: ready.reason, message: ready.message } : {}),
    ...(region ? { region } : {}),
    zones: Array.isArray(s.zones) ? (s.zones as string[]) : [],
    ...(ready?.lastProbeTime ? { lastProbeTime: ready.lastProbeTime } : {}),
    ...(ready?.lastTransitionTime ? { lastTransitionTime: ready.lastTransitionTime } : {}),
    labels,
  };
}

/** `Ready`, `Offline` or `Not ready` (reachable but failing its health check), or `Unknown` before the first probe. */
export function clusterHealth(c: ClusterView, probed: boolean): 'Ready' | 'Offline' | 'NotReady' | 'Unknown' {
  if (!probed) return 'Unknown';
  if (c.ready) return 'Ready';
  return c.offline ? 'Offline' : 'NotReady';
}

// ---- placement -----------------------------------------------------------------------

export type SyncState = 'InSync' | 'Pending' | 'Failed' | 'ClusterNotReady' | 'NotPlaced' | 'Unknown';

export interface Placement {
  cluster: string;
  region?: string;
  /** Replicas the planner gave this cluster. */
  planned?: number;
  /** Replicas the member object asks for. */
  desired?: number;
  ready?: number;
  state: SyncState;
  message?: string;
}

export const WORKLOAD_KINDS = new Set(['Deployment', 'ReplicaSet', 'StatefulSet']);

/**
 * The label selector (kubectl's text) of the pods a workload runs in the members: its
 * `spec.selector` (Deployments, ReplicaSets, StatefulSets, DaemonSets), a Job's `job-name`
 * label; undefined for other kinds.
 */
export function podSelectorOf(o: KubeObject): string | undefined {
  if (o.kind === 'Job') return o.metadata.name ? `job-name=${o.metadata.name}` : undefined;
  if (!['Deployment', 'ReplicaSet', 'StatefulSet', 'DaemonSet'].includes(o.kind)) return undefined;
  return labelSelectorText(isRecord(o.spec) ? o.spec.selector : undefined);
}

/** The plan recorded in a workload's `Scheduled` condition (`{"plan":{cluster:n},…}`). */
export function recordedPlan(o: KubeObject): Record<string, number> | undefined {
  const c = conditionsOf(o).find((x) => x.type === 'Scheduled');
  if (!c?.message) return undefined;
  try {
    const doc = JSON.parse(c.message) as unknown;
    return isRecord(doc) && isRecord(doc.plan) ? (doc.plan as Record<string, number>) : undefined;
  } catch {
    return undefined;
  }
}

/** The Scheduled condition's plan in words: `plan asia-east=3, eu-west=3; 2 unplaced`. */
export function planText(o: KubeObject): string | undefined {
  const c = conditionsOf(o).find((x) => x.type === 'Scheduled');
  const plan = recordedPlan(o);
  if (!c?.message || !plan) return undefined;
  let unplaced = 0;
  try {
    const doc = JSON.parse(c.message) as { unplaced?: unknown };
    unplaced = typeof doc.unplaced === 'number' ? doc.unplaced : 0;
  } catch {
    // recordedPlan parsed it already
  }
  const parts = Object.entries(plan).map(([name, n]) => `${name}=${n}`);
  return `plan ${parts.join(', ') || '(no cluster)'}${unplaced ? `; ${unplaced} unplaced` : ''}`;
}

/** Where the controllers record an object's propagation status (docs/federation.md, "Status"). */
export const PROPAGATION_STATUS_ANNOTATION = 'kitfed.io/status';

/** The propagation status the controllers recorded on a federated object, if any yet. */
export function propagationStatus(o: KubeObject): PropagationStatus | undefined {
  const text = o.metadata.annotations?.[PROPAGATION_STATUS_ANNOTATION];
  if (!text) return undefined;
  try {
    const doc = JSON.parse(text) as unknown;
    if (!isRecord(doc)) return undefined;
    const clusters = Array.isArray(doc.clusters)
      ? (doc.clusters as unknown[]).filter(
          (c): c is ClusterStatus => isRecord(c) && typeof c.cluster === 'string' && typeof c.state === 'string',
        )
      : [];
    return {
      clusters,
      ...(typeof doc.reason === 'string' ? { reason: doc.reason } : {}),
      ...(typeof doc.message === 'string' ? { message: doc.message } : {}),
    };
  } catch {
    return undefined;
  }
}

/** `Reason: message`, or whichever of the two there is. */
function because(reason: string | undefined, message: string | undefined): string | undefined {
  if (reason && message) return `${reason}: ${message}`;
  return message || reason || undefined;
}

/**
 * Where a federated object is, cluster by cluster, from the status the controllers record
 * (`kitfed.io/status`: one entry per cluster in the object's placement) and, for scalable kinds,
 * the replica plan of the `Scheduled` condition. A cluster without an entry is not placed, except
 * a cluster that is not Ready, which the replica planner leaves out: ClusterNotReady. Before the
 * controllers' first pass every cluster is Unknown (or ClusterNotReady).
 */
export function placement(o: KubeObject, clusters: readonly ClusterView[]): Placement[] {
  const doc = propagationStatus(o);
  const plan = recordedPlan(o);
  const byName = new Map(clusters.map((c) => [c.name, c]));
  const names = new Set<string>(clusters.map((c) => c.name));
  for (const e of doc?.clusters ?? []) names.add(e.cluster);
  const out: Placement[] = [];
  for (const name of [...names].sort()) {
    const c = byName.get(name);
    const entry = doc?.clusters.find((e) => e.cluster === name);
    const p: Placement = { cluster: name, state: 'Unknown', ...(c?.region ? { region: c.region } : {}) };
    if (plan) p.planned = plan[name] ?? 0;
    if (entry) {
      p.state = isSyncState(entry.state) ? entry.state : 'Unknown';
      const message = because(entry.reason, entry.message);
      if (message) p.message = message;
      const desired = num(entry.replicas);
      if (desired !== undefined) p.desired = desired;
    } else if (doc?.reason) {
      // Nothing is propagated anywhere (an invalid selector or preferences): the document says why.
      p.state = 'Failed';
      p.message = because(doc.reason, doc.message);
    } else if (c && !c.ready && (plan || !doc)) {
      p.state = 'ClusterNotReady';
      if (c.message) p.message = c.message;
    } else if (doc) {
      p.state = 'NotPlaced';
    }
    out.push(p);
  }
  return out;
}

function isSyncState(v: unknown): v is SyncState {
  return v === 'InSync' || v === 'Pending' || v === 'Failed' || v === 'ClusterNotReady' || v === 'NotPlaced';
}

export interface Replicas {
  desired: number;
  ready: number;
  available: number;
}

export function replicasOf(o: KubeObject): Replicas | undefined {
  if (!WORKLOAD_KINDS.has(o.kind)) return undefined;
  const spec = isRecord(o.spec) ? o.spec : {};
  const s = isRecord(o.status) ? o.status : {};
  return {
    desired: num(spec.replicas) ?? 1,
    ready: num(s.readyReplicas) ?? 0,
    available: num(s.availableReplicas) ?? 0,
  };
}

/** The override rules applied to each cluster's copy, as the status records them (`overrides`). */
export function overridesOf(o: KubeObject): Array<{ cluster: string; rules: string[] }> {
  return (propagationStatus(o)?.clusters ?? [])
    .filter((c) => Array.isArray(c.overrides) && c.overrides.length > 0)
    .map((c) => ({ cluster: c.cluster, rules: (c.overrides ?? []).map(String) }));
}

// ---- label selectors -----------------------------------------------------------------

type Requirement = { key: string; op: 'in' | 'notin' | 'exists' | '!exists'; values: string[] };

/** Parses a Kubernetes label selector (`a=b,c!=d,e in (x,y),!f,g`); throws with the bad part named. */
export function parseSelector(text: string): Requirement[] {
  const reqs: Requirement[] = [];
  const parts: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of text) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      parts.push(cur);
      cur = '';
    } else cur += ch;
  }
  parts.push(cur);
  for (const raw of parts.map((p) => p.trim()).filter(Boolean)) {
    let m: RegExpExecArray | null;
    if ((m = /^([\w./-]+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(raw)))
      reqs.push({
        key: m[1]!,
        op: m[2] as 'in' | 'notin',
        values: m[3]!
          .split(',')
          .map((v) => v.trim())
          .filter(Boolean),
      });
    else if ((m = /^([\w./-]+)\s*(==|=|!=)\s*([\w./-]*)$/.exec(raw)))
      reqs.push({ key: m[1]!, op: m[2] === '!=' ? 'notin' : 'in', values: [m[3]!] });
    else if ((m = /^!\s*([\w./-]+)$/.exec(raw))) reqs.push({ key: m[1]!, op: '!exists', values: [] });
    else if ((m = /^([\w./-]+)$/.exec(raw))) reqs.push({ key: m[1]!, op: 'exists', values: [] });
    else throw new Error(`cannot parse "${raw}" (expected key=value, key!=value, key in (a,b), key or !key)`);
  }
  return reqs;
}

export function matches(reqs: readonly Requirement[], labels: Record<string, string> | undefined): boolean {
  const l = labels ?? {};
  return reqs.every((r) => {
    const has = Object.prototype.hasOwnProperty.call(l, r.key);
    switch (r.op) {
      case 'exists':
        return has;
      case '!exists':
        return !has;
      case 'in':
        return has && r.values.includes(l[r.key]!);
      case 'notin':
        return !has || !r.values.includes(l[r.key]!);
    }
  });
}

// ---- events --------------------------------------------------------------------------

export interface EventView {
  key: string;
  time: string;
  type: string;
  reason: string;
  message: string;
  count: number;
  object: { kind: string; name: string; namespace?: string; uid?: string };
}

export function eventView(e: KubeObject): EventView {
  const inv = isRecord(e.involvedObject) ? e.involvedObject : isRecord(e.regarding) ? e.regarding : {};
  const str = (v: unknown) => (typeof v === 'string' ? v : '');
  return {
    key: `${e.metadata.namespace ?? ''}/${e.metadata.name ?? ''}`,
    time:
      str(e.lastTimestamp) ||
      str(e.eventTime) ||
      str(isRecord(e.series) ? e.series.lastObservedTime : '') ||
      str(e.firstTimestamp) ||
      (e.metadata.creationTimestamp ?? ''),
    type: str(e.type) || 'Normal',
    reason: str(e.reason),
    message: str(e.message) || str(e.note),
    count: num(e.count) ?? (isRecord(e.series) ? (num(e.series.count) ?? 1) : 1),
    object: {
      kind: str(inv.kind),
      name: str(inv.name),
      ...(str(inv.namespace) ? { namespace: str(inv.namespace) } : {}),
      ...(str(inv.uid) ? { uid: str(inv.uid) } : {}),
    },
  };
}

export function eventsFor(o: KubeObject, events: readonly EventView[]): EventView[] {
  return events.filter((e) =>
    e.object.uid && o.metadata.uid
      ? e.object.uid === o.metadata.uid
      : e.object.kind === o.kind &&
        e.object.name === o.metadata.name &&
        (e.object.namespace ?? '') === (o.metadata.namespace ?? ''),
  );
}

// ---- formatting ----------------------------------------------------------------------

/** `42s`, `5m`, `3h`, `2d` since `iso` (kubectl's AGE style). */
export function age(iso: string | undefined, now: number): string {
  if (!iso) return '—';
  const s = Math.max(0, Math.floor((now - Date.parse(iso)) / 1000));
  if (!Number.isFinite(s)) return '—';
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.floor(s / 60)}m`;
  if (s < 172_800) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86_400)}d`;
}

export function duration(ms: number | undefined): string {
  if (ms === undefined) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
  // Whole seconds first, so 599.6 s reads "10 m", not "9 m 60 s".
  const seconds = Math.round(ms / 1000);
  const rest = seconds % 60;
  return rest ? `${Math.floor(seconds / 60)} m ${rest} s` : `${seconds / 60} m`;
}

// ---- rollouts -------------------------------------------------------------------------

/** The current rollout of each repo: its newest deploy run that has a rollout plan, by repo name. */
export function currentRollouts(runs: readonly RunRecord[]): RunRecord[] {
  const byRepo = new Map<string, RunRecord>();
  for (const r of runs) {
    if (r.kind !== 'deploy' || !r.rollout) continue;
    const seen = byRepo.get(r.repo);
    if (!seen || r.id > seen.id) byRepo.set(r.repo, r);
  }
  return [...byRepo.values()].sort((a, b) => a.repo.localeCompare(b.repo));
}

const FINISHED_PHASES = new Set(['Succeeded', 'Failed', 'Aborted', 'Superseded']);

export function rolloutFinished(s: RolloutStatus): boolean {
  return FINISHED_PHASES.has(s.phase);
}

/**
 * Which operator actions apply to a rollout now (the webhook service decides; this only keeps
 * buttons that would be refused disabled): pause when not paused, resume when paused, promote an
 * approval wait, a bake or a pause, abort anything still running.
 */
export function rolloutActions(s: RolloutStatus): Set<RolloutAction> {
  const can = new Set<RolloutAction>();
  if (rolloutFinished(s)) return can;
  const cur = s.stages[s.currentStage ?? 0];
  can.add('abort');
  can.add(s.paused ? 'resume' : 'pause');
  const approval = cur && (cur.state === 'WaitingForApproval' || (cur.batch < 0 && cur.approval && !cur.approvedAt));
  if (approval || cur?.state === 'Baking' || s.paused) can.add('promote');
  return can;
}

/** "batch 2 of 3" for a stage in batches; empty for one batch or before it starts. */
export function batchText(st: StageStatus): string {
  if (st.batches.length <= 1 || st.batch < 0) return '';
  return `batch ${st.batch + 1} of ${st.batches.length}`;
}
