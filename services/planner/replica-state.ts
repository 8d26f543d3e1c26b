/**
 * `current` and `estimatedCapacity` per cluster for the planner, from each member cluster's copy
 * of a ReplicaSet/Deployment and its pods (Federation v1 era C, reference §1.6), with one
 * deliberate fix: a pod counts as ready only when its `Ready` condition has status `True`
 * (v1 counted any Running pod that had a `Ready` condition, whatever its status).
 */
import { isObject, type Condition, type KubeObject } from '../core/kube.js';
import { isPodReady } from '../core/pods.js';
import { setOwn } from './types.js';

/** A pod unschedulable for longer than this caps the cluster's capacity. */
export const UNSCHEDULABLE_THRESHOLD_MS = 60_000;

export interface ClusterWorkload {
  cluster: string;
  /** The member cluster's copy of the ReplicaSet/Deployment; absent when it does not exist there. */
  object?: KubeObject | null;
  /** Pods of that cluster; filtered here by the object's namespace and label selector. */
  pods?: readonly KubeObject[];
}

export interface ReplicaState {
  current: Record<string, number>;
  estimatedCapacity: Record<string, number>;
  /**
   * When some pod is unschedulable but not yet for 60 s: the earliest time (ms since epoch) at
   * which it will be, so the caller can re-plan then. Undefined otherwise.
   */
  recheckAt?: number;
}

interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: Array<{ key: string; operator: string; values?: string[] }>;
}

const field = (o: unknown, k: string): unknown => (isObject(o) ? o[k] : undefined);
const num = (v: unknown, dflt: number): number => (typeof v === 'number' ? v : dflt);

/** Kubernetes label-selector semantics; a missing selector selects nothing (as LabelSelectorAsSelector(nil)). */
export function selectorMatches(selector: unknown, labels: Readonly<Record<string, string>> | undefined): boolean {
  if (!isObject(selector)) return false;
  const sel = selector as LabelSelector;
  const l = labels ?? {};
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) if (!Object.hasOwn(l, k) || l[k] !== v) return false;
  for (const e of sel.matchExpressions ?? []) {
    const has = Object.hasOwn(l, e.key);
    const values = e.values ?? [];
    switch (e.operator) {
      case 'In':
        if (!has || !values.includes(l[e.key]!)) return false;
        break;
      case 'NotIn':
        if (has && values.includes(l[e.key]!)) return false;
        break;
      case 'Exists':
        if (!has) return false;
        break;
      case 'DoesNotExist':
        if (has) return false;
        break;
      default:
        return false;
    }
  }
  return true;
}

function conditions(pod: KubeObject): Condition[] {
  const c = field(pod.status, 'conditions');
  return Array.isArray(c) ? (c as Condition[]) : [];
}

/** Pod analysis: running-and-ready count, unschedulable-for-60s count, earliest pending recheck. */
export function analysePods(
  pods: readonly KubeObject[],
  now: number,
): { runningAndReady: number; unschedulable: number; recheckAt?: number } {
  let runningAndReady = 0;
  let unschedulable = 0;
  let recheckAt: number | undefined;
  for (const pod of pods) {
    const conds = conditions(pod);
    if (field(pod.status, 'phase') === 'Running') {
      if (isPodReady(pod)) runningAndReady++;
      continue;
    }
    const stuck = conds.find((c) => c.type === 'PodScheduled' && c.status === 'False' && c.reason === 'Unschedulable');
    if (!stuck) continue;
    const since = Date.parse(stuck.lastTransitionTime ?? '');
    if (Number.isNaN(since)) continue;
    const at = since + UNSCHEDULABLE_THRESHOLD_MS;
    if (at < now) unschedulable++;
    else recheckAt = Math.min(recheckAt ?? Infinity, at);
  }
  return recheckAt === undefined ? { runningAndReady, unschedulable } : { runningAndReady, unschedulable, recheckAt };
}

/**
 * `workloads`: one entry per selected ready cluster, as a list or keyed by cluster name.
 * Per cluster whose copy of the object exists: if `spec.replicas` (default 1) equals
 * `status.readyReplicas`, `current` is that; otherwise the pods in the object's namespace
 * matching its `spec.selector` are analysed: `current` = Running pods with `Ready=True`, and if
 * some pods have been Unschedulable for over 60 s, `estimatedCapacity` = `spec.replicas` minus them.
 */
export function replicaState(
  workloads: Iterable<ClusterWorkload> | Readonly<Record<string, Omit<ClusterWorkload, 'cluster'>>>,
  now: number | Date = Date.now(),
): ReplicaState {
  const at = typeof now === 'number' ? now : now.getTime();
  const list: Iterable<ClusterWorkload> =
    Symbol.iterator in workloads ? workloads : Object.entries(workloads).map(([cluster, w]) => ({ ...w, cluster }));
  const state: ReplicaState = { current: {}, estimatedCapacity: {} };
  for (const w of list) {
    const obj = w.object;
    if (!obj) continue;
    const replicas = num(field(obj.spec, 'replicas'), 1);
    const ready = num(field(obj.status, 'readyReplicas'), 0);
    if (replicas === ready) {
      setOwn(state.current, w.cluster, ready);
      continue;
    }
    const selector = field(obj.spec, 'selector');
    const pods = (w.pods ?? []).filter(
      (p) =>
        (p.metadata.namespace ?? '') === (obj.metadata.namespace ?? '') && selectorMatches(selector, p.metadata.labels),
    );
    const a = analysePods(pods, at);
    setOwn(state.current, w.cluster, a.runningAndReady);
    if (a.unschedulable > 0) setOwn(state.estimatedCapacity, w.cluster, replicas - a.unschedulable);
    if (a.recheckAt !== undefined) state.recheckAt = Math.min(state.recheckAt ?? Infinity, a.recheckAt);
  }
  return state;
}
