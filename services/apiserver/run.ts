import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import YAML from 'yaml';
import { createLogger } from '../core/log.js';
import { federationAdmission } from './federation-admission.js';
import { startApiServer, type ApiServer } from './server.js';

const log = createLogger('apiserver');

export interface RunApiServerOptions {
  listen: string;
  kubeconfigOut?: string;
  contextName?: string;
}

export function parseListen(listen: string): { host: string; port: number } {
  const idx = listen.lastIndexOf(':');
  if (idx < 0) throw new Error(`--listen must be host:port (got ${JSON.stringify(listen)})`);
  const port = Number(listen.slice(idx + 1));
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--listen port must be 0-65535 (got ${JSON.stringify(listen.slice(idx + 1))})`);
  return { host: listen.slice(0, idx).replace(/^\[|\]$/g, ''), port };
}

/** A kubeconfig with one context pointing at `server`. */
export function kubeconfigFor(server: string, context: string): string {
  return YAML.stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: context, cluster: { server } }],
    users: [{ name: context, user: {} }],
    contexts: [{ name: context, context: { cluster: context, user: context } }],
    'current-context': context,
  });
}

/** Runs the API server until SIGINT/SIGTERM. */
export async function runApiServer(opts: RunApiServerOptions): Promise<void> {
  const { host, port } = parseListen(opts.listen);
  const server: ApiServer = await startApiServer({ host, port, admission: federationAdmission() });
  log.info({ url: server.url, storage: server.registry.store.backend }, 'API server listening');
  if (opts.kubeconfigOut) {
    await mkdir(dirname(opts.kubeconfigOut), { recursive: true });
    await writeFile(opts.kubeconfigOut, kubeconfigFor(server.url, opts.contextName ?? 'federation'), { mode: 0o600 });
    log.info({ file: opts.kubeconfigOut }, 'kubeconfig written');
  }
  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      log.info('shutting down');
      void server.close().then(resolve);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}
