import test from 'ava';
import { EtcdStore } from '../../services/apiserver/storage/etcd.js';
import { StoreError } from '../../services/apiserver/storage/types.js';
import { EventLog } from './conformance.js';
import { startEtcd } from './etcd-harness.js';
import { etcdTest } from './etcd-test.js';

etcdTest('two stores on one etcd see each other\'s writes through watch', async (t) => {
  const etcd = await startEtcd();
  t.teardown(() => etcd.stop());
  const a = new EtcdStore(etcd.endpoints, { keyPrefix: '/shared' });
  const b = new EtcdStore(etcd.endpoints, { keyPrefix: '/shared' });
  t.teardown(() => a.close());
  t.teardown(() => b.close());
  const logB = new EventLog();
  t.teardown(await b.watch('/registry/', { sinceRevision: await b.revision(), ...logB.handlers }));
  const logA = new EventLog();
  t.teardown(await a.watch('/registry/', { sinceRevision: await a.revision(), ...logA.handlers }));
  const r1 = await a.create('/registry/x', 'from-a');
  const r2 = await b.update('/registry/x', 'from-b', r1);
  t.deepEqual((await logB.waitFor(2)).map((e) => [e.type, e.value, e.revision]), [['ADDED', 'from-a', r1], ['MODIFIED', 'from-b', r2]]);
  t.deepEqual((await logA.waitFor(2)).map((e) => [e.type, e.value, e.revision]), [['ADDED', 'from-a', r1], ['MODIFIED', 'from-b', r2]]);
  t.is(codeOf(await a.update('/registry/x', 'stale', r1).catch((e) => e)), 'Conflict');
});

etcdTest('key prefixes isolate stores sharing one etcd', async (t) => {
  const etcd = await startEtcd();
  t.teardown(() => etcd.stop());
  const a = new EtcdStore(etcd.endpoints, { keyPrefix: '/one' });
  const b = new EtcdStore(etcd.endpoints, { keyPrefix: '/two' });
  t.teardown(() => a.close());
  t.teardown(() => b.close());
  await a.create('/k', 'a');
  t.is(await b.get('/k'), undefined);
  await b.create('/k', 'b');
  t.deepEqual((await a.list('/')).items.map((i) => i.value), ['a']);
});

etcdTest('etcd gone: calls fail fast with Unavailable and a live watch ends with Unavailable', async (t) => {
  const etcd = await startEtcd();
  t.teardown(() => etcd.stop());
  const store = new EtcdStore(etcd.endpoints, { requestTimeoutMs: 2000 });
  t.teardown(() => store.close());
  await store.create('/a', '1');
  const log = new EventLog();
  t.teardown(await store.watch('/', { sinceRevision: await store.revision(), ...log.handlers }));
  await etcd.kill();
  await t.throwsAsync(log.waitFor(1, 5000), { instanceOf: StoreError, message: /etcd watch/ });
  t.is(log.errors[0]?.code, 'Unavailable');
  for (const op of [() => store.get('/a'), () => store.create('/b', '2'), () => store.list('/'), () => store.watch('/', { sinceRevision: 0, onEvent: () => {}, onError: () => {} })]) {
    const started = Date.now();
    const err = await op().then(
      () => undefined,
      (e: unknown) => e,
    );
    t.is(codeOf(err), 'Unavailable');
    t.true(Date.now() - started < 4000, `failed within the deadline (${Date.now() - started} ms)`);
  }
});

function codeOf(err: unknown): string | undefined {
  return err instanceof StoreError ? err.code : undefined;
}

test('no etcd at all: opening works, the first call fails with Unavailable', async (t) => {
  const store = new EtcdStore(['127.0.0.1:1'], { requestTimeoutMs: 1000 });
  t.teardown(() => store.close());
  t.is(codeOf(await store.get('/x').catch((e) => e)), 'Unavailable');
});
