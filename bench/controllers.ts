/**
 * Federation controller benchmark (the propagation engine), over HTTPS with bearer tokens.
 *
 * 1. Propagation latency: an object created in the federation → present in every member (seen
 *    by watches in another process), p50/p99, for a Secret, a StatefulSet (replicas = members,
 *    so one per member) and a custom resource, at 10 and 100 members.
 *    Targets: p99 ≤ 100 ms at 10, ≤ 250 ms at 100.
 * 2. Member writes per federated change, counted by the members' own request counters: creates,
 *    updates and no-op changes of several kinds. Target: exactly 1 per member, 0 when unchanged.
 * 3. Fleet: 100 members × 10,000 federated objects of mixed kinds, time until every object is
 *    in sync everywhere it belongs, and the controller process' peak RSS and CPU.
 *    Targets: ≤ 60 s, RSS ≤ 2 GiB.
 *
 * API servers run in child processes (the federation alone, members 50 per process); the
 * controller manager runs in this process, so its RSS and CPU are measured alone.
 *
 *   node --import tsx bench/controllers.ts [--scenarios latency,writes,fleet] [--members 10,100]
 *        [--kinds Secret,StatefulSet,Widget] [--samples 200] [--fleet-members 100] [--fleet-objects 10000]
 *        [--fleet-placement regions|everywhere]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import PQueue from 'p-queue';
import { buildKubeconfig } from '../services/core/kubeconfig.js';
import type { KubeObject } from '../services/core/kube.js';
import type { RunningControllers } from '../services/controllers/index.js';
import type { KubeClient } from '../services/core/kube-client.js';

const { values } = parseArgs({
  options: {
    role: { type: 'string' },
    spec: { type: 'string' },
    scenarios: { type: 'string', default: 'latency,writes,fleet' },
    members: { type: 'string', default: '10,100' },
    kinds: { type: 'string', default: 'Secret,StatefulSet,Widget' },
    samples: { type: 'string', default: '200' },
    'fleet-members': { type: 'string', default: '100' },
    'fleet-objects': { type: 'string', default: '10000' },
    'fleet-placement': { type: 'string', default: 'regions' },
  },
});

interface Endpoint {
  url: string;
  token: string;
  /** The CA of its serving certificate (one CA per host process). */
  ca: string;
}
interface HostInfo {
  ca: string;
  federation?: Endpoint;
  members: Endpoint[];
}

// ---- children ---------------------------------------------------------------------------------

/** Child: API servers over HTTPS with tokens; `counts` on stdin prints each member's write count. */
async function host(spec: { count: number; federation: boolean }): Promise<void> {
  const { startApiServer } = await import('../services/apiserver/server.js');
  const { federationAdmission } = await import('../services/apiserver/federation-admission.js');
  const { SandboxCa } = await import('../services/sandbox/tls.js');
  const ca = await SandboxCa.create(['127.0.0.1', 'localhost']);
  const writes: number[] = [];
  const serve = async (name: string, federation: boolean, i: number): Promise<Endpoint> => {
    const id = ca.identity(name);
    const server = await startApiServer({
      tls: { cert: id.cert, key: id.key },
      authenticator: id.authenticator,
      maxWatchesPerClient: 100_000,
      ...(federation ? { admission: federationAdmission() } : {}),
      intercept: (req) => {
        if (i >= 0 && req.method !== 'GET') writes[i] = (writes[i] ?? 0) + 1;
        return false;
      },
    });
    return { url: server.url, token: id.token, ca: ca.caPem };
  };
  const info: HostInfo = { ca: ca.caPem, members: [] };
  if (spec.federation) info.federation = await serve('federation', true, -1);
  for (let i = 0; i < spec.count; i++) info.members.push(await serve(`m${i}`, false, i));
  process.stdout.write(`${JSON.stringify(info)}\n`);
  createInterface({ input: process.stdin }).on('line', (line) => {
    if (line === 'counts')
      process.stdout.write(`counts ${JSON.stringify(info.members.map((_, i) => writes[i] ?? 0))}\n`);
  });
  process.stdin.on('end', () => process.exit(0));
}

interface WatchSpec {
  members: Endpoint[];
  apiVersion: string;
  kind: string;
  namespace: string;
}

/** Child: one watch per member; prints `name epochMs` when an object is in every member. */
async function watcher(spec: WatchSpec): Promise<void> {
  const { KubeClient } = await import('../services/core/kube-client.js');
  const seen = new Map<string, number>();
  for (const m of spec.members) {
    const c = await KubeClient.fromKubeconfig({
      text: buildKubeconfig([{ name: 'm', server: m.url, caCert: m.ca, token: m.token }]),
    });
    await c.watch(spec.apiVersion, spec.kind, spec.namespace, { timeoutSeconds: 3600 }, (type, obj) => {
      if (type !== 'ADDED') return;
      const name = obj.metadata.name!;
      const n = (seen.get(name) ?? 0) + 1;
      seen.set(name, n);
      if (n === spec.members.length) process.stdout.write(`${name} ${performance.timeOrigin + performance.now()}\n`);
    });
  }
  process.stdout.write('ready\n');
  process.stdin.resume();
  process.stdin.on('end', () => process.exit(0));
}

// ---- the measuring process --------------------------------------------------------------------

const SELF = fileURLToPath(import.meta.url);

function child(role: string, spec: unknown): ChildProcess {
  return spawn(
    process.execPath,
    ['--max-old-space-size=8192', '--import', 'tsx', SELF, '--role', role, '--spec', JSON.stringify(spec)],
    {
      stdio: ['pipe', 'pipe', 'inherit'],
      env: { ...process.env, KITFED_LOG_LEVEL: 'error' },
    },
  );
}

function firstLine(c: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    createInterface({ input: c.stdout! }).once('line', resolve);
    c.once('exit', (code) => reject(new Error(`child exited ${code}`)));
  });
}

interface Env {
  fed: KubeClient;
  members: Endpoint[];
  memberClients: KubeClient[];
  controllers: RunningControllers;
  /** Member write counts, as the members counted them. */
  counts(): Promise<number[]>;
  tearDown(): Promise<void>;
}

/** The federation in one process, members in processes of up to 50; joined; controllers started here. */
async function setUp(n: number): Promise<Env> {
  const { KubeClient } = await import('../services/core/kube-client.js');
  const { joinCluster } = await import('../services/controllers/join.js');
  const { startControllers } = await import('../services/controllers/index.js');
  const fedHost = child('host', { count: 0, federation: true });
  const fedInfo = JSON.parse(await firstLine(fedHost)) as HostInfo;
  const hosts: Array<{ proc: ChildProcess; info: HostInfo; lines: AsyncIterableIterator<string> }> = [];
  for (let left = n; left > 0; left -= 50) {
    const proc = child('host', { count: Math.min(50, left), federation: false });
    const rl = createInterface({ input: proc.stdout! });
    const lines = rl[Symbol.asyncIterator]();
    const info = JSON.parse((await lines.next()).value as string) as HostInfo;
    hosts.push({ proc, info, lines });
  }
  const members = hosts.flatMap((h) => h.info.members);
  const entries = [
    {
      name: 'federation',
      server: fedInfo.federation!.url,
      caCert: fedInfo.federation!.ca,
      token: fedInfo.federation!.token,
    },
    ...members.map((m, i) => ({ name: `c${i + 1}`, server: m.url, caCert: m.ca, token: m.token })),
  ];
  const dir = await mkdtemp(join(tmpdir(), 'kitfed-bench-'));
  const kubeconfig = join(dir, 'kubeconfig');
  await writeFile(kubeconfig, buildKubeconfig(entries));
  const fed = await KubeClient.fromKubeconfig({ file: kubeconfig }, 'federation', { maxSockets: 64 });
  await fed.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'bench' } });
  const joinQueue = new PQueue({ concurrency: 8 });
  members.forEach((_, i) => {
    const name = `c${i + 1}`;
    void joinQueue.add(() => joinCluster(fed, name, { file: kubeconfig, context: name }, { region: `r${i % 10}` }));
  });
  await joinQueue.onIdle();
  const controllers = await startControllers({ federation: fed, leaderElect: false, clusterMonitorPeriodMs: 2000 });
  for (;;) {
    if (controllers.context()?.members.ready().length === n) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  const memberClients = await Promise.all(
    members.map((_, i) => KubeClient.fromKubeconfig({ file: kubeconfig }, `c${i + 1}`, { maxSockets: 4 })),
  );
  // The namespace is in every member before anything is measured.
  for (const c of memberClients)
    for (;;) {
      if (await c.tryGet('v1', 'Namespace', undefined, 'bench')) break;
      await new Promise((r) => setTimeout(r, 50));
    }
  return {
    fed,
    members,
    memberClients,
    controllers,
    async counts() {
      const all: number[] = [];
      for (const h of hosts) {
        h.proc.stdin!.write('counts\n');
        for (;;) {
          const line = (await h.lines.next()).value as string;
          if (line.startsWith('counts ')) {
            all.push(...(JSON.parse(line.slice(7)) as number[]));
            break;
          }
        }
      }
      return all;
    },
    async tearDown() {
      await controllers.stop();
      fed.close();
      for (const c of memberClients) c.close();
      fedHost.stdin!.end();
      for (const h of hosts) h.proc.stdin!.end();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Watches in a separate process (not charged to the controller): name → when it was in every member. */
async function arrivals(
  env: Env,
  apiVersion: string,
  kind: string,
): Promise<{ at: Map<string, number>; stop(): void }> {
  const at = new Map<string, number>();
  const proc = child('watch', { members: env.members, apiVersion, kind, namespace: 'bench' } satisfies WatchSpec);
  await new Promise<void>((resolve) => {
    createInterface({ input: proc.stdout! }).on('line', (line) => {
      if (line === 'ready') return resolve();
      const [name, t] = line.split(' ');
      at.set(name!, Number(t));
    });
  });
  return { at, stop: () => proc.stdin!.end() };
}

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
}

const WIDGETS = 'widgets.bench.kitfed.io';

/** Whether the federation serves what a kind needs (StatefulSets and CRDs come with issue 13). */
async function served(env: Env, kind: string): Promise<boolean> {
  const probe =
    kind === 'StatefulSet'
      ? ['apps/v1', 'StatefulSet']
      : kind === 'Widget'
        ? ['apiextensions.k8s.io/v1', 'CustomResourceDefinition']
        : ['v1', kind];
  try {
    await env.fed.resource(probe[0]!, probe[1]!);
    return true;
  } catch {
    return false;
  }
}

/** The CRD of the custom-resource kind, Established in the federation and in every member. */
async function ensureWidgets(env: Env): Promise<void> {
  const crd: KubeObject = {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: WIDGETS },
    spec: {
      group: 'bench.kitfed.io',
      scope: 'Namespaced',
      names: { plural: 'widgets', singular: 'widget', kind: 'Widget', listKind: 'WidgetList' },
      versions: [
        {
          name: 'v1',
          served: true,
          storage: true,
          schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
        },
      ],
    },
  };
  await env.fed.create(crd);
  const { KubeClient } = await import('../services/core/kube-client.js');
  const deadline = Date.now() + 120_000;
  for (const m of env.members) {
    const c = await KubeClient.fromKubeconfig({
      text: buildKubeconfig([{ name: 'm', server: m.url, caCert: m.ca, token: m.token }]),
    });
    for (;;) {
      const got = await c.tryGet('apiextensions.k8s.io/v1', 'CustomResourceDefinition', undefined, WIDGETS);
      const ok = (
        got?.status as { conditions?: Array<{ type: string; status: string }> } | undefined
      )?.conditions?.some((x) => x.type === 'Established' && x.status === 'True');
      if (ok) break;
      if (Date.now() > deadline) throw new Error(`${WIDGETS} not Established in ${m.url}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    c.close();
  }
}

function objectOf(kind: string, name: string, members: number, variant = 0): KubeObject {
  const meta = { name, namespace: 'bench' };
  switch (kind) {
    case 'Secret':
      return {
        apiVersion: 'v1',
        kind,
        metadata: meta,
        type: 'Opaque',
        data: { v: Buffer.from(`x${variant}`.repeat(32)).toString('base64') },
      };
    case 'ConfigMap':
      return { apiVersion: 'v1', kind, metadata: meta, data: { v: `value-${variant}` } };
    case 'Service':
      return {
        apiVersion: 'v1',
        kind,
        metadata: meta,
        spec: { selector: { app: name }, ports: [{ port: 80 + variant }] },
      };
    case 'Widget':
      return { apiVersion: 'bench.kitfed.io/v1', kind, metadata: meta, spec: { size: variant, color: 'blue' } };
    case 'Deployment':
    case 'StatefulSet':
      return {
        apiVersion: 'apps/v1',
        kind,
        metadata: meta,
        spec: {
          replicas: members,
          ...(kind === 'StatefulSet' ? { serviceName: name } : {}),
          selector: { matchLabels: { app: name } },
          template: {
            metadata: { labels: { app: name } },
            spec: { containers: [{ name: 'app', image: `registry.example/app:${variant}` }] },
          },
        },
      };
    default:
      throw new Error(`no bench object for ${kind}`);
  }
}

const apiVersionOf = (kind: string) =>
  kind === 'Widget' ? 'bench.kitfed.io/v1' : kind === 'Deployment' || kind === 'StatefulSet' ? 'apps/v1' : 'v1';

async function latency(n: number, kind: string, samples: number): Promise<Record<string, unknown>> {
  const env = await setUp(n);
  try {
    if (!(await served(env, kind))) {
      console.log(
        `propagation latency, ${kind}, ${n} members: not measured (the federation API does not serve it yet)`,
      );
      return { kind, members: n, served: false };
    }
    if (kind === 'Widget') await ensureWidgets(env);
    const arrived = await arrivals(env, apiVersionOf(kind), kind);
    const lat: number[] = [];
    const warmup = 20;
    for (let i = -warmup; i < samples; i++) {
      const name = `lat-${i + warmup}`;
      const t0 = performance.timeOrigin + performance.now();
      await env.fed.create(objectOf(kind, name, n));
      const deadline = Date.now() + 60_000;
      while (!arrived.at.has(name)) {
        if (Date.now() > deadline) throw new Error(`${kind} ${name}: not in every member after 60 s`);
        await new Promise((r) => setTimeout(r, 1));
      }
      if (i >= 0) lat.push(arrived.at.get(name)! - t0);
      await new Promise((r) => setTimeout(r, 5));
    }
    arrived.stop();
    const r = {
      kind,
      members: n,
      samples,
      p50Ms: +pct(lat, 50).toFixed(1),
      p99Ms: +pct(lat, 99).toFixed(1),
      maxMs: +Math.max(...lat).toFixed(1),
    };
    console.log(
      `propagation latency, ${kind}, ${n} members: p50 ${r.p50Ms} ms, p99 ${r.p99Ms} ms, max ${r.maxMs} ms (target p99 ≤ ${n <= 10 ? 100 : 250} ms)`,
    );
    return r;
  } finally {
    await env.tearDown();
  }
}

/** Every listed object of `kind` in namespace bench is in sync in every cluster it belongs to. */
async function inSync(env: Env, kind: string, names: ReadonlySet<string>): Promise<boolean> {
  const list = await env.fed.list(apiVersionOf(kind), kind, 'bench');
  let done = 0;
  for (const o of list.items) {
    if (!names.has(o.metadata.name!)) continue;
    const text = o.metadata.annotations?.['kitfed.io/status'];
    if (!text) return false;
    const st = JSON.parse(text) as { clusters: Array<{ state: string }> };
    if (st.clusters.length === 0 || !st.clusters.every((c) => c.state === 'InSync')) return false;
    done++;
  }
  return done === names.size;
}

async function waitInSync(env: Env, kinds: Record<string, Set<string>>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let all = true;
    for (const [kind, names] of Object.entries(kinds)) if (!(await inSync(env, kind, names))) all = false;
    if (all) return;
    if (Date.now() > deadline) throw new Error('not in sync in time');
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function writes(n: number, kinds: string[]): Promise<Record<string, unknown>> {
  const env = await setUp(n);
  const perKind = 10;
  const out: Record<string, unknown> = { members: n, objectsPerKind: perKind };
  try {
    const usable: string[] = [];
    for (const k of kinds) if (await served(env, k)) usable.push(k);
    if (usable.includes('Widget')) await ensureWidgets(env);
    const names = Object.fromEntries(
      usable.map((k) => [k, new Set(Array.from({ length: perKind }, (_, i) => `w-${k.toLowerCase()}-${i}`))]),
    );
    const total = async () => (await env.counts()).reduce((a, b) => a + b, 0);
    const phase = async (label: string, act: () => Promise<void>, settleMs: number) => {
      await new Promise((r) => setTimeout(r, 1000));
      const before = await total();
      await act();
      await waitInSync(env, names, 120_000);
      await new Promise((r) => setTimeout(r, settleMs));
      const w = (await total()) - before;
      const changes = usable.length * perKind;
      out[label] = { memberWrites: w, perMemberPerChange: +(w / (changes * n)).toFixed(3) };
      console.log(
        `member writes, ${label}: ${w} for ${changes} federated changes × ${n} members = ${(w / (changes * n)).toFixed(3)} per member per change`,
      );
    };
    // Scalable kinds ask for one replica per member, so every member holds a copy.
    await phase(
      'create',
      async () => {
        for (const k of usable) for (const name of names[k]!) await env.fed.create(objectOf(k, name, n));
      },
      1000,
    );
    await phase(
      'update',
      async () => {
        for (const k of usable)
          for (const name of names[k]!) {
            const cur = await env.fed.get(apiVersionOf(k), k, 'bench', name);
            const next = objectOf(k, name, n, 1);
            await env.fed.update({ ...next, metadata: { ...cur.metadata } });
          }
      },
      1000,
    );
    await phase(
      'no-op (a kitfed.io annotation)',
      async () => {
        for (const k of usable)
          for (const name of names[k]!)
            await env.fed.patch(apiVersionOf(k), k, 'bench', name, {
              metadata: { annotations: { 'kitfed.io/bench-touch': 'x' } },
            });
      },
      2000,
    );
    out.kinds = usable;
    out.notServed = kinds.filter((k) => !usable.includes(k));
    return out;
  } finally {
    await env.tearDown();
  }
}

async function fleet(n: number, count: number, placement: string): Promise<Record<string, unknown>> {
  const env = await setUp(n);
  try {
    // The mix: ConfigMaps 40 %, Secrets 30 %, Services 10 %, Deployments 20 % (3 replicas each).
    // `regions`: each object selects one of 10 regions (10 clusters each), as multi-region apps
    // do; `everywhere`: no selector, every object in every cluster.
    const mix: Array<[string, number]> = [
      ['ConfigMap', 0.4],
      ['Secret', 0.3],
      ['Service', 0.1],
      ['Deployment', 0.2],
    ];
    const objs: KubeObject[] = [];
    let expectedCopies = 0;
    for (const [kind, share] of mix) {
      for (let i = 0; i < Math.round(count * share); i++) {
        const name = `f-${kind.toLowerCase()}-${i}`;
        const o = objectOf(kind, name, 3);
        const region = `r${i % 10}`;
        if (placement === 'regions')
          o.metadata.annotations = {
            'federation.alpha.kubernetes.io/cluster-selector': JSON.stringify([
              { key: 'region', operator: 'In', values: [region] },
            ]),
          };
        const clusters = placement === 'regions' ? Math.ceil(n / 10) : n;
        expectedCopies += kind === 'Deployment' ? Math.min(3, clusters) : clusters;
        objs.push(o);
      }
    }
    // Converged: every expected copy exists in its member. Counted with limit=1 lists and their
    // remainingItemCount, which kube (and kitfed) leave out when a selector filters the list — so
    // no selector: what the namespace held before the creates (kube-root-ca.crt) is subtracted.
    const countQueue = new PQueue({ concurrency: 16 });
    const countCopies = async (): Promise<number> => {
      let copies = 0;
      await Promise.all(
        env.memberClients.flatMap((c) =>
          mix.map(([kind]) =>
            countQueue.add(async () => {
              const l = await c.list(apiVersionOf(kind), kind, 'bench', { limit: 1 });
              copies += l.items.length + (l.metadata.remainingItemCount ?? 0);
            }),
          ),
        ),
      );
      return copies;
    };
    const before = await countCopies();
    let peak = process.memoryUsage().rss;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 250);
    const cpu0 = process.cpuUsage();
    const writes0 = (await env.counts()).reduce((a, b) => a + b, 0);
    const q = new PQueue({ concurrency: 32 });
    const t0 = performance.now();
    for (const o of objs) void q.add(() => env.fed.create(o));
    await q.onIdle();
    const created = (performance.now() - t0) / 1000;
    const deadline = Date.now() + 900_000;
    for (;;) {
      const copies = (await countCopies()) - before;
      if (copies >= expectedCopies) break;
      if (Date.now() > deadline) throw new Error(`fleet: ${copies} of ${expectedCopies} copies after 900 s`);
      await new Promise((r) => setTimeout(r, 500));
    }
    const converge = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    clearInterval(sampler);
    peak = Math.max(peak, process.memoryUsage().rss);
    const memberWrites = (await env.counts()).reduce((a, b) => a + b, 0) - writes0;
    const r = {
      members: n,
      objects: objs.length,
      placement,
      expectedCopies,
      memberWrites,
      createdS: +created.toFixed(1),
      convergeS: +converge.toFixed(1),
      peakRssMiB: Math.round(peak / 2 ** 20),
      controllerCpuS: +((cpu.user + cpu.system) / 1e6).toFixed(1),
    };
    console.log(
      `fleet: ${r.objects} objects (${placement}) × ${n} members: ${expectedCopies} copies (${memberWrites} ` +
        `member writes) in their members ${r.convergeS} s after the first create (the creates took ${r.createdS} ` +
        `s); controller peak RSS ${r.peakRssMiB} MiB, CPU ${r.controllerCpuS} s (target ≤ 60 s, ≤ 2048 MiB)`,
    );
    return r;
  } finally {
    await env.tearDown();
  }
}

async function main(): Promise<void> {
  process.env.KITFED_LOG_LEVEL ??= 'error';
  console.log(
    `machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}, load ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}`,
  );
  const scenarios = values.scenarios.split(',');
  const kinds = values.kinds.split(',').filter(Boolean);
  const result: Record<string, unknown> = { bench: 'controllers' };
  if (scenarios.includes('latency')) {
    const lat = [];
    for (const n of values.members.split(',').filter(Boolean).map(Number))
      for (const k of kinds)
        lat.push(await latency(n, k, n >= 100 ? Math.min(100, Number(values.samples)) : Number(values.samples)));
    result.latency = lat;
  }
  if (scenarios.includes('writes'))
    result.writes = await writes(10, [
      'ConfigMap',
      'Secret',
      'Service',
      'Deployment',
      ...kinds.filter((k) => k !== 'Secret'),
    ]);
  if (scenarios.includes('fleet'))
    result.fleet = await fleet(
      Number(values['fleet-members']),
      Number(values['fleet-objects']),
      values['fleet-placement'],
    );
  console.log(JSON.stringify(result));
  process.exit(0);
}

if (values.role === 'host') await host(JSON.parse(values.spec ?? '{}') as { count: number; federation: boolean });
else if (values.role === 'watch') await watcher(JSON.parse(values.spec ?? '{}') as WatchSpec);
else await main();
