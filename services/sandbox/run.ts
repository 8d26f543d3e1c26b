import { mkdir, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { answerOf } from '../core/http.js';
import { createLogger } from '../core/log.js';
import { runUntilSignal } from '../core/process.js';
import { startSandbox, type SandboxClusterSpec } from './sandbox.js';

const log = createLogger('sandbox');

export const DEFAULT_REGIONS = ['us-east1', 'europe-west1', 'asia-east1'];
export const DEFAULT_ADMIN = '127.0.0.1:7480';

export interface RunSandboxOptions {
  clusters: number;
  names?: string[];
  regions?: string[];
  /** Zones per cluster (`<region>-a`, `-b`, ...). */
  zones: number;
  capacity?: number;
  readyDelayMs: number;
  kubeconfigOut: string;
  portBase?: number;
  host: string;
  adminHost: string;
  adminPort: number;
  failImage?: string;
  tls?: boolean;
}

export function clusterSpecs(
  opts: Pick<RunSandboxOptions, 'clusters' | 'names' | 'regions' | 'zones' | 'capacity'>,
): SandboxClusterSpec[] {
  const regions = opts.regions && opts.regions.length > 0 ? opts.regions : DEFAULT_REGIONS;
  return Array.from({ length: opts.clusters }, (_, i) => {
    const region = regions[i % regions.length]!;
    return {
      name: opts.names?.[i] ?? `cluster-${i + 1}`,
      region,
      zones: Array.from({ length: opts.zones }, (_, z) => `${region}-${String.fromCharCode(97 + z)}`),
      ...(opts.capacity !== undefined ? { capacity: opts.capacity } : {}),
    };
  });
}

/** Runs sandbox clusters until SIGINT/SIGTERM, with the kubeconfig written and the admin endpoint up. */
export async function runSandbox(opts: RunSandboxOptions): Promise<void> {
  const sandbox = await startSandbox({
    clusters: clusterSpecs(opts),
    readyDelayMs: opts.readyDelayMs,
    host: opts.host,
    portBase: opts.portBase,
    adminPort: opts.adminPort,
    adminHost: opts.adminHost,
    tls: opts.tls,
    ...(opts.failImage ? { failImagePattern: new RegExp(opts.failImage) } : {}),
  });
  await mkdir(dirname(opts.kubeconfigOut), { recursive: true });
  const tmp = `${opts.kubeconfigOut}.${process.pid}.tmp`;
  await writeFile(tmp, sandbox.kubeconfig(), { mode: 0o600 });
  await rename(tmp, opts.kubeconfigOut);
  for (const c of sandbox.clusters)
    process.stdout.write(`cluster ${c.name} ${c.url} region=${c.region} zones=${c.zones.join(',')}\n`);
  process.stdout.write(`admin ${sandbox.adminUrl ?? ''}\nkubeconfig ${opts.kubeconfigOut}\n`);
  log.info(
    { clusters: sandbox.clusters.length, admin: sandbox.adminUrl, kubeconfig: opts.kubeconfigOut },
    'sandbox running',
  );
  await runUntilSignal(() => sandbox.close(), log);
}

/** `kitfed sandbox fault`: posts an action to a running sandbox's admin endpoint. */
export async function sendFault(
  adminUrl: string,
  cluster: string,
  action: string,
  value?: number,
): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`${adminUrl.replace(/\/+$/, '')}/clusters/${encodeURIComponent(cluster)}/fault`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(value === undefined ? { action } : { action, value }),
    signal: AbortSignal.timeout(10_000),
  });
  return answerOf(res);
}

/** POSTs a JSON body to the admin endpoint (`/clock`, `/clusters/NAME/clock`, `/clusters/NAME/metrics`). */
export async function postAdmin(
  adminUrl: string,
  path: string,
  body: unknown,
): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`${adminUrl.replace(/\/+$/, '')}${path}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  return answerOf(res);
}

/** `kitfed sandbox status`: the clusters of a running sandbox, from its admin endpoint. */
export async function sandboxStatus(adminUrl: string): Promise<{ status: number; body: unknown }> {
  return answerOf(await fetch(`${adminUrl.replace(/\/+$/, '')}/clusters`, { signal: AbortSignal.timeout(10_000) }));
}
