import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import test from 'ava';
import { SqliteStore } from '../../services/apiserver/storage/sqlite.js';
import { StoreError } from '../../services/apiserver/storage/types.js';
import { EventLog } from './conformance.js';
import { tempDir } from './temp.js';

test('acknowledged writes, revisions and history survive close and reopen', async (t) => {
  const path = join(tempDir(t), 'data', 'kitfed.db');
  const first = new SqliteStore(path);
  const r1 = await first.create('/r/a', 'a1');
  const r2 = await first.update('/r/a', 'a2', r1);
  const r3 = await first.create('/r/b', 'b1');
  await first.delete('/r/b');
  const rev = await first.revision();
  await first.close();

  const second = new SqliteStore(path);
  t.teardown(() => second.close());
  t.is(await second.revision(), rev);
  t.deepEqual(await second.get('/r/a'), { key: '/r/a', value: 'a2', modRevision: r2, createRevision: r1 });
  t.is(await second.get('/r/b'), undefined);
  const next = await second.create('/r/c', 'c1');
  t.true(next > rev, 'revisions keep increasing after a restart');
  const log = new EventLog();
  t.teardown(await second.watch('/r/', { sinceRevision: r2, ...log.handlers }));
  const events = await log.waitFor(3);
  t.deepEqual(
    events.map((e) => `${e.type} ${e.key}@${e.revision}`),
    [`ADDED /r/b@${r3}`, `DELETED /r/b@${rev}`, `ADDED /r/c@${next}`],
  );
});

test('writes issued together share transactions and are all durable once acknowledged', async (t) => {
  const path = join(tempDir(t), 'group.db');
  const store = new SqliteStore(path, { maxBatch: 64 });
  const revs = await Promise.all(Array.from({ length: 1000 }, (_, i) => store.create(`/g/${i}`, `v${i}`)));
  t.is(new Set(revs).size, 1000);
  await store.close();
  const reopened = new SqliteStore(path);
  t.teardown(() => reopened.close());
  t.is((await reopened.list('/g/')).items.length, 1000);
  t.is(await reopened.revision(), Math.max(...revs));
});

test('a refused write in a batch does not affect the others', async (t) => {
  const store = new SqliteStore(join(tempDir(t), 'mixed.db'));
  t.teardown(() => store.close());
  await store.create('/m/a', 'x');
  const results = await Promise.allSettled([
    store.create('/m/b', '1'),
    store.create('/m/a', 'dup'),
    store.update('/m/zz', 'no'),
    store.create('/m/c', '2'),
  ]);
  t.deepEqual(
    results.map((r) => (r.status === 'fulfilled' ? 'ok' : (r.reason as StoreError).code)),
    ['ok', 'KeyExists', 'NotFound', 'ok'],
  );
  t.deepEqual(
    (await store.list('/m/')).items.map((i) => i.value),
    ['x', '1', '2'],
  );
});

test('history is bounded: old revisions become Compacted, recent ones resume', async (t) => {
  const path = join(tempDir(t), 'history.db');
  const store = new SqliteStore(path, { historySize: 50 });
  const first = await store.create('/h/0', '0');
  for (let i = 1; i < 300; i++) await store.create(`/h/${i}`, String(i));
  const compacted = await store.compactedRevision();
  t.true(compacted > first);
  t.true((await store.revision()) - compacted <= 50 + 100);
  const err = await t.throwsAsync(store.watch('/h/', { sinceRevision: first, onEvent: () => {}, onError: () => {} }), {
    instanceOf: StoreError,
  });
  t.is(err?.code, 'Compacted');
  const log = new EventLog();
  const stop = await store.watch('/h/', { sinceRevision: (await store.revision()) - 10, ...log.handlers });
  stop();
  t.is(log.events.length, 10);
  await store.close();
  const reopened = new SqliteStore(path, { historySize: 50 });
  t.teardown(() => reopened.close());
  t.is(await reopened.compactedRevision(), compacted, 'compaction point survives a restart');
});

test('a closed store refuses operations with Unavailable', async (t) => {
  const store = new SqliteStore(join(tempDir(t), 'closed.db'));
  await store.close();
  const err = await t.throwsAsync(store.create('/x', 'y'), { instanceOf: StoreError });
  t.is(err?.code, 'Unavailable');
  t.is(((await store.get('/x').catch((e) => e)) as StoreError).code, 'Unavailable');
});

test('online backup copies a consistent database that opens as a store', async (t) => {
  const dir = tempDir(t);
  const store = new SqliteStore(join(dir, 'live.db'));
  t.teardown(() => store.close());
  await store.create('/b/a', '1');
  const rev = await store.create('/b/b', '2');
  await store.backup(join(dir, 'copy.db'));
  const copy = new SqliteStore(join(dir, 'copy.db'));
  t.teardown(() => copy.close());
  t.is(await copy.revision(), rev);
  t.deepEqual(
    (await copy.list('/b/')).items.map((i) => i.value),
    ['1', '2'],
  );
});

test('a second opener of the same file is refused while the first holds it', async (t) => {
  const path = join(tempDir(t), 'owned.db');
  const first = new SqliteStore(path);
  await first.create('/a', '1');
  const err = t.throws(() => new SqliteStore(path), { instanceOf: StoreError });
  t.is(err?.code, 'Unavailable');
  t.regex(err.message, /in use by another process/);
  await first.close();
  const second = new SqliteStore(path);
  t.teardown(() => second.close());
  t.is((await second.get('/a'))?.value, '1');
});

test('a watch handler that throws harms neither the write nor other watchers', async (t) => {
  const store = new SqliteStore(join(tempDir(t), 'throwing.db'));
  t.teardown(() => store.close());
  t.teardown(
    await store.watch('/', {
      sinceRevision: 0,
      onEvent: () => {
        throw new Error('handler bug');
      },
      onError: () => {},
    }),
  );
  const log = new EventLog();
  t.teardown(await store.watch('/', { sinceRevision: 0, ...log.handlers }));
  const rev = await store.create('/x', '1');
  t.deepEqual(
    log.events.map((e) => e.revision),
    [rev],
  );
  t.is((await store.get('/x'))?.value, '1');
});

test('a throwing watch handler is logged without its message, which may quote Secret data', async (t) => {
  const fixture = join(import.meta.dirname, 'fixtures', 'throwing-watch.ts');
  const child = spawnSync(process.execPath, ['--import', 'tsx', fixture, join(tempDir(t), 'quiet.db')], {
    encoding: 'utf8',
    timeout: 30_000,
    env: { ...process.env, KITFED_LOG_LEVEL: 'info' },
  });
  t.is(child.status, 0, child.stderr);
  t.regex(child.stderr, /watch handler threw/);
  t.regex(child.stdout, /value survived: true/);
  t.false(child.stderr.includes('hunter2'));
});

test('close() commits writes still queued, and the revision survives a fully compacted history', async (t) => {
  const path = join(tempDir(t), 'queued.db');
  const store = new SqliteStore(path);
  const pending = [store.create('/q/a', '1'), store.create('/q/b', '2')];
  await store.close();
  const revs = await Promise.all(pending);
  const reopened = new SqliteStore(path);
  t.deepEqual(
    (await reopened.list('/q/')).items.map((i) => i.value),
    ['1', '2'],
  );
  await reopened.compact(Math.max(...revs));
  await reopened.close();
  const again = new SqliteStore(path);
  t.teardown(() => again.close());
  t.is(await again.revision(), Math.max(...revs));
  t.is(await again.compactedRevision(), Math.max(...revs));
  t.true((await again.create('/q/c', '3')) > Math.max(...revs));
});
