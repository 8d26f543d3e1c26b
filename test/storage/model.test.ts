import { join } from 'node:path';
import test from 'ava';
import fc from 'fast-check';
import { MemoryStore } from '../../services/apiserver/storage/memory.js';
import { SqliteStore } from '../../services/apiserver/storage/sqlite.js';
import { StoreError, type Store, type StoreEvent } from '../../services/apiserver/storage/types.js';
import { EtcdStore } from '../../services/apiserver/storage/etcd.js';
import { startEtcd } from './etcd-harness.js';
import { etcdTest } from './etcd-test.js';
import { tempDir } from './temp.js';

/** Random operations on a handful of keys; revisions in CAS are picked relative to the current one. */
const key = fc.constantFrom('/m/a', '/m/b', '/m/c', '/n/a');
const op = fc.oneof(
  fc.record({ kind: fc.constant('create' as const), key, value: fc.string({ maxLength: 8 }) }),
  fc.record({
    kind: fc.constant('update' as const),
    key,
    value: fc.string({ maxLength: 8 }),
    cas: fc.option(fc.integer({ min: -2, max: 0 })),
  }),
  fc.record({ kind: fc.constant('delete' as const), key, cas: fc.option(fc.integer({ min: -2, max: 0 })) }),
  fc.record({
    kind: fc.constant('list' as const),
    prefix: fc.constantFrom('/m/', '/n/', '/'),
    limit: fc.integer({ min: 0, max: 3 }),
  }),
);
type Op = typeof op extends fc.Arbitrary<infer T> ? T : never;

async function run(store: Store, o: Op): Promise<unknown> {
  const outcome = async (): Promise<unknown> => {
    const current = 'key' in o ? await store.get(o.key) : undefined;
    const expected = 'cas' in o && o.cas !== null && current ? current.modRevision + o.cas : undefined;
    switch (o.kind) {
      case 'create':
        return await store.create(o.key, o.value);
      case 'update':
        return await store.update(o.key, o.value, expected);
      case 'delete':
        return await store.delete(o.key, expected);
      case 'list':
        return await store.list(o.prefix, { limit: o.limit });
    }
  };
  try {
    return await outcome();
  } catch (err) {
    if (err instanceof StoreError) return { error: err.code, current: err.current };
    throw err;
  }
}

/** A write issued without awaiting anything first (so concurrent calls queue in call order). */
function write(store: Store, o: Op): Promise<unknown> {
  const call =
    o.kind === 'create'
      ? store.create(o.key, o.value)
      : o.kind === 'update'
        ? store.update(o.key, o.value)
        : o.kind === 'delete'
          ? store.delete(o.key)
          : Promise.resolve();
  return call.catch((err: unknown) => {
    if (err instanceof StoreError) return { error: err.code, current: err.current };
    throw err;
  });
}

test('SQLite behaves exactly like the memory store on random operation sequences', async (t) => {
  const dir = tempDir(t);
  let n = 0;
  await fc.assert(
    fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 25 }), async (ops) => {
      const memory = new MemoryStore();
      const sqlite = new SqliteStore(join(dir, `model-${n++}.db`));
      const seen: [StoreEvent[], StoreEvent[]] = [[], []];
      await memory.watch('/', { sinceRevision: 0, onEvent: (e) => seen[0].push(e), onError: () => {} });
      await sqlite.watch('/', { sinceRevision: 0, onEvent: (e) => seen[1].push(e), onError: () => {} });
      try {
        for (const o of ops) t.deepEqual(await run(sqlite, o), await run(memory, o), JSON.stringify(o));
        t.is(await sqlite.revision(), await memory.revision());
        t.deepEqual(seen[1], seen[0]);
        // Writes issued together (one SQLite transaction) apply in call order, as sequential ones do.
        const writes = ops.filter((o) => o.kind !== 'list').map((o) => ({ ...o, cas: null }));
        const together = await Promise.all(writes.map((o) => write(sqlite, o)));
        const oneByOne: unknown[] = [];
        for (const o of writes) oneByOne.push(await write(memory, o));
        t.deepEqual(together, oneByOne);
        t.deepEqual(await sqlite.list('/'), await memory.list('/'));
      } finally {
        await sqlite.close();
        await memory.close();
      }
    }),
    { numRuns: 60 },
  );
});

/** Shifts every revision in a result by `-offset` (etcd revisions start wherever the etcd is). */
function shift(value: unknown, offset: number, revisionField = false): unknown {
  if (typeof value === 'number') return revisionField ? value - offset : value;
  if (Array.isArray(value)) return value.map((v) => shift(v, offset, revisionField));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, shift(v, offset, /revision$/i.test(k))]));
  }
  return value;
}

etcdTest('etcd behaves like the memory store on random operation sequences (revisions shifted)', async (t) => {
  const etcd = await startEtcd();
  t.teardown(() => etcd.stop());
  let n = 0;
  await fc.assert(
    fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 20 }), async (ops) => {
      const memory = new MemoryStore();
      const store = new EtcdStore(etcd.endpoints, { keyPrefix: `/model-${n++}`, compactionIntervalMs: 0 });
      try {
        const offset = await store.revision();
        for (const o of ops) {
          const got = await run(store, o);
          const want = await run(memory, o);
          t.deepEqual(shift({ revision: got }, offset), { revision: want }, JSON.stringify(o));
        }
      } finally {
        await store.close();
        await memory.close();
      }
    }),
    { numRuns: 30 },
  );
});
