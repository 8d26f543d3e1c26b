/**
 * A finished federated Job's time to live (`spec.ttlSecondsAfterFinished`), as kube's
 * ttl-after-finished controller reads it, as pure code. The federation keeps that field out of
 * the members' copies (kinds.ts): a member that deleted its finished copy would see kitfed create
 * it again, and the Job run again (Karmada had that bug: karmada-io/karmada#2197). So the
 * federation ends the Job itself: once its aggregated status is Complete or Failed, the TTL after
 * that condition's transition, it deletes the federated Job, and the deletion cascades to the
 * copies.
 */
import { isObject, type Condition, type KubeObject } from '../../core/kube.js';

export type TtlDecision =
  /** Not finished, no TTL, or already being deleted: nothing to do (a change requeues it). */
  | { action: 'keep' }
  /** Finished, its TTL not over: look again at `at` (ms since epoch). */
  | { action: 'wait'; at: number }
  /** Finished and its TTL over: delete it. */
  | { action: 'delete'; finishedAt: number; ttlSeconds: number };

/** When the Job finished: the transition of its `Complete` or `Failed` condition that is True. */
function finishedAt(job: KubeObject): number | undefined {
  const status = isObject(job.status) ? job.status : {};
  const conditions = Array.isArray(status.conditions) ? (status.conditions as Condition[]) : [];
  const done = conditions.find((c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True');
  if (!done) return undefined;
  const at = Date.parse(done.lastTransitionTime ?? '');
  return Number.isNaN(at) ? undefined : at;
}

export function decide(job: KubeObject, now: number): TtlDecision {
  const ttl = isObject(job.spec) ? job.spec.ttlSecondsAfterFinished : undefined;
  if (typeof ttl !== 'number' || ttl < 0 || job.metadata.deletionTimestamp) return { action: 'keep' };
  const finished = finishedAt(job);
  if (finished === undefined) return { action: 'keep' };
  const expires = finished + ttl * 1000;
  return now >= expires ? { action: 'delete', finishedAt: finished, ttlSeconds: ttl } : { action: 'wait', at: expires };
}
