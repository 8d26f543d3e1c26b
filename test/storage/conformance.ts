/**
 * One conformance suite for every Store backend. A backend's test file calls
 * `storeConformance('sqlite', factory)`; the factory returns a fresh, empty-looking store
 * (for etcd: a new key prefix on a shared etcd, so revisions are shared but keys are not).
 * Tests assert only ordering of revisions, never absolute values.
 */
import avaTest from 'ava';
import { StoreError, type Store, type StoreEvent } from '../../services/apiserver/storage/types.js';

export type StoreFactory = () => Promise<Store>;

/** Collects watch events and waits (bounded) for a count of them. */
export class EventLog {
  readonly events: StoreEvent[] = [];
  readonly errors: StoreError[] = [];
  private waiters: { n: number; resolve(): void }[] = [];

  readonly handlers = {
    onEvent: (e: StoreEvent) => {
      this.events.push(e);
      this.wake();
    },
    onError: (err: StoreError) => {
      this.errors.push(err);
      this.wake();
    },
  };

  /** Resolves once `n` events (or an error) arrived; rejects after `timeoutMs`. */
  async waitFor(n: number, timeoutMs = 5000): Promise<StoreEvent[]> {
    if (this.events.length < n && this.errors.length === 0) {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`timed out waiting for ${n} events (got ${this.events.length})`)),
          timeoutMs,
        );
        this.waiters.push({ n, resolve: () => (clearTimeout(timer), resolve()) });
      });
    }
    if (this.errors.length > 0) throw this.errors[0]!;
    return this.events.slice(0, n);
  }

  private wake(): void {
    this.waiters = this.waiters.filter((w) => {
      if (this.events.length >= w.n || this.errors.length > 0) {
        w.resolve();
        return false;
      }
      return true;
    });
  }
}

function codeOf(err: unknown): string | undefined {
  return err instanceof StoreError ? err.code : undefined;
}

export interface ConformanceOptions {
  /** Run the tests one at a time (etcd: compaction is global to the etcd, so tests sharing one must not overlap). */
  serial?: boolean;
}

export function storeConformance(name: string, factory: StoreFactory, options: ConformanceOptions = {}): void {
  const test = options.serial ? avaTest.serial : avaTest;
  const open = async (t: { teardown(fn: () => Promise<void>): void }): Promise<Store> => {
    const store = await factory();
    t.teardown(() => store.close());
    return store;
  };

  test(`${name}: create, get, revisions strictly increase`, async (t) => {
    const store = await open(t);
    t.is(await store.get('/c/a'), undefined);
    const before = await store.revision();
    const r1 = await store.create('/c/a', '{"n":1}');
    const r2 = await store.create('/c/b', '{"n":2}');
    t.true(r1 > before && r2 > r1);
    t.deepEqual(await store.get('/c/a'), { key: '/c/a', value: '{"n":1}', modRevision: r1, createRevision: r1 });
    t.true((await store.revision()) >= r2);
    const err = await t.throwsAsync(store.create('/c/a', 'again'), { instanceOf: StoreError });
    t.is(err?.code, 'KeyExists');
    t.is((await store.get('/c/a'))?.value, '{"n":1}');
  });

  test(`${name}: update with and without compare-and-swap`, async (t) => {
    const store = await open(t);
    const r1 = await store.create('/u/a', 'v1');
    const r2 = await store.update('/u/a', 'v2', r1);
    t.true(r2 > r1);
    t.deepEqual(await store.get('/u/a'), { key: '/u/a', value: 'v2', modRevision: r2, createRevision: r1 });
    const conflict = await t.throwsAsync(store.update('/u/a', 'v3', r1), { instanceOf: StoreError });
    t.is(conflict?.code, 'Conflict');
    t.is(conflict?.current?.modRevision, r2);
    t.is(conflict?.current?.value, 'v2');
    const r3 = await store.update('/u/a', 'v4');
    t.true(r3 > r2);
    t.is((await store.get('/u/a'))?.value, 'v4');
    t.is(codeOf(await store.update('/u/missing', 'x').catch((e) => e)), 'NotFound');
    t.is(codeOf(await store.update('/u/missing', 'x', 5).catch((e) => e)), 'NotFound');
  });

  test(`${name}: concurrent compare-and-swap lets exactly one writer win`, async (t) => {
    const store = await open(t);
    const r1 = await store.create('/race/a', '0');
    const results = await Promise.allSettled([1, 2, 3, 4, 5].map((i) => store.update('/race/a', String(i), r1)));
    t.is(results.filter((r) => r.status === 'fulfilled').length, 1);
    for (const r of results) if (r.status === 'rejected') t.is(codeOf(r.reason), 'Conflict');
  });

  test(`${name}: concurrent creates get distinct revisions`, async (t) => {
    const store = await open(t);
    const revs = await Promise.all(
      Array.from({ length: 50 }, (_, i) => store.create(`/many/${String(i).padStart(2, '0')}`, String(i))),
    );
    t.is(new Set(revs).size, 50);
    const list = await store.list('/many/');
    t.is(list.items.length, 50);
    t.true(list.revision >= Math.max(...revs));
    const dup = await Promise.allSettled([store.create('/many/x', 'a'), store.create('/many/x', 'b')]);
    t.is(dup.filter((r) => r.status === 'fulfilled').length, 1);
  });

  test(`${name}: delete returns the previous entry and honours compare-and-swap`, async (t) => {
    const store = await open(t);
    const r1 = await store.create('/d/a', 'v1');
    const r2 = await store.update('/d/a', 'v2');
    const stale = await t.throwsAsync(store.delete('/d/a', r1), { instanceOf: StoreError });
    t.is(stale?.code, 'Conflict');
    const { revision, prev } = await store.delete('/d/a', r2);
    t.true(revision > r2);
    t.deepEqual(prev, { key: '/d/a', value: 'v2', modRevision: r2, createRevision: r1 });
    t.is(await store.get('/d/a'), undefined);
    t.is(codeOf(await store.delete('/d/a').catch((e) => e)), 'NotFound');
    const r3 = await store.create('/d/a', 'again');
    t.is((await store.get('/d/a'))?.createRevision, r3);
  });

  test(`${name}: list pages through a prefix in key order`, async (t) => {
    const store = await open(t);
    for (const k of ['c', 'a', 'e', 'b', 'd']) await store.create(`/p/${k}`, k);
    await store.create('/p2/x', 'outside');
    await store.create('/o/x', 'outside');
    await store.create('/p', 'outside');
    const first = await store.list('/p/', { limit: 2 });
    t.deepEqual(
      first.items.map((i) => i.value),
      ['a', 'b'],
    );
    t.true(first.more);
    t.is(first.remaining, 3);
    const second = await store.list('/p/', { limit: 2, startAfter: first.items.at(-1)!.key });
    t.deepEqual(
      second.items.map((i) => i.value),
      ['c', 'd'],
    );
    t.is(second.remaining, 1);
    const third = await store.list('/p/', { limit: 2, startAfter: second.items.at(-1)!.key });
    t.deepEqual(
      third.items.map((i) => i.value),
      ['e'],
    );
    t.false(third.more);
    const all = await store.list('/p/');
    t.deepEqual(
      all.items.map((i) => i.key),
      ['/p/a', '/p/b', '/p/c', '/p/d', '/p/e'],
    );
    t.false(all.more);
    t.true(all.revision >= Math.max(...all.items.map((i) => i.modRevision)));
    const exact = await store.list('/p/', { limit: 5 });
    t.is(exact.items.length, 5);
    t.false(exact.more);
    t.deepEqual((await store.list('/none/')).items, []);
    const item = all.items[0]!;
    t.deepEqual(item, {
      key: '/p/a',
      value: 'a',
      modRevision: item.createRevision,
      createRevision: item.createRevision,
    });
  });

  test(`${name}: watch replays from a revision, then goes live, filtered by prefix`, async (t) => {
    const store = await open(t);
    const r1 = await store.create('/w/a', '1');
    await store.create('/w/b', '2');
    await store.create('/other/z', 'no');
    const log = new EventLog();
    const stop = await store.watch('/w/', { sinceRevision: r1, ...log.handlers });
    t.teardown(stop);
    await store.update('/w/b', '3');
    await store.delete('/w/a');
    await store.create('/other/y', 'no');
    const r5 = await store.create('/w/c', '4');
    const events = await log.waitFor(4);
    t.deepEqual(
      events.map((e) => [e.type, e.key, e.value, e.prevValue]),
      [
        ['ADDED', '/w/b', '2', undefined],
        ['MODIFIED', '/w/b', '3', '2'],
        ['DELETED', '/w/a', '1', '1'],
        ['ADDED', '/w/c', '4', undefined],
      ],
    );
    t.is(events[3]!.revision, r5);
    for (let i = 1; i < events.length; i++) t.true(events[i]!.revision > events[i - 1]!.revision);
  });

  test(`${name}: a watch withoutPrevious delivers the same changes, previous values optional`, async (t) => {
    const store = await open(t);
    const r1 = await store.create('/p/a', '1');
    const log = new EventLog();
    const stop = await store.watch('/p/', { sinceRevision: r1, withoutPrevious: true, ...log.handlers });
    t.teardown(stop);
    await store.update('/p/a', '2');
    await store.create('/p/b', '3');
    await store.delete('/p/a');
    const events = await log.waitFor(3);
    t.deepEqual(
      events.map((e) => [e.type, e.key]),
      [
        ['MODIFIED', '/p/a'],
        ['ADDED', '/p/b'],
        ['DELETED', '/p/a'],
      ],
    );
    t.is(events[0]!.value, '2');
    t.is(events[1]!.value, '3');
    // A store may still send what it has at hand; what it sends is right.
    t.true(events[0]!.prevValue === undefined || events[0]!.prevValue === '1');
    t.true(events[2]!.value === '' || events[2]!.value === '2');
    for (let i = 1; i < events.length; i++) t.true(events[i]!.revision > events[i - 1]!.revision);
  });

  test(`${name}: a stopped watch receives nothing more; a watch from now sees only new writes`, async (t) => {
    const store = await open(t);
    await store.create('/s/a', '1');
    const stopped = new EventLog();
    const stop = await store.watch('/s/', { sinceRevision: await store.revision(), ...stopped.handlers });
    const live = new EventLog();
    t.teardown(await store.watch('/s/', { sinceRevision: await store.revision(), ...live.handlers }));
    await store.create('/s/b', '2');
    await stopped.waitFor(1);
    stop();
    await store.create('/s/c', '3');
    await live.waitFor(2);
    t.deepEqual(
      live.events.map((e) => e.key),
      ['/s/b', '/s/c'],
    );
    t.deepEqual(
      stopped.events.map((e) => e.key),
      ['/s/b'],
    );
  });

  test(`${name}: compaction refuses watches from before it and keeps newer history`, async (t) => {
    const store = await open(t);
    const r1 = await store.create('/k/a', '1');
    const r2 = await store.update('/k/a', '2');
    const r3 = await store.update('/k/a', '3');
    await store.create('/k/b', '4');
    await store.compact(r2);
    t.true((await store.compactedRevision()) >= r2 - 1);
    const err = await t.throwsAsync(
      store.watch('/k/', { sinceRevision: r1 - 1, onEvent: () => {}, onError: () => {} }),
      { instanceOf: StoreError },
    );
    t.is(err?.code, 'Compacted');
    const log = new EventLog();
    t.teardown(await store.watch('/k/', { sinceRevision: r2, ...log.handlers }));
    const events = await log.waitFor(2);
    t.deepEqual(
      events.map((e) => [e.type, e.value]),
      [
        ['MODIFIED', '3'],
        ['ADDED', '4'],
      ],
    );
    t.is(events[0]!.revision, r3);
    t.is((await store.get('/k/a'))?.value, '3');
  });
}
