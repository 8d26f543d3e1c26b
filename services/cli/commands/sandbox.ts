import { columns } from '../../core/columns.js';
import type { Command } from 'commander';
import { UsageError } from '../lib/usage.js';
import { intFlag } from '../lib/flags.js';

interface SandboxFlags {
  clusters: string;
  names?: string;
  regions?: string;
  zones: string;
  capacity?: string;
  readyDelay: string;
  kubeconfigOut?: string;
  portBase?: string;
  host: string;
  adminListen: string;
  failImage?: string;
  tls?: boolean;
}

const ACTIONS = ['down', 'up', 'hang', 'latency', 'errors', 'unhealthy', 'healthy'];

function list(value: string | undefined): string[] | undefined {
  return value === undefined
    ? undefined
    : value
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
}

function listen(value: string): { host: string; port: number } {
  const idx = value.lastIndexOf(':');
  const port = Number(value.slice(idx + 1));
  if (idx < 0 || !Number.isInteger(port) || port < 0 || port > 65535)
    throw new UsageError(`--admin-listen must be host:port (got ${JSON.stringify(value)})`);
  return { host: value.slice(0, idx).replace(/^\[|\]$/g, ''), port };
}

function registerFault(sandbox: Command): void {
  sandbox
    .command('fault')
    .description(
      'Inject or clear a fault in a running sandbox cluster: down|up|hang|latency MS|errors RATE|unhealthy|healthy',
    )
    .argument('<cluster>', 'cluster name (its kubeconfig context)')
    .argument('<action>', ACTIONS.join('|'))
    .argument('[value]', 'milliseconds for latency, probability 0-1 for errors')
    .option('--admin <url>', 'the sandbox admin endpoint (default: $KITFED_SANDBOX_ADMIN or http://127.0.0.1:7480)')
    .addHelpText(
      'after',
      '\n' +
        'Examples:\n' +
        '  kitfed sandbox fault cluster-2 down\n' +
        '  kitfed sandbox fault cluster-2 latency 500\n' +
        '  kitfed sandbox fault cluster-2 errors 0.3\n' +
        '  kitfed sandbox fault cluster-2 up      # back up, every fault cleared\n',
    )
    .action(async (cluster: string, action: string, value: string | undefined, opts: { admin?: string }) => {
      if (!ACTIONS.includes(action))
        throw new UsageError(`action must be one of ${ACTIONS.join(', ')} (got ${JSON.stringify(action)})`);
      const needsValue = action === 'latency' || action === 'errors';
      if (needsValue && value === undefined)
        throw new UsageError(
          `${action} needs a value (${action === 'latency' ? 'milliseconds' : 'a probability from 0 to 1'})`,
        );
      if (!needsValue && value !== undefined) throw new UsageError(`${action} takes no value`);
      const n = value === undefined ? undefined : Number(value);
      if (n !== undefined && (!Number.isFinite(n) || n < 0 || (action === 'errors' && n > 1)))
        throw new UsageError(`invalid ${action} value ${JSON.stringify(value)}`);
      const { sendFault } = await import('../../sandbox/index.js');
      const admin = opts.admin ?? process.env.KITFED_SANDBOX_ADMIN ?? 'http://127.0.0.1:7480';
      const res = await sendFault(admin, cluster, action, n);
      process.stdout.write(`${JSON.stringify(res.body, null, 2)}\n`);
      if (res.status === 404 || res.status === 400)
        throw new UsageError(
          typeof res.body === 'object' && res.body !== null
            ? String((res.body as { error?: string }).error)
            : String(res.body),
        );
      if (res.status >= 400) process.exitCode = 1;
    });
}

const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 };

/** `90`, `90s`, `5m`, `2h`, `1d` → seconds. */
function durationSeconds(text: string): number {
  const m = /^(\d+(?:\.\d+)?)([smhd]?)$/.exec(text.trim());
  if (!m)
    throw new UsageError(`duration must be a number of seconds or like 90s, 5m, 2h, 1d (got ${JSON.stringify(text)})`);
  return Number(m[1]) * UNITS[m[2] || 's']!;
}

/** Prints the admin endpoint's answer; a 400/404 (bad value, unknown cluster) is a usage error. */
function report(res: { status: number; body: unknown }): void {
  process.stdout.write(`${JSON.stringify(res.body, null, 2)}\n`);
  if (res.status === 404 || res.status === 400)
    throw new UsageError(
      typeof res.body === 'object' && res.body !== null
        ? String((res.body as { error?: string }).error)
        : String(res.body),
    );
  if (res.status >= 400) process.exitCode = 1;
}

const adminOf = (opts: { admin?: string }) => opts.admin ?? process.env.KITFED_SANDBOX_ADMIN ?? 'http://127.0.0.1:7480';

function registerSimulation(sandbox: Command): void {
  sandbox
    .command('clock')
    .description("Move a running sandbox's simulated clock forward (CronJob schedules, HPA windows)")
    .argument('<duration>', 'how far: seconds, or 90s, 5m, 2h, 1d')
    .argument('[cluster]', 'one cluster (default: every cluster)')
    .option('--admin <url>', 'the sandbox admin endpoint (default: $KITFED_SANDBOX_ADMIN or http://127.0.0.1:7480)')
    .addHelpText(
      'after',
      '\nExamples:\n  kitfed sandbox clock 5m            # every cluster\n  kitfed sandbox clock 1d east\n',
    )
    .action(async (duration: string, cluster: string | undefined, opts: { admin?: string }) => {
      const advanceSeconds = durationSeconds(duration);
      const { postAdmin } = await import('../../sandbox/index.js');
      const path = cluster === undefined ? '/clock' : `/clusters/${encodeURIComponent(cluster)}/clock`;
      report(await postAdmin(adminOf(opts), path, { advanceSeconds }));
    });
  sandbox
    .command('metrics')
    .description(
      'Set the simulated utilisation (percent of requests) that HorizontalPodAutoscalers see in a sandbox cluster',
    )
    .argument('<cluster>', 'cluster name')
    .option('--cpu <percent>', 'CPU utilisation; "none" clears it')
    .option('--memory <percent>', 'memory utilisation; "none" clears it')
    .option('--admin <url>', 'the sandbox admin endpoint (default: $KITFED_SANDBOX_ADMIN or http://127.0.0.1:7480)')
    .addHelpText(
      'after',
      '\nExamples:\n  kitfed sandbox metrics east --cpu 90\n  kitfed sandbox metrics east --cpu none\n',
    )
    .action(async (cluster: string, opts: { cpu?: string; memory?: string; admin?: string }) => {
      const body: Record<string, number | null> = {};
      for (const [flag, key] of [
        ['cpu', 'cpuUtilization'],
        ['memory', 'memoryUtilization'],
      ] as const) {
        const v = opts[flag];
        if (v === undefined) continue;
        const n = Number(v);
        if (v !== 'none' && (v.trim() === '' || !Number.isFinite(n) || n < 0))
          throw new UsageError(`--${flag} must be a percentage (0 or more) or "none" (got ${JSON.stringify(v)})`);
        body[key] = v === 'none' ? null : n;
      }
      if (Object.keys(body).length === 0) throw new UsageError('give --cpu and/or --memory');
      const { postAdmin } = await import('../../sandbox/index.js');
      report(await postAdmin(adminOf(opts), `/clusters/${encodeURIComponent(cluster)}/metrics`, body));
    });
}

interface ClusterRow {
  name: string;
  url: string;
  region: string;
  zones: string[];
  capacity: number;
  faults: { down: boolean; hang: boolean; latencyMs: number; errorRate: number; unhealthy: boolean };
  requests: { writes: number; get: number };
  pods: { bound: number; unschedulable: number };
}

function faultText(f: ClusterRow['faults']): string {
  const parts = [
    f.down ? 'down' : '',
    f.hang ? 'hang' : '',
    f.latencyMs ? `latency ${f.latencyMs}ms` : '',
    f.errorRate ? `errors ${f.errorRate}` : '',
    f.unhealthy ? 'unhealthy' : '',
  ].filter(Boolean);
  return parts.join(', ') || '-';
}

function registerStatus(sandbox: Command): void {
  sandbox
    .command('status')
    .description('List the clusters of a running sandbox: URL, region, zones, pods, faults, API requests')
    .option('--admin <url>', 'the sandbox admin endpoint (default: $KITFED_SANDBOX_ADMIN or http://127.0.0.1:7480)')
    .option('-o, --output <format>', 'table or json', 'table')
    .action(async (opts: { admin?: string; output: string }) => {
      if (opts.output !== 'table' && opts.output !== 'json')
        throw new UsageError(`--output must be table or json (got ${JSON.stringify(opts.output)})`);
      const { sandboxStatus } = await import('../../sandbox/index.js');
      const res = await sandboxStatus(opts.admin ?? process.env.KITFED_SANDBOX_ADMIN ?? 'http://127.0.0.1:7480');
      if (res.status !== 200) {
        process.stderr.write(`${JSON.stringify(res.body)}\n`);
        process.exitCode = 1;
        return;
      }
      const clusters = (res.body as { clusters: ClusterRow[] }).clusters;
      if (opts.output === 'json') {
        process.stdout.write(`${JSON.stringify(clusters, null, 2)}\n`);
        return;
      }
      process.stdout.write(
        columns(
          ['NAME', 'URL', 'REGION', 'ZONES', 'PODS', 'UNSCHEDULABLE', 'CAPACITY', 'FAULTS', 'WRITES'],
          clusters.map((c) => [
            c.name,
            c.url,
            c.region,
            c.zones.join(','),
            c.pods.bound,
            c.pods.unschedulable,
            c.capacity,
            faultText(c.faults),
            c.requests.writes,
          ]),
        ),
      );
    });
}

export function register(program: Command): void {
  const sandbox = program
    .command('sandbox')
    .description(
      'Run simulated member clusters (real API endpoints, simulated workloads, fault injection) until interrupted',
    )
    .option('--clusters <n>', 'number of clusters', '3')
    .option('--names <a,b,c>', 'cluster names (default cluster-1..N)')
    .option('--regions <r1,r2>', 'regions, cycled over the clusters (default us-east1,europe-west1,asia-east1)')
    .option('--zones <n>', 'zones per cluster, one node each (<region>-a, -b, ...)', '3')
    .option('--capacity <pods>', 'pod capacity per cluster (default 110 per node)')
    .option('--ready-delay <ms>', 'time for a pod to become Running and Ready', '1000')
    .option('--kubeconfig-out <file>', 'write a kubeconfig with one context per cluster (required)')
    .option('--port-base <port>', 'cluster i listens on port-base + i (default: free ports)')
    .option('--host <host>', 'address the clusters listen on', '127.0.0.1')
    .option('--admin-listen <host:port>', 'admin endpoint for fault injection', '127.0.0.1:7480')
    .option('--tls', 'serve HTTPS with a sandbox CA and require bearer tokens (in the kubeconfig)')
    .option(
      '--fail-image <regex>',
      'images matching this never pull (default bad|invalid|doesnotexist|does-not-exist|nonexistent)',
    )
    .addHelpText(
      'after',
      '\n' +
        'Examples:\n' +
        '  kitfed sandbox --clusters 3 --kubeconfig-out .kitfed/sandbox.kubeconfig\n' +
        '  kitfed sandbox --clusters 2 --names east,west --regions us-east1,us-west1 --capacity 20 --kubeconfig-out /tmp/kc\n' +
        '  kubectl --kubeconfig /tmp/kc --context east get nodes -L topology.kubernetes.io/zone\n',
    )
    .action(async (flags: SandboxFlags) => {
      if (!flags.kubeconfigOut) throw new UsageError("required option '--kubeconfig-out <file>' not specified");
      const kubeconfigOut = flags.kubeconfigOut;
      const clusters = intFlag('--clusters', flags.clusters, 1, 1000);
      const names = list(flags.names);
      if (names && names.length !== clusters)
        throw new UsageError(`--names lists ${names.length} names for ${clusters} clusters`);
      const failImage = flags.failImage;
      if (failImage !== undefined) {
        try {
          new RegExp(failImage);
        } catch (err) {
          throw new UsageError(`--fail-image: ${(err as Error).message}`);
        }
      }
      const admin = listen(flags.adminListen);
      const { runSandbox } = await import('../../sandbox/index.js');
      try {
        await runSandbox({
          clusters,
          names,
          regions: list(flags.regions),
          zones: intFlag('--zones', flags.zones, 1, 26),
          capacity: flags.capacity === undefined ? undefined : intFlag('--capacity', flags.capacity, 0),
          readyDelayMs: intFlag('--ready-delay', flags.readyDelay, 0),
          kubeconfigOut,
          portBase: flags.portBase === undefined ? undefined : intFlag('--port-base', flags.portBase, 1, 65535),
          host: flags.host,
          adminHost: admin.host,
          adminPort: admin.port,
          failImage,
          tls: flags.tls === true,
        });
      } catch (err) {
        if (err instanceof RangeError) throw new UsageError(err.message);
        throw err;
      }
    });
  registerFault(sandbox);
  registerStatus(sandbox);
  registerSimulation(sandbox);
}
