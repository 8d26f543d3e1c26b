/**
 * Long-poll conditional GET: kitfed's one way for a server to push "this changed" to a client
 * over plain HTTP (the webhook service's `/runs`, the sandbox admin's `/clusters?view=state`; the
 * web console follows both).
 *
 * The protocol: the client sends `GET …?wait=SECONDS` with `If-None-Match: <the ETag it has>`.
 * When the server's version differs it answers at once (200, the body, the new ETag). Otherwise it
 * holds the request until the version moves (then 200), the wait ends (then 304), the client goes
 * away, or the server shuts down (then 304 at once, `Connection: close`). Without `wait` it is an
 * ordinary conditional GET. The server side is `VersionWatch` (who is waiting for which version)
 * and `answerVersioned` (the HTTP answer); the client side is `follow` (ask again after each
 * answer, back off after errors, stop cleanly).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { ExponentialBackoff, type IBackoff } from 'cockatiel';
import { errors } from './errors.js';
import { matchesEtag } from './http.js';

/** The longest `wait` a server accepts; clients ask for less (`FOLLOW_WAIT_SECONDS`). */
export const MAX_WAIT_SECONDS = 60;
/** What `follow` asks for: long enough to cost nothing while idle, short enough for proxies. */
export const FOLLOW_WAIT_SECONDS = 30;

/**
 * The `wait` query parameter of a long-poll request, in milliseconds (0 when absent); a 400
 * `KitfedError` naming the parameter when it is not a number of seconds from 0 to 60.
 */
export function waitParam(url: URL): number {
  const raw = url.searchParams.get('wait');
  if (raw === null || raw === '') return 0;
  const s = Number(raw);
  if (!Number.isFinite(s) || s < 0 || s > MAX_WAIT_SECONDS)
    throw errors.badRequest(`wait: must be a number of seconds from 0 to ${MAX_WAIT_SECONDS}, not ${raw.slice(0, 20)}`);
  return Math.round(s * 1000);
}

export type WaitOutcome = 'changed' | 'timeout' | 'closed';

interface Held {
  readonly since: string;
  done(outcome: WaitOutcome): void;
}

/**
 * Requests held until a version moves. The owner calls `changed()` whenever something the version
 * covers may have changed (cheap when nobody waits: a size check); held requests then compare the
 * current version once per turn of the event loop, however many changes came in that turn.
 */
export class VersionWatch {
  private readonly held = new Set<Held>();
  private scheduled = false;
  private closed = false;

  /** @param version the current version (a string that differs whenever what it covers does). */
  constructor(private readonly version: () => string) {}

  current(): string {
    return this.version();
  }

  /** How many requests are held right now. */
  get size(): number {
    return this.held.size;
  }

  /** Something the version covers may have changed. */
  changed(): void {
    if (this.held.size === 0 || this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      if (this.held.size === 0) return;
      let now: string | undefined;
      try {
        now = this.version();
      } catch {
        // Answered now: each request reads the version again and reports the error its own way.
      }
      for (const h of [...this.held]) if (h.since !== now) h.done('changed');
    });
  }

  /**
   * Resolves `changed` once the version differs from `since` (at once if it already does),
   * `timeout` after `ms`, `closed` when the watch closes or `signal` aborts.
   */
  wait(since: string, ms: number, signal?: AbortSignal): Promise<WaitOutcome> {
    if (this.closed || signal?.aborted) return Promise.resolve('closed');
    if (this.version() !== since) return Promise.resolve('changed');
    if (ms <= 0) return Promise.resolve('timeout');
    return new Promise((resolve) => {
      const onAbort = () => held.done('closed');
      const held: Held = {
        since,
        done: (outcome) => {
          if (!this.held.delete(held)) return;
          clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
          resolve(outcome);
        },
      };
      const timer = setTimeout(() => held.done('timeout'), ms);
      signal?.addEventListener('abort', onAbort, { once: true });
      this.held.add(held);
    });
  }

  /** Shutdown: every held request is answered now, and no new one is held. */
  close(): void {
    this.closed = true;
    for (const h of [...this.held]) h.done('closed');
  }
}

export interface VersionedAnswer {
  readonly watch: VersionWatch;
  /** The ETag of a version (a request's parameters may be part of it). @default `"<version>"` */
  readonly etag?: (version: string) => string;
  /** How long to hold an unchanged request (`waitParam`); 0 answers at once. */
  readonly waitMs: number;
  /** The body of a 200, built only when one is sent. */
  readonly body: () => unknown;
}

/**
 * Answers a GET of a versioned resource: the ETag, 304 for a matching `If-None-Match` — held
 * first, when `waitMs` > 0, until the version moves, the wait ends, the client leaves or the
 * server shuts down — else 200 with the body as JSON.
 */
export async function answerVersioned(req: IncomingMessage, res: ServerResponse, a: VersionedAnswer): Promise<void> {
  const etagOf = a.etag ?? ((v: string) => `"${v}"`);
  const inm = req.headers['if-none-match'];
  let version = a.watch.current();
  if (a.waitMs > 0 && matchesEtag(inm, etagOf(version))) {
    const left = new AbortController();
    const gone = () => left.abort();
    res.once('close', gone);
    const outcome = await a.watch.wait(version, a.waitMs, left.signal);
    res.off('close', gone);
    if (res.destroyed) return; // the client went away
    if (outcome === 'closed') res.shouldKeepAlive = false;
    version = a.watch.current();
  }
  const etag = etagOf(version);
  const headers = { etag, 'cache-control': 'no-cache' };
  if (matchesEtag(inm, etag)) {
    res.writeHead(304, headers);
    res.end();
    return;
  }
  const text = JSON.stringify(a.body());
  res.writeHead(200, { ...headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** One long-poll request: `unchanged` for a 304, else the new ETag and value. */
export type LongPollAnswer<T> = { unchanged: true } | { unchanged: false; etag: string | undefined; value: T };

export interface FollowOptions<T> {
  /**
   * Sends one request with `If-None-Match: etag` (none when undefined) and `wait=waitSeconds`;
   * must honour `signal` (stopping aborts the request under way) and time out a little after the wait.
   */
  readonly get: (etag: string | undefined, waitSeconds: number, signal: AbortSignal) => Promise<LongPollAnswer<T>>;
  readonly onChange: (value: T) => void;
  /** A failed request; the next one is sent after a backoff, without an ETag (the caller gets the current value). */
  readonly onError: (err: unknown) => void;
  /** @default FOLLOW_WAIT_SECONDS */
  readonly waitSeconds?: number;
  /** Backoff after errors, doubling with jitter. @default 250 */
  readonly initialDelayMs?: number;
  /** @default 5000 */
  readonly maxDelayMs?: number;
}

export interface Follower {
  /** Aborts the request under way and any backoff; resolves when the loop has ended. */
  stop(): Promise<void>;
}

/**
 * Follows a long-polled resource: asks again as soon as each answer comes, hands every new value
 * to `onChange`. A 304 that comes back sooner than half the wait (a server that does not hold
 * requests, or one shutting down) is followed by a pause of `initialDelayMs` × 4, so such a
 * server is asked about once a second, not in a busy loop.
 */
export function follow<T>(o: FollowOptions<T>): Follower {
  const stopped = new AbortController();
  const signal = stopped.signal;
  const waitSeconds = o.waitSeconds ?? FOLLOW_WAIT_SECONDS;
  const factory = new ExponentialBackoff({ initialDelay: o.initialDelayMs ?? 250, maxDelay: o.maxDelayMs ?? 5000 });
  const pause = (ms: number) => sleep(ms, undefined, { signal }).catch(() => undefined);
  const loop = (async () => {
    let etag: string | undefined;
    let backoff: IBackoff<unknown> | undefined;
    while (!signal.aborted) {
      const sent = performance.now();
      try {
        const r = await o.get(etag, waitSeconds, signal);
        if (signal.aborted) break;
        backoff = undefined;
        if (!r.unchanged) {
          etag = r.etag;
          o.onChange(r.value);
        } else if (performance.now() - sent < (waitSeconds * 1000) / 2) await pause((o.initialDelayMs ?? 250) * 4);
      } catch (err) {
        if (signal.aborted) break;
        etag = undefined;
        o.onError(err);
        backoff = backoff ? backoff.next(undefined) : factory.next();
        await pause(backoff.duration);
      }
    }
  })();
  return {
    stop: async () => {
      stopped.abort();
      await loop;
    },
  };
}
