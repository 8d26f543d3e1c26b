import test from 'ava';
import { MemoryStore } from '../../services/apiserver/storage/memory.js';
import { StoreError, type StoreEvent } from '../../services/apiserver/storage/types.js';

test('revisions increase on every write and compare-and-swap refuses a stale revision', async (t) => {
  const store = new MemoryStore();
  const r1 = await store.create('/a/1', '{"n":1}');
  const r2 = await store.update('/a/1', '{"n":2}', r1);
  t.true(r2 > r1);
  const err = await t.throwsAsync(store.update('/a/1', '{"n":3}', r1), { instanceOf: StoreError });
  t.is(err?.code, 'Conflict');
  t.is((await store.get('/a/1'))?.value, '{"n":2}');
});

test('list pages through a prefix in key order', async (t) => {
  const store = new MemoryStore();
  for (const k of ['c', 'a', 'b', 'd']) await store.create(`/p/${k}`, k);
  await store.create('/q/x', 'x');
  const first = await store.list('/p/', { limit: 3 });
  t.deepEqual(
    first.items.map((i) => i.value),
    ['a', 'b', 'c'],
  );
  t.true(first.more);
  t.is(first.remaining, 1);
  const second = await store.list('/p/', { startAfter: first.items.at(-1)!.key });
  t.deepEqual(
    second.items.map((i) => i.value),
    ['d'],
  );
  t.false(second.more);
});

test('watch replays history after a revision and refuses a compacted one', async (t) => {
  const store = new MemoryStore({ historySize: 3 });
  const r1 = await store.create('/w/a', '1');
  await store.create('/w/b', '2');
  const seen: StoreEvent[] = [];
  const stop = await store.watch('/w/', { sinceRevision: r1, onEvent: (e) => seen.push(e), onError: () => {} });
  await store.delete('/w/a');
  stop();
  t.deepEqual(
    seen.map((e) => `${e.type} ${e.key}`),
    ['ADDED /w/b', 'DELETED /w/a'],
  );
  for (let i = 0; i < 5; i++) await store.create(`/w/x${i}`, '');
  const err = await t.throwsAsync(store.watch('/w/', { sinceRevision: r1, onEvent: () => {}, onError: () => {} }), {
    instanceOf: StoreError,
  });
  t.is(err?.code, 'Compacted');
});

test('the history keeps exactly the last historySize events across many writes', async (t) => {
  const store = new MemoryStore({ historySize: 100 });
  let last = 0;
  for (let i = 0; i < 1_000; i++) last = await store.create(`/h/${String(i).padStart(4, '0')}`, String(i));
  const seen: StoreEvent[] = [];
  const stop = await store.watch('/h/', { sinceRevision: last - 100, onEvent: (e) => seen.push(e), onError: () => {} });
  stop();
  t.is(seen.length, 100);
  t.is(seen[0]!.revision, last - 99);
  t.is(seen.at(-1)!.revision, last);
  const err = await t.throwsAsync(
    store.watch('/h/', { sinceRevision: last - 101, onEvent: () => {}, onError: () => {} }),
    { instanceOf: StoreError },
  );
  t.is(err?.code, 'Compacted');
  const page = await store.list('/h/', { limit: 10, startAfter: '/h/0989' });
  t.deepEqual(
    page.items.map((i) => i.value),
    ['990', '991', '992', '993', '994', '995', '996', '997', '998', '999'],
  );
  t.false(page.more);
});
