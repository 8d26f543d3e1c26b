/**
 * One cluster's connection: a KubeClient behind its own bounded queue, a deadline (AbortSignal)
 * and a short retry of transient failures. Nothing here is shared between clusters, so a slow or
 * dead cluster only ever delays itself.
 */
import PQueue from 'p-queue';
import { errors, KitfedError } from '../core/errors.js';
import { KubeClient } from '../core/kube-client.js';
import type { Target } from './targets.js';

const TRANSIENT = new Set([429, 500, 502, 503, 504]);

export class ClusterConn {
  writes = 0;
  private readonly queue: PQueue;

  private constructor(
    readonly client: KubeClient,
    readonly target: Target,
    readonly signal: AbortSignal,
    concurrency: number,
  ) {
    this.queue = new PQueue({ concurrency });
    signal.addEventListener('abort', () => this.queue.clear(), { once: true });
  }

  static async open(
    target: Target,
    signal: AbortSignal,
    opts: { concurrency: number; requestTimeoutMs: number },
  ): Promise<ClusterConn> {
    const client = await KubeClient.fromKubeconfig({ file: target.kubeconfig }, target.context, {
      timeoutMs: opts.requestTimeoutMs,
      maxSockets: opts.concurrency,
      userAgent: 'kitfed-deployer',
      // A deploy is a burst of parallel reads and writes from a fresh client: one multiplexed connection.
      http2: true,
    });
    return new ClusterConn(client, target, signal, opts.concurrency);
  }

  /** Throws the deadline/cancel reason when the cluster's signal fired. */
  check(): void {
    if (this.signal.aborted) throw reasonOf(this.signal);
  }

  /** Runs one call through the queue; transient errors are retried twice while time remains. */
  async call<T>(fn: (c: KubeClient) => Promise<T>, opts: { write?: boolean } = {}): Promise<T> {
    this.check();
    const task = this.queue.add<T>(async () => {
      for (let attempt = 0; ; attempt++) {
        this.check();
        if (opts.write) this.writes++;
        try {
          return await fn(this.client);
        } catch (err) {
          if (attempt >= 2 || !(err instanceof KitfedError) || !TRANSIENT.has(err.code) || err.code === 504) throw err;
          await sleep(150 * 2 ** attempt, this.signal);
        }
      }
    });
    return raceAbort(task, this.signal);
  }

  close(): void {
    this.queue.clear();
    this.client.close();
  }
}

export function reasonOf(signal: AbortSignal): Error {
  const r: unknown = signal.reason;
  return r instanceof Error ? r : errors.timeout(String(r ?? 'cancelled'));
}

/** Settles with `p`, or rejects with the abort reason as soon as `signal` fires (cleared queue items never settle). */
export function raceAbort<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) {
    p.catch(() => undefined);
    return Promise.reject(reasonOf(signal));
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(reasonOf(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(reasonOf(signal));
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(t);
      reject(reasonOf(signal!));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
