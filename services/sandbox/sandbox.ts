import { buildKubeconfig } from '../core/kubeconfig.js';
import { createLogger } from '../core/log.js';
import { SandboxCluster } from './cluster.js';
import type { SimulatorConfig } from './context.js';
import type { Store } from '../apiserver/index.js';
import { startAdminServer, type AdminServer } from './admin.js';
import { SandboxCa } from './tls.js';

const log = createLogger('sandbox');

export interface SandboxClusterSpec {
  /** DNS label; also the kubeconfig context name. */
  name: string;
  region: string;
  /** @default [`${region}-a`] */
  zones?: string[];
  /** Pod capacity of the whole cluster. @default the sandbox's `capacity` */
  capacity?: number;
  /** @default the sandbox's `nodesPerZone` */
  nodesPerZone?: number;
  /** @default the sandbox's `readyDelayMs` */
  readyDelayMs?: number;
  /** Load balancer addresses: an IPv4 CIDR or a list. @default a slice of the sandbox's `lbPool` */
  lbPool?: string | string[];
  /** @default the sandbox's `portBase` + index, or a free port */
  port?: number;
  /**
   * Images that crash-loop in this cluster only (an environment-specific failure).
   * @default the sandbox's `crashImagePattern`
   */
  crashImagePattern?: RegExp | string;
}

export interface SandboxOptions {
  clusters: SandboxClusterSpec[];
  /**
   * Each cluster's store (e.g. SQLite in a data dir, so a restart keeps the members' state).
   * @default a new MemoryStore
   */
  store?: (clusterName: string) => Promise<Store>;
  /** Pod start to Running and Ready. @default 500 */
  readyDelayMs?: number;
  /** Images matching this never pull. @default /bad|invalid|doesnotexist|does-not-exist|nonexistent/i */
  failImagePattern?: RegExp | string;
  /** Images matching this run and become Ready, then crash and loop in CrashLoopBackOff. @default /crash/i */
  crashImagePattern?: RegExp | string;
  /** IPv4 CIDR split evenly between the clusters' load balancer pools. @default 198.18.0.0/15 */
  lbPool?: string;
  /** Pods per cluster. @default 110 per node */
  capacity?: number;
  /** @default 1 */
  nodesPerZone?: number;
  /** @default 127.0.0.1 */
  host?: string;
  /** Cluster i listens on portBase + i (0: free ports). @default 0 */
  portBase?: number;
  /** Serve the fault/admin endpoint on this port (0: a free one); omitted: no admin endpoint. */
  adminPort?: number;
  /** @default `host` */
  adminHost?: string;
  /** Events the simulator keeps per cluster (older ones are deleted). @default 2000 */
  maxEvents?: number;
  /**
   * Serve HTTPS with a sandbox CA and require a bearer token (each cluster its own certificate
   * and token). @default false
   */
  tls?: boolean;
}

export interface Sandbox {
  readonly clusters: SandboxCluster[];
  cluster(name: string): SandboxCluster;
  /** A kubeconfig with one context per cluster (context name = cluster name), the first current. */
  kubeconfig(): string;
  /** Moves every cluster's simulated clock forward by `ms` (CronJob schedules, HPA windows). */
  advanceClock(ms: number): void;
  /** URL of the admin endpoint, when started with `adminPort`. */
  readonly adminUrl: string | undefined;
  close(): Promise<void>;
}

export const DEFAULT_FAIL_IMAGE = /bad|invalid|doesnotexist|does-not-exist|nonexistent/i;
export const DEFAULT_CRASH_IMAGE = /crash/i;

function ipToInt(ip: string): number {
  const parts = ip.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255))
    throw new RangeError(`not an IPv4 address: ${ip}`);
  return ((parts[0]! << 24) | (parts[1]! << 16) | (parts[2]! << 8) | parts[3]!) >>> 0;
}

function intToIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

/** Usable addresses of a CIDR (network and broadcast excluded), at most `max`, optionally the i-th of n slices. */
export function poolFromCidr(cidr: string, slice = 0, slices = 1, max = 256): string[] {
  const m = /^(\d+\.\d+\.\d+\.\d+)\/(\d+)$/.exec(cidr.trim());
  if (!m || Number(m[2]) > 30)
    throw new RangeError(`lbPool must be an IPv4 CIDR of at most /30 (got ${JSON.stringify(cidr)})`);
  const bits = Number(m[2]);
  const size = 2 ** (32 - bits);
  const base = (ipToInt(m[1]!) & (bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0)) >>> 0;
  const usable = size - 2;
  const per = Math.floor(usable / slices);
  if (per < 1) throw new RangeError(`lbPool ${cidr} is too small for ${slices} clusters`);
  const start = base + 1 + slice * per;
  return Array.from({ length: Math.min(per, max) }, (_, i) => intToIp(start + i));
}

function checkSpecs(specs: SandboxClusterSpec[]): void {
  if (specs.length === 0) throw new RangeError('a sandbox needs at least one cluster');
  const seen = new Set<string>();
  for (const s of specs) {
    if (!/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(s.name))
      throw new RangeError(`cluster name ${JSON.stringify(s.name)} must be a DNS label`);
    if (seen.has(s.name)) throw new RangeError(`duplicate cluster name ${s.name}`);
    seen.add(s.name);
    if (!s.region) throw new RangeError(`cluster ${s.name}: region is required`);
  }
}

function configFor(opts: SandboxOptions, s: SandboxClusterSpec, index: number): SimulatorConfig {
  const zones = s.zones && s.zones.length > 0 ? s.zones : [`${s.region}-a`];
  const nodesPerZone = s.nodesPerZone ?? opts.nodesPerZone ?? 1;
  const pattern = opts.failImagePattern ?? DEFAULT_FAIL_IMAGE;
  const crash = s.crashImagePattern ?? opts.crashImagePattern ?? DEFAULT_CRASH_IMAGE;
  const lbPool = Array.isArray(s.lbPool)
    ? s.lbPool
    : s.lbPool
      ? poolFromCidr(s.lbPool)
      : poolFromCidr(opts.lbPool ?? '198.18.0.0/15', index, opts.clusters.length);
  return {
    name: s.name,
    index,
    region: s.region,
    zones,
    nodesPerZone,
    capacity: s.capacity ?? opts.capacity ?? 110 * zones.length * nodesPerZone,
    readyDelayMs: s.readyDelayMs ?? opts.readyDelayMs ?? 500,
    failImage: typeof pattern === 'string' ? new RegExp(pattern) : pattern,
    crashImage: typeof crash === 'string' ? new RegExp(crash) : crash,
    lbPool,
    maxEvents: opts.maxEvents ?? 2000,
  };
}

export function kubeconfigFor(clusters: Array<{ name: string; url: string; caCert?: string; token?: string }>): string {
  return buildKubeconfig(clusters.map(({ url, ...c }) => ({ ...c, server: url })));
}

/** Starts N simulated member clusters in this process. */
export async function startSandbox(opts: SandboxOptions): Promise<Sandbox> {
  checkSpecs(opts.clusters);
  const started = Date.now();
  const ca = opts.tls ? await SandboxCa.create([opts.host ?? '127.0.0.1']) : undefined;
  const results = await Promise.allSettled(
    opts.clusters.map(async (s, i) =>
      SandboxCluster.start(configFor(opts, s, i), {
        host: opts.host,
        port: s.port ?? (opts.portBase ? opts.portBase + i : 0),
        identity: ca?.identity(s.name),
        store: await opts.store?.(s.name),
      }),
    ),
  );
  const clusters = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) {
    await Promise.all(clusters.map((c) => c.close()));
    throw failed.reason;
  }
  const byName = new Map(clusters.map((c) => [c.name, c]));
  let admin: AdminServer | undefined;
  const sandbox: Sandbox = {
    clusters,
    cluster(name) {
      const c = byName.get(name);
      if (!c) throw new RangeError(`no sandbox cluster named ${name}`);
      return c;
    },
    kubeconfig: () =>
      kubeconfigFor(clusters.map((c) => ({ name: c.name, url: c.url, caCert: c.caCert, token: c.token }))),
    advanceClock(ms) {
      for (const c of clusters) c.advanceClock(ms);
    },
    get adminUrl() {
      return admin?.url;
    },
    async close() {
      await admin?.close();
      await Promise.all(clusters.map((c) => c.close()));
    },
  };
  if (opts.adminPort !== undefined)
    admin = await startAdminServer(sandbox, { host: opts.adminHost ?? opts.host, port: opts.adminPort });
  log.info({ clusters: clusters.length, ms: Date.now() - started }, 'sandbox clusters started');
  return sandbox;
}
