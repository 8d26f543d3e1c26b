/**
 * Web console benchmark, in Debian's Chromium (playwright-core), over loopback with HTTPS + a
 * bearer token between the console server and the federation API.
 *
 * 1. First meaningful paint of the fleet view with 100 clusters and 1,000 federated objects
 *    (500 Deployments whose recorded plans span the clusters, 500 ConfigMaps): navigation start →
 *    the fleet table painted with every cluster (the app's `kitfed:fleet-painted` mark). Every
 *    load starts a fresh server-side feed (token check, discovery, lists). Target ≤ 1 s.
 *    Baseline (same run): `kubectl get clusters` against the same API server.
 * 2. Object change → visible: a label patched through the federation API until the object page
 *    shows it, 100 sequential samples. Target p99 ≤ 1 s. Baseline: a watch client's patch → event.
 * 3. CPU: an idle `kitfed up` (3 sandbox clusters) for 30 s without a browser, 30 s with the
 *    console open on the fleet view, 30 s without again; the process' CPU time from /proc.
 *    Target: the console adds ≤ 5 % CPU.
 *
 * The federation API server and the console server run in a child process (this file with
 * --serve), so the browser driver does not share their event loop.
 *
 *   node --import tsx bench/console.ts [--loads 7] [--samples 100] [--cpu-seconds 30] [--skip-cpu | --cpu-only]
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';
import PQueue from 'p-queue';
import type { Browser } from '../test/console/browser.js';

interface Node {
  textContent: string | null;
}

const { values } = parseArgs({
  options: {
    serve: { type: 'boolean', default: false },
    clusters: { type: 'string', default: '100' },
    objects: { type: 'string', default: '1000' },
    loads: { type: 'string', default: '7' },
    samples: { type: 'string', default: '100' },
    'cpu-seconds': { type: 'string', default: '30' },
    'skip-cpu': { type: 'boolean', default: false },
    'cpu-only': { type: 'boolean', default: false },
  },
});

const quantile = (xs: number[], q: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))] ?? NaN;
};
const median = (xs: number[]) => quantile(xs, 0.5);
const ms = (x: number) => `${x.toFixed(x < 10 ? 2 : 0)} ms`;

if (values.serve) {
  // Child: the federation API server (SQLite, TLS, tokens), seeded, and the console server.
  const { startFederationApiServer } = await import('../services/apiserver/run.js');
  const { federationAccess, startConsoleServer } = await import('../services/console/index.js');
  const { KubeClient } = await import('../services/core/kube-client.js');
  const dir = await mkdtemp(join(tmpdir(), 'kitfed-bench-console-'));
  const fed = await startFederationApiServer({ listen: '127.0.0.1:0', dataDir: dir });
  const client = await KubeClient.fromKubeconfig({ text: fed.kubeconfig }, 'federation', { maxSockets: 64 });
  const nClusters = Number(values.clusters);
  const nObjects = Number(values.objects);
  const q = new PQueue({ concurrency: 32 });
  const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  const names = Array.from({ length: nClusters }, (_, i) => `cluster-${String(i + 1).padStart(3, '0')}`);
  for (const [i, name] of names.entries())
    void q.add(async () => {
      const region = `region-${(i % 10) + 1}`;
      const c = await client.create({
        apiVersion: 'federation.kitfed.io/v1beta1',
        kind: 'Cluster',
        metadata: { name, labels: { 'kitfed.io/region': region } },
        spec: { serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: `https://10.0.${i}.1:6443` }] },
      });
      await client.update(
        {
          ...c,
          status: {
            region,
            zones: [`${region}-a`, `${region}-b`],
            conditions: [
              {
                type: 'Ready',
                status: 'True',
                reason: 'ClusterReady',
                message: '/readyz responded with ok',
                lastProbeTime: now,
                lastTransitionTime: now,
              },
              {
                type: 'Offline',
                status: 'False',
                reason: 'ClusterReachable',
                lastProbeTime: now,
                lastTransitionTime: now,
              },
            ],
          },
        },
        { subresource: 'status' },
      );
    });
  await client.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'bench' } });
  await q.onIdle();
  for (let i = 0; i < nObjects; i++)
    void q.add(async () => {
      if (i % 2 === 1) {
        await client.create({
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name: `config-${i}`, namespace: 'bench', labels: { app: `app-${i % 50}` } },
          data: { 'settings.json': JSON.stringify({ level: 'info', i }) },
        });
        return;
      }
      const d = await client.create({
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: `web-${i}`, namespace: 'bench', labels: { app: `app-${i % 50}` } },
        spec: {
          replicas: 10,
          selector: { matchLabels: { app: `web-${i}` } },
          template: {
            metadata: { labels: { app: `web-${i}` } },
            spec: { containers: [{ name: 'web', image: 'nginx:1.27' }] },
          },
        },
      });
      const plan = Object.fromEntries(names.map((n, j) => [n, (j - i + nClusters) % nClusters < 10 ? 1 : 0]));
      await client.update(
        {
          ...d,
          status: {
            replicas: 10,
            readyReplicas: 10,
            availableReplicas: 10,
            conditions: [
              {
                type: 'Scheduled',
                status: 'True',
                reason: 'ReplicasPlanned',
                message: JSON.stringify({ plan, overflow: {}, unplaced: 0 }),
                lastTransitionTime: now,
              },
              {
                type: 'Propagated',
                status: 'True',
                reason: 'InSync',
                message: `${nClusters} member object(s) match`,
                lastTransitionTime: now,
              },
            ],
          },
        },
        { subresource: 'status' },
      );
    });
  await q.onIdle();
  client.close();
  const access = federationAccess({ text: fed.kubeconfig });
  // lingerMs 0: every page load starts a fresh feed (token check, discovery, lists) — the cold case.
  const server = await startConsoleServer({ port: 0, federation: access, lingerMs: 0 });
  const kubeconfig = join(dir, 'kubeconfig');
  await writeFile(kubeconfig, fed.kubeconfig);
  process.stdout.write(`${JSON.stringify({ console: server.url, token: access.token, kubeconfig })}\n`);
  process.stdin.resume();
  process.stdin.on('end', () => {
    void server
      .close()
      .then(() => fed.server.close())
      .then(() => rm(dir, { recursive: true, force: true }))
      .finally(() => process.exit(0));
  });
} else {
  await main();
}

async function startChild(
  args: string[],
  ready: (line: string) => boolean,
): Promise<{ child: ChildProcess; line: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
  const rl = createInterface({ input: child.stdout });
  const line = await new Promise<string>((resolve, reject) => {
    rl.on('line', (l) => ready(l) && resolve(l));
    child.on('exit', (code) => reject(new Error(`${args.join(' ')} exited with ${code}`)));
  });
  return { child, line };
}

function kubectlGetClusters(kubeconfig: string, cache: string): Promise<number> {
  const started = performance.now();
  return new Promise((resolve, reject) =>
    execFile(
      'kubectl',
      ['--kubeconfig', kubeconfig, '--cache-dir', cache, '--context', 'federation', 'get', 'clusters'],
      { env: { ...process.env, KUBECTL_KUBERC: 'false' } },
      (err, stdout) =>
        err ? reject(err) : resolve(stdout.split('\n').length > 100 ? performance.now() - started : NaN),
    ),
  );
}

/** utime + stime of a process in seconds (Linux /proc). */
async function cpuSeconds(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

async function main(): Promise<void> {
  const { openBrowser } = await import('../test/console/browser.js');
  const { buildBundle } = await import('../services/console/index.js');
  const result: Record<string, unknown> = {};

  // Bundle budget: gzipped JS of the first view.
  const bundle = await buildBundle({ minify: true });
  const js = bundle.filter((f) => f.name.endsWith('.js'));
  const jsGz = js.reduce((n, f) => n + gzipSync(f.body, { level: 9 }).length, 0);
  const cssGz = bundle.filter((f) => f.name.endsWith('.css')).reduce((n, f) => n + gzipSync(f.body).length, 0);
  console.log(
    `bundle: JS ${(jsGz / 1024).toFixed(1)} KiB gzipped (budget 200 KiB), CSS ${(cssGz / 1024).toFixed(1)} KiB`,
  );
  result.bundleJsGzipKiB = Number((jsGz / 1024).toFixed(1));

  const browser = await openBrowser();
  if (!values['cpu-only']) await paintAndChange(browser, result);
  if (!values['skip-cpu']) await idleCpu(browser, result);
  await browser.close();
  console.log(JSON.stringify(result));
}

/** 1. First meaningful paint, 2. object change → visible. */
async function paintAndChange(browser: Browser, result: Record<string, unknown>): Promise<void> {
  const { KubeClient } = await import('../services/core/kube-client.js');
  const serve = await startChild(
    [fileURLToPath(import.meta.url), '--serve', '--clusters', values.clusters, '--objects', values.objects],
    (l) => l.startsWith('{'),
  );
  const env = JSON.parse(serve.line) as { console: string; token: string; kubeconfig: string };
  const loginUrl = `${env.console}#token=${encodeURIComponent(env.token)}`;
  const cache = await mkdtemp(join(tmpdir(), 'kitfed-bench-kubectl-'));
  try {
    // 1. First meaningful paint.
    const fmp: number[] = [];
    const fcp: number[] = [];
    for (let i = 0; i < Number(values.loads); i++) {
      const page = await browser.context.newPage();
      await page.goto(loginUrl);
      await page.waitForFunction(() => performance.getEntriesByName('kitfed:fleet-painted').length > 0, undefined, {
        timeout: 30_000,
      });
      const rows = await page.locator('table.fleet tbody tr').count();
      if (rows !== Number(values.clusters)) throw new Error(`fleet shows ${rows} clusters`);
      const t = await page.evaluate<{ mark: number; fcp: number }>(
        "({ mark: performance.getEntriesByName('kitfed:fleet-painted')[0].startTime, fcp: " +
          "performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? NaN })",
      );
      fmp.push(t.mark);
      fcp.push(t.fcp);
      await page.close();
      await new Promise((r) => setTimeout(r, 300));
    }
    const kubectl: number[] = [];
    for (let i = 0; i < 3; i++) kubectl.push(await kubectlGetClusters(env.kubeconfig, cache));
    console.log(
      `fleet first meaningful paint (${values.clusters} clusters, ${values.objects} objects, fresh feed each load): ` +
        `first ${ms(fmp[0]!)}, median ${ms(median(fmp))}, max ${ms(Math.max(...fmp))} (target ≤ 1 s); ` +
        `first contentful paint median ${ms(median(fcp))}; baseline kubectl get clusters median ${ms(median(kubectl))} ` +
        `→ ratio ${(median(fmp) / median(kubectl)).toFixed(2)}`,
    );
    result.fleetPaintMs = {
      first: Math.round(fmp[0]!),
      median: Math.round(median(fmp)),
      max: Math.round(Math.max(...fmp)),
    };
    result.kubectlGetClustersMs = Math.round(median(kubectl));

    // 2. Object change → visible.
    const client = await KubeClient.fromKubeconfig({ file: env.kubeconfig }, 'federation');
    const page = await browser.context.newPage();
    await page.goto(`${loginUrl.replace(/#.*$/, '')}#token=${encodeURIComponent(env.token)}`);
    await page.waitForSelector('[data-connection="live"]');
    await page.evaluate<string>(`location.hash = '#/object/apps%2Fv1%2Fdeployments/bench/web-0'`);
    await page.waitForSelector('h1:has-text("web-0")');
    const seen: number[] = [];
    for (let i = 0; i < Number(values.samples); i++) {
      const sent = performance.timeOrigin + performance.now();
      // A function, not a string: the console's CSP forbids eval, which string predicates need.
      const waiting = page.waitForFunction(
        (want: string) => {
          const doc = (globalThis as unknown as { document: { querySelector(s: string): Node | null } }).document;
          return doc.querySelector('main')?.textContent?.includes(want) ? Date.now() : false;
        },
        `bench-seq=${i}x`,
        { polling: 'raf', timeout: 10_000 },
      );
      await client.patch(
        'apps/v1',
        'Deployment',
        'bench',
        'web-0',
        { metadata: { labels: { 'bench-seq': `${i}x` } } },
        'merge',
      );
      const at = (await (await waiting).jsonValue()) as number;
      seen.push(at - sent);
    }
    // Baseline: the same patches seen by a plain watch client.
    const watched: number[] = [];
    let resolveSeen: ((t: number) => void) | undefined;
    let want = '';
    const watch = await client.watch(
      'apps/v1',
      'Deployment',
      'bench',
      { fieldSelector: 'metadata.name=web-0' },
      (_type, o) => {
        if (o.metadata.labels?.['bench-seq'] === want) resolveSeen?.(performance.timeOrigin + performance.now());
      },
    );
    for (let i = 0; i < Number(values.samples); i++) {
      want = `w${i}`;
      const seenAt = new Promise<number>((r) => (resolveSeen = r));
      const sent = performance.timeOrigin + performance.now();
      await client.patch(
        'apps/v1',
        'Deployment',
        'bench',
        'web-0',
        { metadata: { labels: { 'bench-seq': want } } },
        'merge',
      );
      watched.push((await seenAt) - sent);
    }
    watch.stop();
    client.close();
    await page.close();
    console.log(
      `object change → visible in the page (${seen.length} sequential label patches): p50 ${ms(median(seen))}, ` +
        `p99 ${ms(quantile(seen, 0.99))}, max ${ms(Math.max(...seen))} (target p99 ≤ 1 s); ` +
        `baseline watch client p50 ${ms(median(watched))}, p99 ${ms(quantile(watched, 0.99))} → console adds p50 ` +
        `${ms(median(seen) - median(watched))}`,
    );
    result.changeVisibleMs = { p50: Math.round(median(seen)), p99: Math.round(quantile(seen, 0.99)) };
    result.watchBaselineMs = {
      p50: Number(median(watched).toFixed(1)),
      p99: Number(quantile(watched, 0.99).toFixed(1)),
    };
  } finally {
    serve.child.stdin!.end();
    await new Promise((r) => serve.child.once('exit', r));
    await rm(cache, { recursive: true, force: true });
  }
}

/** 3. CPU of an idle kitfed up, without and with the console open. */
async function idleCpu(browser: Browser, result: Record<string, unknown>): Promise<void> {
  const dataDir = await mkdtemp(join(tmpdir(), 'kitfed-bench-up-'));
  const up = await startChild(
    ['services/cli/kitfed.ts', 'up', '--data-dir', dataDir, '--port-base', '0', '--ready-delay', '50'],
    (l) => l.includes('#token='),
  );
  try {
    const url = /(http:\/\/\S+#token=\S+)/.exec(up.line)?.[1] ?? '';
    const pid = up.child.pid!;
    const seconds = Number(values['cpu-seconds']);
    // Let the initial deploy finish and the process settle.
    await new Promise((r) => setTimeout(r, 20_000));
    const window = async () => {
      const c0 = await cpuSeconds(pid);
      const t0 = performance.now();
      await new Promise((r) => setTimeout(r, seconds * 1000));
      return (100 * ((await cpuSeconds(pid)) - c0)) / ((performance.now() - t0) / 1000);
    };
    const idleBefore = await window();
    const page = await browser.context.newPage();
    await page.goto(url);
    await page.waitForSelector('table.fleet tr[data-health="Ready"]');
    await new Promise((r) => setTimeout(r, 5000));
    const withConsole = await window();
    await page.close();
    await new Promise((r) => setTimeout(r, 12_000)); // the feed lingers 10 s after the last tab
    const idleAfter = await window();
    const idle = (idleBefore + idleAfter) / 2;
    console.log(
      `CPU of an idle kitfed up (3 clusters), ${seconds} s windows: without console ${idleBefore.toFixed(2)} % / ` +
        `${idleAfter.toFixed(2)} % of a core, with the fleet view open ${withConsole.toFixed(2)} % → the console adds ` +
        `${(withConsole - idle).toFixed(2)} percentage points (${((100 * (withConsole - idle)) / idle).toFixed(0)} % of the idle figure; target ≤ 5 %)`,
    );
    result.cpuPercent = {
      idle: Number(idle.toFixed(2)),
      withConsole: Number(withConsole.toFixed(2)),
      addedPoints: Number((withConsole - idle).toFixed(2)),
    };
  } finally {
    up.child.kill('SIGINT');
    await new Promise((r) => up.child.once('exit', r));
    await rm(dataDir, { recursive: true, force: true });
  }
}
