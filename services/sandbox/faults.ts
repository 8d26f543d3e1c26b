import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * Runtime fault injection for one sandbox cluster, applied by the API server's `intercept`
 * hook (hang, latency, 5xx, unhealthy) and by stopping its listener (down).
 */

export type FaultAction = 'down' | 'up' | 'hang' | 'latency' | 'errors' | 'unhealthy' | 'healthy';
export const FAULT_ACTIONS: readonly FaultAction[] = [
  'down',
  'up',
  'hang',
  'latency',
  'errors',
  'unhealthy',
  'healthy',
];

export interface FaultState {
  /** Not listening: clients get connection refused. */
  down: boolean;
  /** Requests are accepted and never answered (until the fault is cleared). */
  hang: boolean;
  /** Added before every request is served. */
  latencyMs: number;
  /** Probability (0-1) that an API request fails with a 500 Status. */
  errorRate: number;
  /** /healthz, /livez and /readyz answer 500. */
  unhealthy: boolean;
}

export function noFaults(): FaultState {
  return { down: false, hang: false, latencyMs: 0, errorRate: 0, unhealthy: false };
}

const HEALTH = new Set(['/healthz', '/livez', '/readyz']);

export class FaultInjector {
  state: FaultState = noFaults();
  private readonly hung = new Map<(handled: boolean) => void, ServerResponse>();

  /** Applies an action to the state (not `down`/`up` listening, which the cluster does). */
  apply(action: FaultAction, value?: number): void {
    switch (action) {
      case 'down':
        this.state.down = true;
        break;
      case 'up':
        this.state = noFaults();
        break;
      case 'hang':
        this.state.hang = true;
        break;
      case 'latency':
        this.state.latencyMs = Math.max(0, value ?? 0);
        break;
      case 'errors':
        this.state.errorRate = Math.min(1, Math.max(0, value ?? 0));
        break;
      case 'unhealthy':
        this.state.unhealthy = true;
        break;
      case 'healthy':
        this.state.unhealthy = false;
        break;
    }
    if (!this.state.hang) this.release();
  }

  /** Lets hung requests through (they are served normally). */
  private release(): void {
    for (const resolve of [...this.hung.keys()]) resolve(false);
    this.hung.clear();
  }

  /** Drops hung requests' connections (the cluster is closing). */
  dropHung(): void {
    for (const [resolve, res] of [...this.hung]) {
      resolve(true);
      res.socket?.destroy();
    }
    this.hung.clear();
  }

  readonly intercept = async (req: IncomingMessage, res: ServerResponse): Promise<boolean> => {
    const path = (req.url ?? '/').split('?')[0]!.replace(/\/+$/, '') || '/';
    const s = this.state;
    if (s.hang) {
      const handled = await new Promise<boolean>((resolve) => {
        const done = (v: boolean) => {
          this.hung.delete(done);
          resolve(v);
        };
        this.hung.set(done, res);
        res.once('close', () => done(true));
      });
      if (handled || res.destroyed) return true;
    }
    if (s.latencyMs > 0) {
      await new Promise((r) => setTimeout(r, s.latencyMs));
      if (res.destroyed) return true;
    }
    if (HEALTH.has(path)) {
      if (!s.unhealthy) return false;
      res.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8' });
      res.end(`[+]ping ok\n[-]etcd failed: reason withheld (sandbox fault injection)\n${path.slice(1)} check failed\n`);
      return true;
    }
    if (s.errorRate > 0 && Math.random() < s.errorRate) {
      const body = JSON.stringify({
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message: 'Internal error occurred: injected fault (sandbox)',
        reason: 'InternalError',
        details: { causes: [{ message: 'injected fault (sandbox)' }] },
        code: 500,
      });
      res.writeHead(500, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
      res.end(body);
      return true;
    }
    return false;
  };
}
