/**
 * The one HTTP server of `kitfed webhooks`: the two webhook endpoints (signed), the read and
 * control API (`/runs`, rollout actions, `/rollbacks`, `/metrics`: bearer token), and `/healthz`
 * (open). Errors are Kubernetes `Status` objects; messages never carry secrets or request bodies.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { errors, KitfedError } from '../core/errors.js';
import { answerVersioned, waitParam } from '../core/long-poll.js';
import type { Logger } from '../core/log.js';
import type { HookResponse } from '../image-deployer/index.js';
import {
  ROLLOUT_ACTIONS,
  type RollbackRequest,
  type RollbackResponse,
  type RolloutAction,
  type RolloutActionRequest,
  type RolloutStatus,
} from './api.js';
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
  /** Bearer tokens accepted on every route but `/hooks/*` and `/healthz`. */
  readonly tokens: readonly string[];
  readonly control: (runId: number, action: RolloutAction, body: RolloutActionRequest) => RolloutStatus;
  readonly rollback: (body: RollbackRequest) => Promise<RollbackResponse>;
}

/** Small JSON bodies of the control API. */
const MAX_CONTROL_BODY = 64 * 1024;

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

/** Constant-time check of `Authorization: Bearer <token>` against every configured token. */
export function authorize(header: string | undefined, tokens: readonly string[]): void {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  if (!m) throw errors.unauthorized('a bearer token is required (Authorization: Bearer <token>)');
  const got = digest(m[1]!);
  let ok = false;
  for (const t of tokens) ok = timingSafeEqual(got, digest(t)) || ok;
  if (!ok) throw errors.unauthorized('the bearer token is not valid');
}

export function createHttpServer(opts: HttpServerOptions): Server {
  const server = createServer((req, res) => {
    handle(opts, req, res).catch((err: unknown) => sendError(opts.log, res, err));
  });
  // Clients (fetch: 4 s) close idle keep-alive sockets before the server does: with Node's 5 s a
  // loaded machine lets both race, and a request sent on a socket the server just closed is reset.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  return server;
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
  if (path === '/healthz') {
    if (req.method !== 'GET' && req.method !== 'HEAD') throw errors.methodNotAllowed();
    return sendJson(res, 200, { status: 'ok', ...opts.health() });
  }
  authorize(req.headers.authorization, opts.tokens);
  const action = /^\/runs\/(\d+)\/rollout\/([a-z]+)$/.exec(path);
  if (action) {
    if (req.method !== 'POST') throw errors.methodNotAllowed();
    const verb = action[2] as RolloutAction;
    if (!ROLLOUT_ACTIONS.includes(verb)) throw errors.notFound({ group: '', plural: 'paths', name: path });
    const body = await jsonBody<RolloutActionRequest>(req);
    for (const k of ['by', 'reason'] as const)
      if (body[k] !== undefined && typeof body[k] !== 'string') throw errors.badRequest(`${k}: must be a string`);
    const rollout = opts.control(Number(action[1]), verb, body);
    const run = opts.store.getRun(Number(action[1]));
    return sendJson(res, 200, run ?? { rollout });
  }
  if (path === '/rollbacks') {
    if (req.method !== 'POST') throw errors.methodNotAllowed();
    const body = await jsonBody<RollbackRequest>(req);
    if (typeof body.to !== 'string' || !/^[0-9a-f]{4,64}$/i.test(body.to))
      throw errors.badRequest('to: a commit SHA (4–64 hex characters) is required', [
        { field: 'to', message: 'required' },
      ]);
    for (const k of ['repo', 'by', 'reason'] as const)
      if (body[k] !== undefined && typeof body[k] !== 'string') throw errors.badRequest(`${k}: must be a string`);
    return sendJson(res, 201, await opts.rollback(body as RollbackRequest));
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') throw errors.methodNotAllowed();
  if (path === '/metrics') {
    res.writeHead(200, { 'content-type': opts.metrics.registry.contentType });
    res.end(await opts.metrics.registry.metrics());
    return;
  }
  if (path === '/runs') {
    const limit = Math.min(1000, Math.max(1, Number(url.searchParams.get('limit') ?? 100) || 100));
    // Conditional GET: a client that already has this version gets a 304 without the store
    // listing a row or a byte of JSON being built; with `?wait=SECONDS` (long poll, the console)
    // the 304 waits until a run changes, so an open console costs nothing while nothing happens.
    return answerVersioned(req, res, {
      watch: opts.store.changes,
      etag: (version) => `"${version}.${limit}"`,
      waitMs: waitParam(url),
      body: () => ({ runs: opts.store.listRuns(limit) }),
    });
  }
  const m = /^\/runs\/(\d+)(\/rollout)?$/.exec(path);
  if (m) {
    const run = opts.store.getRun(Number(m[1]));
    if (!run) throw errors.notFound({ group: '', plural: 'runs', name: m[1] ?? '' });
    if (!m[2]) return sendJson(res, 200, run);
    if (!run.rollout) throw errors.notFound({ group: '', plural: 'rollouts', name: m[1] ?? '' });
    return sendJson(res, 200, run.rollout);
  }
  throw errors.notFound({ group: '', plural: 'paths', name: path });
}

/** A JSON object body (empty: `{}`). */
async function jsonBody<T extends object>(req: IncomingMessage): Promise<Partial<T>> {
  const raw = await readBody(req, MAX_CONTROL_BODY);
  if (raw.length === 0) return {};
  const type = String(req.headers['content-type'] ?? '');
  if (!/^application\/json\b/i.test(type)) throw errors.unsupportedMediaType(type);
  let v: unknown;
  try {
    v = JSON.parse(raw.toString('utf8'));
  } catch {
    throw errors.badRequest('the body is not valid JSON');
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw errors.badRequest('the body must be a JSON object');
  return v;
}

function readBody(req: IncomingMessage, max = MAX_BODY): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > max) {
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

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
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
  sendJson(res, e.code, e.toStatus(), e.code === 401 ? { 'www-authenticate': 'Bearer realm="kitfed-webhooks"' } : {});
}
