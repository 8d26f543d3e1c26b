/**
 * etcd faults through the API: `kitfed apiserver` on a 3-member etcd on loopback. One member
 * killed → creates still succeed; quorum lost → requests fail fast with a 5xx Status (well
 * within the request timeout); quorum back → serving again, nothing acknowledged lost.
 */
import { postConfigMap, listNames, startServer } from './apiserver-process.js';
import { findLeader, startEtcdCluster } from './etcd-harness.js';
import { etcdTest } from './etcd-test.js';
import { tempDir } from './temp.js';

etcdTest('API on a 3-member etcd: survives one member, fails fast without quorum, recovers without loss', async (t) => {
  const cluster = await startEtcdCluster(3);
  t.teardown(() => cluster.stop());
  const server = await startServer(t, `etcd://${cluster.endpoints.join(',')}`, tempDir(t));
  t.teardown(() => server.kill());
  const acked = new Set<string>();
  let n = 0;
  const create = async () => {
    const name = `cm-${n++}`;
    const started = Date.now();
    const res = await postConfigMap(server.url, name);
    if (res.status === 201) acked.add(name);
    return { ...res, elapsed: Date.now() - started };
  };

  for (let i = 0; i < 10; i++) t.is((await create()).status, 201);

  const leader = await findLeader(cluster);
  const followers = cluster.members.filter((m) => m !== leader);
  await followers[0]!.kill();
  for (let i = 0; i < 10; i++) {
    const r = await create();
    t.is(r.status, 201, `one member down: creates still succeed (${JSON.stringify(r.body)})`);
  }

  await followers[1]!.kill();
  const failed = await create();
  t.true(failed.status >= 500 && failed.status < 600, `quorum lost: 5xx, got ${failed.status}`);
  t.like(failed.body, { kind: 'Status', status: 'Failure', code: failed.status });
  t.true(failed.elapsed < 30_000, `failed fast (${failed.elapsed} ms)`);
  t.log(`quorum lost: ${failed.status} after ${failed.elapsed} ms`);

  await Promise.all(followers.map((m) => m.start()));
  await cluster.waitHealthy(20_000);
  const deadline = Date.now() + 30_000;
  let recovered = false;
  while (!recovered && Date.now() < deadline) recovered = (await create()).status === 201;
  t.true(recovered, 'creates succeed again once quorum is back');
  t.log(`quorum back: serving again after ${Date.now() - deadline + 30_000} ms`);
  const stored = await listNames(server.url);
  t.deepEqual(
    [...acked].filter((name) => !stored.has(name)),
    [],
    'every acknowledged create survived',
  );
});
