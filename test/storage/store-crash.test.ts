import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import test from 'ava';
import { openStore } from '../../services/apiserver/storage/open.js';
import { startEtcd } from './etcd-harness.js';
import { etcdTest } from './etcd-test.js';
import { tempDir } from './temp.js';

const WRITER = join(import.meta.dirname, 'fixtures', 'writer.ts');

interface Run {
  acked: Set<string>;
  /** Resolves once `n` acks arrived (rejects if the writer exits or after `timeoutMs`). */
  acks(n: number, timeoutMs?: number): Promise<void>;
  kill(): Promise<void>;
}

/** Starts the writer on `url`, collecting the keys it reports acknowledged. */
function startWriter(url: string, t: { teardown(fn: () => void): void }): Run {
  const child = spawn(process.execPath, ['--import', 'tsx', WRITER, url], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.teardown(() => child.kill('SIGKILL'));
  const acked = new Set<string>();
  let waiter: { n: number; resolve(): void } | undefined;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  createInterface({ input: child.stdout }).on('line', (line) => {
    if (line.startsWith('ack ')) acked.add(line.slice(4));
    if (waiter && acked.size >= waiter.n) waiter.resolve();
  });
  return {
    acked,
    acks: (n, timeoutMs = 30_000) =>
      new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`writer acknowledged only ${acked.size} of ${n} writes`)),
          timeoutMs,
        );
        const done = () => (clearTimeout(timer), resolve());
        if (acked.size >= n) return done();
        waiter = { n, resolve: done };
        void exited.then(() => reject(new Error('writer exited early')));
      }),
    async kill() {
      child.kill('SIGKILL');
      await exited;
    },
  };
}

async function assertAllThere(
  t: { is(a: unknown, b: unknown, m?: string): void; true(v: boolean, m?: string): void },
  url: string,
  acked: Set<string>,
): Promise<void> {
  const store = await openStore(url);
  try {
    const items = (await store.list('/registry/configmaps/crash/')).items;
    const stored = new Set(items.map((i) => i.key));
    const missing = [...acked].filter((k) => !stored.has(k));
    t.is(missing.length, 0, `acknowledged but lost: ${missing.slice(0, 5).join(', ')}`);
    t.true(
      items.every((i) => JSON.parse(i.value).key === i.key),
      'values intact',
    );
  } finally {
    await store.close();
  }
}

test('SQLite: every write acknowledged before a SIGKILL of the writer is there after restart', async (t) => {
  const url = `sqlite://${join(tempDir(t), 'crash.db')}`;
  const run = startWriter(url, t);
  await run.acks(500);
  await run.kill();
  t.true(run.acked.size >= 500);
  await assertAllThere(t, url, run.acked);
});

etcdTest(
  'etcd: every write acknowledged before etcd and the writer are SIGKILLed is there after restart',
  async (t) => {
    const etcd = await startEtcd();
    t.teardown(() => etcd.stop());
    const url = `etcd://${etcd.endpoints.join(',')}`;
    const run = startWriter(url, t);
    await run.acks(300);
    await Promise.all([etcd.kill(), run.kill()]);
    await etcd.members[0]!.start();
    await etcd.waitHealthy();
    await assertAllThere(t, url, run.acked);
  },
);
