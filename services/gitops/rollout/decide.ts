/**
 * A rollout as pure code: its status (what `/runs` shows), the next step to take from it
 * (`decide`), and the transitions that steps and operator actions make. The shell
 * (`run-rollout.ts`) deploys, bakes and waits, and persists the status after every transition,
 * so a restarted service resumes from what was recorded (`resumeRollout`).
 *
 * Stage boundaries are where the rollout may stop: a newer push supersedes it there (never in the
 * middle of a stage), a pause holds it there (also between batches), and a stage with `approval`
 * waits there for `promote`.
 */
import type { RolloutPlan } from '../../deploymentizer/index.js';
import type { ClusterResult, RolloutAction, RolloutEvent, RolloutPhase, RolloutStatus, StageStatus } from '../api.js';

export type Step =
  | { type: 'start-stage'; stage: number }
  | { type: 'deploy'; stage: number; batch: number }
  | { type: 'bake'; stage: number; batch: number; untilMs: number }
  | { type: 'batch-done'; stage: number; batch: number }
  | { type: 'wait'; stage: number; reason: 'paused' | 'approval' }
  | { type: 'supersede'; stage: number; by: string }
  /** The rollout reached a final phase: record the outcome (and its rollback). */
  | { type: 'finish' };

const TERMINAL: ReadonlySet<RolloutPhase> = new Set(['Succeeded', 'Failed', 'Aborted', 'Superseded']);

export const isFinished = (s: RolloutStatus): boolean => TERMINAL.has(s.phase);

const iso = (ms: number): string => new Date(ms).toISOString();

function stageOf(p: RolloutPlan['stages'][number]): StageStatus {
  return {
    name: p.name,
    state: 'Pending',
    clusters: [...p.clusters],
    batches: p.batches.map((b) => [...b]),
    batch: -1,
    bakeSeconds: p.bakeSeconds,
    bakeStartedAt: null,
    bakeEndsAt: null,
    approval: p.approval,
    approvedBy: null,
    approvedAt: null,
    maxFailures: p.maxFailures,
    failed: [],
    gates: {
      health: { state: 'pending', message: null },
      metric: p.metric
        ? {
            state: 'pending',
            message: null,
            source: p.metric.source,
            url: p.metric.url,
            query: p.metric.query,
            min: p.metric.min,
            max: p.metric.max,
            intervalSeconds: p.metric.intervalSeconds,
            lastValues: {},
            lastSampleAt: null,
          }
        : null,
    },
    startedAt: null,
    finishedAt: null,
    message: null,
  };
}

/**
 * A new rollout of `plan`. `rollbackTargets`: each cluster's last good commit before this rollout
 * (null: none), what a failed rollout puts it back on.
 */
export function initialRollout(
  plan: RolloutPlan,
  rollbackTargets: Record<string, string | null>,
  now: number,
): RolloutStatus {
  return {
    phase: 'Progressing',
    currentStage: null,
    paused: false,
    rollback: plan.rollback,
    rollbackScope: plan.rollbackScope,
    rollbackTargets,
    rollbackRuns: [],
    supersededBy: null,
    resumedFrom: null,
    message: null,
    stages: plan.stages.map(stageOf),
    history: [],
    updatedAt: iso(now),
  };
}

function event(
  s: RolloutStatus,
  now: number,
  type: string,
  message: string,
  stage?: string | null,
  by?: string | null,
): void {
  const e: RolloutEvent = { at: iso(now), type, stage: stage ?? null, by: by ?? null, message };
  s.history.push(e);
  s.updatedAt = e.at;
}

/**
 * The rollout of a run cut short by a restart, continued by the new run of the same event:
 * stages that succeeded stay succeeded (not deployed again), approvals, the pause flag and an
 * abort carry over, and the stage that was under way starts its current batch again (its deploy is
 * idempotent: clusters already updated get no writes; its bake restarts in full). A plan that no
 * longer matches (it cannot for the same commit) starts afresh.
 */
export function resumeRollout(plan: RolloutPlan, prev: RolloutStatus, prevRunId: number, now: number): RolloutStatus {
  const fresh = initialRollout(plan, prev.rollbackTargets ?? {}, now);
  const same =
    prev.stages.length === fresh.stages.length &&
    prev.stages.every(
      (s, i) => s.name === fresh.stages[i]!.name && s.clusters.join() === fresh.stages[i]!.clusters.join(),
    );
  if (!same) {
    fresh.resumedFrom = prevRunId;
    event(fresh, now, 'resume-after-restart', `run ${prevRunId} was interrupted; its plan differs, starting over`);
    return fresh;
  }
  const s: RolloutStatus = structuredClone(prev);
  s.resumedFrom = prevRunId;
  s.rollbackRuns = [];
  for (const st of s.stages) {
    if (st.state === 'Progressing' || st.state === 'Baking') {
      st.state = 'Progressing';
      st.bakeStartedAt = null;
      st.bakeEndsAt = null;
      st.gates.health = { state: 'pending', message: null };
      if (st.gates.metric) st.gates.metric = { ...st.gates.metric, state: 'pending', message: null };
    }
  }
  event(s, now, 'resume-after-restart', `run ${prevRunId} was interrupted by a restart of the service; resumed`);
  return s;
}

/** What to do next, from the status alone (plus the time and whether a newer push is queued). */
export function decide(s: RolloutStatus, o: { now: number; newerPush?: string | undefined }): Step {
  if (isFinished(s)) return { type: 'finish' };
  const i = s.currentStage ?? 0;
  const st = s.stages[i];
  if (!st) return { type: 'finish' };
  if (st.batch < 0) {
    // A stage boundary: nothing of this stage is written yet.
    if (o.newerPush) return { type: 'supersede', stage: i, by: o.newerPush };
    if (s.paused) return { type: 'wait', stage: i, reason: 'paused' };
    if (st.approval && !st.approvedAt) return { type: 'wait', stage: i, reason: 'approval' };
    return { type: 'start-stage', stage: i };
  }
  switch (st.state) {
    case 'Progressing':
      return { type: 'deploy', stage: i, batch: st.batch };
    case 'Baking': {
      const until = st.bakeEndsAt ? Date.parse(st.bakeEndsAt) : o.now;
      return until > o.now
        ? { type: 'bake', stage: i, batch: st.batch, untilMs: until }
        : { type: 'batch-done', stage: i, batch: st.batch };
    }
    case 'Paused':
      // Between two batches: the last one baked.
      if (s.paused) return { type: 'wait', stage: i, reason: 'paused' };
      return { type: 'batch-done', stage: i, batch: st.batch };
    default:
      return { type: 'finish' };
  }
}

/** Clusters of the stage that are deployed and not failed (what its gates watch). */
export function liveClusters(st: StageStatus, upToBatch = st.batch): string[] {
  const failed = new Set(st.failed);
  return st.batches
    .slice(0, upToBatch + 1)
    .flat()
    .filter((c) => !failed.has(c));
}

// Transitions: each returns a new status (the input is not changed).

type Edit = (s: RolloutStatus) => void;
function edit(s: RolloutStatus, now: number, fn: Edit): RolloutStatus {
  const n = structuredClone(s);
  fn(n);
  n.updatedAt = iso(now);
  return n;
}

export function startStage(s: RolloutStatus, i: number, now: number): RolloutStatus {
  return edit(s, now, (n) => {
    n.currentStage = i;
    n.phase = 'Progressing';
    const st = n.stages[i]!;
    st.startedAt ??= iso(now);
    if (st.batches.length === 0) {
      st.state = 'Succeeded';
      st.finishedAt = iso(now);
      st.message = 'no clusters in this stage';
      advance(n, i, now);
      return;
    }
    st.state = 'Progressing';
    st.batch = 0;
    st.gates.health = { state: 'pending', message: null };
    event(
      n,
      now,
      'stage',
      `stage ${st.name} started: batch 1/${st.batches.length} (${st.batches[0]!.join(', ')})`,
      st.name,
    );
  });
}

/** After the stage at `i` succeeded: the next one becomes current (still Pending), or the rollout succeeded. */
function advance(n: RolloutStatus, i: number, now: number): void {
  if (i + 1 < n.stages.length) {
    n.currentStage = i + 1;
    return;
  }
  n.phase = 'Succeeded';
  n.message = `all ${n.stages.length} stages succeeded`;
  event(n, now, 'finished', n.message);
}

export function waiting(s: RolloutStatus, i: number, reason: 'paused' | 'approval', now: number): RolloutStatus {
  const want = reason === 'paused' ? 'Paused' : 'WaitingForApproval';
  const phase: RolloutPhase = reason === 'paused' ? 'Paused' : 'WaitingForApproval';
  const st = s.stages[i]!;
  if (st.state === want && s.phase === phase && s.currentStage === i) return s;
  return edit(s, now, (n) => {
    n.currentStage = i;
    n.phase = phase;
    n.stages[i]!.state = want;
  });
}

/**
 * Results of deploying batch `b` of stage `i`: failures count against `maxFailures`. A stage without
 * bake time and metric gate has nothing to bake: the batch is done at once.
 */
export function batchDeployed(
  s: RolloutStatus,
  i: number,
  failed: Array<{ cluster: string; error: string }>,
  now: number,
): RolloutStatus {
  const next = edit(s, now, (n) => {
    const st = n.stages[i]!;
    for (const f of failed) if (!st.failed.includes(f.cluster)) st.failed.push(f.cluster);
    if (st.failed.length > st.maxFailures) {
      failStage(n, i, `deploy failed on ${failed.map((f) => `${f.cluster} (${f.error})`).join('; ')}`, now);
      return;
    }
    st.gates.health = {
      state: 'passing',
      message:
        failed.length > 0
          ? `${st.failed.length} of ${st.clusters.length} failed (maxFailures ${st.maxFailures})`
          : 'healthy after deploy',
    };
    st.state = 'Baking';
    st.bakeStartedAt = iso(now);
    st.bakeEndsAt = iso(now + st.bakeSeconds * 1000);
    if (st.gates.metric) st.gates.metric.state = 'passing';
  });
  const st = next.stages[i]!;
  return st.state === 'Baking' && st.bakeSeconds === 0 && !st.gates.metric ? batchDone(next, i, now) : next;
}

function failStage(n: RolloutStatus, i: number, message: string, now: number): void {
  const st = n.stages[i]!;
  st.state = 'Failed';
  st.finishedAt = iso(now);
  st.bakeEndsAt = null;
  st.message = message;
  n.phase = 'Failed';
  n.message = `stage ${st.name} failed: ${message}`;
  event(n, now, 'stage', n.message, st.name);
}

/**
 * A gate failed during the bake of stage `i` (per-cluster failures count against `maxFailures`; a stage-wide one fails
 * it).
 */
export function gateFailed(
  s: RolloutStatus,
  i: number,
  f: { gate: 'health' | 'metric'; cluster: string | null; message: string },
  now: number,
): RolloutStatus {
  return edit(s, now, (n) => {
    const st = n.stages[i]!;
    const gate = f.gate === 'health' ? st.gates.health : st.gates.metric;
    if (gate) {
      gate.state = 'failed';
      gate.message = f.cluster ? `${f.cluster}: ${f.message}` : f.message;
    }
    if (f.cluster && !st.failed.includes(f.cluster)) st.failed.push(f.cluster);
    if (!f.cluster || st.failed.length > st.maxFailures)
      failStage(n, i, `${f.gate} gate: ${f.cluster ? `${f.cluster}: ` : ''}${f.message}`, now);
    else if (gate) gate.state = 'passing';
  });
}

/** The current batch baked: the next batch starts (unless paused), or the stage succeeded. */
export function batchDone(s: RolloutStatus, i: number, now: number): RolloutStatus {
  return edit(s, now, (n) => {
    const st = n.stages[i]!;
    st.bakeEndsAt = null;
    if (st.batch + 1 < st.batches.length) {
      if (n.paused) {
        st.state = 'Paused';
        n.phase = 'Paused';
        return;
      }
      st.batch++;
      st.state = 'Progressing';
      n.phase = 'Progressing';
      event(
        n,
        now,
        'stage',
        `stage ${st.name}: batch ${st.batch + 1}/${st.batches.length} (${st.batches[st.batch]!.join(', ')})`,
        st.name,
      );
      return;
    }
    st.state = 'Succeeded';
    st.finishedAt = iso(now);
    if (st.gates.health.state !== 'failed') st.gates.health.state = 'passed';
    if (st.gates.metric && st.gates.metric.state !== 'failed') st.gates.metric.state = 'passed';
    st.message =
      st.failed.length > 0 ? `${st.failed.length} cluster(s) failed within maxFailures: ${st.failed.join(', ')}` : null;
    event(n, now, 'stage', `stage ${st.name} succeeded`, st.name);
    n.phase = 'Progressing';
    advance(n, i, now);
  });
}

export function supersede(s: RolloutStatus, by: string, now: number): RolloutStatus {
  return edit(s, now, (n) => {
    n.phase = 'Superseded';
    n.supersededBy = by;
    n.message = `superseded by ${by.slice(0, 12)} at the boundary before stage ${n.stages[n.currentStage ?? 0]?.name ?? '?'}`;
    const st = n.stages[n.currentStage ?? 0];
    if (st && (st.state === 'Paused' || st.state === 'WaitingForApproval')) st.state = 'Pending';
    event(n, now, 'supersede', n.message);
  });
}

/** Records a metric sample in the stage's gate. */
export function metricSampled(s: RolloutStatus, i: number, values: Record<string, number>, now: number): RolloutStatus {
  return edit(s, now, (n) => {
    const m = n.stages[i]!.gates.metric;
    if (!m) return;
    m.lastValues = { ...m.lastValues, ...values };
    m.lastSampleAt = iso(now);
  });
}

export class ActionError extends Error {}

/**
 * An operator action on a running rollout (pure; throws ActionError when it does not apply):
 * pause (stops at the next batch or stage boundary), resume, promote (approves a waiting stage,
 * ends a bake now, or resumes a pause), abort (stops now; the stage under way is rolled back per plan).
 */
export function applyAction(
  s: RolloutStatus,
  action: RolloutAction,
  o: { now: number; by?: string | undefined; reason?: string | undefined },
): RolloutStatus {
  if (isFinished(s)) throw new ActionError(`the rollout is ${s.phase.toLowerCase()}`);
  const i = s.currentStage ?? 0;
  const st = s.stages[i];
  const by = o.by ?? null;
  const why = o.reason ? `: ${o.reason}` : '';
  return edit(s, o.now, (n) => {
    const cur = n.stages[i];
    switch (action) {
      case 'pause':
        if (n.paused) throw new ActionError('the rollout is already paused');
        n.paused = true;
        event(n, o.now, 'pause', `paused${why}`, st?.name, by);
        return;
      case 'resume':
        if (!n.paused) throw new ActionError('the rollout is not paused');
        resume(n, cur);
        event(n, o.now, 'resume', `resumed${why}`, st?.name, by);
        return;
      case 'promote':
        if (cur?.state === 'WaitingForApproval' || (cur && cur.batch < 0 && cur.approval && !cur.approvedAt)) {
          cur.approvedAt = new Date(o.now).toISOString();
          cur.approvedBy = by;
          cur.state = 'Pending';
          n.phase = 'Progressing';
          event(n, o.now, 'approve', `stage ${cur.name} approved${why}`, cur.name, by);
          return;
        }
        if (cur?.state === 'Baking') {
          cur.bakeEndsAt = new Date(o.now).toISOString();
          event(n, o.now, 'promote', `bake of stage ${cur.name} ended early${why}`, cur.name, by);
          return;
        }
        if (n.paused) {
          resume(n, cur);
          event(n, o.now, 'promote', `resumed${why}`, cur?.name, by);
          return;
        }
        throw new ActionError(
          `nothing to promote: stage ${cur?.name ?? '?'} is ${cur?.state ?? 'unknown'} (promote applies to an approval, a bake or a pause)`,
        );
      case 'abort':
        n.phase = 'Aborted';
        n.message = `aborted${by ? ` by ${by}` : ''}${why}`;
        if (cur && cur.batch >= 0 && cur.state !== 'Succeeded') {
          cur.state = 'Failed';
          cur.finishedAt = new Date(o.now).toISOString();
          cur.bakeEndsAt = null;
          cur.message = n.message;
        } else if (cur && (cur.state === 'Paused' || cur.state === 'WaitingForApproval')) cur.state = 'Pending';
        event(n, o.now, 'abort', n.message, cur?.name, by);
        return;
    }
  });
}

function resume(n: RolloutStatus, cur: StageStatus | undefined): void {
  n.paused = false;
  n.phase = 'Progressing';
  if (cur?.state === 'Paused') cur.state = cur.batch < 0 ? 'Pending' : 'Paused';
}

/**
 * Clusters a finished rollout puts back on their last good commit: none when it succeeded or was
 * superseded, or with `rollback: manual`; else the clusters written to in the failed stage
 * (`rollbackScope: stage`) or in every stage started (`rollout`), whose deploy was not refused.
 */
export function rollbackClusters(s: RolloutStatus, clusters: ClusterResult[]): string[] {
  if (s.rollback === 'manual' || (s.phase !== 'Failed' && s.phase !== 'Aborted')) return [];
  const cur = s.currentStage ?? 0;
  const stages = s.rollbackScope === 'rollout' ? s.stages.slice(0, cur + 1) : [s.stages[cur]!];
  const written = new Set(stages.flatMap((st) => (st.batch < 0 ? [] : st.batches.slice(0, st.batch + 1).flat())));
  return clusters
    .filter((c) => written.has(c.cluster) && (c.deploy === 'applied' || c.deploy === 'failed'))
    .map((c) => c.cluster);
}
