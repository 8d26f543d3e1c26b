import type { KubeObject } from '../core/kube.js';
import type { SimContext } from './context.js';
import { createPods, podFromTemplate, writeStatus } from './replicasets.js';
import { condition, isPodActive, isPodReady, num, omitZero, podPhase, specOf, statusOf, type Obj } from './util.js';

/** The Job controller: runs pods (up to `parallelism`) until `completions` succeeded, then Complete. */
export async function syncJob(ctx: SimContext, job: KubeObject): Promise<void> {
  if (job.metadata.deletionTimestamp) return;
  const status = statusOf(job);
  if (condition(job, 'Complete')?.status === 'True' || condition(job, 'Failed')?.status === 'True') return;
  const completions = num(specOf(job).completions, 1);
  const parallelism = num(specOf(job).parallelism, 1);
  const pods = ctx.cache.owned(job.metadata.uid, 'Pod');
  const succeeded = pods.filter((p) => podPhase(p) === 'Succeeded').length;
  const failed = pods.filter((p) => podPhase(p) === 'Failed').length;
  let active = pods.filter(isPodActive);
  const startTime = (status.startTime as string | undefined) ?? ctx.clock.iso();
  if (succeeded >= completions) {
    const now = ctx.clock.iso();
    await writeStatus(ctx, 'Job', job, {
      ...omitZero({ succeeded, failed }),
      startTime,
      completionTime: now,
      uncountedTerminatedPods: {},
      ready: 0,
      conditions: [
        {
          type: 'SuccessCriteriaMet',
          status: 'True',
          reason: 'CompletionsReached',
          message: 'Reached expected number of succeeded pods',
          lastProbeTime: now,
          lastTransitionTime: now,
        },
        {
          type: 'Complete',
          status: 'True',
          reason: 'CompletionsReached',
          message: 'Reached expected number of succeeded pods',
          lastProbeTime: now,
          lastTransitionTime: now,
        },
      ],
    });
    ctx.events.emit(job, 'Normal', 'Completed', 'Job completed', 'job-controller');
    return;
  }
  if (!specOf(job).suspend) {
    const want = Math.min(parallelism, completions - succeeded) - active.length;
    if (want > 0) active = [...active, ...(await createPods(ctx, job, want, () => podFromTemplate(job)))];
  }
  const next: Obj = {
    ...omitZero({ active: active.length, succeeded, failed }),
    startTime,
    uncountedTerminatedPods: {},
    ready: active.filter(isPodReady).length,
  };
  await writeStatus(ctx, 'Job', job, next);
}
