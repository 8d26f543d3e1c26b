/**
 * Deployer benchmark (issue 8): 50 manifests × 10 sandbox clusters, first deploy with `deploy()`
 * against the baseline of a sequential `kubectl apply -f DIR --context=C` loop over 10 other
 * sandbox clusters of the same run; then the zero-change redeploy of the same commit.
 *
 *   node --import tsx bench/deployer.ts
 *
 * Targets: ≥ 5× faster than the kubectl loop; redeploy of an unchanged commit ≤ 10% of the first deploy.
 */
import { execFile, spawn } from 'node:child_process';
import readline from 'node:readline';
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import YAML from 'yaml';
import type { KubeObject } from '../services/core/kube.js';
import { deploy } from '../services/deployer/index.js';

const run = promisify(execFile);
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CLUSTERS = 10;
const pad = (n: number): string => String(n).padStart(2, '0');

/** 50 objects: 10 Deployments, 10 Services, 20 ConfigMaps, 5 Secrets, 5 Ingresses. */
function manifests(cluster: string): KubeObject[] {
  const out: KubeObject[] = [];
  for (let i = 0; i < 10; i++) {
    const name = `svc-${pad(i)}`;
    out.push({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name, labels: { app: name } },
      spec: {
        replicas: 2,
        selector: { matchLabels: { app: name } },
        template: {
          metadata: { labels: { app: name } },
          spec: {
            containers: [
              { name, image: `registry.example.com/${name}:1.${i}`, env: [{ name: 'CLUSTER', value: cluster }] },
            ],
          },
        },
      },
    });
    out.push({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name, labels: { app: name } },
      spec: { selector: { app: name }, ports: [{ port: 80, targetPort: 8080 }] },
    });
  }
  for (let i = 0; i < 20; i++)
    out.push({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: `config-${pad(i)}` },
      data: { cluster, 'settings.json': JSON.stringify({ i, flags: Array.from({ length: 20 }, (_, k) => `f${k}`) }) },
    });
  for (let i = 0; i < 5; i++)
    out.push({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: `secret-${pad(i)}` },
      type: 'Opaque',
      stringData: { token: `bench-${i}` },
    });
  for (let i = 0; i < 5; i++) {
    const name = `svc-${pad(i)}`;
    out.push({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'Ingress',
      metadata: { name },
      spec: {
        rules: [
          {
            host: `${name}.${cluster}.example.com`,
            http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name, port: { number: 80 } } } }] },
          },
        ],
      },
    });
  }
  return out;
}

async function writeTree(dir: string, names: string[]): Promise<void> {
  for (const c of names) {
    await mkdir(path.join(dir, c), { recursive: true });
    await Promise.all(
      manifests(c).map((o) =>
        writeFile(path.join(dir, c, `${o.kind.toLowerCase()}-${o.metadata.name}.yaml`), YAML.stringify(o)),
      ),
    );
  }
}

/**
 * Sandbox clusters in a child process, so the deployer and kubectl both talk to servers outside
 * their own process. Line protocol on stdin: `reset` / `counts` (writes and reads per cluster).
 */
const CHILD = `
import { startSandbox } from ${JSON.stringify(path.join(ROOT, 'services/sandbox/index.ts'))};
import readline from 'node:readline';
const [prefix, n] = process.argv.slice(-2);
const clusters = Array.from({ length: Number(n) }, (_, j) => ({
  name: prefix + '-' + String(j).padStart(2, '0'),
  region: 'r' + (j % 3),
}));
const sb = await startSandbox({ clusters, readyDelayMs: 200 });
process.stdout.write(JSON.stringify({ kubeconfig: sb.kubeconfig(), names: sb.clusters.map((c) => c.name) }) + '\\n');
const rl = readline.createInterface({ input: process.stdin });
rl.on('line', (l) => {
  if (l === 'reset') { sb.clusters.forEach((c) => c.resetRequests()); process.stdout.write('{}\\n'); }
  if (l === 'counts') process.stdout.write(JSON.stringify(sb.clusters.map((c) => ({ writes: c.requests.writes, reads: c.requests.get }))) + '\\n');
});
rl.on('close', () => sb.close().then(() => process.exit(0)));
`;

interface Child {
  pid: number;
  kubeconfig: string;
  names: string[];
  ask(cmd: string): Promise<unknown>;
  close(): Promise<void>;
}

async function sandbox(prefix: string): Promise<Child> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', '--input-type=module', '-e', CHILD, prefix, String(CLUSTERS)],
    { cwd: ROOT, stdio: ['pipe', 'pipe', 'inherit'], env: { ...process.env, KITFED_LOG_LEVEL: 'warn' } },
  );
  const lines = readline.createInterface({ input: child.stdout });
  const queue: Array<(l: string) => void> = [];
  lines.on('line', (l) => queue.shift()?.(l));
  const next = (): Promise<string> => new Promise((r) => queue.push(r));
  const first = JSON.parse(await next()) as { kubeconfig: string; names: string[] };
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  return {
    ...first,
    pid: child.pid!,
    ask: async (cmd) => {
      const p = next();
      child.stdin.write(`${cmd}\n`);
      return JSON.parse(await p) as unknown;
    },
    close: () => {
      child.stdin.end();
      return exited;
    },
  };
}

/** CPU ms (user + system) a process has used so far. */
async function procCpuMs(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
}

function selfCpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const t = performance.now();
  const r = await fn();
  return [r, performance.now() - t];
}

async function main(): Promise<void> {
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'kitfed-bench-deployer-'));
  const clusters: Child[] = [];
  try {
    const dirs = { kubectl: path.join(tmp, 'kubectl'), kitfed: path.join(tmp, 'kitfed'), cli: path.join(tmp, 'cli') };
    const kc = {
      kubectl: path.join(tmp, 'kubectl.kubeconfig'),
      kitfed: path.join(tmp, 'kitfed.kubeconfig'),
      cli: path.join(tmp, 'cli.kubeconfig'),
    };
    // The render output exists before any deploy starts (as in the pipeline): written up front.
    for (const key of Object.keys(dirs) as Array<keyof typeof dirs>)
      await writeTree(
        dirs[key],
        Array.from({ length: CLUSTERS }, (_, j) => `${key}-${pad(j)}`),
      );
    const setup = async (key: keyof typeof dirs): Promise<Child> => {
      const c = await sandbox(key);
      clusters.push(c);
      await writeFile(kc[key], c.kubeconfig);
      return c;
    };

    // Baseline: the seed's sequential loop, kubectl apply (client-side) per cluster.
    const cache = path.join(tmp, 'kube-cache');
    const base = await setup('kubectl');
    let kubectlCpu = 0;
    const baseServerCpu0 = await procCpuMs(base.pid);
    const [, kubectlMs] = await timed(async () => {
      for (const c of base.names) {
        const { stderr } = await run(
          '/usr/bin/time',
          [
            '-f',
            'CPU %U %S',
            'kubectl',
            '--kubeconfig',
            kc.kubectl,
            '--cache-dir',
            cache,
            `--context=${c}`,
            'apply',
            '-f',
            path.join(dirs.kubectl, c),
          ],
          { maxBuffer: 1 << 24 },
        );
        const m = /CPU ([\d.]+) ([\d.]+)/.exec(stderr);
        kubectlCpu += m ? (Number(m[1]) + Number(m[2])) * 1000 : 0;
      }
    });
    const kubectlServerCpu = (await procCpuMs(base.pid)) - baseServerCpu0;
    await base.close();

    const ours = await setup('kitfed');
    const opts = {
      dir: dirs.kitfed,
      kubeconfig: kc.kitfed,
      commit: 'bench1',
      commitTime: '2026-11-22T00:00:00Z',
      timeoutMs: 120_000,
    };
    const oursServerCpu0 = await procCpuMs(ours.pid);
    const selfCpu0 = selfCpuMs();
    const [first, firstMs] = await timed(() => deploy({ ...opts, wait: false }));
    const kitfedCpu = selfCpuMs() - selfCpu0;
    const kitfedServerCpu = (await procCpuMs(ours.pid)) - oursServerCpu0;
    if (!first.ok) throw new Error(`first deploy failed: ${JSON.stringify(first.clusters.map((c) => c.error))}`);
    const [healthy, healthMs] = await timed(() => deploy(opts));
    if (!healthy.ok) throw new Error(`health deploy failed: ${JSON.stringify(healthy.clusters.map((c) => c.error))}`);
    await ours.ask('reset');
    const selfCpu1 = selfCpuMs();
    const [again, againMs] = await timed(() => deploy(opts));
    const redeployCpu = selfCpuMs() - selfCpu1;
    const counts = (await ours.ask('counts')) as Array<{ writes: number; reads: number }>;
    const writes = counts.reduce((n, c) => n + c.writes, 0);
    const reads = counts.reduce((n, c) => n + c.reads, 0);
    if (!again.ok) throw new Error('redeploy failed');
    // The same redeploy from a fresh `kitfed deploy` process (no parse cache; node + tsx start-up included).
    const [, cliRedeployMs] = await timed(() =>
      run(
        process.execPath,
        [
          '--import',
          'tsx',
          path.join(ROOT, 'services/cli/kitfed.ts'),
          'deploy',
          opts.dir,
          '--kubeconfig',
          opts.kubeconfig,
          '--commit',
          opts.commit,
          '--commit-time',
          opts.commitTime,
          '-o',
          'json',
        ],
        { cwd: ROOT, maxBuffer: 1 << 26 },
      ),
    );
    await ours.close();

    // The whole CLI process (node + tsx start-up) on fresh clusters, first deploy with the health wait.
    const [, startupMs] = await timed(() =>
      run(process.execPath, ['--import', 'tsx', path.join(ROOT, 'services/cli/kitfed.ts'), 'deploy', '--help'], {
        cwd: ROOT,
      }),
    );
    await setup('cli');
    const [, cliMs] = await timed(() =>
      run(
        process.execPath,
        [
          '--import',
          'tsx',
          path.join(ROOT, 'services/cli/kitfed.ts'),
          'deploy',
          dirs.cli,
          '--kubeconfig',
          kc.cli,
          '-o',
          'json',
          '--no-wait',
        ],
        { cwd: ROOT, maxBuffer: 1 << 26 },
      ),
    );

    const r = (x: number): number => Math.round(x);
    const figures = {
      manifests: 50,
      clusters: CLUSTERS,
      kubectlLoopMs: r(kubectlMs),
      firstDeployMs: r(firstMs),
      firstDeployWithHealthMs: r(healthMs),
      redeployMs: r(againMs),
      redeployCpuMs: r(redeployCpu),
      cliProcessRedeployMs: r(cliRedeployMs),
      cliProcessFirstDeployMs: r(cliMs),
      cliStartupMs: r(startupMs),
      kubectlClientCpuMs: r(kubectlCpu),
      kubectlServerCpuMs: r(kubectlServerCpu),
      kitfedClientCpuMs: r(kitfedCpu),
      kitfedServerCpuMs: r(kitfedServerCpu),
      speedup: +(kubectlMs / firstMs).toFixed(1),
      clientCpuRatio: +(kubectlCpu / kitfedCpu).toFixed(1),
      speedupCliProcess: +(kubectlMs / cliMs).toFixed(1),
      // Like with like: the redeploy is a full deploy (apply + health check), as is the first deploy with its health
      // wait.
      redeployOverFirst: +(againMs / healthMs).toFixed(3),
      redeployOverFirstNoWait: +(againMs / firstMs).toFixed(3),
      cliRedeployOverCliFirst: +(cliRedeployMs / cliMs).toFixed(3),
      redeployWrites: writes,
      redeployReads: reads,
      cpus: os.cpus().length,
      loadavg: os.loadavg().map((l) => +l.toFixed(2)),
    };
    console.log(
      `machine: ${os.cpus().length}× ${os.cpus()[0]?.model ?? '?'}, node ${process.version}, load ${figures.loadavg.join(' ')}`,
    );
    console.log(`kubectl apply loop, ${CLUSTERS} clusters × 50 manifests, sequential: ${figures.kubectlLoopMs} ms`);
    console.log(
      `kitfed deploy() first deploy (no health wait):               ${figures.firstDeployMs} ms  → ${figures.speedup}× faster (target ≥ 5×)`,
    );
    console.log(
      `CPU time, kubectl loop: kubectl ${figures.kubectlClientCpuMs} ms + servers ${figures.kubectlServerCpuMs} ` +
        `ms; kitfed first deploy: deployer ${figures.kitfedClientCpuMs} ms + servers ${figures.kitfedServerCpuMs} ` +
        `ms (client CPU ratio ${figures.clientCpuRatio}×)`,
    );
    console.log(
      `kitfed deploy CLI process, first deploy (node+tsx start-up):  ${figures.cliProcessFirstDeployMs} ` +
        `ms  → ${figures.speedupCliProcess}× faster (start-up alone, kitfed deploy --help: ${figures.cliStartupMs} ms)`,
    );
    console.log(
      `kitfed deploy() again with the health wait (until 100 Deployments are available): ${figures.firstDeployWithHealthMs} ms`,
    );
    console.log(
      `kitfed redeploy of the same commit (apply + health check):   ${figures.redeployMs} ms  = ` +
        `${(figures.redeployOverFirst * 100).toFixed(1)}% of the first deploy with its health wait ` +
        `(target ≤ 10%); ${(figures.redeployOverFirstNoWait * 100).toFixed(1)}% of the first deploy ` +
        `without it; writes ${writes}, reads ${reads}, deployer CPU ${figures.redeployCpuMs} ms`,
    );
    console.log(
      `kitfed deploy CLI process, redeploy:                         ${figures.cliProcessRedeployMs} ` +
        `ms  = ${(figures.cliRedeployOverCliFirst * 100).toFixed(1)}% of the CLI first deploy`,
    );
    console.log(JSON.stringify({ bench: 'deployer', ...figures }));
  } finally {
    await Promise.all(clusters.map((c) => c.close()));
    await rm(tmp, { recursive: true, force: true });
  }
}

await main();
