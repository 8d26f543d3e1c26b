import { hasCode } from '../core/errors.js';
import { cloneJson, type KubeObject } from '../core/kube.js';
import type { SimContext } from './context.js';
import { knownTimeZone, parseSchedule, type Schedule } from './cron.js';
import { keyOf } from './informer.js';
import { createRefusable, writeStatus } from './replicasets.js';
import { asObj, condition, ownerRef, specOf, statusOf, type Obj } from './util.js';
import { kubeTime } from '../core/time.js';

/**
 * The CronJob controller, after kube's (pkg/controller/cronjob, v2): at each scheduled time (the
 * simulator's clock) a Job `<cronjob>-<minutes since the epoch>` from `jobTemplate`, owned by the
 * CronJob; concurrencyPolicy Allow/Forbid/Replace, suspend, startingDeadlineSeconds, timeZone;
 * `status.active`, `lastScheduleTime`, `lastSuccessfulTime`; finished Jobs beyond
 * successfulJobsHistoryLimit/failedJobsHistoryLimit deleted (their pods by the garbage
 * collector). Between schedules nothing runs: one timer per CronJob for its next time.
 */

export const SCHEDULED_TIMESTAMP = 'batch.kubernetes.io/cronjob-scheduled-timestamp';

interface JobRef {
  apiVersion?: string;
  kind?: string;
  name: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
}

export interface CronJobEvent {
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
}

export interface CronJobInput {
  cronJob: KubeObject;
  /** Jobs whose controller is the CronJob. */
  jobs: KubeObject[];
  now: number;
}

export interface CronJobDecision {
  status: Obj;
  events: CronJobEvent[];
  /** Create this Job (its name is the lock against creating it twice). */
  create?: KubeObject;
  /** Delete these Jobs first (Replace), then create. */
  replace: KubeObject[];
  /** Finished Jobs beyond the history limits. */
  prune: KubeObject[];
  /** Sync again at this time (the next schedule, clock ms). */
  requeueAt?: number;
}

function finished(job: KubeObject): 'Complete' | 'Failed' | undefined {
  if (condition(job, 'Complete')?.status === 'True') return 'Complete';
  if (condition(job, 'Failed')?.status === 'True') return 'Failed';
  return undefined;
}

const isoSeconds = (ms: number) => kubeTime(new Date(ms));

export function jobName(cronJob: KubeObject, scheduled: number): string {
  return `${cronJob.metadata.name}-${Math.floor(scheduled / 60_000)}`;
}

/** RFC 3339 of `ms` in `tz` (the scheduled-timestamp annotation kube writes). */
function inZone(ms: number, tz: string | undefined): string {
  if (!tz || tz === 'UTC') return isoSeconds(ms);
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-US', {
      timeZone: tz,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      timeZoneName: 'longOffset',
    })
      .formatToParts(new Date(ms))
      .map((p) => [p.type, p.value]),
  ) as Record<string, string>;
  const offset = (parts.timeZoneName ?? 'GMT').replace('GMT', '') || 'Z';
  return `${parts.year}-${parts.month}-${parts.day}T${parts.hour}:${parts.minute}:${parts.second}${offset}`;
}

/** The Job kube's getJobFromTemplate2 builds for a scheduled time. */
export function jobFor(cronJob: KubeObject, scheduled: number): KubeObject {
  const template = asObj(specOf(cronJob).jobTemplate);
  const meta = asObj(template.metadata);
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: {
      name: jobName(cronJob, scheduled),
      namespace: cronJob.metadata.namespace,
      labels: { ...((meta.labels as Record<string, string> | undefined) ?? {}) },
      annotations: {
        ...((meta.annotations as Record<string, string> | undefined) ?? {}),
        [SCHEDULED_TIMESTAMP]: inZone(scheduled, specOf(cronJob).timeZone as string | undefined),
      },
      ownerReferences: [ownerRef(cronJob)],
    },
    spec: cloneJson(asObj(template.spec)),
  };
}

function refOf(job: KubeObject): JobRef {
  return {
    kind: 'Job',
    namespace: job.metadata.namespace,
    name: job.metadata.name!,
    uid: job.metadata.uid,
    apiVersion: 'batch/v1',
    resourceVersion: job.metadata.resourceVersion,
  };
}

/** One pass of kube's syncCronJob as pure code. */
export function decideCronJob(input: CronJobInput, schedule: Schedule | Error): CronJobDecision {
  const { cronJob, jobs, now } = input;
  const spec = specOf(cronJob);
  const cur = statusOf(cronJob);
  const events: CronJobEvent[] = [];
  const byUid = new Map(jobs.map((j) => [j.metadata.uid, j]));
  let active = ((cur.active as JobRef[] | undefined) ?? []).filter((r) => {
    if (byUid.has(r.uid)) return true;
    events.push({ type: 'Normal', reason: 'MissingJob', message: `Active job went missing: ${r.name}` });
    return false;
  });
  let lastSuccessful = cur.lastSuccessfulTime as string | undefined;
  for (const j of jobs) {
    const done = finished(j);
    const listed = active.some((r) => r.uid === j.metadata.uid);
    if (!listed && !done && !j.metadata.deletionTimestamp) {
      events.push({
        type: 'Warning',
        reason: 'UnexpectedJob',
        message: `Saw a job that the controller did not create or forgot: ${j.metadata.name}`,
      });
    } else if (listed && done) {
      active = active.filter((r) => r.uid !== j.metadata.uid);
      events.push({
        type: 'Normal',
        reason: 'SawCompletedJob',
        message: `Saw completed job: ${j.metadata.name}, condition: ${done}`,
      });
    }
    const completed = statusOf(j).completionTime as string | undefined;
    if (done === 'Complete' && completed && (!lastSuccessful || Date.parse(completed) > Date.parse(lastSuccessful)))
      lastSuccessful = completed;
  }
  const status: Obj = { ...cur };
  if (active.length > 0) status.active = active;
  else delete status.active;
  if (lastSuccessful) status.lastSuccessfulTime = lastSuccessful;
  const decision: CronJobDecision = { status, events, replace: [], prune: prune(cronJob, jobs) };
  if (cronJob.metadata.deletionTimestamp) return decision;
  const tz = spec.timeZone as string | undefined;
  if (tz !== undefined && !knownTimeZone(tz)) {
    events.push({
      type: 'Warning',
      reason: 'UnknownTimeZone',
      message: `invalid timeZone: "${tz}": unknown time zone ${tz}`,
    });
    return decision;
  }
  if (spec.suspend === true) return decision;
  if (schedule instanceof Error) {
    events.push({
      type: 'Warning',
      reason: 'UnparseableSchedule',
      message: `unparseable schedule: "${String(spec.schedule)}" : ${schedule.message}`,
    });
    return decision;
  }
  const last = cur.lastScheduleTime as string | undefined;
  let earliest = Date.parse(last ?? cronJob.metadata.creationTimestamp ?? '') || now;
  const deadline = spec.startingDeadlineSeconds;
  if (typeof deadline === 'number') earliest = Math.max(earliest, now - deadline * 1000);
  const scheduled = schedule.mostRecent(earliest, now);
  const next = schedule.next(Math.max(now, scheduled ?? now));
  if (next !== undefined) decision.requeueAt = next;
  if (scheduled === undefined) return decision;
  if (typeof deadline === 'number' && scheduled + deadline * 1000 < now) {
    events.push({
      type: 'Warning',
      reason: 'MissSchedule',
      message: `Missed scheduled time to start a job: ${new Date(scheduled).toUTCString().replace('GMT', '+0000')}`,
    });
    return decision;
  }
  const name = jobName(cronJob, scheduled);
  if (active.some((r) => r.name === name) || (last && Date.parse(last) === scheduled)) return decision;
  if (spec.concurrencyPolicy === 'Forbid' && active.length > 0) {
    events.push({
      type: 'Normal',
      reason: 'JobAlreadyActive',
      message: 'Not starting job because prior execution is running and concurrency policy is Forbid',
    });
    return decision;
  }
  if (spec.concurrencyPolicy === 'Replace')
    decision.replace = active.map((r) => byUid.get(r.uid)).filter((j): j is KubeObject => j !== undefined);
  decision.create = jobFor(cronJob, scheduled);
  status.lastScheduleTime = isoSeconds(scheduled);
  return decision;
}

/** kube's cleanupFinishedJobs: the oldest finished Jobs beyond each history limit. */
function prune(cronJob: KubeObject, jobs: KubeObject[]): KubeObject[] {
  const spec = specOf(cronJob);
  const out: KubeObject[] = [];
  const byStart = (a: KubeObject, b: KubeObject) =>
    String(statusOf(a).startTime ?? a.metadata.creationTimestamp ?? '').localeCompare(
      String(statusOf(b).startTime ?? b.metadata.creationTimestamp ?? ''),
    );
  for (const [kind, limitField] of [
    ['Complete', 'successfulJobsHistoryLimit'],
    ['Failed', 'failedJobsHistoryLimit'],
  ] as const) {
    const limit = spec[limitField];
    if (typeof limit !== 'number') continue;
    const done = jobs.filter((j) => finished(j) === kind && !j.metadata.deletionTimestamp).sort(byStart);
    out.push(...done.slice(0, Math.max(0, done.length - limit)));
  }
  return out;
}

/** The CronJob controller of one cluster: schedules parsed once per spec, one timer per CronJob. */
export class CronJobs {
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly schedules = new Map<string, { text: string; schedule: Schedule | Error }>();
  /** Warnings already given per CronJob uid (each is reported once, where kube's recorder would aggregate repeats). */
  private readonly warned = new Map<string, Set<string>>();

  constructor(private readonly ctx: SimContext) {}

  forget(key: string, uid: string | undefined): void {
    this.ctx.queue.cancel(this.timers.get(key));
    this.timers.delete(key);
    this.schedules.delete(key);
    if (uid) this.warned.delete(uid);
  }

  /** Every CronJob is looked at again (after the clock moved). */
  resyncAll(): void {
    for (const cj of this.ctx.cache.list('CronJob')) this.ctx.enqueue('CronJob', keyOf(cj));
  }

  private scheduleOf(key: string, cronJob: KubeObject): Schedule | Error {
    const spec = specOf(cronJob);
    const text = `${String(spec.timeZone ?? '')}|${String(spec.schedule ?? '')}`;
    const cached = this.schedules.get(key);
    if (cached?.text === text) return cached.schedule;
    let schedule: Schedule | Error;
    try {
      schedule = parseSchedule(String(spec.schedule ?? ''), spec.timeZone as string | undefined);
    } catch (err) {
      schedule = err instanceof Error ? err : new Error(String(err));
    }
    this.schedules.set(key, { text, schedule });
    return schedule;
  }

  async sync(cronJob: KubeObject): Promise<void> {
    const ctx = this.ctx;
    const key = keyOf(cronJob);
    const jobs = ctx.cache.owned(cronJob.metadata.uid, 'Job');
    const d = decideCronJob({ cronJob, jobs, now: ctx.clock.now() }, this.scheduleOf(key, cronJob));
    for (const e of d.events) {
      if (e.type === 'Warning') {
        const uid = cronJob.metadata.uid ?? '';
        const seen = this.warned.get(uid) ?? new Set<string>();
        if (seen.has(`${e.reason}:${e.message}`)) continue;
        seen.add(`${e.reason}:${e.message}`);
        this.warned.set(uid, seen);
      }
      ctx.events.emit(cronJob, e.type, e.reason, e.message, 'cronjob-controller');
    }
    for (const j of d.replace) await this.deleteJob(cronJob, j);
    if (d.create) {
      const created = await createRefusable(
        ctx,
        cronJob,
        ctx.types.Job,
        d.create,
        (err) => `Error creating job: ${err.message}`,
      ).catch(async (err: unknown) => {
        if (!hasCode(err, 409)) throw err;
        // Created by an earlier pass whose status write was lost: adopt it if it is ours.
        const existing = await ctx.registry.tryGet(ctx.types.Job, cronJob.metadata.namespace, d.create!.metadata.name!);
        return existing?.metadata.ownerReferences?.some((r) => r.uid === cronJob.metadata.uid) ? existing : undefined;
      });
      if (!created) {
        // Not started: the schedule stays unmet (kube does not record the time either).
        const last = statusOf(cronJob).lastScheduleTime;
        if (last === undefined) delete d.status.lastScheduleTime;
        else d.status.lastScheduleTime = last;
      } else {
        ctx.events.emit(
          cronJob,
          'Normal',
          'SuccessfulCreate',
          `Created job ${created.metadata.name}`,
          'cronjob-controller',
        );
        const active = ((d.status.active as JobRef[] | undefined) ?? []).filter(
          (r) => !d.replace.some((j) => j.metadata.uid === r.uid),
        );
        d.status.active = [...active, refOf(created)];
      }
    }
    for (const j of d.prune) await this.deleteJob(cronJob, j);
    await writeStatus(ctx, 'CronJob', cronJob, d.status);
    this.arm(key, d.requeueAt);
  }

  private async deleteJob(cronJob: KubeObject, job: KubeObject): Promise<void> {
    try {
      await this.ctx.registry.delete(this.ctx.types.Job, job.metadata.namespace, job.metadata.name!, {
        propagationPolicy: 'Background',
        preconditions: { uid: job.metadata.uid },
      });
    } catch (err) {
      if (hasCode(err, 404) || hasCode(err, 409)) return;
      throw err;
    }
    this.ctx.events.emit(
      cronJob,
      'Normal',
      'SuccessfulDelete',
      `Deleted job ${job.metadata.name}`,
      'cronjob-controller',
    );
  }

  /** One timer per CronJob, for its next scheduled time (kube requeues 100 ms after it). */
  private arm(key: string, at: number | undefined): void {
    this.ctx.queue.cancel(this.timers.get(key));
    this.timers.delete(key);
    if (at === undefined) return;
    const ms = Math.min(2_147_483_647, Math.max(0, at - this.ctx.clock.now()) + 100);
    const timer = this.ctx.queue.after(ms, `CronJob-timer:${key}`, async () => {
      this.timers.delete(key);
      this.ctx.enqueue('CronJob', key);
    });
    if (timer) this.timers.set(key, timer);
  }
}
