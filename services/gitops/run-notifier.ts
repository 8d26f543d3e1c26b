/**
 * Outbound notification: one signed JSON webhook per finished run (`X-Kitfed-Signature-256`, the same
 * HMAC-SHA256 scheme as the image webhook). Retried with backoff on network errors, 429 and 5xx;
 * delivery is recorded in the run store, so runs finished but not yet notified when the process
 * stopped are sent on the next start. `drain()` delivers what is pending before shutdown.
 */
import PQueue from 'p-queue';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../core/log.js';
import { IMAGE_SIGNATURE_HEADER, signImageBody } from '../image-deployer/image-hook.js';
import type { EventStore, RunRecord } from './event-store.js';

export interface RunNotifierOptions {
  readonly url: string;
  readonly secret: string;
  readonly store: EventStore;
  readonly log: Logger;
  readonly maxAttempts?: number;
  /** First retry delay, doubling (default 500 ms, capped at 30 s). */
  readonly backoffMs?: number;
  readonly timeoutMs?: number;
}

export class RunNotifier {
  private readonly queue = new PQueue({ concurrency: 2 });
  private readonly queued = new Set<number>();
  private stopping = false;

  constructor(private readonly opts: RunNotifierOptions) {}

  /** Queues runs finished earlier whose notification was never delivered. */
  resume(): void {
    for (const run of this.opts.store.unnotifiedRuns()) this.notify(run);
  }

  notify(run: RunRecord): void {
    if (this.queued.has(run.id)) return;
    this.queued.add(run.id);
    void this.queue.add(async () => {
      try {
        await this.deliver(run);
      } finally {
        this.queued.delete(run.id);
      }
    });
  }

  /** Waits (bounded) for pending notifications; retries stop waiting once draining. */
  async drain(timeoutMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.queue.onIdle(), new Promise((r) => (timer = setTimeout(r, timeoutMs)))]);
    clearTimeout(timer);
    this.stopping = true;
  }

  private async deliver(run: RunRecord): Promise<void> {
    const body = JSON.stringify({ event: 'run.finished', run });
    const max = this.opts.maxAttempts ?? 6;
    const log = this.opts.log.child({ runId: run.id });
    for (let attempt = 1; attempt <= max; attempt++) {
      let retry: boolean;
      let why: string;
      try {
        const res = await fetch(this.opts.url, {
          method: 'POST',
          body,
          headers: {
            'content-type': 'application/json',
            'x-kitfed-event': 'run.finished',
            'x-kitfed-delivery': `run-${run.id}`,
            [IMAGE_SIGNATURE_HEADER]: signImageBody(this.opts.secret, body),
          },
          signal: AbortSignal.timeout(this.opts.timeoutMs ?? 10_000),
        });
        await res.arrayBuffer();
        if (res.ok) {
          this.opts.store.markNotified(run.id);
          log.info({ attempt }, 'Run notification delivered');
          return;
        }
        retry = res.status === 429 || res.status >= 500;
        why = `HTTP ${res.status}`;
      } catch (err) {
        retry = true;
        why = (err as Error).message;
      }
      if (!retry) {
        this.opts.store.markNotified(run.id); // a 4xx will not get better: do not resend forever
        log.error({ attempt, why }, 'Run notification refused by the receiver');
        return;
      }
      if (attempt === max || this.stopping) break;
      log.warn({ attempt, max, why }, 'Run notification failed, retrying');
      await sleep(Math.min(30_000, (this.opts.backoffMs ?? 500) * 2 ** (attempt - 1)));
    }
    log.error({ attempts: max }, 'Run notification not delivered; it is retried on next start');
  }
}
