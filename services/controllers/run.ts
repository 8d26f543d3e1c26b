import http from 'node:http';
import { parseDuration as parseMs } from '../core/duration.js';
import { createLogger } from '../core/log.js';
import { runUntilSignal } from '../core/process.js';
import { startControllers } from './manager.js';
import { exclusionList } from './propagation/catalog.js';

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
  /** Rules added to the default exclusion list (`RESOURCE[.GROUP][/NAMESPACE]/NAME`). */
  exclude?: string[];
  /** Ids of default exclusion rules to drop (e.g. `rbac-defaults`). */
  include?: string[];
}

/** `kitfed controllers`: runs the controller manager (and /metrics) until SIGINT/SIGTERM. */
export async function runControllers(opts: RunControllersOptions): Promise<void> {
  const exclusions = exclusionList({ exclude: opts.exclude, include: opts.include });
  const running = await startControllers({
    kubeconfig: { file: opts.kubeconfig },
    context: opts.context,
    leaderElect: opts.leaderElect,
    leaseDurationMs: opts.leaderElectLeaseDuration ? parseDuration(opts.leaderElectLeaseDuration) : undefined,
    renewDeadlineMs: opts.leaderElectRenewDeadline ? parseDuration(opts.leaderElectRenewDeadline) : undefined,
    retryPeriodMs: opts.leaderElectRetryPeriod ? parseDuration(opts.leaderElectRetryPeriod) : undefined,
    clusterMonitorPeriodMs: parseDuration(opts.clusterMonitorPeriod),
    exclusions,
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
