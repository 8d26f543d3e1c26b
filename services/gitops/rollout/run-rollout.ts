/**
 * The shell of a rollout: takes the steps `decide()` names — deploy a batch (the deployer, only
 * those clusters), bake it (the deployer's health hold plus the metric gate), wait for an
 * approval or a resume, stop for a newer push at a stage boundary — and records the status after
 * every transition (with its notifications, one transaction), so `/runs` always shows where the
 * rollout is and a restart resumes from there. One `Rollout` per running rollout is the handle
 * operator actions go through (`act`).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { messageOf } from '../../core/errors.js';
import type { RenderOutput } from '../pipeline-steps.js';
import { withTimeout, type DeployStep, type StepContext } from '../pipeline-steps.js';
import type { ClusterResult, RolloutAction, RolloutStatus, RunRecord } from '../api.js';
import type { ClaimedEvent, EventStore, OutboxItem, RollbackJob, RunOutcome } from '../event-store.js';
import type { Notifications } from '../notify.js';
import {
  applyAction,
  batchDeployed,
  batchDone,
  decide,
  gateFailed,
  initialRollout,
  isFinished,
  liveClusters,
  metricSampled,
  resumeRollout,
  rollbackClusters,
  startStage,
  supersede,
  waiting,
} from './decide.js';
import { perCluster, sample, type MetricSource } from './metric.js';

export { ActionError } from './decide.js';

export interface RolloutDeps {
  readonly store: EventStore;
  readonly deploy: DeployStep;
  readonly notifications: Notifications;
  /** Called after notifications were queued (wakes the dispatcher). */
  readonly notified: () => void;
  readonly metricSources: readonly MetricSource[];
  readonly deployTimeoutMs: number;
}

/** Thrown when the service stops mid-rollout: the run stays `running` and is resumed on the next start. */
export class RolloutInterrupted extends Error {
  override readonly name = 'RolloutInterrupted';
}

type RunRef = Pick<RunRecord, 'id' | 'kind' | 'repo' | 'ref' | 'commit' | 'status'>;

export class Rollout {
  private status: RolloutStatus;
  private clusters: ClusterResult[];
  private readonly run: RunRef;
  private readonly durations: Record<string, number>;
  /** Woken by operator actions and newer pushes. */
  private wakeUp: (() => void) | undefined;
  /** Cancels the step in flight (abort). */
  private inflight: AbortController | undefined;
  /** Ends the bake in flight early (promote, a failed gate). */
  private bakeEnd: AbortController | undefined;

  constructor(
    private readonly ctx: StepContext,
    private readonly claim: ClaimedEvent,
    private readonly rendered: RenderOutput & { rollout: NonNullable<RenderOutput['rollout']> },
    clusters: ClusterResult[],
    durations: Record<string, number>,
    private readonly deps: RolloutDeps,
  ) {
    this.run = {
      id: claim.runId,
      kind: 'deploy',
      repo: claim.repo,
      ref: claim.ref,
      commit: claim.after,
      status: 'running',
    };
    this.durations = durations;
    const now = Date.now();
    const stageOf = new Map(rendered.rollout.stages.flatMap((st) => st.clusters.map((c) => [c, st.name] as const)));
    this.clusters = clusters.map((c) => ({
      ...c,
      ...(stageOf.has(c.cluster) ? { stage: stageOf.get(c.cluster)! } : {}),
    }));
    const prev = deps.store.interruptedRollout(claim.eventId);
    if (prev) {
      this.status = resumeRollout(rendered.rollout, prev.rollout, prev.runId, now);
      // Clusters of stages that had succeeded keep their results.
      const done = new Set(
        this.status.stages.filter((s) => s.state === 'Succeeded' || s.failed.length > 0).flatMap((s) => s.clusters),
      );
      const before = new Map(prev.clusters.map((c) => [c.cluster, c]));
      this.clusters = this.clusters.map((c) =>
        done.has(c.cluster) && before.has(c.cluster) ? { ...c, ...before.get(c.cluster)!, stage: c.stage } : c,
      );
    } else {
      const heads = deps.store.clusterHeads(claim.repo);
      const targets = Object.fromEntries(
        rendered.rollout.stages.flatMap((st) => st.clusters).map((c) => [c, heads.get(c)?.commit ?? null]),
      );
      this.status = initialRollout(rendered.rollout, targets, now);
    }
  }

  get runId(): number {
    return this.claim.runId;
  }

  get repo(): string {
    return this.claim.repo;
  }

  current(): RolloutStatus {
    return this.status;
  }

  /** An operator action; persisted at once, takes effect as `applyAction` says. */
  act(action: RolloutAction, o: { by?: string | undefined; reason?: string | undefined }): RolloutStatus {
    const next = applyAction(this.status, action, { now: Date.now(), by: o.by, reason: o.reason });
    this.set(next);
    if (action === 'abort') {
      this.inflight?.abort(new Error(next.message ?? 'aborted'));
      this.bakeEnd?.abort();
    }
    if (action === 'promote') this.bakeEnd?.abort();
    this.wake();
    return this.status;
  }

  /** Something changed outside (an action, a newer push): re-decide. */
  wake(): void {
    const w = this.wakeUp;
    this.wakeUp = undefined;
    w?.();
  }

  /** Runs the rollout to a final phase and returns the run's outcome. */
  async execute(): Promise<RunOutcome> {
    this.set(this.status, true);
    for (;;) {
      if (this.ctx.signal.aborted) throw new RolloutInterrupted('service stopping');
      const newerPush = this.deps.store.newerPending(this.claim.repo, this.claim.ref, this.claim.eventId);
      const step = decide(this.status, { now: Date.now(), newerPush });
      switch (step.type) {
        case 'start-stage':
          this.set(startStage(this.status, step.stage, Date.now()));
          break;
        case 'deploy':
          await this.deployBatch(step.stage, step.batch);
          break;
        case 'bake':
          await this.bake(step.stage, step.batch, step.untilMs);
          break;
        case 'batch-done':
          this.set(batchDone(this.status, step.stage, Date.now()));
          break;
        case 'wait': {
          const changed = new Promise<void>((resolve) => (this.wakeUp = resolve));
          this.set(waiting(this.status, step.stage, step.reason, Date.now()));
          // A newer push supersedes a waiting rollout: poll for it too (pushes wake us, polls are a backstop).
          await Promise.race([changed, sleep(5000, undefined, { signal: this.ctx.signal }).catch(() => undefined)]);
          break;
        }
        case 'supersede':
          this.set(supersede(this.status, step.by, Date.now()));
          break;
        case 'finish':
          return this.finish();
      }
    }
  }

  /** Persists the status (and the clusters), queuing a notification for each stage whose state changed. */
  private set(next: RolloutStatus, first = false): void {
    const prev = this.status;
    this.status = next;
    const outbox: OutboxItem[] = [];
    const good: string[] = [];
    next.stages.forEach((st, i) => {
      const was = prev.stages[i];
      if (first || !was || was.state !== st.state || was.batch !== st.batch)
        outbox.push(...this.deps.notifications.stage(this.run, next, st, !first));
      if (st.state === 'Succeeded' && (first ? false : was?.state !== 'Succeeded'))
        good.push(...liveClusters(st).filter((c) => this.clusters.find((r) => r.cluster === c)?.deploy === 'applied'));
    });
    this.deps.store.saveRollout(this.claim.runId, next, this.clusters, {
      outbox,
      ...(good.length > 0 ? { good: { repo: this.claim.repo, commit: this.claim.after, clusters: good } } : {}),
    });
    if (outbox.length > 0) this.deps.notified();
  }

  private updateClusters(fn: (c: ClusterResult) => ClusterResult | undefined): void {
    this.clusters = this.clusters.map((c) => fn(c) ?? c);
  }

  private async deployBatch(i: number, b: number): Promise<void> {
    const st = this.status.stages[i]!;
    const names = st.batches[b] ?? [];
    const ctrl = new AbortController();
    this.inflight = ctrl;
    const t0 = Date.now();
    let results: Array<{
      cluster: string;
      status: 'applied' | 'failed' | 'skipped';
      durationMs?: number;
      error?: string;
    }>;
    try {
      results = await withTimeout(
        'deploy',
        this.deps.deployTimeoutMs,
        AbortSignal.any([this.ctx.signal, ctrl.signal]),
        (signal) => this.deps.deploy({ ...this.ctx, signal }, this.rendered, { clusters: names }),
      );
    } catch (err) {
      if (this.ctx.signal.aborted) throw new RolloutInterrupted('service stopping');
      results = names.map((c) => ({ cluster: c, status: 'failed' as const, error: messageOf(err) }));
    } finally {
      this.inflight = undefined;
      this.durations.deployMs = (this.durations.deployMs ?? 0) + (Date.now() - t0);
    }
    const byName = new Map(results.map((r) => [r.cluster, r]));
    this.updateClusters((c) => {
      const r = byName.get(c.cluster);
      if (!r)
        return names.includes(c.cluster)
          ? { ...c, deploy: 'failed', error: 'the deployer reported no result for this cluster' }
          : undefined;
      const { error: _e, ...rest } = c;
      return {
        ...rest,
        deploy: r.status,
        ...(r.durationMs !== undefined ? { durationMs: r.durationMs } : {}),
        ...(r.error !== undefined ? { error: r.error } : {}),
      };
    });
    if (isFinished(this.status)) {
      this.set(this.status);
      return;
    }
    const failed = names
      .map((n) => this.clusters.find((c) => c.cluster === n)!)
      .filter((c) => c.deploy === 'failed')
      .map((c) => ({ cluster: c.cluster, error: c.error ?? 'failed' }));
    this.set(batchDeployed(this.status, i, failed, Date.now()));
  }

  private failGate(i: number, gate: 'health' | 'metric', cluster: string | null, message: string): void {
    if (isFinished(this.status)) return;
    if (cluster)
      this.updateClusters((c) =>
        c.cluster === cluster ? { ...c, deploy: 'failed', error: `${gate} gate: ${message}` } : undefined,
      );
    this.set(gateFailed(this.status, i, { gate, cluster, message }, Date.now()));
    if (this.status.stages[i]!.state === 'Failed') this.bakeEnd?.abort();
  }

  /** Holds batch `b` of stage `i` until `untilMs`: health must hold, metric samples must stay in bounds. */
  private async bake(i: number, b: number, untilMs: number): Promise<void> {
    const st = this.status.stages[i]!;
    const applied = new Set(this.clusters.filter((c) => c.deploy === 'applied').map((c) => c.cluster));
    const watched = (st.batches[b] ?? []).filter((c) => applied.has(c) && !st.failed.includes(c));
    const end = new AbortController();
    this.bakeEnd = end;
    const stopped = AbortSignal.any([this.ctx.signal, end.signal]);
    const t0 = Date.now();
    const stageFailed = (): boolean => isFinished(this.status) || this.status.stages[i]!.state === 'Failed';
    const hold = async (): Promise<void> => {
      const ms = Math.max(0, untilMs - Date.now());
      if (this.deps.deploy.hold && watched.length > 0 && ms > 0) {
        const held = await this.deps.deploy.hold(this.ctx, {
          clusters: watched,
          durationMs: ms,
          end: end.signal,
          onFailed: (cluster, error) => this.failGate(i, 'health', cluster, error),
        });
        if (end.signal.aborted && stageFailed()) return;
        for (const h of held) if (h.result === 'failed') this.failGate(i, 'health', h.cluster, h.error ?? 'failed');
      } else if (ms > 0) {
        await sleep(ms, undefined, { signal: stopped }).catch(() => undefined);
      }
    };
    const metric = async (): Promise<void> => {
      const gate = this.rendered.rollout.stages[i]?.metric;
      if (!gate) return;
      const once = async (): Promise<void> => {
        const targets = perCluster(gate)
          ? liveClusters(this.status.stages[i]!, b).filter((c) => applied.has(c))
          : [null];
        const results = await Promise.all(
          targets.map(async (c) => ({ c, s: await sample(gate, c, this.deps.metricSources, this.ctx.signal) })),
        );
        if (stageFailed() || this.ctx.signal.aborted) return;
        const values: Record<string, number> = {};
        for (const { c, s } of results) if (s.value !== null) values[c ?? '*'] = s.value;
        this.set(metricSampled(this.status, i, values, Date.now()));
        for (const { c, s } of results) if (!s.ok) this.failGate(i, 'metric', c, s.message);
      };
      await once();
      while (!stopped.aborted && !stageFailed()) {
        const left = untilMs - Date.now();
        if (left <= 0) break;
        await sleep(Math.min(left, gate.intervalSeconds * 1000), undefined, { signal: stopped }).catch(() => undefined);
        if (stopped.aborted || stageFailed()) break;
        await once();
      }
    };
    try {
      await Promise.all([hold(), metric()]);
    } finally {
      this.bakeEnd = undefined;
      this.durations.bakeMs = (this.durations.bakeMs ?? 0) + (Date.now() - t0);
    }
    if (this.ctx.signal.aborted) throw new RolloutInterrupted('service stopping');
    if (stageFailed()) return;
    this.set(batchDone(this.status, i, Date.now()));
  }

  private finish(): RunOutcome {
    const s = this.status;
    const started = new Set(
      s.stages.filter((st) => st.batch >= 0).flatMap((st) => st.batches.slice(0, st.batch + 1).flat()),
    );
    this.updateClusters((c) =>
      c.deploy === 'pending' && !started.has(c.cluster) ? { ...c, deploy: 'not-started' } : undefined,
    );
    const rollbacks: RollbackJob[] = [];
    const back = rollbackClusters(s, this.clusters);
    const byCommit = new Map<string, string[]>();
    for (const c of back) {
      const target = s.rollbackTargets[c];
      if (!target) {
        this.updateClusters((r) =>
          r.cluster === c
            ? {
                ...r,
                error: `${r.error ? `${r.error}; ` : ''}not rolled back: no earlier commit succeeded on this cluster`,
              }
            : undefined,
        );
        continue;
      }
      byCommit.set(target, [...(byCommit.get(target) ?? []), c]);
    }
    for (const [commit, clusters] of byCommit) rollbacks.push({ commit, clusters });
    const status: RunOutcome['status'] =
      s.phase === 'Succeeded'
        ? 'succeeded'
        : s.phase === 'Superseded'
          ? 'superseded'
          : s.phase === 'Aborted'
            ? 'aborted'
            : 'failed';
    const outcome: RunOutcome = {
      status,
      durations: this.durations,
      clusters: this.clusters,
      advanceHead: status === 'succeeded',
      rollout: s,
      goodClusters: [],
      rollbacks,
      notify: (run) => this.deps.notifications.runFinished(run),
    };
    if (status !== 'succeeded' && s.message) outcome.error = s.message;
    return outcome;
  }
}
