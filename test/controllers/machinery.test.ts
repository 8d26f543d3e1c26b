import test from 'ava';
import { startApiServer } from '../../services/apiserver/server.js';
import { kubeconfigFor } from '../../services/apiserver/run.js';
import { KubeClient } from '../../services/core/kube-client.js';
import { Informer, runController, TerminalError, WorkQueue } from '../../services/core/controller/index.js';
import { matchesSelector, parseClusterSelector } from '../../services/controllers/selector.js';
import { eventually } from '../helpers/eventually.js';

test('work queue: a key waits once; re-added while processing it runs again after done', async (t) => {
  const q = new WorkQueue<string>();
  q.add('a');
  q.add('a');
  q.add('b');
  t.is(q.length, 2);
  const k = await q.get();
  t.is(k, 'a');
  q.add('a');
  t.is(q.length, 1, 'a is processing: not queued twice');
  t.is(await q.get(), 'b');
  q.done('a');
  t.is(await q.get(), 'a');
  q.done('a');
  q.done('b');
  t.is(q.length, 0);
  q.shutDown();
  t.is(await q.get(), undefined);
});

test('work queue: per-key exponential backoff from 5 ms, forget resets it; addAfter keeps the earliest', async (t) => {
  const q = new WorkQueue<string>({ baseDelayMs: 5 });
  const t0 = Date.now();
  q.addRateLimited('x');
  t.is(await q.get(), 'x');
  q.done('x');
  q.addRateLimited('x');
  q.addRateLimited('x'); // pending delayed add of 10 ms wins over 20 ms
  t.is(await q.get(), 'x');
  t.true(Date.now() - t0 >= 10);
  q.done('x');
  t.is(q.retries('x'), 3);
  q.forget('x');
  t.is(q.retries('x'), 0);
  q.addAfter('y', 10_000);
  q.addAfter('y', 20);
  const t1 = Date.now();
  t.is(await q.get(), 'y');
  t.true(Date.now() - t1 < 1000);
  q.shutDown();
});

test('runController: errors retry with backoff, TerminalError does not, requeueAfterMs requeues', async (t) => {
  const q = new WorkQueue<string>();
  const calls: string[] = [];
  let failures = 2;
  const c = runController({
    name: 'test',
    queue: q,
    workers: 2,
    reconcile: async (key) => {
      calls.push(key);
      if (key === 'flaky' && failures-- > 0) throw new Error('not yet');
      if (key === 'broken') throw new TerminalError('never');
      if (key === 'again' && calls.filter((k) => k === 'again').length < 3) return { requeueAfterMs: 5 };
    },
  });
  q.add('flaky');
  q.add('broken');
  q.add('again');
  await eventually(
    () => calls.filter((k) => k === 'flaky').length === 3 && calls.filter((k) => k === 'again').length === 3,
  );
  await new Promise((r) => setTimeout(r, 50));
  t.is(calls.filter((k) => k === 'broken').length, 1);
  t.is(calls.filter((k) => k === 'flaky').length, 3);
  await c.stop();
});

test('informer: list then watch into a cache with add/update/delete handlers; resumes after the server comes back', async (t) => {
  const server = await startApiServer();
  t.teardown(() => server.close());
  const client = await KubeClient.fromKubeconfig({ text: kubeconfigFor(server.url, 'x') });
  t.teardown(() => client.close());
  await client.create({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'pre', namespace: 'default' },
    data: {},
  });
  await client.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'other' } });
  const seen: string[] = [];
  const inf = new Informer(client, { apiVersion: 'v1', kind: 'ConfigMap' })
    .onAdd((o) => seen.push(`add ${o.metadata.name}`))
    .onUpdate((_a, b) => seen.push(`update ${b.metadata.name}`))
    .onDelete((o) => seen.push(`delete ${o.metadata.name}`));
  inf.start();
  t.teardown(() => inf.stop());
  await inf.synced;
  t.true(inf.hasSynced());
  t.truthy(inf.get('default/pre'));
  await client.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'b', namespace: 'other' }, data: {} });
  await client.patch('v1', 'ConfigMap', 'default', 'pre', { data: { x: '1' } });
  await eventually(
    () => inf.get('other/b') !== undefined && (inf.get('default/pre')?.data as { x?: string } | undefined)?.x === '1',
  );
  await server.pause();
  await new Promise((r) => setTimeout(r, 200));
  await server.resume();
  await client.delete('v1', 'ConfigMap', 'other', 'b');
  await eventually(() => inf.get('other/b') === undefined, 8000);
  t.deepEqual(seen.slice(0, 3), ['add pre', 'add b', 'update pre']);
  t.true(seen.includes('delete b'));
  t.is(inf.list().length, 1);
});

test('cluster selector: v1 syntax and examples', (t) => {
  const labels = { location: 'europe', environment: 'prod', version: '15' };
  const sel = (v: unknown[]) => matchesSelector(parseClusterSelector(JSON.stringify(v)), labels);
  t.true(sel([{ key: 'location', operator: 'in', values: ['europe'] }]));
  t.false(
    sel([
      { key: 'location', operator: 'in', values: ['europe'] },
      { key: 'environment', operator: '==', values: ['test'] },
    ]),
  );
  t.true(sel([{ key: 'version', operator: '>', values: ['14'] }]));
  t.false(sel([{ key: 'version', operator: 'gt', values: ['15'] }]));
  t.true(sel([{ key: 'missing', operator: '!' }]));
  t.true(sel([{ key: 'environment', operator: 'NotIn', values: ['test'] }]));
  t.true(matchesSelector(parseClusterSelector(undefined), labels));
  t.throws(() => parseClusterSelector('federation.kubernetes.io/federation-control-plane=true'), {
    message: /not valid JSON/,
  });
  t.throws(() => parseClusterSelector('[{"key":"a","operator":"near","values":["b"]}]'), {
    message: /not a valid operator/,
  });
  t.throws(() => parseClusterSelector('[{"key":"a","operator":"in","values":[]}]'), { message: /at least one value/ });
  t.throws(() => parseClusterSelector('[{"key":"a","operator":"gt","values":["x"]}]'), { message: /integer/ });
});
