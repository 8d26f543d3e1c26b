/**
 * Runs accepted push events: one worker per repo (runs of a repo are sequential, repos run side by
 * side), each run fetch → render → deploy with per-step timeouts, recorded in the event store.
 * A commit that is an ancestor of the newest completed commit is skipped (never backwards).
 * With a `rollout:` plan in the repo's kit.yaml the deploy goes stage by stage (rollout/); a failed
 * rollout queues rollbacks, which the repo's worker runs before its next event.
 */
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { errors, messageOf } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import type { RolloutAction, RolloutStatus } from './api.js';
import type { RepoConfig, WebhooksConfig } from './config.js';
import type { ClaimedEvent, ClaimedRollback, ClusterResult, EventStore, RunOutcome } from './event-store.js';
import type { WebhookMetrics } from './metrics.js';
import type { Notifications } from './notify.js';
import { withTimeout, type PipelineSteps, type StepContext } from './pipeline-steps.js';
import type { MetricSource } from './rollout/metric.js';
import { ActionError, Rollout, RolloutInterrupted } from './rollout/run-rollout.js';

export interface PipelineRunnerOptions {
  readonly store: EventStore;
  readonly steps: PipelineSteps;
  readonly repos: readonly RepoConfig[];
  readonly dataDir: string;
  readonly timeouts: WebhooksConfig['timeouts'];
  readonly log: Logger;
  readonly metrics?: WebhookMetrics;
  /** Rendered output of this many most recent runs is kept (default 10). */
  readonly keepOutputs?: number;
  /** What runs and rollouts report (queued in the outbox with the state they report). */
  readonly notifications: Notifications;
  /** Notifications were queued: deliver them. */
  readonly notified?: () => void;
  /** Credentials for rollout metric gates. */
  readonly metricSources?: readonly MetricSource[];
  /** False when deploying to the federation (one target): rollout plans are not used. @default true */
  readonly rollouts?: boolean;
}

export class PipelineRunner {
  private readonly workers = new Map<string, Promise<void>>();
  private readonly stopping = new AbortController();
  /** Rollouts in flight, by run id: where operator actions go. */
  private readonly active = new Map<number, Rollout>();

  constructor(private readonly opts: PipelineRunnerOptions) {}

  /** Re-queues runs cut short by a crash and starts a worker for every repo with queued events. */
  start(): void {
    const resumed = this.opts.store.recover();
    if (resumed > 0) this.opts.log.warn({ resumed }, 'Resuming events interrupted by a restart');
    for (const repo of this.opts.store.pendingRepos()) this.kick(repo);
  }

  /** Wakes the worker of `repo` (starting one if idle); a rollout of the repo in flight re-checks for a newer push. */
  kick(repo: string): void {
    for (const r of this.active.values()) if (r.repo === repo) r.wake();
    if (this.stopping.signal.aborted || this.workers.has(repo)) return;
    const worker = this.work(repo).finally(() => {
      this.workers.delete(repo);
      if (this.opts.store.pendingRepos().includes(repo)) this.kick(repo);
    });
    this.workers.set(repo, worker);
  }

  /**
   * An operator action on the rollout of run `runId`. 404 for an unknown run, 409 when the run has
   * no rollout, is not running, or the action does not apply now.
   */
  control(runId: number, action: RolloutAction, o: { by?: string; reason?: string } = {}): RolloutStatus {
    const r = this.active.get(runId);
    if (r) {
      try {
        return r.act(action, o);
      } catch (err) {
        if (err instanceof ActionError) throw conflict(runId, err.message);
        throw err;
      }
    }
    const run = this.opts.store.getRun(runId);
    if (!run) throw errors.notFound({ group: '', plural: 'runs', name: String(runId) });
    if (!run.rollout) throw conflict(runId, 'the run has no rollout (its repo has no kit.yaml rollout: plan)');
    if (run.status === 'running')
      throw conflict(runId, 'the rollout has not started yet (fetch and render run first); retry');
    throw conflict(runId, `the run is finished (${run.status})`);
  }

  /** Stops taking events; waits up to `graceMs` for the runs in flight (an unfinished run is resumed on next start). */
  async stop(graceMs = 10_000): Promise<void> {
    this.stopping.abort(new Error('service stopping'));
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled([...this.workers.values()]),
      new Promise((r) => (timer = setTimeout(r, graceMs))),
    ]);
    clearTimeout(timer);
  }

  /** Resolves when no worker is busy (for benchmarks and shutdown). */
  async idle(): Promise<void> {
    for (let i = 0; i < 10_000 && this.workers.size > 0; i++) await Promise.allSettled([...this.workers.values()]);
  }

  private async work(repoName: string): Promise<void> {
    // The first claim happens on a later tick so `kick()` has registered this worker; claimNext is
    // synchronous, so an event accepted after the last empty claim always finds no worker and kicks a new one.
    await Promise.resolve();
    for (;;) {
      if (this.stopping.signal.aborted) return;
      // Rollbacks first: they undo a failure the next event should not wait behind.
      const rollback = this.opts.store.claimRollback(repoName);
      if (rollback) {
        await this.rollback(rollback);
        continue;
      }
      const claim = this.opts.store.claimNext(repoName);
      if (!claim) return;
      await this.run(claim);
    }
  }

  /** Puts clusters back on their last good commit: render that commit, deploy only them, over the newer commit. */
  private async rollback(claim: ClaimedRollback): Promise<void> {
    const repo = this.opts.repos.find((r) => r.name === claim.repo);
    const log = this.opts.log.child({
      runId: claim.runId,
      repo: claim.repo,
      commit: claim.commit,
      rollbackOf: claim.parentRun,
    });
    const started = Date.now();
    const durations: Record<string, number> = {};
    let outcome: RunOutcome;
    const deploy = this.opts.steps.deploy;
    if (!repo || !deploy) {
      outcome = {
        status: 'failed',
        durations,
        clusters: [],
        error: !repo ? `repo ${claim.repo} is no longer configured` : 'no deployer configured',
        advanceHead: false,
      };
    } else {
      const ctx: StepContext = {
        runId: claim.runId,
        repo,
        commit: claim.commit,
        checkoutDir: join(this.opts.dataDir, 'work', String(claim.runId)),
        outDir: join(this.opts.dataDir, 'rendered', String(claim.runId)),
        signal: this.stopping.signal,
        log,
      };
      log.warn({ clusters: claim.clusters }, 'Rolling back to the last good commit');
      let clusters: ClusterResult[] = claim.clusters.map((c) => ({ cluster: c, render: 'ok', deploy: 'pending' }));
      try {
        const timed = this.timer(ctx, durations);
        await timed('fetch', this.opts.timeouts.fetchMs, this.opts.steps.fetch);
        const rendered = await timed('render', this.opts.timeouts.renderMs, this.opts.steps.render);
        const byName = new Map(rendered.clusters.map((c) => [c.cluster, c]));
        const present = claim.clusters.filter((c) => byName.has(c));
        const deployed = present.length
          ? await timed('deploy', this.opts.timeouts.deployMs, (c) =>
              deploy(c, rendered, { clusters: present, force: true }),
            )
          : [];
        clusters = mergeDeploy(
          clusters.map((c) =>
            byName.has(c.cluster)
              ? { ...c, files: byName.get(c.cluster)!.files }
              : {
                  ...c,
                  deploy: 'failed',
                  error: `commit ${claim.commit.slice(0, 12)} renders no folder for this cluster`,
                },
          ),
          deployed,
          false,
        );
        const failed = clusters.filter((c) => c.deploy !== 'applied');
        outcome = failed.length
          ? {
              status: 'failed',
              durations,
              clusters,
              error: `rollback failed on ${failed.map((c) => c.cluster).join(', ')}`,
              advanceHead: false,
            }
          : { status: 'succeeded', durations, clusters, advanceHead: false };
      } catch (err) {
        outcome = { status: 'failed', durations, clusters, error: messageOf(err), advanceHead: false };
      } finally {
        await this.opts.steps.cleanup(ctx).catch((err: unknown) => log.warn({ err: messageOf(err) }, 'Cleanup failed'));
      }
    }
    outcome.durations.totalMs = Date.now() - started;
    if (this.stopping.signal.aborted && outcome.status === 'failed') {
      log.warn('Rollback cut short by shutdown; it is run again on next start');
      return;
    }
    outcome.notify = (run) => this.opts.notifications.runFinished(run);
    this.opts.store.finishRollback(claim, outcome);
    this.opts.notified?.();
    this.opts.metrics?.runs.inc({ status: `rollback-${outcome.status}` });
    log.info({ status: outcome.status, durations: outcome.durations, error: outcome.error }, 'Rollback run finished');
    await this.pruneOutputs(claim.runId);
  }

  private timer(ctx: StepContext, durations: Record<string, number>) {
    return async <T>(name: string, ms: number, fn: (c: StepContext) => Promise<T>): Promise<T> => {
      const t0 = Date.now();
      try {
        return await withTimeout(name, ms, ctx.signal, (signal) => fn({ ...ctx, signal }));
      } finally {
        durations[`${name}Ms`] = Date.now() - t0;
      }
    };
  }

  private async run(claim: ClaimedEvent): Promise<void> {
    const repo = this.opts.repos.find((r) => r.name === claim.repo);
    const log = this.opts.log.child({ runId: claim.runId, repo: claim.repo, commit: claim.after });
    const started = Date.now();
    let outcome: RunOutcome;
    if (!repo) {
      outcome = {
        status: 'failed',
        durations: {},
        clusters: [],
        error: `repo ${claim.repo} is no longer configured`,
        advanceHead: false,
      };
    } else {
      const ctx: StepContext = {
        runId: claim.runId,
        repo,
        commit: claim.after,
        checkoutDir: join(this.opts.dataDir, 'work', String(claim.runId)),
        outDir: join(this.opts.dataDir, 'rendered', String(claim.runId)),
        signal: this.stopping.signal,
        log,
      };
      log.info({ trigger: claim.trigger }, 'Pipeline run started');
      try {
        outcome = await this.steps(ctx, claim);
      } catch (err) {
        outcome = { status: 'failed', durations: {}, clusters: [], error: messageOf(err), advanceHead: false };
      } finally {
        await this.opts.steps.cleanup(ctx).catch((err: unknown) => log.warn({ err: messageOf(err) }, 'Cleanup failed'));
      }
    }
    outcome.durations.totalMs = Date.now() - started;
    if (this.stopping.signal.aborted && outcome.status === 'failed') {
      log.warn('Run cut short by shutdown; it is resumed on next start');
      return; // stays "running" in the store: recover() re-queues it
    }
    outcome.notify ??= (run) => this.opts.notifications.runFinished(run);
    this.opts.store.finishRun(claim, outcome);
    this.opts.notified?.();
    this.opts.metrics?.runs.inc({ status: outcome.status });
    this.opts.metrics?.runSeconds.observe({ status: outcome.status }, outcome.durations.totalMs / 1000);
    log.info({ status: outcome.status, durations: outcome.durations, error: outcome.error }, 'Pipeline run finished');
    await this.pruneOutputs(claim.runId);
  }

  private async steps(ctx: StepContext, claim: ClaimedEvent): Promise<RunOutcome> {
    const { steps, store, timeouts } = this.opts;
    const durations: Record<string, number> = {};
    const timed = this.timer(ctx, durations);
    let clusters: ClusterResult[] = [];
    try {
      await timed('fetch', timeouts.fetchMs, steps.fetch);
      const head = store.head(claim.repo);
      if (head && (await steps.isAncestor(ctx.repo, claim.after, head))) {
        const why =
          head === claim.after ? 'already completed' : `older than ${head.slice(0, 12)}, the newest completed commit`;
        return { status: 'skipped', durations, clusters, error: `commit ${why}`, advanceHead: false };
      }
      const rendered = await timed('render', timeouts.renderMs, steps.render);
      const deployState = steps.deploy ? 'pending' : 'not-configured';
      const before = new Map(store.headClusters(claim.repo).map((c) => [c.cluster, c.digest]));
      clusters = rendered.clusters.map((c) => ({
        cluster: c.cluster,
        render: 'ok',
        deploy: deployState,
        files: c.files,
        ...(c.digest ? { digest: c.digest, changed: before.get(c.cluster) !== c.digest } : {}),
      }));
      if (!steps.deploy) {
        store.updateRun(ctx.runId, clusters, durations);
        return { status: 'rendered', durations, clusters, advanceHead: true };
      }
      const deploy = steps.deploy;
      if (rendered.rollout && this.opts.rollouts !== false) {
        const rollout = new Rollout(ctx, claim, { ...rendered, rollout: rendered.rollout }, clusters, durations, {
          store,
          deploy,
          notifications: this.opts.notifications,
          notified: () => this.opts.notified?.(),
          metricSources: this.opts.metricSources ?? [],
          deployTimeoutMs: timeouts.deployMs,
        });
        this.active.set(claim.runId, rollout);
        try {
          return await rollout.execute();
        } finally {
          this.active.delete(claim.runId);
        }
      }
      store.updateRun(ctx.runId, clusters, durations, this.opts.notifications.runStarted(runRef(claim)));
      this.opts.notified?.();
      const deployed = await timed('deploy', timeouts.deployMs, (c) => deploy(c, rendered));
      clusters = mergeDeploy(clusters, deployed, true);
      const failed = clusters.filter((c) => c.deploy !== 'applied' && c.deploy !== 'skipped');
      if (failed.length > 0) {
        return {
          status: 'failed',
          durations,
          clusters,
          error: `deploy failed on ${failed.map((c) => c.cluster).join(', ')}`,
          advanceHead: false,
        };
      }
      return { status: 'succeeded', durations, clusters, advanceHead: true };
    } catch (err) {
      if (err instanceof RolloutInterrupted) throw err;
      return { status: 'failed', durations, clusters, error: messageOf(err), advanceHead: false };
    }
  }

  private async pruneOutputs(latest: number): Promise<void> {
    const keep = this.opts.keepOutputs ?? 10;
    const dir = join(this.opts.dataDir, 'rendered');
    const names = await readdir(dir).catch(() => [] as string[]);
    await Promise.all(
      names.filter((n) => Number(n) <= latest - keep).map((n) => rm(join(dir, n), { recursive: true, force: true })),
    );
  }
}

function conflict(runId: number, why: string) {
  return errors.conflict({ group: '', plural: 'runs', name: String(runId) }, why);
}

function runRef(claim: ClaimedEvent) {
  return {
    id: claim.runId,
    kind: 'deploy' as const,
    repo: claim.repo,
    ref: claim.ref,
    commit: claim.after,
    status: 'running' as const,
  };
}

function mergeDeploy(
  clusters: ClusterResult[],
  deployed: Array<{ cluster: string; status: string; durationMs?: number; error?: string }>,
  extra: boolean,
): ClusterResult[] {
  const byName = new Map(deployed.map((d) => [d.cluster, d]));
  const out: ClusterResult[] = clusters.map((c) => {
    const d = byName.get(c.cluster);
    if (!d) return { ...c, deploy: 'failed', error: 'the deployer reported no result for this cluster' };
    const r: ClusterResult = { ...c, deploy: d.status === 'applied' || d.status === 'skipped' ? d.status : 'failed' };
    if (d.durationMs !== undefined) r.durationMs = d.durationMs;
    if (d.error !== undefined) r.error = d.error;
    return r;
  });
  for (const d of deployed) {
    if (extra && !clusters.some((c) => c.cluster === d.cluster)) {
      out.push({
        cluster: d.cluster,
        render: 'ok',
        deploy: d.status === 'applied' || d.status === 'skipped' ? d.status : 'failed',
        ...(d.error ? { error: d.error } : {}),
      });
    }
  }
  return out;
}
