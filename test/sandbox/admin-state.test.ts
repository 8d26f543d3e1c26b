/**
 * The sandbox admin's `GET /clusters?view=state`: every cluster's state under an ETag that moves
 * only when a state does (not with request counters or the clock), and a long poll with
 * If-None-Match and `wait` (what the console follows) — answered when a fault, capacity or the
 * pods change, with 304 when its wait ends, and at once when the sandbox shuts down. Real HTTP,
 * real kubectl against a member.
 */
import test from 'ava';
import type { SandboxClusterState } from '../../services/sandbox/index.js';
import { within } from '../helpers/eventually.js';
import { deploymentYaml, startTestSandbox, waitFor } from './helpers.js';

type States = { status: number; etag: string | null; clusters?: SandboxClusterState[] };

async function states(admin: string, etag?: string, wait?: number | string, signal?: AbortSignal): Promise<States> {
  const res = await fetch(`${admin}/clusters?view=state${wait !== undefined ? `&wait=${wait}` : ''}`, {
    headers: etag ? { 'if-none-match': etag } : {},
    ...(signal ? { signal } : {}),
  });
  const etagOut = res.headers.get('etag');
  if (res.status !== 200) return { status: res.status, etag: etagOut };
  return { status: 200, etag: etagOut, ...((await res.json()) as { clusters: SandboxClusterState[] }) };
}

test('GET /clusters?view=state: an ETag that moves with the states only; a long poll answered by a fault, by pods, at its end, at shutdown', async (t) => {
  t.timeout(3 * 60_000);
  const s = await startTestSandbox(t, {
    clusters: [
      { name: 'a', region: 'r1', zones: ['r1-a'] },
      { name: 'b', region: 'r2', zones: ['r2-a'] },
    ],
    adminPort: 0,
  });
  const admin = s.sandbox.adminUrl!;

  // The states settle once the nodes are up; then a conditional GET is a 304.
  const settled = await waitFor('a settled state', async () => {
    const one = await states(admin);
    const two = await states(admin, one.etag!);
    return two.status === 304 ? one : undefined;
  });
  t.truthy(settled.etag);
  t.deepEqual(
    settled.clusters?.map((c) => Object.keys(c).sort()),
    [
      ['capacity', 'faults', 'metrics', 'name', 'pods', 'region', 'zones'],
      ['capacity', 'faults', 'metrics', 'name', 'pods', 'region', 'zones'],
    ],
    'no request counters, URL or clock',
  );
  t.like(settled.clusters?.[0], { name: 'a', region: 'r1', zones: ['r1-a'], faults: { down: false } });

  // Requests to a member and the clock move /clusters, not the state's tag.
  t.is((await s.kubectl(['--context', 'a', 'get', 'pods', '-A'])).code, 0);
  t.is((await states(admin, settled.etag!)).status, 304);
  // A short wait with nothing changed: 304, the same tag.
  const quiet = await states(admin, settled.etag!, 0.2);
  t.is(quiet.status, 304);
  t.is(quiet.etag, settled.etag);
  for (const bad of ['x', '-1', '61']) t.is((await states(admin, settled.etag!, bad)).status, 400, bad);
  t.is((await fetch(`${admin}/clusters?view=everything`)).status, 400);

  // Held for 60 s: a fault answers it, well before.
  const held = states(admin, settled.etag!, 60);
  const fault = await fetch(`${admin}/clusters/b/fault`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ action: 'down' }),
  });
  t.is(fault.status, 200);
  const faulted = await within(held, 30_000, 'the held request after a fault');
  t.is(faulted.status, 200);
  t.not(faulted.etag, settled.etag);
  t.like(
    faulted.clusters?.find((c) => c.name === 'b'),
    { faults: { down: true } },
  );

  // Pods bound on a member answer a held request too: followed until both are counted.
  const file = await s.file('web.yaml', deploymentYaml('web', { replicas: 2 }));
  const applied = s.kubectl(['--context', 'a', 'apply', '-f', file]);
  let last = faulted;
  while ((last.clusters?.find((c) => c.name === 'a')?.pods.bound ?? 0) < 2) {
    const next = await within(states(admin, last.etag!, 60), 30_000, 'the held request after pods changed');
    t.is(next.status, 200, 'a held request is answered with a change, not its timeout');
    last = next;
  }
  t.is((await applied).code, 0);
  t.like(
    last.clusters?.find((c) => c.name === 'a'),
    { pods: { bound: 2, unschedulable: 0 } },
  );

  // A client that goes away is not answered; shutdown answers (or closes) a request held for 60 s at once.
  const gone = new AbortController();
  const abandoned = states(admin, last.etag!, 60, gone.signal).catch(() => 'aborted');
  gone.abort();
  t.is(await abandoned, 'aborted');
  const atShutdown = states(admin, last.etag!, 60).then(
    (r) => r.status,
    () => 'closed',
  );
  await within(s.sandbox.close(), 30_000, 'sandbox shutdown with a request held for 60 s');
  t.true([304, 'closed'].includes(await within(atShutdown, 5_000, 'the held request at shutdown')));
});
