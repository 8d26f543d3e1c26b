/**
 * API server throughput and watch fan-out, per storage backend.
 *
 * The server runs in its own process (`kitfed apiserver --insecure`), the load generator
 * here: 16 concurrent keep-alive clients for GET, LIST(100), CREATE and PATCH, then 100
 * watchers measuring write → event delivery latency. Backends: memory, SQLite and (when an
 * `etcd` binary is found) a single-member etcd.
 *
 *   node --import tsx bench/apiserver.ts [--seconds 3] [--backends memory,sqlite,etcd]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { etcdBinary, startEtcd } from '../test/storage/etcd-harness.js';

const { values } = parseArgs({
  options: { seconds: { type: 'string', default: '3' }, backends: { type: 'string', default: 'memory,sqlite,etcd' } },
});
const SECONDS = Number(values.seconds);
const CONCURRENCY = 16;
const WATCHERS = 100;

const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY + 4 });

function request(
  base: string,
  method: string,
  path: string,
  body?: string,
  contentType = 'application/json',
): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      `${base}${path}`,
      {
        method,
        agent,
        headers: body ? { 'content-type': contentType, 'content-length': Buffer.byteLength(body) } : {},
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    if (body) req.write(body);
    req.end();
  });
}

async function startServer(storage: string, dir: string): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      'services/cli/kitfed.ts',
      'apiserver',
      '--insecure',
      '--listen',
      '127.0.0.1:0',
      '--data-dir',
      dir,
      '--storage',
      storage,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  const url = await new Promise<string>((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => reject(new Error(`API server did not start: ${buf}`)), 30_000);
    child.stderr!.on('data', (d: Buffer) => {
      buf += d.toString();
      const m = /"url":"(http:[^"]+)"/.exec(buf);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    child.on('exit', (code) => reject(new Error(`API server exited ${code}: ${buf}`)));
  });
  return { url, child };
}

/** Runs `op` from CONCURRENCY loops for SECONDS; returns ops/s (2xx only) and errors. */
async function throughput(
  op: (worker: number, i: number) => Promise<number>,
): Promise<{ perSecond: number; errors: number }> {
  let ok = 0;
  let errors = 0;
  const end = performance.now() + SECONDS * 1000;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async (_, w) => {
      for (let i = 0; performance.now() < end; i++) {
        const code = await op(w, i);
        if (code >= 200 && code < 300) ok++;
        else errors++;
      }
    }),
  );
  return { perSecond: ok / SECONDS, errors };
}

function cm(name: string, extra: Record<string, string> = {}): string {
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name, labels: { bench: 'x' }, annotations: extra },
    data: { key: 'value', other: 'x'.repeat(200) },
  });
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function watchFanOut(base: string): Promise<{ p50: number; p99: number; events: number }> {
  await request(
    base,
    'POST',
    '/api/v1/namespaces',
    JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'watch' } }),
  );
  const latencies: number[] = [];
  const streams: http.ClientRequest[] = [];
  const watchAgent = new http.Agent({ keepAlive: false, maxSockets: WATCHERS + 1 });
  await Promise.all(
    Array.from(
      { length: WATCHERS },
      () =>
        new Promise<void>((resolve) => {
          const req = http.get(
            `${base}/api/v1/namespaces/watch/configmaps?watch=true&resourceVersion=0`,
            { agent: watchAgent },
            (res) => {
              let buf = '';
              res.setEncoding('utf8');
              res.on('data', (chunk: string) => {
                const now = performance.timeOrigin + performance.now();
                buf += chunk;
                let nl: number;
                while ((nl = buf.indexOf('\n')) >= 0) {
                  const line = buf.slice(0, nl);
                  buf = buf.slice(nl + 1);
                  const sent = /"sent":"([\d.]+)"/.exec(line);
                  if (sent) latencies.push(now - Number(sent[1]));
                }
              });
              resolve();
            },
          );
          streams.push(req);
        }),
    ),
  );
  await new Promise((r) => setTimeout(r, 300));
  const writes = 200;
  for (let i = 0; i < writes; i++) {
    await request(
      base,
      'POST',
      '/api/v1/namespaces/watch/configmaps',
      cm(`w${i}`, { sent: String(performance.timeOrigin + performance.now()) }),
    );
    await new Promise((r) => setTimeout(r, 5));
  }
  await new Promise((r) => setTimeout(r, 500));
  for (const s of streams) s.destroy();
  watchAgent.destroy();
  latencies.sort((a, b) => a - b);
  return { p50: percentile(latencies, 50), p99: percentile(latencies, 99), events: latencies.length };
}

interface Result {
  backend: string;
  getPerSec: number;
  listPerSec: number;
  createPerSec: number;
  patchPerSec: number;
  watchP50Ms: number;
  watchP99Ms: number;
  errors: number;
}

async function benchBackend(backend: string, storage: string, dir: string): Promise<Result> {
  const { url, child } = await startServer(storage, dir);
  try {
    // 100 objects in their own namespace: GET, LIST (all 100) and PATCH target them; CREATE fills `default`.
    await request(
      url,
      'POST',
      '/api/v1/namespaces',
      JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'hundred' } }),
    );
    const hundred = '/api/v1/namespaces/hundred/configmaps';
    for (let i = 0; i < 100; i++) await request(url, 'POST', hundred, cm(`seed-${i}`));
    const create = await throughput((w, i) =>
      request(url, 'POST', '/api/v1/namespaces/default/configmaps', cm(`c-${w}-${i}`)),
    );
    const get = await throughput((_w, i) => request(url, 'GET', `${hundred}/seed-${i % 100}`));
    const list = await throughput(() => request(url, 'GET', hundred));
    const patch = await throughput((_w, i) =>
      request(
        url,
        'PATCH',
        `${hundred}/seed-${i % 100}`,
        JSON.stringify({ data: { n: String(i) } }),
        'application/merge-patch+json',
      ),
    );
    const watch = await watchFanOut(url);
    return {
      backend,
      getPerSec: Math.round(get.perSecond),
      listPerSec: Math.round(list.perSecond),
      createPerSec: Math.round(create.perSecond),
      patchPerSec: Math.round(patch.perSecond),
      watchP50Ms: Number(watch.p50.toFixed(2)),
      watchP99Ms: Number(watch.p99.toFixed(2)),
      errors: get.errors + list.errors + create.errors + patch.errors,
    };
  } finally {
    child.kill('SIGKILL');
  }
}

const results: Result[] = [];
const wanted = values.backends.split(',');
for (const backend of wanted) {
  const dir = await mkdtemp(join(tmpdir(), `kitfed-bench-${backend}-`));
  try {
    if (backend === 'memory') results.push(await benchBackend('memory', 'memory://', dir));
    else if (backend === 'sqlite') results.push(await benchBackend('sqlite', `sqlite://${join(dir, 'bench.db')}`, dir));
    else if (backend === 'etcd') {
      if (!etcdBinary) {
        console.log('etcd: skipped (no etcd binary; apt-get install etcd-server)');
        continue;
      }
      const etcd = await startEtcd();
      try {
        results.push(
          await benchBackend(
            'etcd',
            `etcd://${etcd.endpoints.map((e) => e.replace(/^https?:\/\//, '')).join(',')}`,
            dir,
          ),
        );
      } finally {
        await etcd.stop();
      }
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const KUBE = { get: 2500, create: 1400, list: 550 };
console.log(
  `machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}; ${CONCURRENCY} keep-alive clients, ${SECONDS}s per op, ${WATCHERS} watchers`,
);
console.log('backend   GET/s   LIST(100)/s  CREATE/s  PATCH/s  watch p50  watch p99  errors');
for (const r of results) {
  console.log(
    `${r.backend.padEnd(8)} ${String(r.getPerSec).padStart(6)} ${String(r.listPerSec).padStart(12)} ${String(r.createPerSec).padStart(9)} ${String(r.patchPerSec).padStart(8)} ${r.watchP50Ms.toFixed(2).padStart(8)}ms ${r.watchP99Ms.toFixed(2).padStart(8)}ms ${String(r.errors).padStart(7)}`,
  );
}
const memory = results.find((r) => r.backend === 'memory');
for (const r of results) {
  const vsKube = `vs kube-apiserver 1.32 on etcd (2,500 GET/s, 1,400 CREATE/s, 550 LIST/s): GET ×${(r.getPerSec / KUBE.get).toFixed(2)}, CREATE ×${(r.createPerSec / KUBE.create).toFixed(2)}, LIST ×${(r.listPerSec / KUBE.list).toFixed(2)}`;
  const vsMem =
    memory && r !== memory
      ? `; vs memory: GET ×${(r.getPerSec / memory.getPerSec).toFixed(2)}, CREATE ×${(r.createPerSec / memory.createPerSec).toFixed(2)}, LIST ×${(r.listPerSec / memory.listPerSec).toFixed(2)}`
      : '';
  console.log(`${r.backend}: ${vsKube}${vsMem}`);
}
console.log(JSON.stringify({ bench: 'apiserver', results }));
agent.destroy();
