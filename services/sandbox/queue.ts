import { hasCode } from '../core/errors.js';
import type { Logger } from '../core/log.js';

type Task = () => Promise<void>;

/**
 * A deduplicating work queue, one per simulated cluster: a key queued while already queued
 * runs once; a key queued while running runs again afterwards. Tasks run one at a time,
 * so controllers of one cluster never race each other. Conflicts are retried shortly after.
 *
 * Not the controllers' work queue (`core/controller/workqueue.ts`: keyed reconciles with backoff and
 * rate limits): this one runs closures and arms the simulator's timers, which is all a simulated
 * cluster's controllers need.
 */
export class SimulationQueue {
  private readonly pending = new Map<string, Task>();
  private readonly retries = new Map<string, number>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private draining = false;
  private stopped = false;
  private idleWaiters: Array<() => void> = [];

  constructor(private readonly log: Logger) {}

  add(key: string, task: Task): void {
    if (this.stopped) return;
    this.pending.delete(key);
    this.pending.set(key, task);
    if (!this.draining) {
      this.draining = true;
      setImmediate(() => void this.drain());
    }
  }

  /**
   * Runs `task` under `key` after `ms` (timers are the only clock the simulator has). A stopped
   * queue arms nothing: a task still finishing during `stop()` must not leave a timer behind
   * (a Deployment's 600 s progress deadline kept `kitfed up` alive for 10 minutes after Ctrl-C).
   */
  after(ms: number, key: string, task: Task): NodeJS.Timeout | undefined {
    if (this.stopped) return undefined;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      this.add(key, task);
    }, ms);
    this.timers.add(timer);
    return timer;
  }

  cancel(timer: NodeJS.Timeout | undefined): void {
    if (!timer) return;
    clearTimeout(timer);
    this.timers.delete(timer);
  }

  stop(): void {
    this.stopped = true;
    this.pending.clear();
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const w of this.idleWaiters.splice(0)) w();
  }

  /** Resolves when nothing is queued or running (timers may still be armed). */
  idle(): Promise<void> {
    if (!this.draining && this.pending.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private async drain(): Promise<void> {
    let slice = performance.now();
    while (!this.stopped && this.pending.size > 0) {
      // Tasks over an in-memory store complete in microtasks: yield now and then so the
      // API servers' sockets (and the other clusters) are served while a cluster is busy.
      if (performance.now() - slice > 4) {
        await new Promise((resolve) => setImmediate(resolve));
        slice = performance.now();
        if (this.stopped || this.pending.size === 0) break;
      }
      const [key, task] = this.pending.entries().next().value as [string, Task];
      this.pending.delete(key);
      try {
        await task();
        this.retries.delete(key);
      } catch (err) {
        this.failed(key, task, err);
      }
    }
    this.draining = false;
    for (const w of this.idleWaiters.splice(0)) w();
  }

  private failed(key: string, task: Task, err: unknown): void {
    if (hasCode(err, 404)) return;
    const n = (this.retries.get(key) ?? 0) + 1;
    this.retries.set(key, n);
    if (n > 10) {
      this.retries.delete(key);
      this.log.warn({ key, err: err instanceof Error ? err.message : String(err) }, 'simulator task gave up');
      return;
    }
    if (!hasCode(err, 409))
      this.log.debug({ key, err: err instanceof Error ? err.message : String(err) }, 'simulator task failed; retrying');
    this.after(Math.min(1000, 10 * 2 ** n), key, task);
  }
}
