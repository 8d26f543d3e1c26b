import { EtcdStore } from '../../services/apiserver/storage/etcd.js';
import { StoreError } from '../../services/apiserver/storage/types.js';
import { EventLog } from './conformance.js';
import { findLeader, startEtcdCluster } from './etcd-harness.js';
import { etcdTest } from './etcd-test.js';

const TIMEOUT_MS = 2000;

etcdTest(
  '3-member etcd: one member down keeps serving, quorum lost fails fast, quorum back loses nothing',
  async (t) => {
    const cluster = await startEtcdCluster(3);
    t.teardown(() => cluster.stop());
    const store = new EtcdStore(cluster.endpoints, { requestTimeoutMs: TIMEOUT_MS });
    t.teardown(() => store.close());
    const acknowledged = new Map<string, string>();
    let n = 0;
    const write = async () => {
      const key = `/registry/configmaps/default/cm-${n++}`;
      await store.create(key, `{"n":${n}}`);
      acknowledged.set(key, `{"n":${n}}`);
    };

    const watched = new EventLog();
    t.teardown(await store.watch('/registry/', { sinceRevision: await store.revision(), ...watched.handlers }));
    for (let i = 0; i < 10; i++) await write();

    // One follower down: every write still succeeds (the client moves to a live member).
    const leader = await findLeader(cluster);
    t.truthy(leader, 'cluster has a leader');
    const followers = cluster.members.filter((m) => m !== leader);
    const t0 = Date.now();
    await followers[0]!.kill();
    for (let i = 0; i < 20; i++) await write();
    t.is((await store.list('/registry/configmaps/')).items.length, acknowledged.size);

    // A second member down: no quorum. Writes and linearizable reads fail with Unavailable within the deadline.
    t.log(`one member down: 20 writes in ${Date.now() - t0} ms`);
    const t1 = Date.now();
    await followers[1]!.kill();
    const outcomes = await Promise.all(
      [() => write(), () => store.get('/registry/configmaps/default/cm-0'), () => store.list('/registry/')].map(
        async (op) => {
          const started = Date.now();
          const err = await op().then(
            () => undefined,
            (e: unknown) => e,
          );
          return { err, elapsed: Date.now() - started };
        },
      ),
    );
    for (const { err, elapsed } of outcomes) {
      t.true(err instanceof StoreError && err.code === 'Unavailable', `Unavailable, got ${String(err)}`);
      t.true(elapsed < TIMEOUT_MS + 3000, `failed fast (${elapsed} ms, request timeout ${TIMEOUT_MS} ms)`);
    }
    t.log(`quorum lost: 3 calls failed in ${Date.now() - t1} ms`);
    const t2 = Date.now();
    await Promise.all(followers.map((m) => m.start()));
    await cluster.waitHealthy(20_000);
    const deadline = Date.now() + 30_000;
    let recovered = false;
    while (!recovered && Date.now() < deadline) {
      recovered = await write().then(
        () => true,
        () => false,
      );
    }
    t.true(recovered, 'writes succeed again after quorum returns');
    t.log(`quorum back: serving again after ${Date.now() - t2} ms`);
    const items = await store.list('/registry/configmaps/');
    const stored = new Map(items.items.map((i) => [i.key, i.value]));
    for (const [key, value] of acknowledged) t.is(stored.get(key), value, `acknowledged ${key} survived`);

    // The watch opened before the faults saw every stored object once, in revision order.
    const events = await watched.waitFor(stored.size, 15_000);
    t.deepEqual(events.map((e) => e.key).sort(), [...stored.keys()].sort());
    t.true(events.every((e, i) => i === 0 || e.revision > events[i - 1]!.revision));
  },
);

etcdTest(
  '3-member etcd: the leader killed mid-traffic costs latency, not failed writes; none lands twice',
  async (t) => {
    const cluster = await startEtcdCluster(3);
    t.teardown(() => cluster.stop());
    // The store's deadline (5 s) is longer than an election; writes in flight when the leader dies
    // get "leader changed"/"no leader"/a lost connection and must be retried, not failed.
    const store = new EtcdStore(cluster.endpoints, { requestTimeoutMs: 5000 });
    t.teardown(() => store.close());
    for (let i = 0; i < 5; i++) await store.create(`/registry/configmaps/default/before-${i}`, `{"i":${i}}`);
    const leader = await findLeader(cluster);
    t.truthy(leader, 'cluster has a leader');
    const writes: Array<Promise<{ key: string; ok: boolean; error?: string }>> = [];
    const killed = leader!.kill();
    for (let i = 0; i < 30; i++) {
      const key = `/registry/configmaps/default/during-${i}`;
      writes.push(
        store.create(key, `{"i":${i}}`).then(
          () => ({ key, ok: true }),
          (err: unknown) => ({ key, ok: false, error: String(err) }),
        ),
      );
      // Spread over the election (a few hundred ms).
      await new Promise((r) => setTimeout(r, 20));
    }
    await killed;
    const results = await Promise.all(writes);
    t.deepEqual(
      results.filter((r) => !r.ok),
      [],
      'every write during the election succeeded',
    );
    // An update retried after an ambiguous failure does not report its own landed attempt as a conflict.
    const updated = await Promise.all(results.map(async (r) => store.update(r.key, `{"updated":"${r.key}"}`)));
    t.is(updated.length, 30);
    const stored = new Map((await store.list('/registry/configmaps/default/')).items.map((i) => [i.key, i.value]));
    t.is(stored.size, 35);
    for (const r of results) t.is(stored.get(r.key), `{"updated":"${r.key}"}`);
  },
);
