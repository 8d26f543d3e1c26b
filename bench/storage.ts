/**
 * Store-level throughput: creates/s (durable for SQLite and etcd), gets/s and list(100)/s on
 * memory, SQLite and a single-member etcd, with 16 concurrent callers like the API bench.
 * Each phase runs for a fixed time. Prints plain text, then one JSON line.
 *
 * node --import tsx bench/storage.ts [--seconds 2] [--concurrency 16] [--dir /path/on/real/disk] [--backends
 * memory,sqlite,etcd]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { EtcdStore } from '../services/apiserver/storage/etcd.js';
import { MemoryStore } from '../services/apiserver/storage/memory.js';
import { SqliteStore } from '../services/apiserver/storage/sqlite.js';
import type { Store } from '../services/apiserver/storage/types.js';
import { etcdBinary, startEtcd } from '../test/storage/etcd-harness.js';

const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: '2' },
    concurrency: { type: 'string', default: '16' },
    dir: { type: 'string' },
    backends: { type: 'string', default: 'memory,sqlite,etcd' },
  },
});
const SECONDS = Number(args.seconds);
const CONCURRENCY = Number(args.concurrency);
const BACKENDS = new Set(args.backends.split(','));

interface Figures {
  createsPerSec: number;
  getsPerSec: number;
  list100PerSec: number;
}

/** A ConfigMap-sized value (~600 bytes of JSON). */
function value(i: number): string {
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: `cm-${i}`,
      namespace: 'bench',
      uid: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
      creationTimestamp: new Date().toISOString(),
      labels: { app: 'bench', tier: 'storage' },
    },
    data: { 'config.yaml': 'x'.repeat(400) },
  });
}

/** Runs `op` from CONCURRENCY callers until SECONDS pass; returns completed ops per second. */
async function rate(op: (i: number) => Promise<unknown>): Promise<number> {
  let next = 0;
  const deadline = performance.now() + SECONDS * 1000;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (performance.now() < deadline) await op(next++);
    }),
  );
  return Math.round(next / ((performance.now() - started) / 1000));
}

async function measure(store: Store): Promise<Figures> {
  for (let i = 0; i < 100; i++)
    await store.create(`/registry/configmaps/list100/cm-${String(i).padStart(3, '0')}`, value(i));
  const createsPerSec = await rate((i) => store.create(`/registry/configmaps/bench/cm-${i}`, value(i)));
  const written = (await store.list('/registry/configmaps/bench/', { limit: 1 })).remaining ?? 0;
  const keys = Math.max(1, written + 1);
  const getsPerSec = await rate((i) => store.get(`/registry/configmaps/bench/cm-${(i * 7919) % keys}`));
  const list100PerSec = await rate(async () => {
    const res = await store.list('/registry/configmaps/list100/');
    if (res.items.length !== 100) throw new Error(`list returned ${res.items.length} items`);
  });
  return { createsPerSec, getsPerSec, list100PerSec };
}

function report(name: string, f: Figures, base?: Figures): void {
  const ratio = (a: number, b: number | undefined) => (b ? ` (${(a / b).toFixed(2)}x memory)` : '');
  console.log(
    `${name.padEnd(7)} creates/s ${String(f.createsPerSec).padStart(8)}${ratio(f.createsPerSec, base?.createsPerSec)}`,
  );
  console.log(`${''.padEnd(7)} gets/s    ${String(f.getsPerSec).padStart(8)}${ratio(f.getsPerSec, base?.getsPerSec)}`);
  console.log(
    `${''.padEnd(7)} list100/s ${String(f.list100PerSec).padStart(8)}${ratio(f.list100PerSec, base?.list100PerSec)}`,
  );
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(args.dir ?? tmpdir(), 'kitfed-bench-storage-'));
  const results: Record<string, Figures> = {};
  const load = loadavg().map((l) => Number(l.toFixed(1)));
  console.log(
    `storage bench: ${SECONDS}s per phase, ${CONCURRENCY} concurrent callers, data in ${dir}, ` +
      `load average ${load.join(' ')} (figures are noisy on a shared machine)`,
  );
  try {
    if (BACKENDS.has('memory')) {
      const memory = new MemoryStore();
      results.memory = await measure(memory);
      await memory.close();
      report('memory', results.memory);
    }
    if (BACKENDS.has('sqlite')) {
      const sqlite = new SqliteStore(join(dir, 'bench.db'));
      results.sqlite = await measure(sqlite);
      await sqlite.close();
      report('sqlite', results.sqlite, results.memory);
    }
    if (!BACKENDS.has('etcd')) {
      // not asked for
    } else if (etcdBinary) {
      const etcd = await startEtcd();
      try {
        const store = new EtcdStore(etcd.endpoints);
        results.etcd = await measure(store);
        await store.close();
      } finally {
        await etcd.stop();
      }
      report('etcd', results.etcd, results.memory);
    } else {
      console.log('etcd    skipped: etcd binary not found');
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const ratios: Record<string, Figures> = {};
  for (const [name, f] of Object.entries(results)) {
    const m = results.memory;
    if (name === 'memory' || !m) continue;
    const r = (a: number, b: number) => Number((a / b).toFixed(3));
    ratios[name] = {
      createsPerSec: r(f.createsPerSec, m.createsPerSec),
      getsPerSec: r(f.getsPerSec, m.getsPerSec),
      list100PerSec: r(f.list100PerSec, m.list100PerSec),
    };
  }
  console.log(
    JSON.stringify({
      bench: 'storage',
      seconds: SECONDS,
      concurrency: CONCURRENCY,
      loadAverage: loadavg().map((l) => Number(l.toFixed(1))),
      results,
      ratiosVsMemory: ratios,
    }),
  );
}

await main();
