import { EtcdStore } from '../../services/apiserver/storage/etcd.js';
import { StoreError } from '../../services/apiserver/storage/types.js';
import { findLeader, startEtcdCluster } from './etcd-harness.js';
import { etcdTest } from './etcd-test.js';

const TIMEOUT_MS = 2000;

etcdTest('3-member etcd: one member down keeps serving, quorum lost fails fast, quorum back loses nothing', async (t) => {
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

  for (let i = 0; i < 10; i++) await write();

  // One follower down: every write still succeeds (the client moves to a live member).
  const leader = await findLeader(cluster);
  t.truthy(leader, 'cluster has a leader');
  const followers = cluster.members.filter((m) => m !== leader);
  await followers[0]!.kill();
  for (let i = 0; i < 20; i++) await write();
  t.is((await store.list('/registry/configmaps/')).items.length, acknowledged.size);

  // A second member down: no quorum. Writes and linearizable reads fail with Unavailable within the deadline.
  await followers[1]!.kill();
  for (const op of [() => write(), () => store.get('/registry/configmaps/default/cm-0'), () => store.list('/registry/')]) {
    const started = Date.now();
    const err = await op().then(
      () => undefined,
      (e: unknown) => e,
    );
    const elapsed = Date.now() - started;
    t.true(err instanceof StoreError && err.code === 'Unavailable', `Unavailable, got ${String(err)}`);
    t.true(elapsed < TIMEOUT_MS + 1500, `failed fast (${elapsed} ms)`);
  }

  // Quorum back: serving again within a bounded time, and every acknowledged write is there.
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
  const items = await store.list('/registry/configmaps/');
  const stored = new Map(items.items.map((i) => [i.key, i.value]));
  for (const [key, value] of acknowledged) t.is(stored.get(key), value, `acknowledged ${key} survived`);
});
