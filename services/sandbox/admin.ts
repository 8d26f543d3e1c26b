import { createHash } from 'node:crypto';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { messageOf } from '../core/errors.js';
import { answerVersioned, VersionWatch, waitParam } from '../core/long-poll.js';
import { FAULT_ACTIONS, type FaultAction } from './faults.js';
import type { SandboxClusterState } from './cluster.js';
import type { Sandbox } from './sandbox.js';

/**
 * The sandbox's admin endpoint (one per process):
 *   GET  /clusters                      every cluster's URL, faults, request counts, pods
 *   GET  /clusters?view=state[&wait=S]  every cluster's state (no counters, no clock) with an ETag
 *                                       that moves only when a state does; a long poll with
 *                                       If-None-Match and wait (services/core/long-poll.ts)
 *   GET  /clusters/NAME                 one cluster
 *   POST /clusters/NAME/fault           {"action":"down|up|hang|latency|errors|unhealthy|healthy","value":N}
 *   POST /clusters/NAME/capacity        {"capacity":N}
 *   POST /clusters/NAME/clock           {"advanceSeconds":N}   moves the simulated clock (CronJobs, HPAs)
 *   POST /clusters/NAME/metrics         {"cpuUtilization":N,"memoryUtilization":N}   null clears
 *   POST /clock                         {"advanceSeconds":N}   every cluster's clock
 */

export interface AdminServer {
  readonly url: string;
  close(): Promise<void>;
}

class HttpError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  let text = '';
  for await (const chunk of req) {
    text += String(chunk);
    if (text.length > 65_536) throw new HttpError(413, 'body too large');
  }
  if (!text.trim()) return {};
  try {
    const v: unknown = JSON.parse(text);
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('not an object');
    return v as Record<string, unknown>;
  } catch (err) {
    throw new HttpError(400, `body must be a JSON object: ${(err as Error).message}`);
  }
}

function send(res: ServerResponse, code: number, body: unknown): void {
  const text = `${JSON.stringify(body, null, 2)}\n`;
  res.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

async function route(sandbox: Sandbox, states: VersionWatch, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://x');
  const path = url.pathname.replace(/\/+$/, '');
  const segs = path.split('/').filter(Boolean).map(decodeURIComponent);
  if (path === '/healthz') return send(res, 200, { ok: true });
  if (segs.length === 1 && segs[0] === 'clock' && req.method === 'POST') {
    const ms = advanceMs(await readJson(req));
    for (const c of sandbox.clusters) c.advanceClock(ms);
    return send(res, 200, { clusters: sandbox.clusters.map((c) => c.info()) });
  }
  if (segs[0] !== 'clusters') throw new HttpError(404, `no route ${path}`);
  if (segs.length === 1 && req.method === 'GET') {
    const view = url.searchParams.get('view');
    if (view === null) return send(res, 200, { clusters: sandbox.clusters.map((c) => c.info()) });
    if (view !== 'state') throw new HttpError(400, `view: must be state, not ${view.slice(0, 40)}`);
    let waitMs: number;
    try {
      waitMs = waitParam(url);
    } catch (err) {
      throw new HttpError(400, messageOf(err));
    }
    return answerVersioned(req, res, { watch: states, waitMs, body: () => ({ clusters: stateOf(sandbox) }) });
  }
  const cluster = sandbox.clusters.find((c) => c.name === segs[1]);
  if (!cluster) throw new HttpError(404, `no sandbox cluster named ${segs[1]}`);
  if (segs.length === 2 && req.method === 'GET') return send(res, 200, cluster.info());
  if (segs.length === 3 && req.method === 'POST' && segs[2] === 'fault') {
    const body = await readJson(req);
    const action = body.action as FaultAction;
    if (!FAULT_ACTIONS.includes(action)) throw new HttpError(400, `action must be one of ${FAULT_ACTIONS.join(', ')}`);
    const value = body.value === undefined ? undefined : Number(body.value);
    try {
      await cluster.fault(action, value);
    } catch (err) {
      if (err instanceof RangeError) throw new HttpError(400, err.message);
      throw err;
    }
    return send(res, 200, cluster.info());
  }
  if (segs.length === 3 && req.method === 'POST' && segs[2] === 'capacity') {
    const capacity = Number((await readJson(req)).capacity);
    if (!Number.isInteger(capacity) || capacity < 0)
      throw new HttpError(400, 'capacity must be a non-negative integer');
    await cluster.setCapacity(capacity);
    return send(res, 200, cluster.info());
  }
  if (segs.length === 3 && req.method === 'POST' && segs[2] === 'clock') {
    cluster.advanceClock(advanceMs(await readJson(req)));
    return send(res, 200, cluster.info());
  }
  if (segs.length === 3 && req.method === 'POST' && segs[2] === 'metrics') {
    const body = await readJson(req);
    const metrics: Record<string, number | undefined> = {};
    for (const k of ['cpuUtilization', 'memoryUtilization']) {
      if (!(k in body)) continue;
      const v = body[k];
      if (v !== null && (typeof v !== 'number' || !Number.isFinite(v) || v < 0))
        throw new HttpError(400, `${k} must be a non-negative number (percent of requests) or null`);
      metrics[k] = v === null ? undefined : v;
    }
    cluster.setMetrics(metrics);
    return send(res, 200, cluster.info());
  }
  throw new HttpError(req.method === 'GET' || req.method === 'POST' ? 404 : 405, `no route ${req.method} ${path}`);
}

function stateOf(sandbox: Sandbox): SandboxClusterState[] {
  return sandbox.clusters.map((c) => c.state());
}

function advanceMs(body: Record<string, unknown>): number {
  const s = body.advanceSeconds;
  if (typeof s !== 'number' || !Number.isFinite(s) || s < 0)
    throw new HttpError(400, 'advanceSeconds must be a non-negative number of seconds');
  return s * 1000;
}

export async function startAdminServer(
  sandbox: Sandbox,
  opts: { host?: string; port?: number } = {},
): Promise<AdminServer> {
  // A version of every cluster's state: its digest, so equal states have equal ETags.
  const states = new VersionWatch(() =>
    createHash('sha256')
      .update(JSON.stringify(stateOf(sandbox)))
      .digest('base64url')
      .slice(0, 22),
  );
  const unwatch = sandbox.clusters.map((c) => c.onStateChange(() => states.changed()));
  const server = http.createServer((req, res) => {
    route(sandbox, states, req, res).catch((err: unknown) => {
      if (res.headersSent) return void res.end();
      send(res, err instanceof HttpError ? err.code : 500, { error: err instanceof Error ? err.message : String(err) });
    });
  });
  const host = opts.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const stop of unwatch) stop();
        states.close();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
