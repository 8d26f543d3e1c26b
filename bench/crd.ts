/**
 * CustomResourceDefinitions: how soon a new CRD's resources are served, and what 50 CRDs cost
 * in API server memory.
 *
 * The API server runs as users run it (`kitfed apiserver`: HTTPS, generated CA, bearer token),
 * in its own process; this process is the client. Per backend (SQLite, the default, and etcd
 * when an `etcd` binary is found):
 *   - RSS of the server with no CRD (after discovery and OpenAPI were served once);
 *   - RUNS times: POST a CRD, then POST a custom resource of it until one is accepted (201):
 *     the latency from the CRD POST to that 201 (p50/p99), next to the latency of a plain
 *     ConfigMap create in the same run (the baseline);
 *   - more CRDs up to 50, discovery and every OpenAPI document fetched, then RSS again.
 *
 *   node --import tsx bench/crd.ts [--runs 30] [--backends sqlite,etcd]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import https from 'node:https';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import YAML from 'yaml';
import { etcdBinary, startEtcd } from '../test/storage/etcd-harness.js';

const { values } = parseArgs({
  options: { runs: { type: 'string', default: '30' }, backends: { type: 'string', default: 'sqlite,etcd' } },
});
const RUNS = Number(values.runs);
const TOTAL_CRDS = 50;

interface Client {
  call(method: string, path: string, body?: unknown): Promise<{ status: number; body: string }>;
  close(): void;
}

function clientFor(url: string, ca: string, token: string): Client {
  const agent = new https.Agent({ keepAlive: true, maxSockets: 8, ca });
  return {
    call: (method, path, body) =>
      new Promise((resolve, reject) => {
        const data = body === undefined ? undefined : JSON.stringify(body);
        const req = https.request(
          `${url}${path}`,
          {
            method,
            agent,
            headers: {
              authorization: `Bearer ${token}`,
              ...(data ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) } : {}),
            },
          },
          (res) => {
            let text = '';
            res.setEncoding('utf8');
            res.on('data', (c: string) => (text += c));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
          },
        );
        req.on('error', reject);
        if (data) req.write(data);
        req.end();
      }),
    close: () => agent.destroy(),
  };
}

async function startServer(storage: string, dir: string): Promise<{ client: Client; child: ChildProcess }> {
  const kubeconfig = join(dir, 'kubeconfig');
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      'services/cli/kitfed.ts',
      'apiserver',
      '--listen',
      '127.0.0.1:0',
      '--data-dir',
      dir,
      '--storage',
      storage,
      '--kubeconfig-out',
      kubeconfig,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  await new Promise<void>((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`API server did not start: ${buf}`));
    }, 180_000);
    child.stderr.on('data', (d: Buffer) => {
      buf += d.toString();
      if (buf.includes('kubeconfig written')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.on('exit', (code) => reject(new Error(`API server exited ${code}: ${buf}`)));
  });
  const kc = YAML.parse(await readFile(kubeconfig, 'utf8')) as {
    clusters: Array<{ cluster: { server: string; 'certificate-authority-data': string } }>;
    users: Array<{ user: { token: string } }>;
  };
  const cluster = kc.clusters[0]!.cluster;
  const ca = Buffer.from(cluster['certificate-authority-data'], 'base64').toString('utf8');
  return { client: clientFor(cluster.server, ca, kc.users[0]!.user.token), child };
}

/** Resident set size of a process, in MiB (Linux /proc). */
async function rssMiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return kb / 1024;
}

/** A CRD shaped like a typical operator's: nested spec, keyed list, status, scale, printer columns. */
function crd(i: number): Record<string, unknown> {
  const plural = `gadget${i}s`;
  const group = 'bench.kitfed.io';
  const str = { type: 'string' };
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${plural}.${group}` },
    spec: {
      group,
      scope: 'Namespaced',
      names: { plural, singular: `gadget${i}`, kind: `Gadget${i}`, shortNames: [`gd${i}`] },
      versions: [
        {
          name: 'v1',
          served: true,
          storage: true,
          subresources: {
            status: {},
            scale: { specReplicasPath: '.spec.replicas', statusReplicasPath: '.status.replicas' },
          },
          additionalPrinterColumns: [
            { name: 'Replicas', type: 'integer', jsonPath: '.spec.replicas' },
            { name: 'Ready', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].status' },
            { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
          ],
          schema: {
            openAPIV3Schema: {
              type: 'object',
              properties: {
                spec: {
                  type: 'object',
                  required: ['image'],
                  properties: {
                    image: str,
                    replicas: { type: 'integer', minimum: 0, default: 1 },
                    mode: { type: 'string', enum: ['Fast', 'Safe'], default: 'Safe' },
                    selector: { type: 'object', additionalProperties: str },
                    resources: {
                      type: 'object',
                      properties: { cpu: { 'x-kubernetes-int-or-string': true }, memory: str },
                    },
                    ports: {
                      type: 'array',
                      'x-kubernetes-list-type': 'map',
                      'x-kubernetes-list-map-keys': ['name'],
                      items: {
                        type: 'object',
                        required: ['name'],
                        properties: { name: str, port: { type: 'integer', minimum: 1, maximum: 65535 } },
                      },
                    },
                    config: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
                  },
                },
                status: {
                  type: 'object',
                  properties: {
                    replicas: { type: 'integer' },
                    conditions: {
                      type: 'array',
                      items: { type: 'object', properties: { type: str, status: str, message: str } },
                    },
                  },
                },
              },
            },
          },
        },
      ],
    },
  };
}

function gadget(i: number, name: string): Record<string, unknown> {
  return {
    apiVersion: 'bench.kitfed.io/v1',
    kind: `Gadget${i}`,
    metadata: { name },
    spec: { image: 'registry.example/gadget:1', ports: [{ name: 'http', port: 8080 }] },
  };
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** Discovery and every OpenAPI v3 document, as kubectl and client tools fetch them. */
async function readApi(client: Client): Promise<void> {
  await client.call('GET', '/api/v1');
  const groups = JSON.parse((await client.call('GET', '/apis')).body) as {
    groups: Array<{ versions: Array<{ groupVersion: string }> }>;
  };
  for (const g of groups.groups) for (const v of g.versions) await client.call('GET', `/apis/${v.groupVersion}`);
  const index = JSON.parse((await client.call('GET', '/openapi/v3')).body) as {
    paths: Record<string, { serverRelativeURL: string }>;
  };
  for (const p of Object.values(index.paths)) await client.call('GET', p.serverRelativeURL);
}

interface Result {
  backend: string;
  runs: number;
  crdToFirstCrP50Ms: number;
  crdToFirstCrP99Ms: number;
  crdToFirstCrMaxMs: number;
  /** 404s answered before the first custom resource was accepted, over all runs. */
  notYetServed: number;
  configMapCreateP50Ms: number;
  rssNoCrdsMiB: number;
  rss50CrdsMiB: number;
  /** Established condition observed in the CRD status, p50 from the CRD POST. */
  establishedP50Ms: number;
}

async function benchBackend(backend: string, storage: string, dir: string): Promise<Result> {
  const { client, child } = await startServer(storage, dir);
  try {
    await readApi(client);
    // Warm up the request path (TLS, JIT) with plain creates; they are also the baseline.
    const cmLatencies: number[] = [];
    for (let i = 0; i < RUNS + 10; i++) {
      const started = performance.now();
      const r = await client.call('POST', '/api/v1/namespaces/default/configmaps', {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: `baseline-${i}` },
        data: { a: 'b' },
      });
      if (r.status !== 201) throw new Error(`ConfigMap create: ${r.status} ${r.body}`);
      if (i >= 10) cmLatencies.push(performance.now() - started);
    }
    await new Promise((r) => setTimeout(r, 2000));
    const rssBefore = await rssMiB(child.pid!);

    const latencies: number[] = [];
    const established: number[] = [];
    let notYet = 0;
    for (let i = 0; i < TOTAL_CRDS; i++) {
      const started = performance.now();
      const created = await client.call('POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', crd(i));
      if (created.status !== 201) throw new Error(`CRD create: ${created.status} ${created.body}`);
      const path = `/apis/bench.kitfed.io/v1/namespaces/default/gadget${i}s`;
      for (;;) {
        const r = await client.call('POST', path, gadget(i, 'first'));
        if (r.status === 201) break;
        if (r.status !== 404) throw new Error(`custom resource create: ${r.status} ${r.body}`);
        notYet++;
        if (performance.now() - started > 30_000) throw new Error('custom resource not served within 30 s');
      }
      if (i < RUNS) latencies.push(performance.now() - started);
      if (i < RUNS) {
        for (;;) {
          const r = await client.call(
            'GET',
            `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/gadget${i}s.bench.kitfed.io`,
          );
          const status = (JSON.parse(r.body) as { status?: { conditions?: Array<{ type: string; status: string }> } })
            .status;
          if (status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True')) break;
          if (performance.now() - started > 30_000) throw new Error('CRD not Established within 30 s');
        }
        established.push(performance.now() - started);
      }
    }
    await readApi(client);
    await new Promise((r) => setTimeout(r, 2000));
    const rssAfter = await rssMiB(child.pid!);
    latencies.sort((a, b) => a - b);
    established.sort((a, b) => a - b);
    cmLatencies.sort((a, b) => a - b);
    return {
      backend,
      runs: latencies.length,
      crdToFirstCrP50Ms: Number(percentile(latencies, 50).toFixed(1)),
      crdToFirstCrP99Ms: Number(percentile(latencies, 99).toFixed(1)),
      crdToFirstCrMaxMs: Number(latencies.at(-1)!.toFixed(1)),
      notYetServed: notYet,
      configMapCreateP50Ms: Number(percentile(cmLatencies, 50).toFixed(1)),
      rssNoCrdsMiB: Number(rssBefore.toFixed(1)),
      rss50CrdsMiB: Number(rssAfter.toFixed(1)),
      establishedP50Ms: Number(percentile(established, 50).toFixed(1)),
    };
  } finally {
    client.close();
    child.kill('SIGKILL');
  }
}

const results: Result[] = [];
for (const backend of values.backends.split(',')) {
  const dir = await mkdtemp(join(tmpdir(), `kitfed-bench-crd-${backend}-`));
  try {
    if (backend === 'sqlite') results.push(await benchBackend('sqlite', `sqlite://${join(dir, 'bench.db')}`, dir));
    else if (backend === 'etcd') {
      if (!etcdBinary) {
        console.log('etcd: skipped (no etcd binary; apt-get install etcd-server)');
        continue;
      }
      const etcd = await startEtcd();
      try {
        const endpoints = etcd.endpoints.map((e) => e.replace(/^https?:\/\//, '')).join(',');
        results.push(await benchBackend('etcd', `etcd://${endpoints}`, dir));
      } finally {
        await etcd.stop();
      }
    } else throw new Error(`unknown backend ${backend} (sqlite, etcd)`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

console.log(
  `machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} ` +
    `GiB, node ${process.version}; kitfed apiserver over HTTPS with a bearer token; ${RUNS} CRDs ` +
    `timed, ${TOTAL_CRDS} installed`,
);
console.log(
  'backend  CRD→first CR p50   p99      max   (404s)  Established p50  ConfigMap create p50  RSS 0 CRDs  RSS 50 CRDs',
);
for (const r of results) {
  console.log(
    `${r.backend.padEnd(8)} ${r.crdToFirstCrP50Ms.toFixed(1).padStart(9)}ms ` +
      `${r.crdToFirstCrP99Ms.toFixed(1).padStart(7)}ms ` +
      `${r.crdToFirstCrMaxMs.toFixed(1).padStart(7)}ms ${String(r.notYetServed).padStart(6)} ` +
      `${r.establishedP50Ms.toFixed(1).padStart(13)}ms ` +
      `${r.configMapCreateP50Ms.toFixed(1).padStart(18)}ms ` +
      `${r.rssNoCrdsMiB.toFixed(0).padStart(9)}MiB ${r.rss50CrdsMiB.toFixed(0).padStart(10)}MiB`,
  );
}
for (const r of results) {
  console.log(
    `${r.backend}: target CRD create → first CR accepted ≤ 1000 ms: p99 ${r.crdToFirstCrP99Ms} ms (${r.crdToFirstCrP99Ms <= 1000 ? 'met' : 'NOT met'}); ` +
      `×${(r.crdToFirstCrP50Ms / r.configMapCreateP50Ms).toFixed(1)} a ConfigMap create (p50); ` +
      `RSS with ${TOTAL_CRDS} CRDs ×${(r.rss50CrdsMiB / r.rssNoCrdsMiB).toFixed(2)} (+${(r.rss50CrdsMiB - r.rssNoCrdsMiB).toFixed(0)} ` +
      `MiB, ${((r.rss50CrdsMiB - r.rssNoCrdsMiB) / TOTAL_CRDS).toFixed(2)} MiB per CRD)`,
  );
}
console.log(JSON.stringify({ bench: 'crd', results }));
