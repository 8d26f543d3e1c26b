import btree from 'sorted-btree';
import { createLogger } from '../core/log.js';
import type { KubeObject } from '../core/kube.js';
import { EventWindow } from './storage/event-window.js';
import { StoreError, type Store, type StoreEvent } from './storage/types.js';

// A CommonJS package: its `exports.default` is the class.
const BTree = btree.default;

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

/**
 * One object as the cache holds it: decoded once, shared by every reader, never mutated (readers
 * that change an object copy it first). `served` keeps its serialized forms (see serving.ts).
 */
export interface CachedObject {
  readonly key: string;
  readonly object: KubeObject;
  /** modRevision: the object's resourceVersion. */
  readonly revision: number;
  served?: Array<{ tag: object; group: string; version: string; json: string }>;
}

export interface CachedEvent {
  type: WatchEventType;
  key: string;
  revision: number;
  object: KubeObject;
  /** The object before the change (MODIFIED, DELETED), for selector transitions. */
  prev?: KubeObject;
  /** The object after the change (for DELETED: the last state, at the delete's revision). */
  entry: CachedObject;
  /** The cached object before the change (MODIFIED, DELETED), with its own revision: snapshots undo events with it. */
  prevEntry?: CachedObject;
}

export interface Subscription {
  prefix: string;
  onEvent(e: CachedEvent): void;
}

export interface CacheListOptions {
  /** Read as of this revision (a snapshot: events after it are undone); default the cache's current revision. */
  revision?: number;
  /** Only keys strictly greater than this one (pagination). */
  after?: string;
  /** At most this many items (0 or undefined: all). */
  limit?: number;
  /** Items that do not match are skipped (they still count as scanned for `more`). */
  filter?: (o: KubeObject) => boolean;
  /**
   * Without a filter, count the objects after a cut-short page (`remaining`, a LIST's
   * remainingItemCount): a walk to the end of the prefix. Default true; false stops at the page.
   */
  count?: boolean;
}

export interface CacheListResult {
  items: CachedObject[];
  /** The revision the list is consistent at. */
  revision: number;
  /** True when `limit` cut the scan short. */
  more: boolean;
  /** Without a filter, when `more`: how many objects follow. */
  remaining?: number;
  /** Last key scanned (the continue position) when `more`. */
  lastKey?: string;
}

const log = createLogger('watch-cache');
/** Everything in the store (the API server keeps its objects under `/registry/`). */
const PREFIX = '/';
/** Keys per page when the cache loads the store. */
const LOAD_PAGE = 1000;

/**
 * The API server's copy of the store, kept current by one store watch: every object (so kinds added at runtime, such
 * as custom resources, are cached without
 * registration), plus the last `size` events. It serves
 *
 * - GET and LIST, at the current revision or as a snapshot at a recent one (events after it are
 *   undone with the objects they replaced), so `continue` tokens page through one revision;
 * - consistent reads: `sync()` asks the store for its current revision (one request shared by
 *   every read that arrives while the previous one is in flight) and waits until the cache has
 *   seen it, so a read never misses a write acknowledged before the read started — on any API
 *   server sharing the store;
 * - watches, fanned out from the one store watch, resumable from any retained revision.
 */
export class WatchCache {
  /** The last `size` events. */
  private readonly events: EventWindow<CachedEvent>;
  private readonly subs = new Set<Subscription>();
  private readonly objects = new Map<string, CachedObject>();
  private readonly index = new KeyIndex();
  private stop: (() => void) | undefined;
  /** Revision the cache has seen everything up to. */
  private seen = 0;
  /** Oldest revision a watch may start from and a snapshot may be read at. */
  private oldest = 0;
  private readonly waiters = new Set<{ rev: number; resolve: (ok: boolean) => void }>();
  private failed: StoreError | undefined;
  private closed = false;
  private fetching: Promise<number> | undefined;
  private queued: Promise<number> | undefined;

  constructor(
    private readonly store: Store,
    private readonly decode: (value: string, revision: number) => KubeObject,
    size = 20_000,
  ) {
    this.events = new EventWindow(size);
  }

  async start(): Promise<void> {
    const rev = await this.load();
    await this.watchStore(rev);
  }

  /** Replaces the cached state with the store's, read page by page at one revision; returns it. */
  private async load(): Promise<number> {
    for (let attempt = 1; ; attempt++) {
      try {
        const loaded: CachedObject[] = [];
        let revision: number | undefined;
        let after: string | undefined;
        for (;;) {
          const page = await this.store.list(PREFIX, { limit: LOAD_PAGE, startAfter: after, revision });
          revision ??= page.revision;
          for (const kv of page.items)
            loaded.push({ key: kv.key, object: this.decode(kv.value, kv.modRevision), revision: kv.modRevision });
          if (!page.more || page.items.length === 0) break;
          after = page.items.at(-1)!.key;
        }
        this.objects.clear();
        this.index.clear();
        for (const o of loaded) {
          this.objects.set(o.key, o);
          this.index.set(o);
        }
        this.events.clear();
        this.seen = revision;
        this.oldest = revision;
        return revision;
      } catch (err) {
        // The store moved on while we paged and keeps no old versions (or compacted them): again.
        if (err instanceof StoreError && err.code === 'Compacted' && attempt < 5) continue;
        throw err;
      }
    }
  }

  private async watchStore(since: number): Promise<void> {
    this.stop = await this.store.watch(PREFIX, {
      sinceRevision: since,
      // The cache holds every key's last state: etcd need not read it again for each event.
      withoutPrevious: true,
      onEvent: (e) => this.push(e),
      onProgress: (rev) => this.advance(rev),
      onError: (err) => this.recover(err),
    });
  }

  /**
   * The store watch ended (e.g. etcd compacted past it): client watches get an ERROR (410) and
   * re-list, reads go to the store, new watches are refused until the cache watches the store
   * again, which it retries with backoff, from where it stopped if the store still has that
   * history, else after re-loading the state.
   */
  private recover(err: StoreError): void {
    if (this.closed || this.failed) return;
    this.failed = err;
    log.error({ err: err.message }, 'store watch failed; clients must re-list; re-watching');
    for (const s of [...this.subs])
      s.onEvent({
        type: 'DELETED',
        key: '\u0000error',
        revision: -1,
        object: { apiVersion: 'v1', kind: 'Status', metadata: {} },
        entry: { key: '\u0000error', object: { apiVersion: 'v1', kind: 'Status', metadata: {} }, revision: -1 },
      });
    const retry = (delay: number) => {
      setTimeout(() => {
        if (this.closed) return;
        void (async () => {
          try {
            try {
              await this.watchStore(this.seen);
            } catch (e) {
              if (!(e instanceof StoreError && e.code === 'Compacted')) throw e;
              await this.watchStore(await this.load());
            }
            this.failed = undefined;
            log.info({ revision: this.seen }, 'watching the store again');
          } catch (e) {
            log.warn({ err: (e as Error).message }, 're-watching the store failed; retrying');
            retry(Math.min(delay * 2, 5000));
          }
        })();
      }, delay).unref();
    };
    retry(200);
  }

  close(): void {
    this.closed = true;
    this.stop?.();
    this.subs.clear();
    for (const w of this.waiters) w.resolve(false);
    this.waiters.clear();
  }

  /** Revision the cache has seen everything up to. */
  get revision(): number {
    return this.seen;
  }

  /** Oldest revision still served (watch resumption, snapshots). */
  get oldestRevision(): number {
    return this.oldest;
  }

  /** False while the store watch is down: reads must go to the store. */
  get ready(): boolean {
    return !this.failed && !this.closed;
  }

  /** Resolves true once the cache has seen `rev`, false after `timeoutMs`. */
  waitFor(rev: number, timeoutMs = 3000): Promise<boolean> {
    if (this.seen >= rev) return Promise.resolve(true);
    if (this.closed) return Promise.resolve(false);
    return new Promise<boolean>((resolve) => {
      const w = {
        rev,
        resolve: (ok: boolean) => {
          clearTimeout(timer);
          this.waiters.delete(w);
          resolve(ok);
        },
      };
      const timer = setTimeout(() => w.resolve(false), timeoutMs);
      timer.unref();
      this.waiters.add(w);
    });
  }

  /**
   * Waits until the cache holds every write the store acknowledged before this call: resolves
   * true then, false when the cache did not catch up within `timeoutMs` (read the store). The
   * store's revision is read once for all callers that arrive while a read is in flight, by
   * the next read (one that started after them: an earlier one could miss their writes).
   */
  async sync(timeoutMs = 3000): Promise<boolean> {
    if (!this.ready) return false;
    const rev = await this.storeRevision();
    return this.waitFor(rev, timeoutMs);
  }

  private storeRevision(): Promise<number> {
    if (!this.fetching) return this.fetch();
    this.queued ??= this.fetching.then(
      () => this.fetch(),
      () => this.fetch(),
    );
    return this.queued;
  }

  private fetch(): Promise<number> {
    this.queued = undefined;
    const p = this.store.revision();
    this.fetching = p;
    const done = () => {
      if (this.fetching === p) this.fetching = undefined;
    };
    p.then(done, done);
    return p;
  }

  /** The object at `key` now (undefined: absent). */
  get(key: string): CachedObject | undefined {
    return this.objects.get(key);
  }

  /**
   * Objects under `prefix` in key order, now or as of a retained revision. Throws a Compacted
   * StoreError for a revision older than the retained events, and for one the cache has not
   * seen yet (wait for it first).
   */
  list(prefix: string, options: CacheListOptions = {}): CacheListResult {
    const revision = options.revision ?? this.seen;
    if (revision < this.oldest || revision > this.seen)
      throw new StoreError(
        'Compacted',
        `revision ${revision} is not in the watch cache (it holds ${this.oldest}..${this.seen})`,
      );
    const limit = options.limit && options.limit > 0 ? options.limit : Infinity;
    const filter = options.filter;
    const count = !filter && options.count !== false;
    const items: CachedObject[] = [];
    let last: CachedObject | undefined;
    let more = false;
    let remaining = 0;
    // Takes objects up to the limit, then only notes that more follow (and counts them when unfiltered).
    const visit = (o: CachedObject): boolean => {
      if (items.length < limit) {
        last = o;
        if (!filter || filter(o.object)) items.push(o);
        return true;
      }
      more = true;
      remaining++;
      return count;
    };
    if (revision === this.seen) this.index.each(prefix, options.after, visit);
    else for (const o of this.snapshot(prefix, options.after, revision)) if (!visit(o)) break;
    const result: CacheListResult = { items, revision, more };
    if (more) {
      result.lastKey = last!.key;
      if (count) result.remaining = remaining;
    }
    return result;
  }

  /** The objects under `prefix` after `after` as they were at a retained `revision`, in key order. */
  private snapshot(prefix: string, after: string | undefined, revision: number): CachedObject[] {
    // Undo, newest first, every event after `revision`: the oldest one's previous state stays.
    const overlay = new Map<string, CachedObject | null>();
    this.events.forEachAfterNewestFirst(revision, (e) => {
      if (e.key.startsWith(prefix) && (after === undefined || e.key > after)) overlay.set(e.key, e.prevEntry ?? null);
    });
    const keys: string[] = [];
    this.index.each(prefix, after, (o) => keys.push(o.key) > 0);
    const current = keys.length;
    for (const k of overlay.keys()) if (!this.objects.has(k)) keys.push(k);
    if (keys.length > current) keys.sort();
    const then: CachedObject[] = [];
    for (const k of keys) {
      const o = overlay.has(k) ? overlay.get(k) : this.objects.get(k);
      if (o) then.push(o);
    }
    return then;
  }

  /** Store progress without a change under the cache's prefix (etcd: another writer's revision). */
  private advance(rev: number): void {
    if (rev <= this.seen) return;
    this.seen = rev;
    this.wake();
  }

  private push(e: StoreEvent): void {
    const before = this.objects.get(e.key);
    let entry: CachedObject;
    if (e.type === 'DELETED') {
      if (!before && e.value === '') {
        // Never cached, so never served: nothing to remove or tell (the load and the watch
        // meet at one revision, so this is not expected to happen).
        log.warn({ key: e.key, revision: e.revision }, 'watch cache: deletion of a key it never held');
        return this.advance(e.revision);
      }
      const last = before?.object ?? this.decode(e.value, e.revision);
      entry = {
        key: e.key,
        object: { ...last, metadata: { ...last.metadata, resourceVersion: String(e.revision) } },
        revision: e.revision,
      };
      this.objects.delete(e.key);
      this.index.remove(e.key);
    } else {
      entry = { key: e.key, object: this.decode(e.value, e.revision), revision: e.revision };
      this.objects.set(e.key, entry);
      this.index.set(entry);
    }
    const ev: CachedEvent = { type: e.type, key: e.key, revision: e.revision, object: entry.object, entry };
    if (before) {
      ev.prevEntry = before;
      ev.prev = before.object;
    } else if (e.prevValue !== undefined && e.type !== 'ADDED') ev.prev = this.decode(e.prevValue, e.revision);
    const dropped = this.events.push(ev);
    if (dropped !== undefined) this.oldest = dropped;
    this.seen = e.revision;
    for (const s of this.subs) if (e.key.startsWith(s.prefix)) s.onEvent(ev);
    this.wake();
  }

  private wake(): void {
    if (this.waiters.size === 0) return;
    for (const w of [...this.waiters]) if (w.rev <= this.seen) w.resolve(true);
  }

  /**
   * Subscribes to changes under `prefix` after `sinceRevision`: replays retained events,
   * then live ones. Throws a Compacted StoreError when `sinceRevision` is too old.
   */
  subscribe(prefix: string, sinceRevision: number, onEvent: (e: CachedEvent) => void): () => void {
    if (this.failed) throw this.failed;
    if (sinceRevision < this.oldest) {
      throw new StoreError('Compacted', `too old resource version: ${sinceRevision} (${this.oldest})`);
    }
    this.events.forEachAfter(sinceRevision, (e) => {
      if (e.key.startsWith(prefix)) onEvent(e);
    });
    const sub: Subscription = { prefix, onEvent };
    this.subs.add(sub);
    return () => {
      this.subs.delete(sub);
    };
  }

  /** Forgets events up to `revision`: watches from older revisions get 410 (as after an etcd compaction). */
  compact(revision: number): void {
    this.events.dropThrough(revision);
    this.oldest = Math.max(this.oldest, Math.min(revision, this.seen));
  }

  get watcherCount(): number {
    return this.subs.size;
  }

  get objectCount(): number {
    return this.objects.size;
  }
}

/**
 * The cached objects in key order: one B+ tree keyed by store key. Adding or removing an object
 * costs O(log n) whatever the size of its namespace (a sorted array per namespace paid a copy of
 * half the namespace per create), and a list walks only the keys it hands out: a page of 500 from
 * a namespace of 100,000 visits 501 of them (the rest only to be counted, when asked).
 */
class KeyIndex {
  private readonly tree = new BTree<string, CachedObject>();

  clear(): void {
    this.tree.clear();
  }

  /** Adds or replaces the object at its key. */
  set(o: CachedObject): void {
    this.tree.set(o.key, o);
  }

  remove(key: string): void {
    this.tree.delete(key);
  }

  /**
   * Calls `visit` with every object whose key starts with `prefix` and is greater than `after`, in
   * key order, until it returns false. (A callback walk: a generator over the tree costs 4× more.)
   */
  each(prefix: string, after: string | undefined, visit: (o: CachedObject) => boolean): void {
    const low = after !== undefined && after > prefix ? after : prefix;
    const high = prefixEnd(prefix);
    const step = (key: string, o: CachedObject) => {
      if (key === after) return;
      if (!visit(o)) return STOP;
    };
    if (high === undefined) this.tree.forRange(low, this.tree.maxKey() ?? low, true, step);
    else this.tree.forRange(low, high, false, step);
  }
}

const STOP = { break: true };

/** The least string above every string that starts with `prefix` (none when it is all U+FFFF). */
function prefixEnd(prefix: string): string | undefined {
  for (let i = prefix.length - 1; i >= 0; i--) {
    const c = prefix.charCodeAt(i);
    if (c < 0xffff) return prefix.slice(0, i) + String.fromCharCode(c + 1);
  }
  return undefined;
}
