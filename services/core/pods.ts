/**
 * How kitfed reads a Pod's state, one definition for every reader: the deployer's health wait
 * (fail fast on a stuck container), the replica scheduler (which replicas count as current or
 * starting) and the planner's replica state (running and ready).
 */
import { isObject, type KubeObject } from './kube.js';

/** Container waiting reasons that do not heal by waiting. */
export const STUCK_WAITING_REASONS: ReadonlySet<string> = new Set([
  'ErrImagePull',
  'ImagePullBackOff',
  'CrashLoopBackOff',
  'InvalidImageName',
  'ErrImageNeverPull',
  'CreateContainerConfigError',
  'CreateContainerError',
  'RunContainerError',
]);

type Rec = Record<string, unknown>;
const recs = (v: unknown): Rec[] => (Array.isArray(v) ? v.filter(isObject) : []);
const statusOf = (p: KubeObject): Rec => (isObject(p.status) ? p.status : {});

/** Phase `Running` with condition `Ready=True`. */
export function isPodReady(p: KubeObject): boolean {
  const s = statusOf(p);
  return s.phase === 'Running' && recs(s.conditions).some((c) => c.type === 'Ready' && c.status === 'True');
}

/** The first (init) container stuck waiting, as `pod web-1 container web: ImagePullBackOff: …`. */
export function stuckContainer(p: KubeObject): string | undefined {
  const s = statusOf(p);
  for (const c of [...recs(s.initContainerStatuses), ...recs(s.containerStatuses)]) {
    const w = isObject(c.state) && isObject(c.state.waiting) ? c.state.waiting : undefined;
    if (typeof w?.reason === 'string' && STUCK_WAITING_REASONS.has(w.reason)) {
      return `pod ${p.metadata.name ?? ''} container ${String(c.name)}: ${w.reason}${typeof w.message === 'string' && w.message ? `: ${w.message}` : ''}`;
    }
  }
  return undefined;
}

/** Unschedulable now (condition `PodScheduled=False`, reason `Unschedulable`), at any age. */
export function isPodUnschedulable(p: KubeObject): boolean {
  return recs(statusOf(p).conditions).some(
    (c) => c.type === 'PodScheduled' && c.status === 'False' && c.reason === 'Unschedulable',
  );
}
