import { hasCode } from '../../core/errors.js';
import type { KubeObject } from '../../core/kube.js';
import { Informer, WorkQueue, dropManagedFields, keyOf, runController, splitKey } from '../../core/controller/index.js';
import type { ControllerContext, StartedController } from '../registry.js';
import { decide } from './decide.js';

export { decide, type TtlDecision } from './decide.js';

/**
 * Deletes finished federated Jobs once their `ttlSecondsAfterFinished` is over (`decide.ts`):
 * reads Jobs from an informer, looks again at a fresh copy before deleting (its TTL may have
 * changed, as kube's controller does), deletes with background propagation and a uid and
 * resourceVersion precondition, so the copies in the members go with it.
 */
export async function startJobTtl(ctx: ControllerContext): Promise<StartedController> {
  const { federation, log } = ctx;
  const jobs = new Informer(federation, { apiVersion: 'batch/v1', kind: 'Job', transform: dropManagedFields });
  const queue = new WorkQueue<string>();
  const enqueue = (o: KubeObject) => queue.add(keyOf(o));
  jobs.onAdd(enqueue).onUpdate((_, o) => enqueue(o));
  jobs.start();
  await jobs.synced;

  const reconcile = async (key: string): Promise<{ requeueAfterMs: number } | void> => {
    const cached = jobs.get(key);
    if (!cached) return;
    const first = decide(cached, Date.now());
    if (first.action === 'wait') return { requeueAfterMs: Math.max(0, first.at - Date.now()) };
    if (first.action === 'keep') return;
    const { namespace, name } = splitKey(key);
    const fresh = await federation.tryGet('batch/v1', 'Job', namespace, name);
    if (!fresh) return;
    const now = decide(fresh, Date.now());
    if (now.action === 'wait') return { requeueAfterMs: Math.max(0, now.at - Date.now()) };
    if (now.action === 'keep') return;
    try {
      await federation.delete('batch/v1', 'Job', namespace, name, {
        propagationPolicy: 'Background',
        preconditions: { uid: fresh.metadata.uid, resourceVersion: fresh.metadata.resourceVersion },
      });
      log.info(
        { job: key, finishedAt: new Date(now.finishedAt).toISOString(), ttlSeconds: now.ttlSeconds },
        'finished Job deleted: its ttlSecondsAfterFinished is over',
      );
    } catch (err) {
      // Gone meanwhile, or changed since it was read: the change requeues it.
      if (!hasCode(err, 404) && !hasCode(err, 409)) throw err;
    }
  };
  const runner = runController({ name: 'job-ttl', queue, workers: 1, reconcile, metrics: ctx.metrics });
  return {
    async stop() {
      await runner.stop();
      await jobs.stop();
    },
  };
}
