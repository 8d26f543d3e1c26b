import test from 'ava';
import { join } from 'node:path';
import type { RunRecord } from '../../services/gitops/api.js';
import { eventually, postJson } from './helpers.js';
import {
  finished,
  fleet,
  imageIn,
  pushImage,
  recorder,
  rolloutService,
  runs,
  runWhen,
  writes,
} from './rollout-helpers.js';

const V = (tag: string): string => `registry.example/acme/web:${tag}`;

test.serial(
  'a clean 3-stage rollout: staging, then one production canary with a bake, then the rest in batches; every stage recorded',
  async (t) => {
    const f = await fleet(t, {
      stages: [
        { name: 'staging', clusters: { types: ['staging'] } },
        { name: 'canary', clusters: { types: ['production'] }, limit: 1, bake: '1s' },
        { name: 'production', batch: 1, bake: '300ms' },
      ],
    });
    const service = await rolloutService(t, f);
    const commit = await pushImage(f, service, V('v2'));
    const run = await runWhen(service.url, commit, finished, 'the rollout to finish');
    t.is(run.status, 'succeeded', run.error ?? '');
    const ro = run.rollout!;
    t.is(ro.phase, 'Succeeded');
    t.deepEqual(
      ro.stages.map((s) => [s.name, s.state, s.clusters, s.batches]),
      [
        ['staging', 'Succeeded', ['stg'], [['stg']]],
        ['canary', 'Succeeded', ['p1'], [['p1']]],
        ['production', 'Succeeded', ['p2', 'p3'], [['p2'], ['p3']]],
      ],
    );
    // Stages ran one after the other, and the canary baked for its whole bake time.
    for (let i = 1; i < ro.stages.length; i++)
      t.true(
        Date.parse(ro.stages[i]!.startedAt!) >= Date.parse(ro.stages[i - 1]!.finishedAt!),
        `stage ${i} after ${i - 1}`,
      );
    const canary = ro.stages[1]!;
    t.true(Date.parse(canary.finishedAt!) - Date.parse(canary.startedAt!) >= 1000);
    t.is(canary.gates.health.state, 'passed');
    t.deepEqual(
      ro.history.filter((h) => h.type === 'stage').map((h) => h.message),
      [
        'stage staging started: batch 1/1 (stg)',
        'stage staging succeeded',
        'stage canary started: batch 1/1 (p1)',
        'stage canary succeeded',
        'stage production started: batch 1/2 (p2)',
        'stage production: batch 2/2 (p3)',
        'stage production succeeded',
      ],
    );
    t.deepEqual(
      run.clusters.map((c) => [c.cluster, c.stage, c.deploy]),
      [
        ['p1', 'canary', 'applied'],
        ['p2', 'production', 'applied'],
        ['p3', 'production', 'applied'],
        ['stg', 'staging', 'applied'],
      ],
    );
    for (const c of ['stg', 'p1', 'p2', 'p3']) t.is(await imageIn(f, c), V('v2'), c);
    t.is(await eventually(async () => (await runs(service.url)).length, 'runs'), 1, 'no rollback run');
  },
);

test.serial(
  'a crash-looping image is caught in the canary stage: later stages get zero writes, the canary is rolled back automatically as its own run',
  async (t) => {
    const f = await fleet(
      t,
      {
        stages: [
          { name: 'canary', clusters: { names: ['p1'] }, bake: '3s' },
          { name: 'production', bake: '300ms' },
        ],
      },
      { p1: 'production', p2: 'production', p3: 'production' },
    );
    const service = await rolloutService(t, f);
    const good = await pushImage(f, service, V('v2'));
    t.is((await runWhen(service.url, good, finished, 'the good rollout')).status, 'succeeded');
    const before = writes(f, ['p2', 'p3']);
    const bad = await pushImage(f, service, V('crash-v3'));
    const run = await runWhen(service.url, bad, finished, 'the bad rollout to stop');
    t.is(run.status, 'failed');
    const ro = run.rollout!;
    t.is(ro.phase, 'Failed');
    t.is(ro.stages[0]!.state, 'Failed');
    t.regex(ro.stages[0]!.message ?? '', /CrashLoopBackOff/);
    t.regex(run.error ?? '', /stage canary failed: .*p1.*CrashLoopBackOff/);
    t.is(ro.stages[1]!.state, 'Pending');
    t.deepEqual(
      run.clusters.filter((c) => c.stage === 'production').map((c) => c.deploy),
      ['not-started', 'not-started'],
    );
    t.is(ro.rollbackTargets.p1, good);
    // The rollback: its own run, re-deploying the last good commit on the canary only.
    const rollback = await eventually(
      async () => (await runs(service.url)).find((r) => r.kind === 'rollback' && r.parentRun === run.id && finished(r)),
      'the rollback run',
    );
    t.is(rollback.status, 'succeeded', rollback.error ?? '');
    t.is(rollback.commit, good);
    t.deepEqual(
      rollback.clusters.map((c) => [c.cluster, c.deploy]),
      [['p1', 'applied']],
    );
    t.is(await imageIn(f, 'p1'), V('v2'));
    const parent = (await runs(service.url)).find((r) => r.id === run.id)!;
    t.deepEqual(parent.rollout!.rollbackRuns, [rollback.id]);
    t.is(parent.clusters.find((c) => c.cluster === 'p1')?.rolledBackBy, rollback.id);
    t.is(writes(f, ['p2', 'p3']) - before, 0, 'production clusters got no write');
    for (const c of ['p2', 'p3']) t.is(await imageIn(f, c), V('v2'));
  },
);

test.serial(
  'a metric gate out of bounds fails its stage: per-cluster Prometheus queries with the ' +
    'configured token, the failed batch rolled back, the next batch untouched',
  async (t) => {
    let bad = false;
    const prom = await recorder(t, (r) => {
      const q = new URL(r.path, 'http://x').searchParams.get('query') ?? '';
      const value = bad && q.includes('"p2"') ? '0.5' : '0.001';
      return {
        status: 200,
        body: {
          status: 'success',
          data: { resultType: 'vector', result: [{ metric: {}, value: [Date.now() / 1000, value] }] },
        },
      };
    });
    const metric = { prometheus: prom.url, query: 'job:errors:ratio{cluster="{{cluster}}"}', max: 0.1, interval: '1s' };
    const f = await fleet(
      t,
      {
        stages: [
          { name: 'canary', clusters: { names: ['p1'] }, bake: '1s', metric },
          { name: 'production', batch: 1, bake: '1s', metric },
        ],
      },
      { p1: 'production', p2: 'production', p3: 'production' },
    );
    const service = await rolloutService(t, f, {
      metrics: [{ url: prom.url, token: { env: 'T_PROM' } }],
      env: { T_PROM: 'prom-token' },
    });
    const good = await pushImage(f, service, V('v2'));
    t.is((await runWhen(service.url, good, finished, 'the first rollout')).status, 'succeeded');
    t.true(prom.got.length > 0);
    t.true(prom.got.every((r) => r.headers.authorization === 'Bearer prom-token'));
    bad = true;
    const p3writes = writes(f, ['p3']);
    const next = await pushImage(f, service, V('v3'));
    const run = await runWhen(service.url, next, finished, 'the second rollout');
    t.is(run.status, 'failed');
    const [canary, production] = run.rollout!.stages;
    t.is(canary!.state, 'Succeeded');
    t.is(canary!.gates.metric?.lastValues.p1, 0.001);
    t.is(production!.state, 'Failed');
    t.is(production!.batch, 0);
    t.regex(production!.message ?? '', /metric gate: p2: value 0\.5 is not ≤ 0\.1/);
    t.is(production!.gates.metric?.state, 'failed');
    t.is(production!.gates.metric?.lastValues.p2, 0.5);
    t.deepEqual(
      run.clusters.map((c) => [c.cluster, c.deploy]),
      [
        ['p1', 'applied'],
        ['p2', 'failed'],
        ['p3', 'not-started'],
      ],
    );
    t.is(writes(f, ['p3']) - p3writes, 0);
    const rollback = await eventually(
      async () => (await runs(service.url)).find((r) => r.kind === 'rollback' && r.parentRun === run.id && finished(r)),
      'the rollback run',
    );
    t.deepEqual(
      rollback.clusters.map((c) => [c.cluster, c.deploy]),
      [['p2', 'applied']],
    );
    t.is(await imageIn(f, 'p2'), V('v2'));
    t.is(await imageIn(f, 'p1'), V('v3'), 'rollbackScope stage: the canary keeps the new commit');
  },
);

test.serial(
  'restart mid-rollout: the run is resumed as a new run of the same event; stages that succeeded are not deployed again',
  async (t) => {
    const f = await fleet(
      t,
      {
        stages: [
          { name: 'staging', clusters: { types: ['staging'] } },
          { name: 'canary', bake: '10m' },
        ],
      },
      { stg: 'staging', p1: 'production' },
    );
    const dataDir = join(f.dir, 'data');
    const a = await rolloutService(t, f, {}, dataDir);
    const commit = await pushImage(f, a, V('v2'));
    const first = await runWhen(a.url, commit, (r) => r.rollout?.stages[1]?.state === 'Baking', 'the canary to bake');
    await a.close(2000);
    const stgWrites = writes(f, ['stg']);
    const b = await rolloutService(t, f, {}, dataDir);
    const resumed = await runWhen(
      b.url,
      commit,
      (r) => r.id !== first.id && r.rollout?.stages[1]?.state === 'Baking',
      'the resumed run to bake',
    );
    const old = (await runs(b.url)).find((r) => r.id === first.id)!;
    t.is(old.status, 'interrupted');
    t.is(resumed.eventId, first.eventId);
    t.is(resumed.rollout!.resumedFrom, first.id);
    t.is(resumed.rollout!.stages[0]!.state, 'Succeeded');
    t.true(resumed.rollout!.history.some((h) => h.type === 'resume-after-restart'));
    t.is(writes(f, ['stg']) - stgWrites, 0, 'staging is not deployed again');
    const promoted = await postJson(`${b.url}/runs/${resumed.id}/rollout/promote`, { by: 'tester' });
    t.is(promoted.status, 200);
    const done = await runWhen(b.url, commit, (r) => r.id === resumed.id && finished(r), 'the resumed run to finish');
    t.is(done.status, 'succeeded', done.error ?? '');
    t.is(await imageIn(f, 'p1'), V('v2'));
    t.is((await runs(b.url)).filter((r: RunRecord) => r.commit === commit && r.status === 'succeeded').length, 1);
  },
);
