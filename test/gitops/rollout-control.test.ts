import test from 'ava';
import { gitClient } from '../../services/core/git-client.js';
import type { RunRecord } from '../../services/gitops/api.js';
import { BRANCH, eventually, postJson, remoteLog } from './helpers.js';
import { finished, fleet, imageIn, pushImage, rolloutService, runs, runWhen, writes } from './rollout-helpers.js';

const V = (tag: string): string => `registry.example/acme/web:${tag}`;

const act = async (url: string, run: number, action: string, reason?: string) =>
  postJson(`${url}/runs/${run}/rollout/${action}`, { by: 'tester', ...(reason ? { reason } : {}) });

const stageState = (r: RunRecord, i: number): string | undefined => r.rollout?.stages[i]?.state;

test.serial(
  'operator control: pause holds the next stage, resume continues, approval waits with zero ' +
    'writes until promote, promote ends a bake, abort rolls the stage back',
  async (t) => {
    const f = await fleet(t, {
      stages: [
        { name: 'staging', clusters: { types: ['staging'] }, bake: '2s' },
        { name: 'canary', clusters: { names: ['p1'] }, approval: true, bake: '10m' },
        { name: 'production', bake: '10m' },
      ],
    });
    const service = await rolloutService(t, f);
    const url = service.url;

    // v1: pause during the staging bake; the canary stage waits, paused, with no writes to it.
    const v1 = await pushImage(f, service, V('v1'));
    const r1 = await runWhen(url, v1, (r) => stageState(r, 0) === 'Baking', 'staging to bake');
    const prodWrites = writes(f, ['p1', 'p2', 'p3']);
    const paused = await act(url, r1.id, 'pause', 'checking dashboards');
    t.is(paused.status, 200);
    t.true((paused.body as unknown as RunRecord).rollout!.paused);
    t.is((await act(url, r1.id, 'pause')).status, 409, 'already paused');
    const held = await runWhen(url, v1, (r) => r.rollout?.phase === 'Paused', 'the pause at the boundary');
    t.is(stageState(held, 0), 'Succeeded');
    t.is(stageState(held, 1), 'Paused');
    t.is(writes(f, ['p1', 'p2', 'p3']) - prodWrites, 0);
    t.is((await act(url, r1.id, 'resume')).status, 200);
    t.is((await act(url, r1.id, 'resume')).status, 409, 'not paused');
    // Manual approval: the canary waits, still nothing written to production clusters.
    const waiting = await runWhen(url, v1, (r) => stageState(r, 1) === 'WaitingForApproval', 'the approval wait');
    t.is(waiting.rollout!.phase, 'WaitingForApproval');
    t.is(writes(f, ['p1', 'p2', 'p3']) - prodWrites, 0, 'no write before approval');
    t.is((await act(url, r1.id, 'promote', 'approved in standup')).status, 200);
    const baking = await runWhen(url, v1, (r) => stageState(r, 1) === 'Baking', 'the canary bake');
    t.is(baking.rollout!.stages[1]!.approvedBy, 'tester');
    t.true(Date.parse(baking.rollout!.stages[1]!.bakeEndsAt!) > Date.now() + 60_000, 'a 10 minute bake');
    t.is(await imageIn(f, 'p1'), V('v1'));
    // Promote ends the 10-minute bakes now.
    t.is((await act(url, r1.id, 'promote')).status, 200);
    await runWhen(url, v1, (r) => stageState(r, 2) === 'Baking', 'the production bake');
    t.is((await act(url, r1.id, 'promote')).status, 200);
    const done1 = await runWhen(url, v1, finished, 'v1 to finish');
    t.is(done1.status, 'succeeded', done1.error ?? '');
    t.is((await act(url, r1.id, 'pause')).status, 409, 'a finished run takes no action');
    t.deepEqual(
      done1.rollout!.history.filter((h) => h.by === 'tester').map((h) => h.type),
      ['pause', 'resume', 'approve', 'promote', 'promote'],
    );

    // v2: approve, promote the canary, then abort during the production bake: production goes back to v1.
    const v2 = await pushImage(f, service, V('v2'));
    const r2 = await runWhen(url, v2, (r) => stageState(r, 1) === 'WaitingForApproval', 'v2 approval wait');
    t.is((await act(url, r2.id, 'promote')).status, 200);
    await runWhen(url, v2, (r) => stageState(r, 1) === 'Baking', 'v2 canary bake');
    t.is((await act(url, r2.id, 'promote')).status, 200);
    await runWhen(url, v2, (r) => stageState(r, 2) === 'Baking', 'v2 production bake');
    for (const c of ['p2', 'p3']) t.is(await imageIn(f, c), V('v2'));
    const aborted = await act(url, r2.id, 'abort', 'error budget burned');
    t.is(aborted.status, 200);
    const done2 = await runWhen(url, v2, finished, 'v2 to stop');
    t.is(done2.status, 'aborted');
    t.is(done2.rollout!.phase, 'Aborted');
    t.is(stageState(done2, 2), 'Failed');
    t.regex(done2.error ?? '', /aborted by tester: error budget burned/);
    const rollback = await eventually(
      async () => (await runs(url)).find((r) => r.kind === 'rollback' && r.parentRun === r2.id && finished(r)),
      'the rollback of the aborted stage',
    );
    t.is(rollback.status, 'succeeded', rollback.error ?? '');
    t.is(rollback.commit, v1);
    t.deepEqual(rollback.clusters.map((c) => c.cluster).sort(), ['p2', 'p3']);
    for (const c of ['p2', 'p3']) t.is(await imageIn(f, c), V('v1'), c);
    t.is(await imageIn(f, 'p1'), V('v2'), 'earlier stages keep the new commit (rollbackScope: stage)');
  },
);

test.serial(
  'a newer push supersedes a rollout at the next stage boundary, never mid-stage: the stage under way finishes, later stages get no write from it',
  async (t) => {
    const f = await fleet(t, {
      stages: [
        { name: 'staging', clusters: { types: ['staging'] }, bake: '3s' },
        { name: 'production', approval: true },
      ],
    });
    const service = await rolloutService(t, f);
    const prodWrites = writes(f, ['p1', 'p2', 'p3']);
    const v2 = await pushImage(f, service, V('v2'));
    await runWhen(service.url, v2, (r) => stageState(r, 0) === 'Baking', 'staging to bake');
    const v3 = await pushImage(f, service, V('v3'));
    const old = await runWhen(service.url, v2, finished, 'v2 to be superseded');
    t.is(old.status, 'superseded');
    t.is(old.rollout!.phase, 'Superseded');
    t.is(old.rollout!.supersededBy, v3);
    t.is(stageState(old, 0), 'Succeeded', 'the stage under way finished its bake');
    t.is(stageState(old, 1), 'Pending');
    t.deepEqual(
      old.clusters.filter((c) => c.stage === 'production').map((c) => c.deploy),
      ['not-started', 'not-started', 'not-started'],
    );
    const next = await runWhen(
      service.url,
      v3,
      (r) => stageState(r, 1) === 'WaitingForApproval',
      'v3 to reach production',
    );
    t.is(writes(f, ['p1', 'p2', 'p3']) - prodWrites, 0, 'no production write from either rollout before approval');
    t.is(await imageIn(f, 'stg'), V('v3'));
    // A push while waiting for approval supersedes at once (a boundary).
    const v4 = await pushImage(f, service, V('v4'));
    t.is((await runWhen(service.url, v3, finished, 'v3 superseded while waiting')).status, 'superseded');
    const r4 = await runWhen(
      service.url,
      v4,
      (r) => stageState(r, 1) === 'WaitingForApproval',
      'v4 to reach production',
    );
    t.is((await act(service.url, r4.id, 'promote')).status, 200);
    t.is((await runWhen(service.url, v4, finished, 'v4 to finish')).status, 'succeeded');
    for (const c of ['stg', 'p1', 'p2', 'p3']) t.is(await imageIn(f, c), V('v4'), c);
    t.true(next.id < r4.id);
  },
);

test.serial(
  'rollback --to COMMIT writes a revert commit (git stays the source of truth) that the pipeline deploys like any push',
  async (t) => {
    const f = await fleet(t, undefined, { p1: 'production', p2: 'production' });
    const service = await rolloutService(t, f);
    const v2 = await pushImage(f, service, V('v2'));
    t.is((await runWhen(service.url, v2, finished, 'v2')).status, 'succeeded');
    const v3 = await pushImage(f, service, V('v3'));
    t.is((await runWhen(service.url, v3, finished, 'v3')).status, 'succeeded');
    const res = await postJson(`${service.url}/rollbacks`, { to: v2.slice(0, 10), by: 'tester', reason: 'v3 is slow' });
    t.is(res.status, 201, JSON.stringify(res.body));
    const body = res.body as { commit: string; to: string; reverted: string[]; repo: string; branch: string };
    t.is(body.to, v2);
    t.deepEqual(body.reverted, [v3]);
    t.is(body.branch, BRANCH);
    const log = await remoteLog(f.remote);
    t.is(log[0]?.hash, body.commit, 'the revert commit is the branch head');
    t.regex(log[0]?.message ?? '', new RegExp(`^Roll back to ${v2.slice(0, 12)}: revert 1 commit`));
    t.regex(log[0]?.body ?? '', /Requested by tester: v3 is slow/);
    const git = gitClient(f.remote.url, 30_000);
    t.is((await git.raw(['diff', v2, body.commit])).trim(), '', 'the content of v2');
    t.is((await git.raw(['rev-parse', `${body.commit}^`])).trim(), v3, 'a new commit on top of v3');
    const run = await runWhen(service.url, body.commit, finished, 'the revert commit to deploy');
    t.is(run.status, 'succeeded', run.error ?? '');
    t.regex(run.trigger, /^rollback --to [0-9a-f]{12} by tester$/);
    for (const c of ['p1', 'p2']) t.is(await imageIn(f, c), V('v2'), c);
    // Nothing left to revert, an unknown commit, a bad body.
    t.is((await postJson(`${service.url}/rollbacks`, { to: v2 })).status, 409);
    const unknown = await postJson(`${service.url}/rollbacks`, { to: 'deadbeefdeadbeef' });
    t.is(unknown.status, 400);
    t.regex(String(unknown.body.message), /commit deadbeefdeadbeef is not in the manifests repo/);
    t.is((await postJson(`${service.url}/rollbacks`, { to: 'not-a-sha' })).status, 400);
    t.is((await postJson(`${service.url}/rollbacks`, { to: v2, repo: 'acme/other' })).status, 400);
  },
);
