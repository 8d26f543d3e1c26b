/**
 * The one HTTP server of `kitfed webhooks`: the two webhook endpoints, run history, health and
 * metrics. Errors are Kubernetes `Status` objects; messages never carry secrets or request bodies.
 */
import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { errors, KitfedError } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import type { HookResponse } from '../image-deployer/image-hook.js';
import type { EventStore } from './event-store.js';
import type { WebhookMetrics } from './metrics.js';

/** GitHub caps webhook payloads at 25 MB. */
const MAX_BODY = 25 * 1024 * 1024;

export type Hook = (raw: Buffer, headers: IncomingHttpHeaders) => Promise<HookResponse>;

export interface HttpServerOptions {
  readonly hooks: { image: Hook; github: Hook };
  readonly store: EventStore;
  readonly metrics: WebhookMetrics;
  readonly log: Logger;
  readonly health: () => Record<string, unknown>;
}

export function createHttpServer(opts: HttpServerOptions): Server {
  return createServer((req, res) => {
    handle(opts, req, res).catch((err: unknown) => sendError(opts.log, res, err));
  });
}

async function handle(opts: HttpServerOptions, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const path = url.pathname.replace(/\/+$/, '') || '/';
  const hookName = path === '/hooks/image' ? 'image' : path === '/hooks/github' ? 'github' : undefined;
  if (hookName) {
    if (req.method !== 'POST') throw errors.methodNotAllowed();
    const end = opts.metrics.acceptSeconds.startTimer({ hook: hookName });
    try {
      const raw = await readBody(req);
      const out = await opts.hooks[hookName](raw, req.headers);
      return sendJson(res, out.status, out.body);
    } finally {
      end();
    }
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') throw errors.methodNotAllowed();
  if (path === '/healthz') return sendJson(res, 200, { status: 'ok', ...opts.health() });
  if (path === '/metrics') {
    res.writeHead(200, { 'content-type': opts.metrics.registry.contentType });
    res.end(await opts.metrics.registry.metrics());
    return;
  }
  if (path === '/runs') {
    const limit = Math.min(1000, Math.max(1, Number(url.searchParams.get('limit') ?? 100) || 100));
    return sendJson(res, 200, { runs: opts.store.listRuns(limit) });
  }
  const m = /^\/runs\/(\d+)$/.exec(path);
  if (m) {
    const run = opts.store.getRun(Number(m[1]));
    if (!run) throw errors.notFound({ group: '', plural: 'runs', name: m[1] ?? '' });
    return sendJson(res, 200, run);
  }
  throw errors.notFound({ group: '', plural: 'paths', name: path });
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        reject(errors.tooLarge());
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function sendError(log: Logger, res: ServerResponse, err: unknown): void {
  const e = err instanceof KitfedError ? err : errors.internal('unexpected error', err);
  if (!(err instanceof KitfedError))
    log.error({ err: err instanceof Error ? err.message : String(err) }, 'Request failed');
  if (res.headersSent) {
    res.destroy();
    return;
  }
  sendJson(res, e.code, e.toStatus());
}
