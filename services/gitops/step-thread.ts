/**
 * Runs a pipeline step's heavy work (render, deploy) in a worker thread so the HTTP loop that
 * accepts webhooks is never blocked by it. One lazily started worker per step kind; calls are
 * multiplexed by id. Abort: `terminate` kills the worker (CPU-bound work that cannot be interrupted;
 * it is started again on the next call), `message` asks the worker to abort that call only.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

export type ToWorker<Req> = { type: 'run'; id: number; req: Req } | { type: 'abort'; id: number; reason: string };
export type FromWorker<Res, Ev> =
  | { type: 'done'; id: number; result: Res }
  | { type: 'error'; id: number; name: string; message: string }
  | { type: 'event'; id: number; event: Ev };

interface Call<Res, Ev> {
  resolve: (r: Res) => void;
  reject: (e: Error) => void;
  onEvent: ((e: Ev) => void) | undefined;
}

export class StepThread<Req, Res, Ev = never> {
  private worker: Worker | undefined;
  private nextId = 1;
  private readonly calls = new Map<number, Call<Res, Ev>>();

  /** `entry`: the worker module's base name next to this file, e.g. `render-worker`. */
  constructor(
    private readonly entry: string,
    private readonly abortMode: 'terminate' | 'message',
  ) {}

  call(
    req: Req,
    opts: { signal?: AbortSignal | undefined; onEvent?: ((e: Ev) => void) | undefined } = {},
  ): Promise<Res> {
    const { signal } = opts;
    if (signal?.aborted) return Promise.reject(toError(signal.reason));
    const worker = this.start();
    const id = this.nextId++;
    return new Promise<Res>((resolve, reject) => {
      const onAbort = (): void => {
        const reason = toError(signal?.reason);
        if (this.abortMode === 'terminate') this.stop(new Error(`${this.entry}: aborted: ${reason.message}`));
        else worker.postMessage({ type: 'abort', id, reason: reason.message } satisfies ToWorker<Req>);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      const done = (): void => signal?.removeEventListener('abort', onAbort);
      this.calls.set(id, {
        resolve: (r) => (done(), resolve(r)),
        reject: (e) => (done(), reject(e)),
        onEvent: opts.onEvent,
      });
      worker.postMessage({ type: 'run', id, req } satisfies ToWorker<Req>);
    });
  }

  /** Starts the worker ahead of the first call (its modules load off the main thread). */
  warm(): void {
    this.start();
  }

  /** Terminates the worker; calls in flight fail with `reason`. */
  stop(reason = new Error(`${this.entry} stopped`)): void {
    const w = this.worker;
    this.worker = undefined;
    for (const [, c] of this.calls) c.reject(reason);
    this.calls.clear();
    void w?.terminate();
  }

  private start(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(workerEntry(this.entry));
    worker.unref();
    worker.on('message', (m: FromWorker<Res, Ev>) => {
      const c = this.calls.get(m.id);
      if (!c) return;
      if (m.type === 'event') return c.onEvent?.(m.event);
      this.calls.delete(m.id);
      if (m.type === 'done') return c.resolve(m.result);
      const e = new Error(m.message);
      e.name = m.name;
      c.reject(e);
    });
    worker.on('error', (err) => {
      if (this.worker === worker) this.stop(new Error(`${this.entry} crashed: ${err.message}`));
    });
    worker.on('exit', (code) => {
      if (this.worker === worker) this.stop(new Error(`${this.entry} exited with code ${code}`));
    });
    this.worker = worker;
    return worker;
  }
}

function toError(reason: unknown): Error {
  return reason instanceof Error ? reason : new Error(String(reason ?? 'aborted'));
}

/**
 * The compiled `<entry>.js` next to this file (dist/). Run from source, worker threads do not
 * inherit tsx's hooks, so a one-line ESM bootstrap registers tsx in the worker and imports the `.ts`.
 */
function workerEntry(entry: string): URL {
  const js = new URL(`./${entry}.js`, import.meta.url);
  if (existsSync(fileURLToPath(js))) return js;
  const ts = new URL(`./${entry}.ts`, import.meta.url).href;
  const tsx = import.meta.resolve('tsx/esm/api');
  const code = `const { register } = await import(${JSON.stringify(tsx)}); register(); await import(${JSON.stringify(ts)});`;
  return new URL(`data:text/javascript,${encodeURIComponent(code)}`);
}

/** Worker side: answers `run` messages with `handler`, forwarding events and honouring `abort`. */
export function serveStep<Req, Res, Ev = never>(
  port: { on(event: 'message', fn: (m: ToWorker<Req>) => void): unknown; postMessage(m: FromWorker<Res, Ev>): void },
  handler: (req: Req, ctx: { signal: AbortSignal; emit: (e: Ev) => void }) => Promise<Res>,
): void {
  const running = new Map<number, AbortController>();
  port.on('message', (m) => {
    if (m.type === 'abort') {
      running.get(m.id)?.abort(new Error(m.reason));
      return;
    }
    const ctrl = new AbortController();
    running.set(m.id, ctrl);
    handler(m.req, { signal: ctrl.signal, emit: (event) => port.postMessage({ type: 'event', id: m.id, event }) })
      .then(
        (result) => port.postMessage({ type: 'done', id: m.id, result }),
        (err: unknown) =>
          port.postMessage({
            type: 'error',
            id: m.id,
            name: err instanceof Error ? err.name : 'Error',
            message: err instanceof Error ? err.message : String(err),
          }),
      )
      .finally(() => running.delete(m.id));
  });
}
