/**
 * A federated Job runs a copy in every placed cluster. Its status in the federation: the copies'
 * pod counters summed, Complete only once every copy is (so `kubectl wait --for=condition=complete`
 * against the federation waits for the last one), Failed as soon as one copy fails.
 */
import test from 'ava';
import type { KubeObject } from '../../services/core/kube.js';
import { decide as ttlDecision } from '../../services/controllers/job-ttl/index.js';
import { eventually } from '../helpers/eventually.js';
import { startFederation, waitReady, type Federation } from './helpers.js';

const job = (name: string): KubeObject => ({
  apiVersion: 'batch/v1',
  kind: 'Job',
  metadata: { name, namespace: 'default' },
  spec: {
    template: { spec: { restartPolicy: 'Never', containers: [{ name: 'm', image: 'migrate:1' }] } },
  },
});

/** What a member's Job controller reports. */
async function report(fed: Federation, member: number, name: string, status: Record<string, unknown>): Promise<void> {
  const m = fed.members[member]!;
  const o = await eventually(() => m.client.get('batch/v1', 'Job', 'default', name));
  await m.client.update({ ...o, status }, { subresource: 'status' });
}

const finished = (type: 'Complete' | 'Failed', at: string) => ({
  startTime: '2026-12-04T10:00:00Z',
  ...(type === 'Complete' ? { completionTime: at, succeeded: 1 } : { failed: 1 }),
  conditions: [{ type, status: 'True', reason: type === 'Complete' ? 'Completed' : 'BackoffLimitExceeded' }],
});

test('a federated Job is complete when every copy is, failed when one is; kubectl wait agrees', async (t) => {
  const fed = await startFederation(t, 2);
  await fed.startControllers();
  await waitReady(fed);
  const wait = (name: string, condition: string, timeout: string) =>
    fed.kubectl([
      '--context=federation',
      'wait',
      `--for=condition=${condition}`,
      `job/${name}`,
      `--timeout=${timeout}`,
    ]);

  await fed.client.create(job('migrate'));
  await report(fed, 0, 'migrate', finished('Complete', '2026-12-04T10:01:00Z'));
  await report(fed, 1, 'migrate', { startTime: '2026-12-04T10:00:30Z', active: 1 });
  await eventually(async () => {
    const o = await fed.client.get('batch/v1', 'Job', 'default', 'migrate');
    const s = o.status as Record<string, unknown> | undefined;
    if (s?.succeeded !== 1 || s.active !== 1) throw new Error(JSON.stringify(s));
  });
  // One copy of two is done: the federated Job is not.
  t.not((await wait('migrate', 'complete', '1s')).code, 0);

  await report(fed, 1, 'migrate', finished('Complete', '2026-12-04T10:02:00Z'));
  const done = await wait('migrate', 'complete', '10s');
  t.is(done.code, 0, done.stderr);
  const status = (await fed.client.get('batch/v1', 'Job', 'default', 'migrate')).status as Record<string, unknown>;
  t.like(status, {
    succeeded: 2,
    active: 0,
    failed: 0,
    startTime: '2026-12-04T10:00:00Z',
    completionTime: '2026-12-04T10:02:00Z',
  });

  // One copy failing fails the federated Job, naming the cluster.
  await fed.client.create(job('broken'));
  await report(fed, 1, 'broken', finished('Failed', ''));
  const failed = await wait('broken', 'failed', '10s');
  t.is(failed.code, 0, failed.stderr);
  const conditions = (
    (await fed.client.get('batch/v1', 'Job', 'default', 'broken')).status as {
      conditions: Array<{ type: string; status: string; message?: string }>;
    }
  ).conditions;
  t.regex(conditions.find((c) => c.type === 'Failed')!.message ?? '', /^m2: /);
  t.false(conditions.some((c) => c.type === 'Complete'));
});

test("a federated CronJob shows its copies' runs: each running Job once, the latest schedule, a success everywhere", async (t) => {
  const fed = await startFederation(t, 2);
  await fed.startControllers();
  await waitReady(fed);
  await fed.client.create({
    apiVersion: 'batch/v1',
    kind: 'CronJob',
    metadata: { name: 'tick', namespace: 'default' },
    spec: { schedule: '*/5 * * * *', jobTemplate: { spec: job('unused').spec } },
  });
  const run = (name: string, uid: string) => ({ apiVersion: 'batch/v1', kind: 'Job', namespace: 'default', name, uid });
  const cronReport = async (member: number, status: Record<string, unknown>) => {
    const m = fed.members[member]!;
    const o = await eventually(() => m.client.get('batch/v1', 'CronJob', 'default', 'tick'));
    await m.client.update({ ...o, status }, { subresource: 'status' });
  };
  const federated = async () =>
    (await fed.client.get('batch/v1', 'CronJob', 'default', 'tick')).status as Record<string, unknown> | undefined;

  // The 10:05 run is going in both clusters (same name, each member's own uid); m1 succeeded at 10:00.
  await cronReport(0, {
    active: [run('tick-29940545', 'uid-a')],
    lastScheduleTime: '2026-12-05T10:05:00Z',
    lastSuccessfulTime: '2026-12-05T10:00:07Z',
  });
  await cronReport(1, { active: [run('tick-29940545', 'uid-b')], lastScheduleTime: '2026-12-05T10:05:00Z' });
  const going = await eventually(async () => {
    const s = await federated();
    if (!s?.lastScheduleTime) throw new Error(JSON.stringify(s));
    return s;
  });
  t.deepEqual(going, {
    active: [{ apiVersion: 'batch/v1', kind: 'Job', namespace: 'default', name: 'tick-29940545' }],
    lastScheduleTime: '2026-12-05T10:05:00Z',
  });
  const table = await fed.kubectl(['--context=federation', 'get', 'cronjob', 'tick', '--no-headers']);
  t.is(table.code, 0, table.stderr);
  t.regex(table.stdout, /^tick\s+\*\/5 \* \* \* \*\s+<none>\s+False\s+1\s+/);

  // Both copies done: nothing active, the latest schedule, and the earlier copy's success (the run
  // the whole fleet has had).
  await cronReport(0, { lastScheduleTime: '2026-12-05T10:05:00Z', lastSuccessfulTime: '2026-12-05T10:05:09Z' });
  await cronReport(1, { lastScheduleTime: '2026-12-05T10:05:01Z', lastSuccessfulTime: '2026-12-05T10:05:12Z' });
  const done = await eventually(async () => {
    const s = await federated();
    if (!s || s.active || !s.lastSuccessfulTime) throw new Error(JSON.stringify(s));
    return s;
  });
  t.deepEqual(done, { lastScheduleTime: '2026-12-05T10:05:01Z', lastSuccessfulTime: '2026-12-05T10:05:09Z' });
});

test('ttlSecondsAfterFinished: read from the Complete or Failed transition; kept while running or being deleted', (t) => {
  const at = Date.parse('2026-12-05T10:00:00Z');
  const withTtl = (ttl: number | undefined, conditions: unknown[] = [], deleting = false): KubeObject => ({
    ...job('x'),
    metadata: { name: 'x', namespace: 'default', ...(deleting ? { deletionTimestamp: '2026-12-05T10:00:00Z' } : {}) },
    spec: { ...(job('x').spec as object), ...(ttl === undefined ? {} : { ttlSecondsAfterFinished: ttl }) },
    status: { conditions },
  });
  const done = (type: string, status = 'True') => ({ type, status, lastTransitionTime: '2026-12-05T10:00:00Z' });
  t.deepEqual(ttlDecision(withTtl(60, [done('Complete')]), at + 59_000), { action: 'wait', at: at + 60_000 });
  t.deepEqual(ttlDecision(withTtl(60, [done('Failed')]), at + 60_000), {
    action: 'delete',
    finishedAt: at,
    ttlSeconds: 60,
  });
  t.like(ttlDecision(withTtl(0, [done('Complete')]), at), { action: 'delete' });
  t.deepEqual(ttlDecision(withTtl(60, [done('Complete', 'False')]), at + 3_600_000), { action: 'keep' });
  t.deepEqual(ttlDecision(withTtl(undefined, [done('Complete')]), at + 3_600_000), { action: 'keep' });
  t.deepEqual(ttlDecision(withTtl(60, [done('Complete')], true), at + 3_600_000), { action: 'keep' });
});

test('a finished Job with ttlSecondsAfterFinished: its copies carry no TTL, the federation deletes it once it is over', async (t) => {
  const fed = await startFederation(t, 2);
  await fed.startControllers();
  await waitReady(fed);
  const once = job('once');
  await fed.client.create({ ...once, spec: { ...(once.spec as object), ttlSecondsAfterFinished: 1 } });
  // A member deleting its finished copy itself would see kitfed create it again (and run it again).
  for (const m of fed.members) {
    const copy = await eventually(() => m.client.get('batch/v1', 'Job', 'default', 'once'));
    t.false('ttlSecondsAfterFinished' in (copy.spec as object));
  }
  // One copy done: the federated Job is not, and stays past its TTL.
  await report(fed, 0, 'once', finished('Complete', '2026-12-05T10:01:00Z'));
  await new Promise((r) => setTimeout(r, 2000));
  t.truthy(await fed.client.tryGet('batch/v1', 'Job', 'default', 'once'));
  // Both done: a second later it is gone, from the federation and from every member.
  await report(fed, 1, 'once', finished('Complete', '2026-12-05T10:02:00Z'));
  await eventually(async () => {
    if (await fed.client.tryGet('batch/v1', 'Job', 'default', 'once')) throw new Error('still in the federation');
    for (const m of fed.members)
      if (await m.client.tryGet('batch/v1', 'Job', 'default', 'once')) throw new Error(`still in ${m.name}`);
  }, 20_000);
  // A Job without a TTL stays.
  await fed.client.create(job('kept'));
  await report(fed, 0, 'kept', finished('Complete', '2026-12-05T10:01:00Z'));
  await report(fed, 1, 'kept', finished('Complete', '2026-12-05T10:02:00Z'));
  await eventually(async () => {
    const s = (await fed.client.get('batch/v1', 'Job', 'default', 'kept')).status as { succeeded?: number };
    if (s.succeeded !== 2) throw new Error(JSON.stringify(s));
  });
  await new Promise((r) => setTimeout(r, 1500));
  t.truthy(await fed.client.tryGet('batch/v1', 'Job', 'default', 'kept'));
});
