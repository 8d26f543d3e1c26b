import test from 'ava';
import { memberType } from '../../services/sandbox/resources.js';
import { startTestSandbox, waitFor } from './helpers.js';

const ConfigMap = memberType('ConfigMap');

async function errorCode(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
    return undefined;
  } catch (err) {
    const cause = (err as { cause?: { code?: string; name?: string } }).cause;
    return cause?.code ?? (err as { name?: string }).name;
  }
}

test('down refuses connections; up serves again with every object kept on the same port', async (t) => {
  const s = await startTestSandbox(t);
  const c = s.sandbox.clusters[0]!;
  t.is((await s.kubectl(['create', 'configmap', 'keep', '--from-literal=a=b'])).code, 0);
  await c.fault('down');
  t.is(await errorCode(fetch(`${c.url}/api/v1/namespaces`)), 'ECONNREFUSED');
  const refused = await s.kubectl(['get', 'configmap', 'keep', '--request-timeout=5s']);
  t.not(refused.code, 0);
  t.regex(refused.stderr, /refused/);
  // The simulator keeps running while the endpoint is down.
  await c.registry.create(ConfigMap, 'default', {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'while-down' },
  });
  await c.fault('up');
  const back = await s.kubectl(['get', 'configmaps', 'keep', 'while-down', '-o', 'name']);
  t.is(back.code, 0, back.stderr);
  t.deepEqual(back.stdout.trim().split('\n'), ['configmap/keep', 'configmap/while-down']);
  // stop()/start() are the same thing.
  const port = c.port;
  await c.stop();
  t.is(await errorCode(fetch(`${c.url}/healthz`)), 'ECONNREFUSED');
  await c.start();
  t.is(c.port, port);
  t.is((await fetch(`${c.url}/healthz`)).status, 200);
});

test('latency delays every request; latency 0 removes it', async (t) => {
  const s = await startTestSandbox(t);
  const c = s.sandbox.clusters[0]!;
  // Only lower bounds on time: a loaded machine makes requests slower, never faster. A delay far
  // beyond any load-induced slowness shows that latency 0 removed it.
  const DELAY = 3_000;
  await c.fault('latency', DELAY);
  let started = Date.now();
  t.is((await fetch(`${c.url}/api/v1/namespaces/default`)).status, 200);
  t.true(Date.now() - started >= DELAY - 10, `took ${Date.now() - started} ms`);
  started = Date.now();
  const k = await s.kubectl(['get', 'ns', 'default', '-o', 'name']);
  t.is(k.code, 0, k.stderr);
  t.true(Date.now() - started >= DELAY - 10);
  await c.fault('latency', 0);
  t.is(c.faultState.latencyMs, 0);
  started = Date.now();
  t.is((await fetch(`${c.url}/api/v1/namespaces/default`)).status, 200);
  t.true(Date.now() - started < DELAY, `took ${Date.now() - started} ms with latency 0`);
});

test('errors RATE answers that share of API requests with a 500 Status; errors 0 recovers', async (t) => {
  const s = await startTestSandbox(t);
  const c = s.sandbox.clusters[0]!;
  await c.fault('errors', 1);
  const res = await fetch(`${c.url}/api/v1/namespaces`);
  t.is(res.status, 500);
  t.like(await res.json(), { kind: 'Status', code: 500, reason: 'InternalError', status: 'Failure' });
  t.is((await fetch(`${c.url}/healthz`)).status, 200, 'health is not an API request');
  const k = await s.kubectl(['get', 'ns', 'default', '--request-timeout=10s']);
  t.not(k.code, 0);
  t.regex(k.stderr, /InternalError|Internal error/);
  await c.fault('errors', 0.5);
  const codes = await Promise.all(
    Array.from({ length: 60 }, async () => (await fetch(`${c.url}/api/v1/namespaces/default`)).status),
  );
  t.true(codes.includes(200) && codes.includes(500), codes.join(','));
  await c.fault('errors', 0);
  t.is((await fetch(`${c.url}/api/v1/namespaces/default`)).status, 200);
});

test('unhealthy fails /healthz and /readyz; healthy restores them', async (t) => {
  const s = await startTestSandbox(t);
  const c = s.sandbox.clusters[0]!;
  await c.fault('unhealthy');
  for (const p of ['/healthz', '/readyz', '/livez']) t.is((await fetch(`${c.url}${p}`)).status, 500, p);
  t.is((await fetch(`${c.url}/api/v1/namespaces/default`)).status, 200, 'the API still answers');
  await c.fault('healthy');
  t.is((await fetch(`${c.url}/healthz`)).status, 200);
});

test('hang accepts requests and never answers until the fault is cleared', async (t) => {
  const s = await startTestSandbox(t);
  const c = s.sandbox.clusters[0]!;
  await c.fault('hang');
  t.is(await errorCode(fetch(`${c.url}/api/v1/namespaces`, { signal: AbortSignal.timeout(300) })), 'TimeoutError');
  const pending = fetch(`${c.url}/api/v1/namespaces/default`);
  await new Promise((r) => setTimeout(r, 100));
  await c.fault('up');
  const served = await pending;
  t.is(served.status, 200, 'a hung request is served once the fault clears');
  await served.text();
});

test('request counters count API requests by verb; an unchanged re-apply writes nothing', async (t) => {
  const s = await startTestSandbox(t);
  const c = s.sandbox.clusters[0]!;
  const file = await s.file(
    'cm.yaml',
    'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: counted, namespace: default}\ndata: {a: "1"}\n',
  );
  c.resetRequests();
  t.is((await s.kubectl(['apply', '-f', file])).code, 0);
  const first = c.requests;
  t.is(first.create, 1);
  t.is(first.writes, 1);
  t.true(first.get >= 1);
  t.deepEqual(first.recentWrites, ['POST /api/v1/namespaces/default/configmaps']);
  const again = await s.kubectl(['apply', '-f', file]);
  t.regex(again.stdout, /unchanged/);
  t.is(c.requests.writes, 1);
  t.is((await s.kubectl(['delete', '-f', file])).code, 0);
  t.like(c.requests, { delete: 1, writes: 2 });
});

test('the admin endpoint lists clusters and applies faults', async (t) => {
  const s = await startTestSandbox(t, {
    clusters: [
      { name: 'a', region: 'r1' },
      { name: 'b', region: 'r2' },
    ],
    adminPort: 0,
  });
  const admin = s.sandbox.adminUrl!;
  const list = (await (await fetch(`${admin}/clusters`)).json()) as { clusters: Array<{ name: string; url: string }> };
  t.deepEqual(
    list.clusters.map((c) => c.name),
    ['a', 'b'],
  );
  const post = (name: string, body: unknown) =>
    fetch(`${admin}/clusters/${name}/fault`, {
      method: 'POST',
      body: JSON.stringify(body),
      headers: { 'Content-Type': 'application/json' },
    });
  const down = await post('b', { action: 'down' });
  t.is(down.status, 200);
  t.like(await down.json(), { name: 'b', faults: { down: true } });
  t.is(await errorCode(fetch(`${s.sandbox.cluster('b').url}/healthz`)), 'ECONNREFUSED');
  t.is((await fetch(`${s.sandbox.cluster('a').url}/healthz`)).status, 200, 'other clusters are unaffected');
  t.is((await post('b', { action: 'latency' })).status, 400);
  t.is((await post('b', { action: 'explode' })).status, 400);
  t.is((await post('nope', { action: 'up' })).status, 404);
  t.is((await post('b', { action: 'up' })).status, 200);
  await waitFor('b back', async () => (await fetch(`${s.sandbox.cluster('b').url}/healthz`)).status === 200);
  const ctx = await s.kubectl(['--context', 'b', 'get', 'nodes', '-o', 'name']);
  t.is(ctx.stdout.trim(), 'node/b-r2-a-1');
});
