/**
 * Crash safety through the API: a writer gets 2xx for N ConfigMap creates, `kitfed apiserver`
 * is SIGKILLed mid-loop and restarted on the same storage; every acknowledged object is there.
 * (Plain HTTP via --insecure: TLS and tokens are not what this test is about.)
 */
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { createConfigMap, listNames, startServer, type Running } from './apiserver-process.js';
import { startEtcd } from './etcd-harness.js';
import { etcdTest } from './etcd-test.js';
import { tempDir } from './temp.js';

/** Writes from 8 concurrent clients until `target` creates were acknowledged, then SIGKILLs the server mid-loop. */
async function writeThenKill(server: Running, target: number): Promise<Set<string>> {
  const acked = new Set<string>();
  let next = 0;
  let killing: Promise<void> | undefined;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (!killing) {
        const name = `cm-${next++}`;
        if (await createConfigMap(server.url, name)) acked.add(name);
        else if (!killing) throw new Error(`create ${name} failed before the kill`);
        if (acked.size >= target) killing ??= server.kill();
      }
    }),
  );
  await killing;
  return acked;
}

async function crashAndCheck(t: ExecutionContext, storage: string): Promise<void> {
  const dataDir = tempDir(t);
  const first = await startServer(t, storage, dataDir);
  const acked = await writeThenKill(first, 300);
  const second = await startServer(t, storage, dataDir);
  t.teardown(() => second.kill());
  const stored = await listNames(second.url);
  const lost = [...acked].filter((n) => !stored.has(n));
  t.true(acked.size >= 300);
  t.deepEqual(lost, [], `acknowledged but lost after SIGKILL: ${lost.length}`);
}

test('API on SQLite: every create answered 2xx before a SIGKILL is there after restart', async (t) => {
  await crashAndCheck(t, `sqlite://${join(tempDir(t), 'kitfed.db')}`);
});

etcdTest('API on etcd: every create answered 2xx before a SIGKILL is there after restart', async (t) => {
  const etcd = await startEtcd();
  t.teardown(() => etcd.stop());
  await crashAndCheck(t, `etcd://${etcd.endpoints.join(',')}`);
});
