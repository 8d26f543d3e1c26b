import { createLogger } from '../log.js';
import { messageOf } from '../errors.js';
import { ControllerMetrics } from './metrics.js';
import type { WorkQueue } from './workqueue.js';

/** A reconcile failure that retrying cannot fix: logged, counted, not requeued. */
export class TerminalError extends Error {
  override readonly name = 'TerminalError';
}

export type ReconcileResult = { requeueAfterMs?: number } | void;

export interface ControllerOptions<K> {
  name: string;
  queue: WorkQueue<K>;
  /** Concurrent reconciles (never of the same key). @default 4 */
  workers?: number;
  /** Level-triggered: gets only the key and reads current state itself. */
  reconcile: (key: K) => Promise<ReconcileResult>;
  metrics?: ControllerMetrics;
}

export interface RunningController {
  /** Shuts the queue down and waits for reconciles in progress. */
  stop(): Promise<void>;
}

const defaultMetrics = new ControllerMetrics();

/**
 * Runs `workers` loops taking keys from the queue. Success forgets the key's backoff (and
 * honours `requeueAfterMs`); an error requeues it rate-limited; a TerminalError does not.
 */
export function runController<K>(options: ControllerOptions<K>): RunningController {
  const { name, queue, reconcile } = options;
  const metrics = options.metrics ?? defaultMetrics;
  const log = createLogger(`controller:${name}`);
  metrics.watchQueue(name, () => queue.length);
  const worker = async (): Promise<void> => {
    for (;;) {
      const key = await queue.get();
      if (key === undefined) return;
      const end = metrics.reconcileSeconds.startTimer({ controller: name });
      try {
        const result = await reconcile(key);
        queue.forget(key);
        if (result && result.requeueAfterMs !== undefined) queue.addAfter(key, result.requeueAfterMs);
      } catch (err) {
        if (err instanceof TerminalError) {
          metrics.reconcileErrors.inc({ controller: name, kind: 'terminal' });
          log.error({ key: String(key), err: err.message }, 'reconcile failed for good');
          queue.forget(key);
        } else {
          metrics.reconcileErrors.inc({ controller: name, kind: 'retry' });
          const retries = queue.retries(key);
          if (retries < 3 || retries % 20 === 0)
            log.warn({ key: String(key), retries, err: messageOf(err) }, 'reconcile failed; retrying');
          queue.addRateLimited(key);
        }
      } finally {
        end();
        queue.done(key);
      }
    }
  };
  const loops = Array.from({ length: options.workers ?? 4 }, () => worker());
  return {
    async stop() {
      queue.shutDown();
      await Promise.all(loops);
    },
  };
}
