import test from 'ava';
import type { RolloutPlan } from '../../services/deploymentizer/index.js';
import type { ClusterResult } from '../../services/gitops/api.js';
import {
  ActionError,
  applyAction,
  batchDeployed,
  batchDone,
  decide,
  gateFailed,
  initialRollout,
  resumeRollout,
  rollbackClusters,
  startStage,
} from '../../services/gitops/rollout/decide.js';

const plan: RolloutPlan = {
  rollback: 'auto',
  rollbackScope: 'stage',
  stages: [
    {
      name: 'canary',
      clusters: ['a'],
      batches: [['a']],
      bakeSeconds: 60,
      maxFailures: 0,
      approval: false,
      metric: null,
    },
    {
      name: 'rest',
      clusters: ['b', 'c', 'd'],
      batches: [['b', 'c'], ['d']],
      bakeSeconds: 0,
      maxFailures: 1,
      approval: true,
      metric: null,
    },
  ],
};
const T = 1_000_000;

test('decide walks stage by stage: start, deploy, bake until its end, next batch; approval and pause hold at boundaries', (t) => {
  let s = initialRollout(plan, { a: 'old', b: 'old', c: null, d: 'old' }, T);
  t.deepEqual(decide(s, { now: T }), { type: 'start-stage', stage: 0 });
  t.deepEqual(decide(s, { now: T, newerPush: 'abc' }), { type: 'supersede', stage: 0, by: 'abc' });
  s = startStage(s, 0, T);
  t.deepEqual(decide(s, { now: T }), { type: 'deploy', stage: 0, batch: 0 });
  s = batchDeployed(s, 0, [], T);
  t.is(s.stages[0]!.state, 'Baking');
  t.is(s.stages[0]!.bakeEndsAt, new Date(T + 60_000).toISOString());
  t.deepEqual(decide(s, { now: T + 1 }), { type: 'bake', stage: 0, batch: 0, untilMs: T + 60_000 });
  // A newer push does not interrupt a stage.
  t.is(decide(s, { now: T + 1, newerPush: 'abc' }).type, 'bake');
  t.deepEqual(decide(s, { now: T + 60_000 }), { type: 'batch-done', stage: 0, batch: 0 });
  s = applyAction(s, 'pause', { now: T + 2, by: 'ops' });
  s = batchDone(s, 0, T + 60_000);
  t.is(s.stages[0]!.state, 'Succeeded');
  t.is(s.currentStage, 1);
  t.deepEqual(decide(s, { now: T + 60_001 }), { type: 'wait', stage: 1, reason: 'paused' });
  s = applyAction(s, 'resume', { now: T + 60_002 });
  t.deepEqual(decide(s, { now: T + 60_003 }), { type: 'wait', stage: 1, reason: 'approval' });
  t.throws(() => applyAction(s, 'resume', { now: T }), {
    instanceOf: ActionError,
    message: 'the rollout is not paused',
  });
  s = applyAction(s, 'promote', { now: T + 60_004, by: 'lead' });
  t.is(s.stages[1]!.approvedBy, 'lead');
  t.deepEqual(decide(s, { now: T + 60_005 }), { type: 'start-stage', stage: 1 });
  s = startStage(s, 1, T + 60_005);
  t.throws(() => applyAction(s, 'promote', { now: T }), {
    instanceOf: ActionError,
    message: /nothing to promote: stage rest is Progressing/,
  });
  // One failure is within maxFailures 1; without bake time the stage goes on with its next batch at once.
  s = batchDeployed(s, 1, [{ cluster: 'c', error: 'boom' }], T + 60_006);
  t.is(s.stages[1]!.state, 'Progressing');
  t.is(s.stages[1]!.batch, 1);
  t.deepEqual(decide(s, { now: T + 60_007 }), { type: 'deploy', stage: 1, batch: 1 });
  s = gateFailed(s, 1, { gate: 'health', cluster: 'd', message: 'CrashLoopBackOff' }, T + 60_008);
  t.is(s.phase, 'Failed');
  t.regex(s.message ?? '', /stage rest failed: health gate: d: CrashLoopBackOff/);
  t.deepEqual(decide(s, { now: T + 60_009 }), { type: 'finish' });
  const clusters: ClusterResult[] = ['a', 'b', 'c', 'd'].map((c) => ({
    cluster: c,
    render: 'ok',
    deploy: c === 'c' || c === 'd' ? 'failed' : 'applied',
  }));
  t.deepEqual(rollbackClusters(s, clusters), ['b', 'c', 'd'], 'scope stage: the failed stage only');
  t.deepEqual(rollbackClusters({ ...s, rollbackScope: 'rollout' }, clusters), ['a', 'b', 'c', 'd']);
  t.deepEqual(rollbackClusters({ ...s, rollback: 'manual' }, clusters), []);
});

test('promote ends a bake; abort fails the stage under way; a restart resumes the stage under way from its batch', (t) => {
  let s = startStage(initialRollout(plan, {}, T), 0, T);
  s = batchDeployed(s, 0, [], T);
  s = applyAction(s, 'promote', { now: T + 5 });
  t.deepEqual(decide(s, { now: T + 5 }), { type: 'batch-done', stage: 0, batch: 0 });
  const resumed = resumeRollout(plan, s, 7, T + 10);
  t.is(resumed.resumedFrom, 7);
  t.is(resumed.stages[0]!.state, 'Progressing', 'the batch is deployed again (idempotent), then baked again in full');
  t.deepEqual(decide(resumed, { now: T + 10 }), { type: 'deploy', stage: 0, batch: 0 });
  const aborted = applyAction(s, 'abort', { now: T + 6, by: 'ops', reason: 'bad' });
  t.is(aborted.phase, 'Aborted');
  t.is(aborted.stages[0]!.state, 'Failed');
  t.is(aborted.message, 'aborted by ops: bad');
  t.throws(() => applyAction(aborted, 'resume', { now: T }), { message: 'the rollout is aborted' });
  t.deepEqual(resumeRollout(plan, aborted, 8, T + 11).phase, 'Aborted', 'an abort survives a restart');
});
