/**
 * Store factories for suites that run against every backend (the API conformance tests):
 *
 *   for (const backend of storeBackends()) {
 *     test(`${backend.name}: creates a ConfigMap`, async (t) => {
 *       const store = await backend.open(t);   // closed and cleaned up at teardown
 *       ...
 *     });
 *   }
 *
 * SQLite stores live in temp files; etcd stores share one etcd per test process (started on
 * first use, killed when the process exits), each under its own key prefix. Compaction is
 * etcd-wide: tests that compact should run serially. Without etcd (outside CI), the etcd
 * backend is left out with a warning; under CI the harness fails instead.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EtcdStore } from '../../services/apiserver/storage/etcd.js';
import { MemoryStore } from '../../services/apiserver/storage/memory.js';
import { SqliteStore } from '../../services/apiserver/storage/sqlite.js';
import type { Store } from '../../services/apiserver/storage/types.js';
import { etcdBinary, startEtcd, type EtcdHandle } from './etcd-harness.js';

export interface StoreBackend {
  readonly name: 'memory' | 'sqlite' | 'etcd';
  /** A fresh store (empty under its keys), closed when the test ends. */
  open(t: { teardown(fn: () => unknown): void }): Promise<Store>;
  /** For URL-driven code (`openStore`, `kitfed apiserver --storage`): a URL for a fresh store. */
  url(t: { teardown(fn: () => unknown): void }): Promise<string>;
}

let sharedEtcd: Promise<EtcdHandle> | undefined;
let tempRoot: string | undefined;
let counter = 0;

function etcd(): Promise<EtcdHandle> {
  sharedEtcd ??= startEtcd().then((handle) => {
    handle.unref();
    return handle;
  });
  return sharedEtcd;
}

function tempFile(): string {
  if (!tempRoot) {
    const root = mkdtempSync(join(tmpdir(), 'kitfed-backends-'));
    tempRoot = root;
    process.on('exit', () => rmSync(root, { recursive: true, force: true }));
  }
  return join(tempRoot, `store-${process.pid}-${counter++}.db`);
}

const all: StoreBackend[] = [
  {
    name: 'memory',
    async open(t) {
      const store = new MemoryStore();
      t.teardown(() => store.close());
      return store;
    },
    async url() {
      return 'memory://';
    },
  },
  {
    name: 'sqlite',
    async open(t) {
      const store = new SqliteStore(tempFile());
      t.teardown(() => store.close());
      return store;
    },
    async url() {
      return `sqlite://${tempFile()}`;
    },
  },
  {
    name: 'etcd',
    async open(t) {
      const store = new EtcdStore((await etcd()).endpoints, {
        keyPrefix: `/t${process.pid}-${counter++}`,
        compactionIntervalMs: 0,
      });
      t.teardown(() => store.close());
      return store;
    },
    async url() {
      return `etcd://${(await etcd()).endpoints.join(',')}/t${process.pid}-${counter++}`;
    },
  },
];

/** Every backend available here (etcd only when installed; always under CI). */
export function storeBackends(): StoreBackend[] {
  return all.filter((b) => b.name !== 'etcd' || etcdBinary);
}
