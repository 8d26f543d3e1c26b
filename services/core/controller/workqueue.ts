/**
 * A keyed work queue as in client-go: a key waiting in the queue is there once; a key
 * being processed that is added again is processed again after `done`. Delayed adds keep
 * the earliest due time; rate-limited adds back off per key (5 ms doubling to 5 min) and
 * are also paced by one token bucket shared by every key.
 */
export interface WorkQueueOptions {
  /** First per-key retry delay. @default 5 */
  baseDelayMs?: number;
  /** Largest per-key retry delay. @default 300000 */
  maxDelayMs?: number;
  /** Token bucket refill rate for rate-limited adds, per second. @default 50 */
  qps?: number;
  /** Token bucket size. @default 300 */
  burst?: number;
}

export class WorkQueue<K = string> {
  private readonly items: K[] = [];
  private head = 0;
  private readonly dirty = new Set<K>();
  private readonly processing = new Set<K>();
  private readonly waiters: Array<(k: K | undefined) => void> = [];
  private readonly timers = new Map<K, { due: number; timer: NodeJS.Timeout }>();
  private readonly failures = new Map<K, number>();
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly qps: number;
  private readonly burst: number;
  private tokens: number;
  private lastRefill = Date.now();
  /** The time the bucket next grants a token (reservations queue up behind each other). */
  private bucketNext = 0;
  private shuttingDown = false;

  constructor(options: WorkQueueOptions = {}) {
    this.baseDelayMs = options.baseDelayMs ?? 5;
    this.maxDelayMs = options.maxDelayMs ?? 300_000;
    this.qps = options.qps ?? 50;
    this.burst = options.burst ?? 300;
    this.tokens = this.burst;
  }

  /** Keys waiting (not those being processed). */
  get length(): number {
    return this.items.length - this.head;
  }

  get isShuttingDown(): boolean {
    return this.shuttingDown;
  }

  add(key: K): void {
    if (this.shuttingDown || this.dirty.has(key)) return;
    this.dirty.add(key);
    if (this.processing.has(key)) return;
    const waiter = this.waiters.shift();
    if (waiter) {
      this.dirty.delete(key);
      this.processing.add(key);
      waiter(key);
      return;
    }
    this.items.push(key);
  }

  /** Adds `key` after `ms`; an earlier pending delayed add of the same key wins. */
  addAfter(key: K, ms: number): void {
    if (this.shuttingDown) return;
    if (ms <= 0) return this.add(key);
    const due = Date.now() + ms;
    const pending = this.timers.get(key);
    if (pending) {
      if (pending.due <= due) return;
      clearTimeout(pending.timer);
    }
    const timer = setTimeout(() => {
      this.timers.delete(key);
      this.add(key);
    }, ms);
    timer.unref?.();
    this.timers.set(key, { due, timer });
  }

  /** Adds `key` after its per-key backoff (and the shared token bucket's pace). */
  addRateLimited(key: K): void {
    const n = this.failures.get(key) ?? 0;
    this.failures.set(key, n + 1);
    const perKey = Math.min(this.baseDelayMs * 2 ** Math.min(n, 40), this.maxDelayMs);
    this.addAfter(key, Math.max(perKey, this.bucketDelay()));
  }

  /** How many times `key` was rate-limited since the last `forget`. */
  retries(key: K): number {
    return this.failures.get(key) ?? 0;
  }

  /** Clears the backoff of `key` (after a success). */
  forget(key: K): void {
    this.failures.delete(key);
  }

  /** The next key, or undefined once shut down. Call `done(key)` when finished with it. */
  get(): Promise<K | undefined> {
    if (this.shuttingDown) return Promise.resolve(undefined);
    if (this.length > 0) {
      const key = this.items[this.head++]!;
      if (this.head > 1024 && this.head * 2 > this.items.length) {
        this.items.splice(0, this.head);
        this.head = 0;
      }
      this.dirty.delete(key);
      this.processing.add(key);
      return Promise.resolve(key);
    }
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  done(key: K): void {
    this.processing.delete(key);
    if (this.dirty.has(key)) {
      this.dirty.delete(key);
      this.add(key);
    }
  }

  /** Stops handing out keys: waiting `get()`s resolve undefined, delayed adds are dropped. */
  shutDown(): void {
    this.shuttingDown = true;
    for (const { timer } of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    for (const w of this.waiters.splice(0)) w(undefined);
  }

  private bucketDelay(): number {
    const now = Date.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.lastRefill) / 1000) * this.qps);
    this.lastRefill = now;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return 0;
    }
    this.bucketNext = Math.max(this.bucketNext, now) + 1000 / this.qps;
    return this.bucketNext - now;
  }
}
