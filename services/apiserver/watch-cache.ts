import { createLogger } from '../core/log.js';
import type { KubeObject } from '../core/kube.js';
import { StoreError, type Store, type StoreEvent } from './storage/types.js';

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface CachedEvent {
  type: WatchEventType;
  key: string;
  revision: number;
  object: KubeObject;
  /** The object before the change (MODIFIED, DELETED), for selector transitions. */
  prev?: KubeObject;
}

export interface Subscription {
  prefix: string;
  onEvent(e: CachedEvent): void;
}

const log = createLogger('watch-cache');

/**
 * One store watch per API server, fanned out in memory to every client watch. Keeps the
 * last `size` events so clients can resume from a recent resourceVersion; older → 410.
 */
export class WatchCache {
  private readonly events: CachedEvent[] = [];
  private readonly subs = new Set<Subscription>();
  private stop: (() => void) | undefined;
  /** Revision the cache has seen everything up to. */
  private seen = 0;
  /** Oldest revision a watch may start from. */
  private oldest = 0;
  private readonly waiters: Array<{ rev: number; resolve: () => void }> = [];
  private failed: StoreError | undefined;

  constructor(
    private readonly store: Store,
    private readonly decode: (value: string, revision: number) => KubeObject,
    private readonly size = 20_000,
  ) {}

  private closed = false;

  async start(): Promise<void> {
    const rev = await this.store.revision();
    this.seen = rev;
    this.oldest = rev;
    await this.watchStore(rev);
  }

  private async watchStore(since: number): Promise<void> {
    this.stop = await this.store.watch('/registry/', {
      sinceRevision: since,
      onEvent: (e) => this.push(e),
      onError: (err) => this.recover(err),
    });
  }

  /**
   * The store watch ended (e.g. etcd compacted past it): client watches get an ERROR (410) and
   * re-list, new ones are refused until the cache watches the store again, which it retries
   * with backoff, from where it stopped if the store still has that history, else from now.
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
              const rev = await this.store.revision();
              this.events.length = 0;
              this.seen = rev;
              this.oldest = rev;
              await this.watchStore(rev);
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
  }

  get revision(): number {
    return this.seen;
  }

  /** Resolves once the cache has seen `rev` (bounded by `timeoutMs`). */
  async waitFor(rev: number, timeoutMs = 3000): Promise<void> {
    if (this.seen >= rev) return;
    await new Promise<void>((resolve) => {
      const w = { rev, resolve };
      this.waiters.push(w);
      setTimeout(resolve, timeoutMs).unref();
    });
  }

  private push(e: StoreEvent): void {
    const object = this.decode(e.value, e.revision);
    const ev: CachedEvent = { type: e.type, key: e.key, revision: e.revision, object };
    if (e.prevValue !== undefined && e.type !== 'ADDED') ev.prev = this.decode(e.prevValue, e.revision);
    if (e.type === 'DELETED')
      ev.object = { ...object, metadata: { ...object.metadata, resourceVersion: String(e.revision) } };
    this.events.push(ev);
    if (this.events.length > this.size) {
      const dropped = this.events.splice(0, this.events.length - this.size);
      this.oldest = dropped[dropped.length - 1]!.revision;
    }
    this.seen = e.revision;
    for (const s of this.subs) if (e.key.startsWith(s.prefix)) s.onEvent(ev);
    if (this.waiters.length > 0) {
      for (let i = this.waiters.length - 1; i >= 0; i--) {
        if (this.waiters[i]!.rev <= this.seen) this.waiters.splice(i, 1)[0]!.resolve();
      }
    }
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
    for (const e of this.events) if (e.revision > sinceRevision && e.key.startsWith(prefix)) onEvent(e);
    const sub: Subscription = { prefix, onEvent };
    this.subs.add(sub);
    return () => {
      this.subs.delete(sub);
    };
  }

  /** Forgets events up to `revision`: watches from older revisions get 410 (as after an etcd compaction). */
  compact(revision: number): void {
    while (this.events.length > 0 && this.events[0]!.revision <= revision) this.events.shift();
    this.oldest = Math.max(this.oldest, Math.min(revision, this.seen));
  }

  get watcherCount(): number {
    return this.subs.size;
  }
}
