/**
 * The console's HTTP side: the static front-end, `api/info`, `api/session`, the live
 * `api/stream` (server-sent events) and `api/pods` (a workload's pods in the members). It holds
 * no credentials of its own: every read is made with the bearer token the browser sends, against
 * the federation API (and, through its clusters/proxy, the members) and the webhook service.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { errors, KitfedError, messageOf } from '../core/errors.js';
import { matchesEtag } from '../core/http.js';
import { createLogger, type Logger } from '../core/log.js';
import { GitopsClient, ROLLOUT_ACTIONS, type RolloutAction } from '../gitops/index.js';
import type { ConsoleInfo, StreamMessage } from './api.js';
import { loadAssets, type Assets } from './assets.js';
import { Feed, tokenId, type FeedSource } from './feed.js';

export interface ConsoleOptions extends FeedSource {
  /** Pre-loaded static files (tests, benchmarks); default: the built bundle. */
  assets?: Assets;
  /** Keep-alive comment period of the stream. @default 15000 */
  keepAliveMs?: number;
  /** A connection whose unsent stream data exceeds this is dropped (the browser reconnects). @default 32 MiB */
  maxBufferedBytes?: number;
  log?: Logger;
}

export interface Console {
  /** Serves a request whose path (below the mount point) starts with `/`; false when it is not the console's. */
  handle(req: IncomingMessage, res: ServerResponse, path: string): Promise<void>;
  /** Open stream connections (for tests and metrics). */
  readonly connections: number;
  close(): Promise<void>;
}

/** Everything comes from this server: no inline code, no other origin, no framing. */
const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self' data:",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const SECURITY_HEADERS = {
  'Content-Security-Policy': CSP,
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'DENY',
};

function sendJson(res: ServerResponse, code: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(code, {
    ...SECURITY_HEADERS,
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(text),
    'Cache-Control': 'no-store',
  });
  res.end(text);
}

function sendError(res: ServerResponse, err: unknown, log: Logger): void {
  const e = err instanceof KitfedError ? err : errors.internal(messageOf(err), err);
  if (e.code >= 500) log.warn({ code: e.code, err: e.message }, 'console request failed');
  if (res.headersSent) return void res.end();
  if (e.code === 401) res.setHeader('WWW-Authenticate', 'Bearer realm="kitfed"');
  sendJson(res, e.code, e.toStatus());
}

function bearer(req: IncomingMessage): string {
  const h = req.headers.authorization ?? '';
  const m = /^Bearer\s+(\S+)\s*$/i.exec(h);
  if (!m?.[1]) throw errors.unauthorized('a bearer token is required (Authorization: Bearer …)');
  return m[1];
}

/** Reads a small JSON request body (an optional object); 400 naming the problem otherwise. */
async function readJsonBody(req: IncomingMessage, limit = 16 * 1024): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw errors.badRequest(`the request body is larger than ${limit} bytes`);
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8').trim();
  if (!text) return {};
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (err) {
    throw errors.badRequest(`the request body is not JSON: ${messageOf(err)}`);
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw errors.badRequest('the request body must be a JSON object');
  return body as Record<string, unknown>;
}

const ROLLOUT_ROUTE = /^\/api\/runs\/(\d+)\/rollout\/([^/]+)$/;

export async function createConsole(options: ConsoleOptions): Promise<Console> {
  const log = options.log ?? createLogger('console');
  const assets = options.assets ?? (await loadAssets(log));
  const feeds = new Map<string, Feed>();
  const streams = new Set<ServerResponse>();
  const info: ConsoleInfo = {
    product: 'kitfed',
    federation: options.federation.server,
    webhooks: !!options.webhooksUrl,
    sandbox: !!options.sandboxAdminUrl,
  };

  const feedFor = async (token: string): Promise<Feed> => {
    const id = tokenId(token);
    let feed = feeds.get(id);
    if (!feed) {
      feed = new Feed(token, options, log, (idle) => {
        if (feeds.get(idle.id) === idle) feeds.delete(idle.id);
        void idle.close();
      });
      feeds.set(id, feed);
    }
    try {
      await feed.open();
      return feed;
    } catch (err) {
      // A rejected token or an unreachable API server: the next request starts over.
      if (feeds.get(id) === feed) feeds.delete(id);
      void feed.close();
      throw err;
    }
  };

  const stream = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const feed = await feedFor(bearer(req));
    res.writeHead(200, {
      ...SECURITY_HEADERS,
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-store',
      Connection: 'keep-alive',
      'X-Accel-Buffering': 'no',
    });
    res.socket?.setNoDelay(true);
    streams.add(res);
    const maxBuffered = options.maxBufferedBytes ?? 32 * 1024 * 1024;
    const send = (msg: StreamMessage) => {
      if (res.destroyed) return;
      res.write(`data: ${JSON.stringify(msg)}\n\n`);
      // A browser that cannot keep up is dropped; it reconnects and starts from a fresh state.
      if (res.writableLength > maxBuffered) res.destroy();
    };
    res.write(': kitfed console stream\n\n');
    const unsubscribe = feed.subscribe(send);
    const keepAlive = setInterval(() => res.write(': keep-alive\n\n'), options.keepAliveMs ?? 15_000);
    res.on('close', () => {
      clearInterval(keepAlive);
      streams.delete(res);
      unsubscribe();
    });
  };

  /**
   * `POST api/runs/{id}/rollout/{pause|resume|promote|abort}`: the signed-in user steers a rollout.
   * The webhook service authorizes the same bearer token; the action is recorded as done by the
   * user the federation API authenticated (not by whatever the browser claims).
   */
  const rolloutAction = async (
    req: IncomingMessage,
    res: ServerResponse,
    run: number,
    action: RolloutAction,
  ): Promise<void> => {
    const token = bearer(req);
    if (!options.webhooksUrl)
      throw new KitfedError('this console is not wired to a webhook service (no rollouts)', 503, 'ServiceUnavailable');
    const { user } = (await feedFor(token)).sessionInfo();
    const body = await readJsonBody(req);
    if (body.reason !== undefined && typeof body.reason !== 'string')
      throw errors.badRequest('reason: must be a string');
    const reason = typeof body.reason === 'string' && body.reason.trim() ? body.reason.trim().slice(0, 500) : undefined;
    const client = new GitopsClient(
      options.webhooksUrl,
      token,
      30_000,
      'the webhook service does not accept the token you signed in with',
    );
    const record = await client.act(run, action, { by: user, ...(reason ? { reason } : {}) });
    log.info({ run, action, user, phase: record.rollout?.phase }, 'rollout action');
    sendJson(res, 200, record);
  };

  const serveAsset = (req: IncomingMessage, res: ServerResponse, name: string): boolean => {
    const a = assets.get(name);
    if (!a) return false;
    const headers: Record<string, string | number> = {
      ...SECURITY_HEADERS,
      'Content-Type': a.contentType,
      ETag: a.etag,
      // index.html names the current bundle; the bundle is revalidated cheaply by its ETag.
      'Cache-Control': 'no-cache',
      Vary: 'Accept-Encoding',
    };
    if (matchesEtag(req.headers['if-none-match'], a.etag)) {
      res.writeHead(304, headers);
      res.end();
      return true;
    }
    const gzip = /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
    const body = gzip ? a.gzip : a.body;
    res.writeHead(200, {
      ...headers,
      'Content-Length': body.length,
      ...(gzip ? { 'Content-Encoding': 'gzip' } : {}),
    });
    res.end(req.method === 'HEAD' ? undefined : body);
    return true;
  };

  const route = async (req: IncomingMessage, res: ServerResponse, path: string): Promise<void> => {
    const method = req.method ?? 'GET';
    const rollout = ROLLOUT_ROUTE.exec(path);
    if (rollout) {
      const action = ROLLOUT_ACTIONS.find((a) => a === rollout[2]);
      if (!action) throw errors.notFound({ group: '', plural: 'paths', name: path });
      if (method !== 'POST') throw errors.methodNotAllowed();
      return rolloutAction(req, res, Number(rollout[1]), action);
    }
    if (method !== 'GET' && method !== 'HEAD') throw errors.methodNotAllowed();
    if (path === '/api/info') return sendJson(res, 200, info);
    if (path === '/api/session') return sendJson(res, 200, await feedFor(bearer(req)).then((f) => f.sessionInfo()));
    if (path === '/api/stream') return stream(req, res);
    if (path === '/api/pods') {
      const query = new URL(req.url ?? '/', 'http://x').searchParams;
      const namespace = query.get('namespace');
      const selector = query.get('selector');
      if (!namespace || !selector) throw errors.badRequest('api/pods needs ?namespace= and ?selector=');
      const feed = await feedFor(bearer(req));
      return sendJson(res, 200, await feed.memberPods(namespace, selector));
    }
    if (path.startsWith('/api/')) throw errors.notFound({ group: '', plural: 'paths', name: path });
    const name = path === '/' || path === '' ? 'index.html' : path.slice(1);
    if (!serveAsset(req, res, name)) throw errors.notFound({ group: '', plural: 'paths', name: path });
  };

  return {
    get connections() {
      return streams.size;
    },
    async handle(req, res, path) {
      try {
        await route(req, res, path);
      } catch (err) {
        sendError(res, err, log);
      }
    },
    async close() {
      for (const s of streams) s.destroy();
      streams.clear();
      await Promise.all([...feeds.values()].map((f) => f.close()));
      feeds.clear();
    },
  };
}

export interface ConsoleServer {
  /** Where to point a browser (ends with `/`). */
  readonly url: string;
  readonly console: Console;
  close(): Promise<void>;
}

/** The console on its own loopback listener (what `kitfed up` runs). */
export async function startConsoleServer(
  options: ConsoleOptions & { host?: string; port?: number },
): Promise<ConsoleServer> {
  const c = await createConsole(options);
  const server = http.createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://console').pathname;
    void c.handle(req, res, path);
  });
  server.keepAliveTimeout = 65_000;
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}/`,
    console: c,
    async close() {
      await c.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
