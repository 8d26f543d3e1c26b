/**
 * Federation controller benchmark.
 *
 * 1. Propagation latency: a Secret created in the federation → present in every member
 *    (seen by a watch on each member), p50/p99, at 10 and 100 members. Targets: p99 ≤ 100 ms
 *    at 10, ≤ 250 ms at 100 (Federation v1: 10 s review delays; Karmada: p99 1.3 s at 100).
 * 2. Throughput: 10,000 Secrets × 10 members, time until all 100,000 copies exist, and the
 *    controller process' peak RSS. Target: ≤ 60 s, RSS ≤ 1 GiB.
 *
 * The API servers (federation + members) run in one child process (this file with --host);
 * the controller manager runs in this process, so its RSS is measured alone.
 *
 *   node --import tsx bench/controllers.ts [--members 10,100] [--samples 200] [--secrets 10000]
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import PQueue from 'p-queue';
import { buildKubeconfig } from '../services/core/kubeconfig.js';

const { values } = parseArgs({
  options: {
    host: { type: 'string' },
    role: { type: 'string', default: 'members' },
    members: { type: 'string', default: '10,100' },
    samples: { type: 'string', default: '200' },
    secrets: { type: 'string', default: '10000' },
    'throughput-members': { type: 'string', default: '10' },
  },
});

if (values.role === 'watch') {
  // Child: one watch per member on namespace bench; prints `name epochMs` when a Secret is in all of them.
  const { KubeClient } = await import('../services/core/kube-client.js');
  const urls = JSON.parse(values.host ?? '[]') as string[];
  const seen = new Map<string, number>();
  for (const url of urls) {
    const c = await KubeClient.fromKubeconfig({ text: buildKubeconfig([{ name: 'm', server: url }]) });
    await c.watch('v1', 'Secret', 'bench', { timeoutSeconds: 3600 }, (type, obj) => {
      if (type !== 'ADDED') return;
      const name = obj.metadata.name!;
      const n = (seen.get(name) ?? 0) + 1;
      seen.set(name, n);
      if (n === urls.length) process.stdout.write(`${name} ${performance.timeOrigin + performance.now()}\n`);
    });
  }
  process.stdout.write('ready\n');
  process.stdin.resume();
  process.stdin.on('end', () => process.exit(0));
} else if (values.host !== undefined) {
  // Child: the API servers.
  const { startApiServer } = await import('../services/apiserver/server.js');
  const { federationAdmission } = await import('../services/apiserver/federation-admission.js');
  const n = Number(values.host);
  const federation =
    values.role === 'federation'
      ? (await startApiServer({ admission: federationAdmission(), maxWatchesPerClient: 100_000 })).url
      : '';
  const members: string[] = [];
  for (let i = 0; i < n; i++) members.push((await startApiServer({ maxWatchesPerClient: 100_000 })).url);
  process.stdout.write(`${JSON.stringify({ federation, members })}\n`);
  process.stdin.resume();
  process.stdin.on('end', () => process.exit(0));
} else {
  await main();
}

interface Host {
  federation: string;
  members: string[];
  stop(): void;
}

/** The federation API server in one process, members in processes of up to 50 each. */
async function startHost(n: number): Promise<Host> {
  const spawnOne = async (role: string, count: number) => {
    const child = spawn(
      process.execPath,
      [
        '--max-old-space-size=8192',
        '--import',
        'tsx',
        fileURLToPath(import.meta.url),
        '--host',
        String(count),
        '--role',
        role,
      ],
      { stdio: ['pipe', 'pipe', 'inherit'], env: { ...process.env, KITFED_LOG_LEVEL: 'error' } },
    );
    const line = await new Promise<string>((resolve, reject) => {
      createInterface({ input: child.stdout! }).once('line', resolve);
      child.once('exit', (code) => reject(new Error(`host exited ${code}`)));
    });
    return { ...(JSON.parse(line) as { federation: string; members: string[] }), child };
  };
  const parts = [await spawnOne('federation', 0)];
  for (let left = n; left > 0; left -= 50) parts.push(await spawnOne('members', Math.min(50, left)));
  return {
    federation: parts[0]!.federation,
    members: parts.flatMap((p) => p.members),
    stop: () => parts.forEach((p) => p.child.stdin!.end()),
  };
}

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
}

async function setUp(n: number) {
  const { KubeClient } = await import('../services/core/kube-client.js');
  const { joinCluster } = await import('../services/controllers/join.js');
  const { startControllers } = await import('../services/controllers/index.js');
  const host = await startHost(n);
  const dir = await mkdtemp(join(tmpdir(), 'kitfed-bench-'));
  const names = host.members.map((_, i) => `c${i + 1}`);
  const kubeconfig = join(dir, 'kubeconfig');
  await writeFile(
    kubeconfig,
    buildKubeconfig([
      { name: 'federation', server: host.federation },
      ...names.map((name, i) => ({ name, server: host.members[i]! })),
    ]),
  );
  const fed = await KubeClient.fromKubeconfig({ file: kubeconfig }, 'federation', { maxSockets: 64 });
  await fed.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'bench' } });
  for (const name of names) await joinCluster(fed, name, { file: kubeconfig, context: name }, {});
  const controllers = await startControllers({ federation: fed, leaderElect: false, clusterMonitorPeriodMs: 2000 });
  // Wait for every cluster Ready in the controllers' view.
  for (;;) {
    if (controllers.context()?.members.ready().length === n) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  // Arrival in every member, seen by watches in a separate process (not charged to the controller).
  const arrivals = new Map<string, number>();
  const watcher = spawn(
    process.execPath,
    ['--import', 'tsx', fileURLToPath(import.meta.url), '--role', 'watch', '--host', JSON.stringify(host.members)],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  await new Promise<void>((resolve) => {
    createInterface({ input: watcher.stdout! }).on('line', (line) => {
      if (line === 'ready') return resolve();
      const [name, t] = line.split(' ');
      arrivals.set(name!, Number(t));
    });
  });
  // Member namespaces come from the federated Namespace.
  for (;;) {
    let ok = 0;
    for (const name of names) {
      const c = await KubeClient.fromKubeconfig({ file: kubeconfig }, name);
      if (await c.tryGet('v1', 'Namespace', undefined, 'bench')) ok++;
      c.close();
    }
    if (ok === n) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    fed,
    arrivals,
    async tearDown() {
      watcher.stdin!.end();
      await controllers.stop();
      fed.close();
      host.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

async function latency(
  n: number,
  samples: number,
): Promise<{ members: number; samples: number; p50Ms: number; p99Ms: number; maxMs: number }> {
  const env = await setUp(n);
  const lat: number[] = [];
  const data = { v: Buffer.from('x'.repeat(64)).toString('base64') };
  const warmup = 20;
  for (let i = -warmup; i < samples; i++) {
    const name = `lat-${i + warmup}`;
    const t0 = performance.timeOrigin + performance.now();
    await env.fed.create({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name, namespace: 'bench' },
      type: 'Opaque',
      data,
    });
    const deadline = Date.now() + 30_000;
    while (!env.arrivals.has(name)) {
      if (Date.now() > deadline) throw new Error(`${name}: not in every member after 30 s`);
      await new Promise((r) => setTimeout(r, 1));
    }
    if (i >= 0) lat.push(env.arrivals.get(name)! - t0);
    await new Promise((r) => setTimeout(r, 5));
  }
  await env.tearDown();
  if (process.env.BENCH_DEBUG) console.log(lat.map((x) => Math.round(x)).join(' '));
  const r = {
    members: n,
    samples,
    p50Ms: +pct(lat, 50).toFixed(1),
    p99Ms: +pct(lat, 99).toFixed(1),
    maxMs: +Math.max(...lat).toFixed(1),
  };
  console.log(
    `propagation latency, ${n} members: p50 ${r.p50Ms} ms, p99 ${r.p99Ms} ms, max ${r.maxMs} ms (target p99 ≤ ${n <= 10 ? 100 : 250} ms)`,
  );
  return r;
}

async function throughput(
  n: number,
  count: number,
): Promise<{ members: number; secrets: number; convergeS: number; peakRssMiB: number; controllerCpuS: number }> {
  const env = await setUp(n);
  let peak = process.memoryUsage().rss;
  const cpu0 = process.cpuUsage();
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 250);
  const q = new PQueue({ concurrency: 32 });
  const data = { v: Buffer.from('y'.repeat(256)).toString('base64') };
  const t0 = performance.now();
  for (let i = 0; i < count; i++)
    void q.add(() =>
      env.fed.create({
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: `tp-${i}`, namespace: 'bench' },
        type: 'Opaque',
        data,
      }),
    );
  await q.onIdle();
  const created = performance.now() - t0;
  const deadline = Date.now() + 300_000;
  let copies = 0;
  for (;;) {
    copies = 0;
    for (const k of env.arrivals.keys()) if (k.startsWith('tp-')) copies += n;
    if (copies >= count * n || Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const converge = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  clearInterval(sampler);
  peak = Math.max(peak, process.memoryUsage().rss);
  await env.tearDown();
  const r = {
    members: n,
    secrets: count,
    convergeS: +converge.toFixed(1),
    createdS: +(created / 1000).toFixed(1),
    copies,
    peakRssMiB: Math.round(peak / 2 ** 20),
    controllerCpuS: +((cpu.user + cpu.system) / 1e6).toFixed(1),
  };
  console.log(
    `throughput: ${count} Secrets × ${n} members: ${copies} copies in ${r.convergeS} s (federated creates took ${r.createdS} s), peak RSS ${r.peakRssMiB} MiB, controller CPU ${r.controllerCpuS} s (target ≤ 60 s, ≤ 1024 MiB)`,
  );
  return r;
}

async function main(): Promise<void> {
  process.env.KITFED_LOG_LEVEL ??= 'error';
  console.log(
    `machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}`,
  );
  const lat = [];
  for (const n of values.members.split(',').filter(Boolean).map(Number))
    lat.push(await latency(n, n >= 100 ? Math.min(100, Number(values.samples)) : Number(values.samples)));
  const tp =
    Number(values.secrets) > 0
      ? await throughput(Number(values['throughput-members']), Number(values.secrets))
      : undefined;
  console.log(JSON.stringify({ bench: 'controllers', latency: lat, throughput: tp }));
  process.exit(0);
}
