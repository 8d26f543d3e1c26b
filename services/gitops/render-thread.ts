/**
 * The main-thread side: a lazily started worker thread running renders (render-worker.ts). A render
 * whose step is aborted (timeout, shutdown) terminates the worker, which is started again on the
 * next render; renders sharing it fail with a clear error.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { RenderFnResult } from './render-step.js';
import type { RenderReply, RenderRequest } from './render-worker.js';

interface Waiting {
  resolve: (r: RenderFnResult) => void;
  reject: (e: Error) => void;
}

export class RenderThread {
  private worker: Worker | undefined;
  private nextId = 1;
  private readonly waiting = new Map<number, Waiting>();

  render(opts: { repo: string; out: string }, signal?: AbortSignal): Promise<RenderFnResult> {
    if (signal?.aborted) return Promise.reject(signal.reason as Error);
    const worker = this.start();
    const id = this.nextId++;
    return new Promise<RenderFnResult>((resolve, reject) => {
      const onAbort = (): void => {
        this.stop(new Error(`render aborted: ${(signal?.reason as Error | undefined)?.message ?? 'aborted'}`));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiting.set(id, {
        resolve: (r) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(r);
        },
        reject: (e) => {
          signal?.removeEventListener('abort', onAbort);
          reject(e);
        },
      });
      worker.postMessage({ id, repo: opts.repo, out: opts.out } satisfies RenderRequest);
    });
  }

  /** Starts the worker ahead of the first render (module loading happens off the main thread). */
  warm(): void {
    this.start();
  }

  /** Terminates the worker; renders in flight fail with `reason`. */
  stop(reason = new Error('render thread stopped')): void {
    const w = this.worker;
    this.worker = undefined;
    for (const [, p] of this.waiting) p.reject(reason);
    this.waiting.clear();
    void w?.terminate();
  }

  private start(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(workerEntry());
    worker.unref();
    worker.on('message', (m: RenderReply) => {
      const p = this.waiting.get(m.id);
      if (!p) return;
      this.waiting.delete(m.id);
      if (m.ok) p.resolve({ clusters: m.clusters });
      else {
        const e = new Error(m.message);
        e.name = m.name;
        p.reject(e);
      }
    });
    worker.on('error', (err) => {
      if (this.worker === worker) this.stop(new Error(`render thread crashed: ${err.message}`));
    });
    worker.on('exit', (code) => {
      if (this.worker === worker) this.stop(new Error(`render thread exited with code ${code}`));
    });
    this.worker = worker;
    return worker;
  }
}

/**
 * The compiled `render-worker.js` next to this file (dist/). Run from source, worker threads do not
 * inherit tsx's hooks, so a one-line ESM bootstrap registers tsx in the worker and imports the `.ts`.
 */
function workerEntry(): URL {
  const js = new URL('./render-worker.js', import.meta.url);
  if (existsSync(fileURLToPath(js))) return js;
  const ts = new URL('./render-worker.ts', import.meta.url).href;
  const tsx = import.meta.resolve('tsx/esm/api');
  const code = `const { register } = await import(${JSON.stringify(tsx)}); register(); await import(${JSON.stringify(ts)});`;
  return new URL(`data:text/javascript,${encodeURIComponent(code)}`);
}
