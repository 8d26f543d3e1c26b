/**
 * API server throughput, latency under load and watch delivery, measured the way users run
 * kitfed: `kitfed apiserver` in its own process with HTTPS and a bearer token (the kubeconfig it
 * writes), on memory, SQLite and a single-member etcd. `--insecure` (plain HTTP, no
 * authentication) is measured once, on SQLite, as a secondary line.
 *
 * Load (the shared tool's shape, so the figures compare with the kube-apiserver table of issue
 * 17): 16 keep-alive clients, GET one ConfigMap, LIST 100 ConfigMaps of a namespace (label
 * selector, limit 500), CREATE ConfigMaps, merge-PATCH a ConfigMap; then 100 watchers measure
 * write → event delivery; then 4× the load (64 clients, mixed operations) measures p99 latency
 * per operation against the upstream SLO shape (single-object mutations ≤ 1 s, namespace LISTs
 * ≤ 5 s). Backends run interleaved in each round, rounds are repeated, medians are reported.
 *
 * The server runs as installed: the built bundle (`dist/kitfed.js`, rebuilt first when the sources
 * changed), or with `--source` from TypeScript through tsx. A no-op Node HTTPS server
 * (`bench/lib/https-floor.ts`) runs in every round under the same load: its CPU time per operation
 * is what Node's HTTPS alone costs, printed as a share of each configuration's (`--no-floor`
 * leaves it out).
 *
 * The servers also run under a second Node.js, by default the current LTS that `.ci/run` installs
 * (Node 24, when present), as `<backend> · node 24` lines: the same clients, the same rounds, only
 * the server's runtime differs (`bench/lib/runtime.ts`; `--node PATH` picks another, `--node none`
 * runs this Node only).
 *
 * When the shared load generator (`shared/bench/apibench.mjs`, found in an ancestor directory)
 * exists, it runs too against the same servers and its figures are printed beside ours.
 *
 *   node --import tsx bench/apiserver.ts [--seconds 3] [--rounds 3] [--backends memory,sqlite,etcd]
 *        [--ops get,list,create,patch,overload,watch] [--no-insecure] [--no-apibench] [--cpu-prof DIR]
 *        [--kitfed OTHER-CHECKOUT] [--before OTHER-CHECKOUT] [--source] [--no-floor] [--node PATH|none]
 *        [--baseline-kubeconfig FILE [--baseline-pid PID]]
 *
 * `--kitfed` measures another checkout instead of this one; `--before` measures another checkout
 * beside this one, alternating in every round (`<backend> before` lines): a same-run before/after.
 * `--baseline-kubeconfig` measures a running kube-apiserver (HTTPS, a bearer token) in every round
 * beside kitfed's servers, with the same clients: the ratios and targets are then against it,
 * measured in the same run, instead of the issue's fixed table (`--baseline-pid`: its process,
 * for its CPU time per operation).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import https from 'node:https';
import http from 'node:http';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import YAML from 'yaml';
import { etcdBinary, startEtcd, type EtcdHandle } from '../test/storage/etcd-harness.js';
import { bundleFor, installedLts, prepare, runtime, type Runtime } from './lib/runtime.js';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '3' },
    rounds: { type: 'string', default: '3' },
    backends: { type: 'string', default: 'memory,sqlite,etcd' },
    'no-insecure': { type: 'boolean', default: false },
    'no-apibench': { type: 'boolean', default: false },
    /** Run the server from TypeScript through tsx instead of the built bundle users run. */
    source: { type: 'boolean', default: false },
    /** Leave out the no-op HTTPS server (what Node's HTTPS alone costs). */
    'no-floor': { type: 'boolean', default: false },
    'cpu-prof': { type: 'string' },
    /** Another checkout whose `kitfed apiserver` to measure (e.g. an older commit, for a before/after). */
    kitfed: { type: 'string' },
    /** Another checkout measured beside this one, alternating in every round (same-run before/after). */
    before: { type: 'string' },
    /** The phases to run (the others are skipped and print as NaN). */
    ops: { type: 'string', default: 'get,list,create,patch,overload,watch' },
    /** A second Node.js for the servers (default: the LTS `.ci/run` installs, if present); `none`: this one only. */
    node: { type: 'string' },
    /** A running kube-apiserver's kubeconfig (HTTPS, a bearer token): the baseline, measured in the same run. */
    'baseline-kubeconfig': { type: 'string' },
    /** The baseline server's process id (its CPU time per operation). */
    'baseline-pid': { type: 'string' },
  },
});
const OPS = new Set(values.ops.split(','));
const SECONDS = Number(values.seconds);
const ROUNDS = Number(values.rounds);
const CONCURRENCY = 16;
const OVERLOAD = 4 * CONCURRENCY;
const WATCHERS = 100;
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const SERVED = values.kitfed ? resolve(values.kitfed) : ROOT;

/** kube-apiserver 1.32 + etcd 3.5, HTTPS + token, same load generator, this kind of machine (issue 17). */
const KUBE = { get: 2029, list: 1061, create: 1012, patch: 782, watchP99: 18.9 };
const TARGET = { sqlite: 2, etcd: 1.5 } as Record<string, number>;
/**
 * The no-op HTTPS server's throughput on the machine class the baseline was measured on: the
 * medians of the four full runs of 2026-12-02..04 in docs/benchmarks.md (GET 3,874–4,859/s). The
 * baseline is a fixed table, so on a faster machine every ratio against it grows; the floor's
 * speed-up over these figures, per operation, is printed, and each target is also judged on the
 * ratios divided by it (an estimate: kube-apiserver's own cost is not all CPU either).
 */
const BASELINE_FLOOR = { get: 4571, list: 2910, create: 4313, patch: 4554 };

interface Client {
  base: URL;
  agent: http.Agent;
  headers: Record<string, string>;
  ca?: Buffer;
  secure: boolean;
}

interface Answer {
  code: number;
  body: string;
}

function request(
  c: Client,
  method: string,
  path: string,
  body?: string,
  contentType = 'application/json',
): Promise<Answer> {
  const mod = c.secure ? https : http;
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = { ...c.headers, accept: 'application/json' };
    if (body) {
      headers['content-type'] = contentType;
      headers['content-length'] = Buffer.byteLength(body);
    }
    const req = mod.request(
      { host: c.base.hostname, port: c.base.port, path, method, agent: c.agent, headers },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (d: Buffer) => chunks.push(d));
        res.on('end', () => resolve({ code: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
      },
    );
    req.on('error', reject);
    if (body) req.write(body);
    req.end();
  });
}

interface Server {
  url: string;
  kubeconfig: string;
  /** The server this benchmark started (absent: the baseline given with --baseline-kubeconfig). */
  child?: ChildProcess;
  /** Its process id when not started here (--baseline-pid), for its CPU time. */
  pid?: number;
  /** The `--storage` URL it serves. */
  storage: string;
}

const built = new Map<string, string[]>();

/**
 * How to start `kitfed` from a checkout, as users run it: its built bundle, rebuilt first when its
 * sources changed (a checkout without `scripts/build.ts`, or `--source`, runs through tsx). Under
 * another runtime: a copy of that bundle in the runtime's directory (see bench/lib/runtime.ts).
 * Worked out once per checkout and runtime.
 */
function kitfedEntry(served: string, rt?: Runtime): string[] {
  const id = rt ? `${served}\u0000${rt.node}` : served;
  const known = built.get(id);
  if (known) return known;
  if (rt) {
    kitfedEntry(served);
    const entry = [bundleFor(rt, served)];
    built.set(id, entry);
    return entry;
  }
  let entry = ['--import', 'tsx', join(served, 'services/cli/kitfed.ts')];
  if (!values.source && existsSync(join(served, 'scripts/build.ts'))) {
    const b = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/build.ts', '--if-stale'], {
      cwd: served,
      encoding: 'utf8',
      timeout: 180_000,
    });
    if (b.status !== 0) throw new Error(`building ${served} failed: ${b.stderr.slice(-2000)}`);
    entry = [join(served, 'dist/kitfed.js')];
  }
  built.set(served, entry);
  return entry;
}

async function startServer(
  storage: string,
  dataDir: string,
  insecure: boolean,
  tag: string,
  served = SERVED,
  floor = false,
  rt?: Runtime,
): Promise<Server> {
  const kubeconfig = join(dataDir, `kubeconfig-${tag}`);
  const prof = values['cpu-prof']
    ? ['--cpu-prof', `--cpu-prof-dir=${resolve(values['cpu-prof'])}`, `--cpu-prof-name=${tag}.cpuprofile`]
    : [];
  const args = floor
    ? ['--import', 'tsx', join(ROOT, 'bench/lib/https-floor.ts'), kubeconfig]
    : [
        ...kitfedEntry(served, rt),
        'apiserver',
        ...(insecure ? ['--insecure'] : []),
        '--listen',
        '127.0.0.1:0',
        '--data-dir',
        dataDir,
        '--storage',
        storage,
        '--kubeconfig-out',
        kubeconfig,
      ];
  const child = spawn(rt?.node ?? process.execPath, [...prof, ...args], {
    stdio: ['ignore', 'ignore', 'pipe'],
    cwd: rt?.dir ?? served,
  });
  let log = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`API server did not start: ${log}`)), 60_000);
    child.stderr.on('data', (d: Buffer) => {
      log = (log + d.toString()).slice(-8000);
      if (/"kubeconfig written"/.test(log)) {
        const m = /"url":"(https?:[^"]+)"/.exec(log);
        clearTimeout(timer);
        if (m) resolve(m[1]!);
        else reject(new Error(`no URL in the API server's log: ${log}`));
      }
    });
    child.on('exit', (code) => reject(new Error(`API server exited ${code}: ${log}`)));
  });
  return { url, kubeconfig, child, storage };
}

async function stopServer(s: Server): Promise<void> {
  if (!s.child) return;
  const child = s.child;
  const exited = new Promise((r) => child.once('exit', r));
  // SIGTERM: a clean stop, so --cpu-prof writes its profile.
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(timer);
}

async function clientFor(s: Server, maxSockets: number): Promise<Client> {
  const kc = YAML.parse(await readFile(s.kubeconfig, 'utf8')) as {
    'current-context'?: string;
    contexts?: Array<{ name: string; context: { cluster: string; user?: string } }>;
    clusters: Array<{ name?: string; cluster: { server: string; 'certificate-authority-data'?: string } }>;
    users?: Array<{ name?: string; user: { token?: string } }>;
  };
  // The current context's cluster and user (a kubeconfig this benchmark wrote has one of each).
  const context = kc.contexts?.find((c) => c.name === kc['current-context'])?.context;
  const cluster = (kc.clusters.find((c) => context && c.name === context.cluster) ?? kc.clusters[0]!).cluster;
  const token = (kc.users?.find((u) => context && u.name === context.user) ?? kc.users?.[0])?.user.token;
  const base = new URL(cluster.server);
  const secure = base.protocol === 'https:';
  const ca = cluster['certificate-authority-data']
    ? Buffer.from(cluster['certificate-authority-data'], 'base64')
    : undefined;
  const agent = secure
    ? new https.Agent({ keepAlive: true, maxSockets, ca })
    : new http.Agent({ keepAlive: true, maxSockets });
  return { base, agent, secure, ca, headers: token ? { authorization: `Bearer ${token}` } : {} };
}

/** CPU time (ms) a process has used so far: utime + stime from /proc (Linux), else NaN. */
function cpuMs(pid: number | undefined): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
  } catch {
    return NaN;
  }
}

const cm = (name: string, data: Record<string, string> = { k: 'v' }) =>
  JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, labels: { bench: 'y' } }, data });

/** Runs `op` from `clients` loops for SECONDS; returns 2xx per second, errors and latencies (ms). */
async function load(
  clients: number,
  op: (worker: number, i: number) => Promise<Answer>,
  seconds = SECONDS,
): Promise<{ perSecond: number; errors: number; latencies: number[] }> {
  let ok = 0;
  let errors = 0;
  const latencies: number[] = [];
  const end = performance.now() + seconds * 1000;
  await Promise.all(
    Array.from({ length: clients }, async (_, w) => {
      for (let i = 0; performance.now() < end; i++) {
        const t0 = performance.now();
        const r = await op(w, i);
        latencies.push(performance.now() - t0);
        if (r.code >= 200 && r.code < 300) ok++;
        else errors++;
      }
    }),
  );
  return { perSecond: Math.round(ok / seconds), errors, latencies };
}

function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

function median(values: number[]): number {
  return percentile(values, 50);
}

/** The median of one figure's ratio a ÷ b, paired by round (steadier than a ratio of medians on a shared machine). */
function pairedRatio<T>(a: T[], b: T[] | undefined, figure: (x: T) => number): number {
  if (!b) return NaN;
  return median(
    a.map((x, i) => figure(x) / (b[i] === undefined ? NaN : figure(b[i]))).filter((x) => Number.isFinite(x)),
  );
}

interface Figures {
  get: number;
  list: number;
  create: number;
  patch: number;
  watchP50: number;
  watchP99: number;
  watchEvents: number;
  /** 4× load: p99 ms of single-object mutations (CREATE, PATCH) and of namespace LISTs. */
  overloadMutationP99: number;
  overloadListP99: number;
  overloadGetP99: number;
  /** Deleting the run's namespaces: their objects (≈ 10,000–30,000 ConfigMaps) gone per second. */
  drainPerSecond: number;
  /** Server CPU time per operation (µs): what an operation costs, whatever the machine's load. */
  cpuUs: { get: number; list: number; create: number; patch: number };
  /** The same for the etcd process, when the store is etcd (NaN otherwise). */
  etcdCpuUs: { get: number; list: number; create: number; patch: number };
  errors: number;
}

async function watchDelivery(c: Client, ns: string): Promise<{ p50: number; p99: number; events: number }> {
  const latencies: number[] = [];
  const pending = new Map<string, number>();
  const streams: http.ClientRequest[] = [];
  const mod = c.secure ? https : http;
  const watchAgent = c.secure ? new https.Agent({ keepAlive: false, ca: c.ca }) : new http.Agent({ keepAlive: false });
  await Promise.all(
    Array.from(
      { length: WATCHERS },
      () =>
        new Promise<void>((resolve, reject) => {
          const req = mod.request(
            {
              host: c.base.hostname,
              port: c.base.port,
              path: `/api/v1/namespaces/${ns}/configmaps?watch=1&fieldSelector=metadata.name%3Dwatched`,
              agent: watchAgent,
              headers: { ...c.headers, accept: 'application/json' },
            },
            (res) => {
              let buf = '';
              res.setEncoding('utf8');
              res.on('data', (chunk: string) => {
                const now = performance.now();
                buf += chunk;
                let nl: number;
                while ((nl = buf.indexOf('\n')) >= 0) {
                  const line = buf.slice(0, nl);
                  buf = buf.slice(nl + 1);
                  const v = /"v":"(w\d+)"/.exec(line)?.[1];
                  const sent = v && pending.get(v);
                  if (sent) latencies.push(now - sent);
                }
              });
              resolve();
            },
          );
          req.on('error', (err) => (streams.includes(req) ? undefined : reject(err)));
          req.end();
          streams.push(req);
        }),
    ),
  );
  await new Promise((r) => setTimeout(r, 300));
  await request(c, 'POST', `/api/v1/namespaces/${ns}/configmaps`, cm('watched', { v: 'w0' }));
  const writes = 100;
  for (let i = 1; i <= writes; i++) {
    const v = `w${i}`;
    pending.set(v, performance.now());
    await request(
      c,
      'PATCH',
      `/api/v1/namespaces/${ns}/configmaps/watched`,
      JSON.stringify({ data: { v } }),
      'application/merge-patch+json',
    );
    await new Promise((r) => setTimeout(r, 10));
  }
  await new Promise((r) => setTimeout(r, 1000));
  for (const s of streams) s.destroy();
  watchAgent.destroy();
  return { p50: percentile(latencies, 50), p99: percentile(latencies, 99), events: latencies.length };
}

let clientWarm = false;

/**
 * Deletes the run's namespaces and waits until they are gone; returns objects deleted per second.
 * The server's namespace lifecycle deletes their objects (the thousands of CREATEd ConfigMaps)
 * in the background: a measurement started meanwhile (the shared load generator's, right after
 * ours) would share the machine with that drain.
 */
async function drain(c: Client, names: string[], timeoutMs = 300_000): Promise<number> {
  let objects = 0;
  for (const name of names) {
    const r = await request(c, 'GET', `/api/v1/namespaces/${name}/configmaps?limit=1`);
    const meta = (JSON.parse(r.body) as { metadata?: { remainingItemCount?: number } }).metadata;
    objects += 1 + (meta?.remainingItemCount ?? 0);
  }
  const t0 = performance.now();
  for (const name of names) await request(c, 'DELETE', `/api/v1/namespaces/${name}`);
  for (const name of names) {
    while ((await request(c, 'GET', `/api/v1/namespaces/${name}`)).code !== 404) {
      if (performance.now() - t0 > timeoutMs)
        throw new Error(`namespace ${name} still exists ${timeoutMs / 1000} s after its deletion`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return Math.round(objects / ((performance.now() - t0) / 1000));
}

async function measure(s: Server, round: number, floor: boolean): Promise<Figures> {
  const c = await clientFor(s, OVERLOAD + 8);
  const ns = `bench-${round}`;
  const ns2 = `${ns}-c`;
  for (const name of [ns, ns2]) {
    const r = await request(
      c,
      'POST',
      '/api/v1/namespaces',
      JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } }),
    );
    if (r.code >= 300) throw new Error(`creating namespace ${name}: ${r.code} ${r.body}`);
  }
  for (let i = 0; i < 100; i++) await request(c, 'POST', `/api/v1/namespaces/${ns}/configmaps`, cm(`seed-${i}`));
  const cms = `/api/v1/namespaces/${ns}/configmaps`;
  const pid = s.child?.pid ?? s.pid;
  const skipped = { perSecond: NaN, errors: 0, latencies: [] as number[], cpuUs: NaN, etcdCpuUs: NaN };
  const etcdPid = s.storage.startsWith('etcd://') ? etcd?.members[0]?.pid : undefined;
  const costed = async (op: string, run: (seconds?: number) => ReturnType<typeof load>) => {
    if (!OPS.has(op)) return skipped;
    // Half a second unmeasured first (three before the run's first measurement, whose client
    // code is still cold): both sides' code is compiled before the clock starts.
    await run(clientWarm ? 0.5 : 3);
    clientWarm = true;
    const before = cpuMs(pid);
    const etcdBefore = etcdPid === undefined ? NaN : cpuMs(etcdPid);
    const r = await run();
    const ops = r.perSecond * SECONDS || 1;
    return {
      ...r,
      cpuUs: Math.round(((cpuMs(pid) - before) * 1000) / ops),
      etcdCpuUs: etcdPid === undefined ? NaN : Math.round(((cpuMs(etcdPid) - etcdBefore) * 1000) / ops),
    };
  };
  const get = await costed('get', (t) => load(CONCURRENCY, () => request(c, 'GET', `${cms}/seed-7`), t));
  const list = await costed('list', (t) =>
    load(CONCURRENCY, () => request(c, 'GET', `${cms}?labelSelector=bench%3Dy&limit=500`), t),
  );
  let created = 0;
  const create = await costed('create', (t) =>
    load(CONCURRENCY, () => request(c, 'POST', `/api/v1/namespaces/${ns2}/configmaps`, cm(`c-${created++}`)), t),
  );
  const patch = await costed('patch', (t) =>
    load(
      CONCURRENCY,
      (w, i) =>
        request(
          c,
          'PATCH',
          `${cms}/seed-${w}`,
          JSON.stringify({ data: { n: String(i) } }),
          'application/merge-patch+json',
        ),
      t,
    ),
  );
  // 4× the load, mixed: each client cycles GET, LIST, CREATE, PATCH; latency per operation.
  const lat = { get: [] as number[], list: [] as number[], mutation: [] as number[] };
  let overloadErrors = 0;
  if (OPS.has('overload') && !floor)
    await load(OVERLOAD, async (w, i) => {
      const t0 = performance.now();
      let r: Answer;
      let bucket: number[];
      switch ((w + i) % 4) {
        case 0:
          r = await request(c, 'GET', `${cms}/seed-${i % 100}`);
          bucket = lat.get;
          break;
        case 1:
          r = await request(c, 'GET', `${cms}?labelSelector=bench%3Dy&limit=500`);
          bucket = lat.list;
          break;
        case 2:
          r = await request(c, 'POST', `/api/v1/namespaces/${ns2}/configmaps`, cm(`o-${w}-${i}`));
          bucket = lat.mutation;
          break;
        default:
          r = await request(
            c,
            'PATCH',
            `${cms}/seed-${w % 100}`,
            JSON.stringify({ data: { o: String(i) } }),
            'application/merge-patch+json',
          );
          bucket = lat.mutation;
      }
      bucket.push(performance.now() - t0);
      if (r.code >= 300) overloadErrors++;
      return r;
    });
  const watch = OPS.has('watch') && !floor ? await watchDelivery(c, ns) : { p50: NaN, p99: NaN, events: 0 };
  const drained = floor ? NaN : await drain(c, [ns, ns2]);
  c.agent.destroy();
  return {
    get: get.perSecond,
    list: list.perSecond,
    create: create.perSecond,
    patch: patch.perSecond,
    watchP50: Number(watch.p50.toFixed(2)),
    watchP99: Number(watch.p99.toFixed(2)),
    watchEvents: watch.events,
    overloadMutationP99: Math.round(percentile(lat.mutation, 99)),
    overloadListP99: Math.round(percentile(lat.list, 99)),
    overloadGetP99: Math.round(percentile(lat.get, 99)),
    drainPerSecond: drained,
    cpuUs: { get: get.cpuUs, list: list.cpuUs, create: create.cpuUs, patch: patch.cpuUs },
    etcdCpuUs: { get: get.etcdCpuUs, list: list.etcdCpuUs, create: create.etcdCpuUs, patch: patch.etcdCpuUs },
    errors: get.errors + list.errors + create.errors + patch.errors + overloadErrors,
  };
}

/** The shared load generator, when present in an ancestor's `shared/bench/` (its own figures, its own shape). */
function findApibench(): string | undefined {
  for (let dir = ROOT; ; dir = dirname(dir)) {
    const candidate = join(dir, 'shared', 'bench', 'apibench.mjs');
    if (existsSync(candidate)) return candidate;
    if (dirname(dir) === dir) return undefined;
  }
}

interface ApibenchFigures {
  get: number;
  list: number;
  create: number;
  patch: number;
  watchP99: number;
}

async function runApibench(tool: string, kubeconfig: string): Promise<ApibenchFigures | undefined> {
  const child = spawn(process.execPath, [tool, kubeconfig, String(SECONDS)], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const code = await new Promise<number>((r) => child.once('exit', (c) => r(c ?? 1)));
  const line = out.trim().split('\n').at(-1) ?? '';
  try {
    const j = JSON.parse(line) as Record<string, { perSecond?: number; p99ms?: number }>;
    return {
      get: j.GET!.perSecond!,
      list: j.LIST100!.perSecond!,
      create: j.CREATE!.perSecond!,
      patch: j.PATCH!.perSecond!,
      watchP99: j.WATCH!.p99ms!,
    };
  } catch {
    console.log(`apibench exited ${code}: ${err.slice(-400)}`);
    return undefined;
  }
}

interface Config {
  name: string;
  /** memory, sqlite or etcd (its target); the floor has none. */
  backend?: string;
  /** The Node.js the server runs under (default: this one). */
  runtime?: Runtime;
  storage: () => string;
  insecure: boolean;
  /** The checkout whose server runs (default: SERVED). */
  served?: string;
  /** The no-op HTTPS server: Node's HTTPS alone, not kitfed. */
  floor?: boolean;
  /** A server running elsewhere (the --baseline-kubeconfig), measured as it is. */
  external?: string;
}

const dataDir = await mkdtemp(join(tmpdir(), 'kitfed-bench-apiserver-'));
let etcd: EtcdHandle | undefined;
let etcdVersion: string | undefined;
const wanted = values.backends.split(',');
const configs: Config[] = [];
let dbN = 0;
const FLOOR = 'no-op HTTPS';
if (!values['no-floor']) configs.push({ name: FLOOR, storage: () => '', insecure: false, floor: true });
const BASELINE = 'kube-apiserver';
const baselineKubeconfig = values['baseline-kubeconfig'] && resolve(values['baseline-kubeconfig']);
const baselinePid = values['baseline-pid'] === undefined ? undefined : Number(values['baseline-pid']);
if (baselinePid !== undefined && !(Number.isInteger(baselinePid) && existsSync(`/proc/${baselinePid}/stat`)))
  throw new Error(`--baseline-pid ${values['baseline-pid']}: no such process`);
if (baselineKubeconfig) {
  // The issue measures HTTPS with a bearer token: refuse anything else before the first round.
  const probe = await clientFor({ url: '', kubeconfig: baselineKubeconfig, storage: '' }, 1);
  probe.agent.destroy();
  if (!probe.secure || !probe.headers.authorization)
    throw new Error(
      `--baseline-kubeconfig ${baselineKubeconfig}: its current context needs an https server and a token user`,
    );
  configs.push({ name: BASELINE, storage: () => '', insecure: false, external: baselineKubeconfig });
}
// A second runtime runs the built bundle (not --source, which runs through this Node's tsx).
const second = values.node === 'none' || values.source ? undefined : (values.node ?? installedLts());
const rt = second ? runtime(second) : undefined;
const runtimes: Array<Runtime | undefined> = [undefined];
if (rt && rt.label !== `node ${process.versions.node}`) runtimes.push(rt);
else if (values.node && values.node !== 'none')
  console.log(`--node ${values.node}: the same Node as this one; measured once`);
if (wanted.includes('etcd')) {
  if (!etcdBinary) console.log('etcd: skipped (no etcd binary; apt-get install etcd-server)');
  else {
    etcd = await startEtcd();
    // The baseline ran on etcd 3.5; Debian 12's etcd-server is 3.4 (ETCD_BIN picks another binary).
    const v = /etcd Version: (\S+)/.exec(spawnSync(etcdBinary, ['--version'], { encoding: 'utf8' }).stdout)?.[1];
    etcdVersion = v ?? 'unknown';
  }
}
for (const r of runtimes) {
  const suffix = r ? ` · node ${r.major}` : '';
  let sqlite = wanted.includes('sqlite');
  if (r) {
    const why = prepare(r, ROOT, sqlite, (line) => console.log(line));
    if (why) {
      console.log(`sqlite${suffix}: skipped (${why})`);
      sqlite = false;
    }
  }
  const endpoints = etcd?.endpoints.join(',');
  const backends: Array<[string, boolean, () => string]> = [
    ['memory', wanted.includes('memory'), () => 'memory://'],
    ['sqlite', sqlite, () => `sqlite://${join(dataDir, `bench-${dbN++}.db`)}`],
    ['etcd', etcd !== undefined, () => `etcd://${endpoints}/bench-${dbN++}`],
  ];
  for (const [backend, on, storage] of backends)
    if (on) configs.push({ name: `${backend}${suffix}`, backend, runtime: r, storage, insecure: false });
}
if (!values['no-insecure'] && wanted.includes('sqlite'))
  configs.push({
    name: 'sqlite --insecure',
    backend: 'sqlite',
    storage: () => `sqlite://${join(dataDir, `bench-${dbN++}.db`)}`,
    insecure: true,
  });
if (values.before) {
  const before = resolve(values.before);
  for (const cfg of configs.filter((c) => !c.floor)) {
    const at = configs.indexOf(cfg);
    configs.splice(at, 0, { ...cfg, name: `${cfg.name} before`, served: before });
  }
}
const apibench = values['no-apibench'] ? undefined : findApibench();

const ours = new Map<string, Figures[]>();
const shared = new Map<string, ApibenchFigures[]>();
const loads: number[] = [loadavg()[0]!];
console.log(
  `machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}` +
    `${runtimes[1] ? ` (servers also under ${runtimes[1].label})` : ''}` +
    `${etcdVersion ? `, etcd ${etcdVersion} (${etcdBinary})` : ''}, load ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}; ` +
    `${CONCURRENCY} keep-alive HTTPS clients with a bearer token, ${SECONDS}s per operation, ${WATCHERS} ` +
    `watchers, ${OVERLOAD} clients at 4× load, ${ROUNDS} rounds${apibench ? `; shared load generator: ${apibench}` : ''}`,
);
try {
  for (let round = 0; round < ROUNDS; round++) {
    // Alternate the order from round to round, so neither side of a before/after always runs first.
    for (const cfg of round % 2 === 1 ? [...configs].reverse() : configs) {
      const server: Server = cfg.external
        ? { url: '', kubeconfig: cfg.external, storage: '', ...(baselinePid !== undefined ? { pid: baselinePid } : {}) }
        : await startServer(
            cfg.storage(),
            dataDir,
            cfg.insecure,
            `${cfg.name.replace(/\W+/g, '-')}-${round}`,
            cfg.served,
            cfg.floor,
            cfg.runtime,
          );
      try {
        const f = await measure(server, round, cfg.floor ?? false);
        ours.set(cfg.name, [...(ours.get(cfg.name) ?? []), f]);
        console.log(`round ${round + 1} ${cfg.name}: ${JSON.stringify(f)} (load ${loadavg()[0]!.toFixed(1)})`);
        if (apibench && !cfg.insecure && !cfg.floor) {
          const a = await runApibench(apibench, server.kubeconfig);
          if (a) {
            shared.set(cfg.name, [...(shared.get(cfg.name) ?? []), a]);
            console.log(`round ${round + 1} ${cfg.name} (shared apibench.mjs): ${JSON.stringify(a)}`);
          }
        }
      } finally {
        await stopServer(server);
      }
      loads.push(loadavg()[0]!);
    }
  }
} finally {
  await etcd?.stop();
  await rm(dataDir, { recursive: true, force: true });
}

const med = (xs: Figures[], k: Exclude<keyof Figures, 'cpuUs' | 'etcdCpuUs'>) => median(xs.map((x) => x[k]));
const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}×`;
const pct = (x: number) => `${Math.round(x * 100)} %`;
const loadedNote =
  median(loads) > cpus().length
    ? ' (the machine was loaded: treat absolute figures with care, ratios measured in the same run are the meaningful part)'
    : '';
console.log(
  `\nmedians of ${ROUNDS} rounds; load average during the run: median ` +
    `${median(loads).toFixed(1)}, max ${Math.max(...loads).toFixed(1)} on ${cpus().length} cores${loadedNote}`,
);
const given = ours.get(BASELINE);
/** What the ratios are against: the kube-apiserver measured in this run, else the issue's table. */
const BASE = given
  ? {
      get: med(given, 'get'),
      list: med(given, 'list'),
      create: med(given, 'create'),
      patch: med(given, 'patch'),
      watchP99: med(given, 'watchP99'),
    }
  : KUBE;
console.log(
  given
    ? `baseline: the kube-apiserver of ${baselineKubeconfig}, measured in this run with the same clients: GET ${BASE.get}/s, ` +
        `LIST(100) ${BASE.list}/s, CREATE ${BASE.create}/s, PATCH ${BASE.patch}/s, watch p99 ${BASE.watchP99} ms`
    : 'baseline: kube-apiserver 1.32 + etcd 3.5, HTTPS + token (issue 17 table): ' +
        'GET 2,029/s, LIST(100) 1,061/s, CREATE 1,012/s, PATCH 782/s, watch p99 18.9 ms',
);
// Against a baseline measured here there is no other machine to scale to.
const floorFigures = given ? undefined : ours.get(FLOOR);
/** This machine's speed-up over the baseline's machine class, per operation (undefined without the no-op server). */
const speed = floorFigures
  ? {
      get: med(floorFigures, 'get') / BASELINE_FLOOR.get,
      list: med(floorFigures, 'list') / BASELINE_FLOOR.list,
      create: med(floorFigures, 'create') / BASELINE_FLOOR.create,
      patch: med(floorFigures, 'patch') / BASELINE_FLOOR.patch,
    }
  : undefined;
type PerOp = { get: number; list: number; create: number; patch: number };
/** Ratios against the baseline divided by the machine speed-up (undefined without the no-op server). */
const floorScaled = (x: PerOp): PerOp | undefined =>
  speed && {
    get: x.get / BASE.get / speed.get,
    list: x.list / BASE.list / speed.list,
    create: x.create / BASE.create / speed.create,
    patch: x.patch / BASE.patch / speed.patch,
  };
if (speed)
  console.log(
    `machine speed: the no-op HTTPS server ran GET ${speed.get.toFixed(2)}×, LIST(100) ${speed.list.toFixed(2)}×, ` +
      `CREATE ${speed.create.toFixed(2)}×, PATCH ${speed.patch.toFixed(2)}× as fast as on the baseline's machine class ` +
      `(2026-12-02..04); "floor-scaled" ratios divide by it`,
  );
console.log(
  'config              GET/s          LIST(100)/s    CREATE/s       PATCH/s        watch p50/p99     4× load p99: mutation / LIST / GET  errors',
);
const summary: Record<string, unknown> = {};
for (const [name, fs] of ours) {
  const g = med(fs, 'get');
  const l = med(fs, 'list');
  const c = med(fs, 'create');
  const p = med(fs, 'patch');
  const cell = (v: number, k: number) => `${String(v).padStart(6)} ${ratio(v, k).padStart(6)} `;
  console.log(
    `${name.padEnd(18)} ${cell(g, BASE.get)} ${cell(l, BASE.list)} ${cell(c, BASE.create)} ${cell(p, BASE.patch)} ` +
      `${med(fs, 'watchP50').toFixed(1).padStart(6)}/${med(fs, 'watchP99').toFixed(1).padStart(5)} ` +
      `ms   ${String(med(fs, 'overloadMutationP99')).padStart(6)} / ${String(med(fs, 'overloadListP99')).padStart(5)} ` +
      `/ ${String(med(fs, 'overloadGetP99')).padStart(5)} ms   ${fs.reduce((a, f) => a + f.errors, 0)}`,
  );
  const cpu = (k: keyof Figures['cpuUs']) => median(fs.map((f) => f.cpuUs[k]));
  console.log(
    `${''.padEnd(18)} server CPU per operation: GET ${cpu('get')} µs, LIST(100) ${cpu('list')} ` +
      `µs, CREATE ${cpu('create')} µs, PATCH ${cpu('patch')} µs (one core's capacity: ${Math.round(1e6 / cpu('get'))} ` +
      `/ ${Math.round(1e6 / cpu('list'))} / ${Math.round(1e6 / cpu('create'))} / ${Math.round(1e6 / cpu('patch'))} per s)`,
  );
  const drainRate = med(fs, 'drainPerSecond');
  if (!Number.isNaN(drainRate))
    console.log(
      `${''.padEnd(18)} namespace deletion: ${drainRate} objects deleted per second (the run's two namespaces)`,
    );
  const etcdCpu = (k: keyof Figures['cpuUs']) => median(fs.map((f) => f.etcdCpuUs[k]));
  if (fs.some((f) => !Number.isNaN(f.etcdCpuUs.create) || !Number.isNaN(f.etcdCpuUs.get)))
    console.log(
      `${''.padEnd(18)} etcd's own CPU per operation: GET ${etcdCpu('get')} µs, LIST(100) ${etcdCpu('list')} µs, ` +
        `CREATE ${etcdCpu('create')} µs, PATCH ${etcdCpu('patch')} µs`,
    );
  const floor = ours.get(FLOOR);
  // How much of this configuration's CPU per operation Node's HTTPS alone costs: the no-op
  // server's CPU per operation over this one's, paired by round. CPU time per operation is
  // steady on a shared machine where throughput is not.
  const transport = (k: keyof Figures['cpuUs']) => 1 / pairedRatio(fs, floor, (f) => f.cpuUs[k]);
  // (Only for HTTPS configurations: `--insecure` has no TLS to compare.)
  const served = configs.find((x) => x.name === name);
  const overTls = floor && name !== FLOOR && served !== undefined && !served.insecure && !served.external;
  if (overTls)
    console.log(
      `${''.padEnd(18)} of which Node's HTTPS (the no-op server's CPU per operation, same rounds): GET ` +
        `${pct(transport('get'))}, LIST(100) ${pct(transport('list'))}, CREATE ${pct(transport('create'))}, PATCH ${pct(transport('patch'))}`,
    );
  if (name === FLOOR)
    console.log(
      `${''.padEnd(18)} the reference: Node's HTTPS alone under the same clients, no API server (bench/lib/https-floor.ts)`,
    );
  const cfgOf = configs.find((x) => x.name === name);
  const target = cfgOf && !cfgOf.insecure && !name.endsWith(' before') ? TARGET[cfgOf.backend ?? ''] : undefined;
  if (target) {
    // Operations skipped with --ops (NaN) are left out of the verdict.
    const measured = [g / BASE.get, l / BASE.list, c / BASE.create, p / BASE.patch].filter((r) => !Number.isNaN(r));
    const ok = measured.every((r) => r >= target);
    const what = measured.length === 4 ? 'every operation' : `every measured operation (${values.ops})`;
    let scaledVerdict = '';
    const scaledOps = floorScaled({ get: g, list: l, create: c, patch: p });
    if (scaledOps) {
      const scaled = [scaledOps.get, scaledOps.list, scaledOps.create, scaledOps.patch];
      const shown = scaled.map((r) => (Number.isNaN(r) ? '—' : `${r.toFixed(2)}×`)).join(' / ');
      const scaledOk = scaled.filter((r) => !Number.isNaN(r)).every((r) => r >= target);
      scaledVerdict = `; floor-scaled (GET / LIST / CREATE / PATCH ${shown}): ${scaledOk ? 'met' : 'NOT met'}`;
    }
    console.log(
      `${''.padEnd(18)} target: ${what} ≥ ${target}× kube-apiserver: ${ok ? 'met' : 'NOT met'}${scaledVerdict}`,
    );
  }
  summary[name] = {
    getPerSec: g,
    listPerSec: l,
    createPerSec: c,
    patchPerSec: p,
    watchP50Ms: med(fs, 'watchP50'),
    watchP99Ms: med(fs, 'watchP99'),
    overloadMutationP99Ms: med(fs, 'overloadMutationP99'),
    overloadListP99Ms: med(fs, 'overloadListP99'),
    overloadGetP99Ms: med(fs, 'overloadGetP99'),
    drainPerSecond: drainRate,
    cpuUsPerOp: { get: cpu('get'), list: cpu('list'), create: cpu('create'), patch: cpu('patch') },
    etcdCpuUsPerOp: { get: etcdCpu('get'), list: etcdCpu('list'), create: etcdCpu('create'), patch: etcdCpu('patch') },
    vsKube: { get: g / BASE.get, list: l / BASE.list, create: c / BASE.create, patch: p / BASE.patch },
    ...(speed ? { vsKubeFloorScaled: floorScaled({ get: g, list: l, create: c, patch: p }) } : {}),
    ...(overTls
      ? {
          httpsCpuShare: {
            get: transport('get'),
            list: transport('list'),
            create: transport('create'),
            patch: transport('patch'),
          },
        }
      : {}),
    rounds: fs,
  };
}
for (const [name, fs] of ours) {
  const before = ours.get(`${name} before`);
  if (!before) continue;
  // Ratios of the rounds' pairs (each round runs both), then their median: steadier than a ratio
  // of medians when the machine's load moves between rounds.
  const paired = (k: 'get' | 'list' | 'create' | 'patch') => pairedRatio(fs, before, (f) => f[k]);
  const r = (k: 'get' | 'list' | 'create' | 'patch') => `${k.toUpperCase()} ${paired(k).toFixed(2)}×`;
  const pairedCpu = (k: keyof Figures['cpuUs']) => 1 / pairedRatio(fs, before, (f) => f.cpuUs[k]);
  const c = (k: keyof Figures['cpuUs']) => `${k.toUpperCase()} ${pairedCpu(k).toFixed(2)}×`;
  console.log(
    `${name}: this checkout ÷ before (same run): throughput ${r('get')}, ${r('list')}, ${r('create')}, ${r('patch')}; ` +
      `server CPU per operation, before ÷ now: ${c('get')}, ${c('list')}, ${c('create')}, ${c('patch')} ` +
      `(medians of the rounds' ratios)`,
  );
  (summary[name] as Record<string, unknown>).vsBefore = {
    get: paired('get'),
    list: paired('list'),
    create: paired('create'),
    patch: paired('patch'),
    cpuBeforeOverNow: {
      get: pairedCpu('get'),
      list: pairedCpu('list'),
      create: pairedCpu('create'),
      patch: pairedCpu('patch'),
    },
  };
}
if (shared.size > 0) {
  console.log('\nshared load generator (apibench.mjs: 16 clients, 50 watchers), medians:');
  for (const [name, xs] of shared) {
    const m = (k: keyof ApibenchFigures) => median(xs.map((x) => x[k]));
    const scaled = floorScaled({ get: m('get'), list: m('list'), create: m('create'), patch: m('patch') });
    console.log(
      `${name.padEnd(18)} GET ${m('get')} (${ratio(m('get'), BASE.get)})  LIST ${m('list')} ` +
        `(${ratio(m('list'), BASE.list)})  CREATE ${m('create')} ` +
        `(${ratio(m('create'), BASE.create)})  PATCH ${m('patch')} ` +
        `(${ratio(m('patch'), BASE.patch)})  watch p99 ${m('watchP99')} ms` +
        (scaled
          ? `; floor-scaled ${[scaled.get, scaled.list, scaled.create, scaled.patch].map((r) => r.toFixed(2)).join(' / ')}`
          : ''),
    );
    (summary[name] as Record<string, unknown>).apibench = {
      get: m('get'),
      list: m('list'),
      create: m('create'),
      patch: m('patch'),
      watchP99Ms: m('watchP99'),
    };
  }
}
console.log(
  'targets: SQLite ≥ 2×, etcd ≥ 1.5× kube-apiserver on every operation; watch p99 ≤ 20 ms (100 watchers); 4× load p99 ≤ 1 s mutations, ≤ 5 s LISTs',
);
console.log(
  JSON.stringify({
    bench: 'apiserver',
    rounds: ROUNDS,
    seconds: SECONDS,
    node: process.versions.node,
    serverNode: runtimes[1]?.label.replace('node ', ''),
    etcd: etcdVersion,
    loadAverage: { median: median(loads), max: Math.max(...loads) },
    baseline: BASE,
    baselineMeasured: given !== undefined,
    results: summary,
  }),
);
