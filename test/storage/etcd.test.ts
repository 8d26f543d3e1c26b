import test from 'ava';
import net from 'node:net';
import { EtcdStore } from '../../services/apiserver/storage/etcd.js';
import { StoreError } from '../../services/apiserver/storage/types.js';
import { EventLog } from './conformance.js';
import { startEtcd } from './etcd-harness.js';
import { etcdTest } from './etcd-test.js';

etcdTest("two stores on one etcd see each other's writes through watch", async (t) => {
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
  t.deepEqual(
    (await logB.waitFor(2)).map((e) => [e.type, e.value, e.revision]),
    [
      ['ADDED', 'from-a', r1],
      ['MODIFIED', 'from-b', r2],
    ],
  );
  t.deepEqual(
    (await logA.waitFor(2)).map((e) => [e.type, e.value, e.revision]),
    [
      ['ADDED', 'from-a', r1],
      ['MODIFIED', 'from-b', r2],
    ],
  );
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
  t.deepEqual(
    (await a.list('/')).items.map((i) => i.value),
    ['a'],
  );
  // A prefix that extends another one stays separate, even for list('') and watch('').
  const c = new EtcdStore(etcd.endpoints, { keyPrefix: '/one-more' });
  t.teardown(() => c.close());
  const log = new EventLog();
  t.teardown(await a.watch('', { sinceRevision: 0, ...log.handlers }));
  await c.create('/k', 'c');
  const r = await a.update('/k', 'a2');
  t.deepEqual(
    (await a.list('')).items.map((i) => i.value),
    ['a2'],
  );
  t.deepEqual(
    (await log.waitFor(2)).map((e) => [e.value, e.revision > 0]),
    [
      ['a', true],
      ['a2', true],
    ],
  );
  t.is(log.events.at(-1)!.revision, r);
  t.is(codeOf(await a.create('no-slash', 'x').catch((e) => e)), 'Internal');
});

etcdTest(
  'etcd down: calls fail fast with Unavailable; a live watch resumes after etcd returns, without gap or duplicate',
  async (t) => {
    const etcd = await startEtcd();
    t.teardown(() => etcd.stop());
    const store = new EtcdStore(etcd.endpoints, { requestTimeoutMs: 2000 });
    t.teardown(() => store.close());
    const log = new EventLog();
    t.teardown(await store.watch('/', { sinceRevision: await store.revision(), ...log.handlers }));
    await store.create('/a', '1');
    await log.waitFor(1);
    await etcd.kill();
    for (const op of [
      () => store.get('/a'),
      () => store.create('/b', '2'),
      () => store.list('/'),
      () => store.watch('/', { sinceRevision: 0, onEvent: () => {}, onError: () => {} }),
    ]) {
      const started = Date.now();
      const err = await op().then(
        () => undefined,
        (e: unknown) => e,
      );
      t.is(codeOf(err), 'Unavailable');
      // Bounded by the 2 s deadline, not hanging; the margin is for CI, where three suites share
      // two cores and timers fire seconds late (7.3 s was seen once against an earlier 4 s bound).
      t.true(Date.now() - started < 8000, `failed within the deadline (${Date.now() - started} ms)`);
    }
    await etcd.members[0]!.start();
    await etcd.waitHealthy();
    const deadline = Date.now() + 15_000;
    let written = false;
    while (!written && Date.now() < deadline)
      written = await store.create('/c', '3').then(
        () => true,
        () => false,
      );
    t.true(written, 'writes succeed once etcd is back');
    const events = await log.waitFor(2, 10_000);
    t.deepEqual(
      events.map((e) => `${e.type} ${e.key}`),
      ['ADDED /a', 'ADDED /c'],
    );
    t.deepEqual(log.errors, []);
  },
);

etcdTest('periodic compaction drops history older than the previous tick', async (t) => {
  const etcd = await startEtcd();
  t.teardown(() => etcd.stop());
  const store = new EtcdStore(etcd.endpoints, { compactionIntervalMs: 0 });
  t.teardown(() => store.close());
  const r1 = await store.create('/a', '1');
  await store.compactionTick();
  t.is(await store.compactedRevision(), 0, 'the first tick only records the revision');
  await store.update('/a', '2');
  await store.update('/a', '3');
  await store.compactionTick();
  t.is(await store.compactedRevision(), r1);
  t.is(
    codeOf(await store.watch('/', { sinceRevision: r1 - 1, onEvent: () => {}, onError: () => {} }).catch((e) => e)),
    'Compacted',
  );
  const stop = await store.watch('/', { sinceRevision: r1, onEvent: () => {}, onError: () => {} });
  stop();
});

etcdTest('a list answer larger than the 4 MiB gRPC message default is read', async (t) => {
  const etcd = await startEtcd();
  t.teardown(() => etcd.stop());
  // Megabyte writes on a busy machine: a deadline that does not make this a timing test.
  const store = new EtcdStore(etcd.endpoints, { requestTimeoutMs: 30_000 });
  t.teardown(() => store.close());
  // Five values of 1 MiB (etcd takes requests up to 1.5 MiB): one 5 MiB answer.
  const big = 'x'.repeat(1024 * 1024);
  for (let i = 0; i < 5; i++) await store.create(`/big/${i}`, big);
  const listed = await store.list('/big/');
  t.is(listed.items.length, 5);
  t.true(listed.items.every((kv) => kv.value.length === big.length));
});

etcdTest(
  "etcd's refusals keep their meaning through the store's own gRPC client, and the store stays usable",
  async (t) => {
    const etcd = await startEtcd();
    t.teardown(() => etcd.stop());
    const store = new EtcdStore(etcd.endpoints, { compactionIntervalMs: 0, requestTimeoutMs: 30_000 });
    t.teardown(() => store.close());
    const r1 = await store.create('/c/ünï', 'wert €');
    const r2 = await store.update('/c/ünï', 'zwei €', r1);
    await store.compact(r2);
    // A read at a compacted revision is Compacted; one at a revision etcd has not reached is an error, not data.
    t.is(codeOf(await store.list('/c/', { revision: r1 }).catch((e) => e)), 'Compacted');
    const future = await store.list('/c/', { revision: r2 + 1000 }).catch((e: unknown) => e);
    t.true(future instanceof StoreError && /future revision/.test(future.message));
    // A request etcd refuses (over its 1.5 MiB limit) fails with etcd's reason and is not retried as transient.
    const tooLarge = await store.create('/c/big', 'x'.repeat(2 * 1024 * 1024)).catch((e: unknown) => e);
    t.true(
      tooLarge instanceof StoreError &&
        tooLarge.code === 'Internal' &&
        /larger than max|too large/.test(tooLarge.message),
    );
    t.is(await store.get('/c/big'), undefined);
    // Multi-byte keys and values round-trip; compare-and-swap still answers with the current value.
    t.deepEqual(await store.get('/c/ünï'), { key: '/c/ünï', value: 'zwei €', modRevision: r2, createRevision: r1 });
    const conflict = await store.update('/c/ünï', 'drei', r1).catch((e: unknown) => e);
    t.true(conflict instanceof StoreError && conflict.code === 'Conflict' && conflict.current?.value === 'zwei €');
    const deleted = await store.delete('/c/ünï', r2);
    t.is(deleted.prev.value, 'zwei €');
    t.is(await store.revision(), deleted.revision);
  },
);

function codeOf(err: unknown): string | undefined {
  return err instanceof StoreError ? err.code : undefined;
}

test('no etcd at all: opening works, the first call fails with Unavailable', async (t) => {
  const store = new EtcdStore(['127.0.0.1:1'], { requestTimeoutMs: 1000 });
  t.teardown(() => store.close());
  t.is(codeOf(await store.get('/x').catch((e) => e)), 'Unavailable');
});

etcdTest(
  'a connection that goes silent is dropped by the keepalive ping: calls and the watch move to the next member',
  async (t) => {
    const etcd = await startEtcd();
    t.teardown(() => etcd.stop());
    // A TCP relay to etcd that can go silent: it stops passing bytes but keeps every socket open,
    // as a partitioned member or a dead peer behind a stateful firewall would.
    const [host, port] = etcd.endpoints[0]!.split(':') as [string, string];
    let silent = false;
    const sockets = new Set<net.Socket>();
    const relay = net.createServer((client) => {
      const upstream = net.connect(Number(port), host);
      for (const s of [client, upstream]) {
        sockets.add(s);
        s.on('error', () => s.destroy());
        s.on('close', () => sockets.delete(s));
      }
      client.on('data', (d) => silent || upstream.write(d));
      upstream.on('data', (d) => silent || client.write(d));
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
    t.teardown(() => {
      for (const s of sockets) s.destroy();
      relay.close();
    });
    const via = `127.0.0.1:${(relay.address() as net.AddressInfo).port}`;
    // The relay first: the store's calls and its watch both start on it.
    const store = new EtcdStore([via, etcd.endpoints[0]!], { requestTimeoutMs: 2000 });
    t.teardown(() => store.close());
    const log = new EventLog();
    t.teardown(await store.watch('/', { sinceRevision: await store.revision(), ...log.handlers }));
    await store.create('/before', '1');
    await log.waitFor(1);
    silent = true;
    const started = Date.now();
    let written = false;
    while (!written && Date.now() - started < 30_000) {
      written = await store.create('/after', '2').then(
        () => true,
        (e: unknown) => {
          t.is(codeOf(e), 'Unavailable', 'while the member is silent, calls fail with Unavailable, not hang');
          return false;
        },
      );
    }
    t.true(written, 'writes succeed on the next member');
    // 10 s ping + 5 s answer, plus margin for a loaded CI machine (20.9 s was seen once).
    t.true(Date.now() - started < 25_000, `failed over within 10 s ping + 5 s answer (${Date.now() - started} ms)`);
    const events = await log.waitFor(2, 20_000);
    t.deepEqual(
      events.map((e) => `${e.type} ${e.key}`),
      ['ADDED /before', 'ADDED /after'],
    );
    t.deepEqual(log.errors, []);
  },
);
