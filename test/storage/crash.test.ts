/**
 * Crash safety through the API: a writer gets 2xx for N ConfigMap creates, `kitfed apiserver`
 * is SIGKILLed mid-loop and restarted on the same storage; every acknowledged object is there.
 * (Plain HTTP via --insecure: TLS and tokens are not what this test is about.)
 */
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { startEtcd } from './etcd-harness.js';
import { etcdTest } from './etcd-test.js';
import { tempDir } from './temp.js';

const CLI = join(import.meta.dirname, '..', '..', 'services', 'cli', 'kitfed.ts');

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

interface Running {
  url: string;
  kill(): Promise<void>;
}

/** Starts `kitfed apiserver` on `storage`; resolves once /readyz answers 200 (bounded). */
async function startServer(t: ExecutionContext, storage: string, port: number, dataDir: string): Promise<Running> {
  const args = ['--import', 'tsx', CLI, 'apiserver', '--listen', `127.0.0.1:${port}`, '--storage', storage, '--data-dir', dataDir, '--insecure'];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, KITFED_LOG_LEVEL: 'warn' } });
  t.teardown(() => child.kill('SIGKILL'));
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (c: string) => (stderr = (stderr + c).slice(-4000)));
  let exited = false;
  const exit = new Promise<void>((resolve) => child.once('exit', () => ((exited = true), resolve())));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (exited) throw new Error(`kitfed apiserver exited: ${stderr}`);
    if (Date.now() > deadline) throw new Error(`kitfed apiserver not ready within 30 s: ${stderr}`);
    const ready = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(1000) }).then(
      (r) => r.ok,
      () => false,
    );
    if (ready) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    async kill() {
      child.kill('SIGKILL');
      await exit;
    },
  };
}

async function createConfigMap(url: string, name: string): Promise<boolean> {
  try {
    const res = await fetch(`${url}/api/v1/namespaces/default/configmaps`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data: { name } }),
      signal: AbortSignal.timeout(5000),
    });
    await res.arrayBuffer();
    return res.status >= 200 && res.status < 300;
  } catch {
    return false;
  }
}

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

async function listNames(url: string): Promise<Set<string>> {
  const res = await fetch(`${url}/api/v1/namespaces/default/configmaps`, { signal: AbortSignal.timeout(10_000) });
  const body = (await res.json()) as { items?: { metadata: { name: string } }[] };
  return new Set((body.items ?? []).map((i) => i.metadata.name));
}

async function crashAndCheck(t: ExecutionContext, storage: string): Promise<void> {
  const port = await freePort();
  const dataDir = tempDir(t);
  const first = await startServer(t, storage, port, dataDir);
  const acked = await writeThenKill(first, 300);
  const second = await startServer(t, storage, port, dataDir);
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
