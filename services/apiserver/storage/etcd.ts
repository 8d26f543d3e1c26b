import { ExponentialBackoff, type IBackoff } from 'cockatiel';
import { createLogger } from '../../core/log.js';
import {
  CompareResult,
  CompareTarget,
  EtcdKv,
  type Compare,
  type KvPair,
  type RangeRequest,
  type TxnResponse,
  type WatchEvent,
  type WatchHandlers,
} from './etcd-kv.js';
import {
  StoreError,
  type KeyValue,
  type ListOptions,
  type ListResult,
  type Store,
  type StoreEvent,
  type WatchOptions,
} from './types.js';

export interface EtcdStoreOptions {
  /** Every key is stored under this prefix, so several kitfed instances can share an etcd. @default '/kitfed' */
  keyPrefix?: string;
  /** Deadline of one store operation, retries included; past it the call fails with `Unavailable`. @default 3000 */
  requestTimeoutMs?: number;
  /**
   * Every interval, compact etcd history older than the revision seen one interval earlier
   * (kube-apiserver does the same every 5 minutes). Several API servers doing it is harmless.
   * 0 disables it (e.g. when etcd runs with --auto-compaction-retention). @default 300000
   */
  compactionIntervalMs?: number;
  /**
   * Talk to etcd over TLS (https endpoints): PEM contents of the CA and, for client-cert auth, a certificate and key.
   */
  tls?: EtcdTls;
}

export interface EtcdTls {
  ca: string | Buffer;
  cert?: string | Buffer;
  key?: string | Buffer;
}

const log = createLogger('storage', { backend: 'etcd' });

/**
 * A store key no caller uses (store keys are paths; a NUL byte follows the root): every write
 * transaction also puts it, so its mod revision is the store's latest write (see revision()).
 * Hidden from get, list and watch; its watch events become `onProgress`.
 */
const REVISION_KEY = '/\u0000revision';

/**
 * The HA store: etcd v3 through its own lean gRPC client (etcd-kv.ts). Revisions are etcd's
 * revisions, writes are transactions comparing `create_revision`/`mod_revision` (CAS), watches are etcd's native
 * watches (so several API servers on one etcd see each other's writes), and every call carries
 * a deadline: no quorum or no connection means `StoreError('Unavailable')` within
 * `requestTimeoutMs`, never a hang. An established watch survives a lost connection or
 * member: it reconnects (to any endpoint, backing off from 100 ms up to 2 s) and resumes after
 * the last revision it delivered, with no gap and no duplicate; it ends with `onError` only
 * when etcd cancels it (`Compacted` when its position was compacted meanwhile).
 */
export class EtcdStore implements Store {
  readonly backend = 'etcd';
  /** The etcd client: Range, Txn, Compact and Watch over its own HTTP/2 framing (see etcd-kv.ts). */
  private readonly kv: EtcdKv;
  private readonly prefix: string;
  /** Deadline of one store operation (and of opening a watch). */
  readonly requestTimeoutMs: number;
  /** Smallest revision etcd still serves history for (etcd's compact revision), as far as we know. */
  private knownCompact = 1;
  private readonly stops = new Set<() => void>();
  private readonly compactionTimer: NodeJS.Timeout | undefined;
  private lastTickRevision = 0;
  /** etcd key of REVISION_KEY. */
  readonly revisionKey: Buffer;

  constructor(
    readonly endpoints: string[],
    options: EtcdStoreOptions = {},
  ) {
    if (endpoints.length === 0) throw new StoreError('Internal', 'etcd store needs at least one endpoint');
    this.prefix = options.keyPrefix ?? '/kitfed';
    this.requestTimeoutMs = options.requestTimeoutMs ?? 3000;
    this.revisionKey = this.k(REVISION_KEY);
    const tls = options.tls;
    const hosts = endpoints.map((e) => (/^https?:\/\//.test(e) ? e : `${tls ? 'https' : 'http'}://${e}`));
    this.kv = new EtcdKv(
      hosts,
      tls && {
        ca: Buffer.from(tls.ca),
        ...(tls.cert && tls.key ? { cert: Buffer.from(tls.cert), key: Buffer.from(tls.key) } : {}),
      },
    );
    const interval = options.compactionIntervalMs ?? 300_000;
    if (interval > 0) {
      this.compactionTimer = setInterval(() => {
        this.compactionTick().catch((err: unknown) =>
          log.warn({ err: err instanceof Error ? err.message : String(err) }, 'etcd periodic compaction failed'),
        );
      }, interval);
      this.compactionTimer.unref();
    }
  }

  async get(key: string): Promise<KeyValue | undefined> {
    const res = await this.call('get', (o) => this.kv.range({ key: this.k(key) }, o));
    const kv = res.kvs[0];
    return kv && this.toKeyValue(kv);
  }

  async list(prefix: string, options: ListOptions = {}): Promise<ListResult> {
    const start =
      options.startAfter !== undefined && options.startAfter >= prefix
        ? Buffer.concat([this.k(options.startAfter), Buffer.from([0])])
        : this.k(prefix);
    const end = rangeEnd(this.k(prefix));
    const req: RangeRequest = { key: start, range_end: end };
    // The revision key is hidden: a range that may hold it asks for one more.
    const mayHide =
      Buffer.compare(start, this.revisionKey) <= 0 &&
      (end.length === 1 && end[0] === 0 ? true : Buffer.compare(this.revisionKey, end) < 0);
    const limit = options.limit && options.limit > 0 ? options.limit : 0;
    if (limit) req.limit = limit + (mayHide ? 1 : 0);
    if (options.revision !== undefined) req.revision = options.revision;
    const res = await this.call('list', (o) => this.kv.range(req, o));
    let kvs = res.kvs;
    let hidden = 0;
    if (mayHide) {
      const n = kvs.length;
      kvs = kvs.filter((kv) => !kv.key.equals(this.revisionKey));
      hidden = n - kvs.length;
    }
    let more = res.more;
    if (limit && kvs.length > limit) {
      kvs = kvs.slice(0, limit);
      more = true;
    }
    const items = kvs.map((kv) => this.toKeyValue(kv));
    const result: ListResult = { items, revision: options.revision ?? res.header.revision, more };
    if (more) result.remaining = res.count - hidden - items.length;
    return result;
  }

  async create(key: string, value: string): Promise<number> {
    const k = this.k(key);
    const { res, retried } = await this.txn(
      'create',
      [{ key: k, target: CompareTarget.Create, result: CompareResult.Equal, create_revision: 0 }],
      k,
      { request_put: { key: k, value: Buffer.from(value) } },
      'repeatable',
    );
    if (!res.succeeded) {
      const current = this.current(res);
      // An earlier attempt that failed ambiguously (leader changed, timed out) had landed after all.
      if (retried && current?.value === value) return current.modRevision;
      throw new StoreError('KeyExists', `key ${key} already exists`, current);
    }
    return res.header.revision;
  }

  async update(key: string, value: string, expectedModRevision?: number): Promise<number> {
    const k = this.k(key);
    const { res, retried } = await this.txn(
      'update',
      this.exists(k, expectedModRevision),
      k,
      { request_put: { key: k, value: Buffer.from(value) } },
      'repeatable',
    );
    if (!res.succeeded) {
      const current = this.current(res);
      if (retried && current?.value === value) return current.modRevision;
      this.refused(key, res, expectedModRevision);
    }
    return res.header.revision;
  }

  async delete(key: string, expectedModRevision?: number): Promise<{ revision: number; prev: KeyValue }> {
    const k = this.k(key);
    // A delete cannot tell its own earlier attempt from another writer's: retried only when etcd surely did not apply
    // it.
    const { res } = await this.txn(
      'delete',
      this.exists(k, expectedModRevision),
      k,
      { request_delete_range: { key: k, prev_kv: true } },
      'once',
    );
    if (!res.succeeded) this.refused(key, res, expectedModRevision);
    const prev = res.responses[0]?.response_delete_range?.prev_kvs?.[0];
    if (!prev) throw new StoreError('Internal', `etcd delete of ${key} returned no previous value`);
    return { revision: res.header.revision, prev: this.toKeyValue(prev) };
  }

  /**
   * The revision of the latest write to this store's keys: the mod revision of its revision key,
   * which every write transaction also puts (read linearizably). etcd's own revision would not
   * do: writes of other stores sharing the etcd (other key prefixes) move it, and a cache
   * watching this store's keys would never see those revisions. Created on first use.
   */
  async revision(): Promise<number> {
    const res = await this.call('revision', (o) => this.kv.range({ key: this.revisionKey }, o));
    const kv = res.kvs[0];
    if (kv) return kv.mod_revision;
    const created = await this.call('revision', (o) =>
      this.kv.txn(
        {
          compare: [
            { key: this.revisionKey, target: CompareTarget.Create, result: CompareResult.Equal, create_revision: 0 },
          ],
          success: [{ request_put: { key: this.revisionKey, value: Buffer.alloc(0) } }],
          failure: [{ request_range: { key: this.revisionKey } }],
        },
        o,
      ),
    );
    const existing = created.responses[0]?.response_range?.kvs[0];
    return existing ? existing.mod_revision : created.header.revision;
  }

  /** etcd's current revision (all prefixes). */
  private async headRevision(): Promise<number> {
    const res = await this.call('revision', (o) => this.kv.range({ key: this.revisionKey, count_only: true }, o));
    return res.header.revision;
  }

  /** Binary search for the oldest revision etcd still serves; watches may start right before it. */
  async compactedRevision(): Promise<number> {
    let lo = this.knownCompact;
    if (await this.readable(lo)) return lo - 1;
    let hi = await this.headRevision();
    while (lo + 1 < hi) {
      const mid = Math.floor((lo + hi) / 2);
      if (await this.readable(mid)) hi = mid;
      else lo = mid;
    }
    this.knownCompact = hi;
    return hi - 1;
  }

  async watch(prefix: string, options: WatchOptions): Promise<() => void> {
    const from = options.sinceRevision + 1;
    if (!(await this.readable(from))) {
      throw new StoreError('Compacted', `revision ${options.sinceRevision} has been compacted`);
    }
    const key = this.k(prefix);
    const feed = new WatchFeed(
      this,
      options,
      from - 1,
      (start, handlers) =>
        this.kv.watch(
          { key, range_end: rangeEnd(key), start_revision: start, prev_kv: !options.withoutPrevious },
          handlers,
        ),
      () => this.stops.delete(feed.stop),
    );
    this.stops.add(feed.stop);
    try {
      await feed.open(this.requestTimeoutMs);
    } catch (err) {
      feed.stop();
      throw this.storeError('watch', err);
    }
    feed.start();
    return feed.stop;
  }

  async compact(revision: number): Promise<void> {
    const current = await this.headRevision();
    const target = Math.min(revision, current);
    // etcd keeps history from its compact revision on; ours keeps events after `revision`.
    const etcdRevision = target < current ? target + 1 : target;
    if (etcdRevision <= this.knownCompact) return;
    try {
      await this.call('compact', (o) => this.kv.compact({ revision: etcdRevision }, o));
    } catch (err) {
      if (!(err instanceof StoreError && err.code === 'Compacted')) throw err;
    }
    this.knownCompact = Math.max(this.knownCompact, etcdRevision);
  }

  /** One step of periodic compaction: drops history older than the revision the previous step saw. */
  async compactionTick(): Promise<void> {
    const current = await this.headRevision();
    if (this.lastTickRevision > 0) await this.compact(this.lastTickRevision);
    this.lastTickRevision = current;
  }

  async close(): Promise<void> {
    clearInterval(this.compactionTimer);
    for (const stop of [...this.stops]) stop();
    this.kv.close();
  }

  /** Strips the store prefix from an etcd key (every key this store reads is under it). */
  unprefix(key: Buffer): string {
    return key.toString('utf8').slice(this.prefix.length);
  }

  toKeyValue(kv: KvPair): KeyValue {
    return {
      key: this.unprefix(kv.key),
      value: kv.value.toString('utf8'),
      modRevision: kv.mod_revision,
      createRevision: kv.create_revision,
    };
  }

  /** True when etcd still serves reads at `revision` (false once compacted; true for future ones). */
  async readable(revision: number): Promise<boolean> {
    try {
      await this.call('probe', (o) => this.kv.range({ key: this.k(''), count_only: true, revision }, o));
      return true;
    } catch (err) {
      if (err instanceof StoreError && err.code === 'Compacted') return false;
      if (err instanceof StoreError && /future revision/.test(err.message)) return true;
      throw err;
    }
  }

  storeError(op: string, err: unknown): StoreError {
    if (err instanceof StoreError) return err;
    const message = err instanceof Error ? err.message : String(err);
    const name = err instanceof Error ? err.constructor.name : '';
    if (/required revision has been compacted/.test(message))
      return new StoreError('Compacted', `etcd ${op}: ${message}`, undefined, { cause: err });
    if (/future revision/.test(message))
      return new StoreError('Internal', `etcd ${op}: ${message}`, undefined, { cause: err });
    const unavailable =
      /Deadline|Unavailable|Cancelled|Timeout/.test(name) ||
      /timed out|no leader|leader changed|not capable|stopped|unhealthy|deadline|unavailable|closed|connect/i.test(
        message,
      );
    return new StoreError(unavailable ? 'Unavailable' : 'Internal', `etcd ${op} failed: ${message}`, undefined, {
      cause: err,
    });
  }

  /**
   * The etcd key of a store key. Under a key prefix, store keys must start with `/` (the API
   * server's all do) so that prefixes like `/kitfed` and `/kitfed-b` never see each other's keys.
   */
  private k(key: string): Buffer {
    if (this.prefix && key !== '' && !key.startsWith('/'))
      throw new StoreError('Internal', `etcd store keys must start with "/" (got ${JSON.stringify(key)})`);
    return Buffer.from(this.prefix + (key === '' && this.prefix ? '/' : key), 'utf8');
  }

  /**
   * One etcd call under the store's deadline, failures mapped to StoreError. Transient failures (no
   * leader, leader changed, request timed out, an attempt past its own deadline, a member gone) are
   * retried with backoff (50 ms doubling to 400 ms) while the deadline allows, so a leader election
   * or a lost member costs latency, not a failed request: every one for `repeatable` calls (reads,
   * and writes that recognise their own landed value), only those proving etcd did not apply the
   * call for `once` calls. `onRetry` learns that an earlier attempt may have landed.
   */
  private async call<T>(
    op: string,
    fn: (options: { deadline: number }) => Promise<T>,
    mode: RetryMode = 'repeatable',
    onRetry?: () => void,
  ): Promise<T> {
    const retry = mode === 'repeatable' ? transient : notApplied;
    const deadline = Date.now() + this.requestTimeoutMs;
    // A proposal in flight when the leader dies hangs until its deadline: attempts that may be
    // repeated get a third of the budget (at least 1 s) so a retry reaches the new leader in time.
    const attemptMs =
      mode === 'repeatable' ? Math.max(1000, Math.floor(this.requestTimeoutMs / 3)) : this.requestTimeoutMs;
    for (let delay = 50; ; delay = Math.min(delay * 2, 400)) {
      const attemptDeadline = Math.min(deadline, Date.now() + attemptMs);
      try {
        // The client ends every call at its deadline (its own timer cancels the stream).
        return await fn({ deadline: attemptDeadline });
      } catch (err) {
        const mapped = this.storeError(op, err);
        if (retry(mapped) && Date.now() + delay < deadline) {
          log.debug({ op, err: mapped.message, delay }, 'etcd call failed; retrying');
          onRetry?.();
          await new Promise((r) => setTimeout(r, delay));
          continue;
        }
        if (mapped.code === 'Internal' && !/future revision/.test(mapped.message))
          log.error({ op, err: mapped.message }, 'etcd call failed');
        throw mapped;
      }
    }
  }

  private async txn(
    op: string,
    compare: Compare[],
    key: Buffer,
    success: { request_put?: { key: Buffer; value: Buffer }; request_delete_range?: { key: Buffer; prev_kv: boolean } },
    mode: RetryMode,
  ): Promise<{ res: TxnResponse; retried: boolean }> {
    let retried = false;
    const res = await this.call(
      op,
      (o) =>
        this.kv.txn(
          {
            compare,
            // The revision key last: its watch event follows the write's (see revision()).
            success: [success, { request_put: { key: this.revisionKey, value: Buffer.alloc(0) } }],
            failure: [{ request_range: { key } }],
          },
          o,
        ),
      mode,
      () => (retried = true),
    );
    return { res, retried };
  }

  private exists(key: Buffer, expectedModRevision: number | undefined): Compare[] {
    const compare: Compare[] = [
      { key, target: CompareTarget.Create, result: CompareResult.Greater, create_revision: 0 },
    ];
    if (expectedModRevision !== undefined)
      compare.push({ key, target: CompareTarget.Mod, result: CompareResult.Equal, mod_revision: expectedModRevision });
    return compare;
  }

  private current(res: TxnResponse): KeyValue | undefined {
    const kv = res.responses[0]?.response_range?.kvs[0];
    return kv && this.toKeyValue(kv);
  }

  private refused(key: string, res: TxnResponse, expected: number | undefined): never {
    const current = this.current(res);
    if (!current) throw new StoreError('NotFound', `key ${key} not found`);
    throw new StoreError('Conflict', `key ${key} is at revision ${current.modRevision}, not ${expected}`, current);
  }
}

const WATCH_BACKOFF = new ExponentialBackoff({ initialDelay: 100, maxDelay: 2000 });

/**
 * Delivers one etcd watch's events to a store watch, in order, once, until stopped. When the
 * stream ends (member gone or leaderless, connection silent) it reopens it on the next endpoint,
 * backing off from 100 ms to 2 s, from right after the last revision delivered: no gap, no
 * duplicate. It ends with `onError` only when etcd cancels the watch (`Compacted` when its
 * position was compacted meanwhile).
 */
class WatchFeed {
  private stopped = false;
  private live = false;
  private disconnected = false;
  /** Events (and revision-key progress, as a number) that arrived before the watch was established. */
  private readonly buffered: Array<StoreEvent | number> = [];
  private cancel: (() => void) | undefined;
  private retry: NodeJS.Timeout | undefined;
  /** Delays between reopening attempts (decorrelated jitter, 100 ms up to 2 s); reset once one succeeds. */
  private backoff: IBackoff<unknown> | undefined;

  constructor(
    private readonly store: EtcdStore,
    private readonly options: WatchOptions,
    private lastRevision: number,
    private readonly openStream: (start: number, handlers: WatchHandlers) => () => void,
    private readonly onClosed: () => void,
  ) {}

  /**
   * Opens the etcd watch from right after the last revision delivered; resolves once etcd has
   * created it. Rejects when etcd cancels it, the stream ends, or `timeoutMs` passes first.
   */
  open(timeoutMs: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let created = false;
      const timer = setTimeout(() => {
        this.cancel?.();
        reject(new StoreError('Unavailable', `etcd did not open the watch within ${timeoutMs} ms`));
      }, timeoutMs);
      const early = (err: Error) => {
        clearTimeout(timer);
        reject(err);
      };
      this.cancel = this.openStream(this.lastRevision + 1, {
        created: () => {
          created = true;
          clearTimeout(timer);
          this.backoff = undefined;
          if (this.disconnected) log.info({ resumeFrom: this.lastRevision + 1 }, 'etcd watch reconnected');
          this.disconnected = false;
          resolve();
        },
        events: (events) => {
          for (const e of events) this.take(e);
        },
        canceled: (reason, compactRevision) => {
          const err =
            compactRevision > 0
              ? new StoreError('Compacted', `watch position ${this.lastRevision} has been compacted`)
              : new StoreError('Unavailable', `etcd cancelled the watch: ${reason || 'no reason given'}`);
          if (!created) return early(err);
          if (err.code === 'Compacted') this.fail(err);
          else void this.classify(err);
        },
        ended: (err) => {
          if (!created) return early(err);
          this.reconnect(err);
        },
      });
    });
  }

  /** The watch is established: from now on events go straight to the handler. */
  start(): void {
    this.live = true;
    for (const event of this.buffered.splice(0)) this.emit(event);
  }

  readonly stop = (): void => {
    if (this.stopped) return;
    this.stopped = true;
    clearTimeout(this.retry);
    this.cancel?.();
    this.onClosed();
  };

  /** The stream ended after it was established: reopen it, from where delivery stopped. */
  private reconnect(err: Error): void {
    if (this.stopped) return;
    if (!this.live) return this.fail(this.store.storeError('watch', err));
    if (!this.disconnected)
      log.warn({ err: err.message, resumeFrom: this.lastRevision + 1 }, 'etcd watch disconnected; reconnecting');
    this.disconnected = true;
    this.backoff = this.backoff ? this.backoff.next(undefined) : WATCH_BACKOFF.next();
    this.retry = setTimeout(() => {
      if (this.stopped) return;
      this.open(this.store.requestTimeoutMs).catch((e: unknown) => {
        if (e instanceof StoreError && e.code === 'Compacted') this.fail(e);
        else this.reconnect(e instanceof Error ? e : new Error(String(e)));
      });
    }, this.backoff.duration);
  }

  /** One etcd event: a change under the prefix, or the revision key's progress. */
  private take(e: WatchEvent): void {
    const key = this.store.unprefix(e.kv.key);
    const revision = e.kv.mod_revision;
    if (key === REVISION_KEY) return this.deliver(revision);
    if (e.type === 'delete') {
      // Without the previous revision (a watch `withoutPrevious`), etcd's delete event has no value.
      const event: StoreEvent = { type: 'DELETED', key, value: '', revision };
      if (e.prev_kv) event.value = event.prevValue = e.prev_kv.value.toString('utf8');
      return this.deliver(event);
    }
    const event: StoreEvent = { type: 'ADDED', key, value: e.kv.value.toString('utf8'), revision };
    if (e.kv.create_revision !== revision) {
      event.type = 'MODIFIED';
      if (e.prev_kv) event.prevValue = e.prev_kv.value.toString('utf8');
    }
    this.deliver(event);
  }

  /**
   * An event, or the revision key's progress (a number): its put is the last operation of every
   * write, so everything up to that revision has been delivered.
   */
  private deliver(event: StoreEvent | number): void {
    const revision = typeof event === 'number' ? event : event.revision;
    if (this.stopped || (typeof event !== 'number' && revision <= this.lastRevision)) return;
    if (this.live) this.emit(event);
    else this.buffered.push(event);
  }

  private emit(event: StoreEvent | number): void {
    if (typeof event === 'number') {
      this.lastRevision = Math.max(this.lastRevision, event);
      this.options.onProgress?.(event);
      return;
    }
    this.lastRevision = event.revision;
    try {
      this.options.onEvent(event);
    } catch (err) {
      // Not the message: a handler's error (a JSON parse error, say) may quote the value, which may be Secret data.
      log.error(
        { error: err instanceof Error ? err.name : typeof err, key: event.key, revision: event.revision },
        'watch handler threw',
      );
    }
  }

  private fail(err: StoreError): void {
    if (this.stopped) return;
    this.stop();
    // Before start() the failure surfaces as watch()'s rejection instead.
    if (this.live) this.options.onError(err);
  }

  /** etcd cancelled the watch: Compacted when history past our position is gone, else Unavailable. */
  private async classify(err: StoreError): Promise<void> {
    let mapped = err;
    try {
      if (!(await this.store.readable(this.lastRevision + 1)))
        mapped = new StoreError('Compacted', `watch position ${this.lastRevision} has been compacted`);
    } catch {
      // keep the first mapping
    }
    this.fail(mapped);
  }
}

/** The etcd range end covering every key that starts with `prefix`. */
function rangeEnd(prefix: Buffer): Buffer {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i] = end[i]! + 1;
      return end.subarray(0, i + 1);
    }
  }
  return Buffer.from([0]);
}

/**
 * `repeatable`: any transient error is retried (a repeat is harmless or recognised); `once`: only
 * errors that prove etcd did not apply the call, and the attempt keeps the whole deadline.
 */
type RetryMode = 'repeatable' | 'once';

/**
 * Worth another attempt: etcd or a member is momentarily unavailable, or an attempt ran past its
 * own deadline (a proposal stuck on a dead leader; the call's overall deadline still bounds it).
 */
function transient(err: StoreError): boolean {
  return err.code === 'Unavailable';
}

/** Transient and certainly not applied: no leader to propose to, or no connection to the member. */
function notApplied(err: StoreError): boolean {
  return transient(err) && /no leader|not capable|ECONNREFUSED|No connection established|connect/i.test(err.message);
}
