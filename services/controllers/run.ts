import http from 'node:http';
import { parseDuration as parseMs } from '../core/duration.js';
import { createLogger } from '../core/log.js';
import { runUntilSignal } from '../core/process.js';
import { startControllers } from './index.js';

const log = createLogger('controller-manager');

/** "10s", "200ms", "1m", "1h" or a number of milliseconds. */
export function parseDuration(text: string): number {
  const ms = parseMs(text, 'ms');
  if (ms === undefined) throw new Error(`not a duration: ${JSON.stringify(text)} (use e.g. 10s, 500ms, 1m)`);
  return ms;
}

export interface RunControllersOptions {
  kubeconfig: string;
  context?: string;
  leaderElect: boolean;
  leaderElectLeaseDuration?: string;
  leaderElectRenewDeadline?: string;
  leaderElectRetryPeriod?: string;
  clusterMonitorPeriod: string;
  metricsListen?: string;
  syncKinds?: string[];
}

/** `kitfed controllers`: runs the controller manager (and /metrics) until SIGINT/SIGTERM. */
export async function runControllers(opts: RunControllersOptions): Promise<void> {
  const extraKinds = (opts.syncKinds ?? []).map((spec) => {
    // apiVersion/Kind[:cluster]  e.g. batch/v1/Job or v1/ServiceAccount
    const cluster = spec.endsWith(':cluster');
    const s = cluster ? spec.slice(0, -':cluster'.length) : spec;
    const i = s.lastIndexOf('/');
    if (i < 0) throw new Error(`--sync-kind wants apiVersion/Kind (got ${JSON.stringify(spec)})`);
    return { apiVersion: s.slice(0, i), kind: s.slice(i + 1), namespaced: !cluster };
  });
  const running = await startControllers({
    kubeconfig: { file: opts.kubeconfig },
    context: opts.context,
    leaderElect: opts.leaderElect,
    leaseDurationMs: opts.leaderElectLeaseDuration ? parseDuration(opts.leaderElectLeaseDuration) : undefined,
    renewDeadlineMs: opts.leaderElectRenewDeadline ? parseDuration(opts.leaderElectRenewDeadline) : undefined,
    retryPeriodMs: opts.leaderElectRetryPeriod ? parseDuration(opts.leaderElectRetryPeriod) : undefined,
    clusterMonitorPeriodMs: parseDuration(opts.clusterMonitorPeriod),
    extraKinds,
  });
  let server: http.Server | undefined;
  if (opts.metricsListen) {
    const i = opts.metricsListen.lastIndexOf(':');
    const host = opts.metricsListen.slice(0, i) || '127.0.0.1';
    const port = Number(opts.metricsListen.slice(i + 1));
    server = http.createServer((req, res) => {
      if (req.url === '/metrics') {
        void running.metrics.registry.metrics().then((body) => {
          res.writeHead(200, { 'Content-Type': running.metrics.registry.contentType });
          res.end(body);
        });
      } else if (req.url === '/healthz' || req.url === '/readyz') {
        res.writeHead(200, { 'Content-Type': 'text/plain' });
        res.end('ok');
      } else {
        res.writeHead(404);
        res.end();
      }
    });
    await new Promise<void>((resolve) => server!.listen(port, host, resolve));
    const addr = server.address();
    log.info(
      { metrics: typeof addr === 'object' && addr ? `http://${host}:${addr.port}/metrics` : opts.metricsListen },
      'metrics listening',
    );
  }
  log.info({ identity: running.identity, leaderElect: opts.leaderElect }, 'controller manager running');
  await runUntilSignal(async () => {
    await running.stop();
    await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  }, log);
}
