/**
 * Fixtures for rollout tests: a fleet of sandbox clusters, a manifests repo with a kit.yaml rollout plan, a running
 * service.
 */
import { cp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { ExecutionContext } from 'ava';
import { stringify } from 'yaml';
import { KubeClient } from '../../services/core/kube-client.js';
import type { RunRecord } from '../../services/gitops/api.js';
import { deployerStep } from '../../services/gitops/deploy-step.js';
import type { WebhookService } from '../../services/gitops/webhook-service.js';
import { startSandbox, type Sandbox } from '../../services/sandbox/index.js';
import {
  devCommit,
  eventually,
  FIXTURE,
  getJson,
  makeRemote,
  postGithub,
  pushFromExample,
  startService,
  tempDir,
  testConfig,
  type Remote,
} from './helpers.js';

/** Cluster name → type. */
export const FLEET: Record<string, string> = { stg: 'staging', p1: 'production', p2: 'production', p3: 'production' };

export interface Fleet {
  dir: string;
  kubeconfig: string;
  sandbox: Sandbox;
  remote: Remote;
}

/**
 * Sandbox clusters named after FLEET and a manifests repo (the gitops fixture) whose clusters are
 * FLEET, with `rollout` as kit.yaml's `rollout:` section (none when undefined).
 */
export async function fleet(
  t: ExecutionContext,
  rollout: Record<string, unknown> | undefined,
  clusters: Record<string, string> = FLEET,
): Promise<Fleet> {
  const sandbox = await startSandbox({
    clusters: Object.keys(clusters).map((name, i) => ({ name, region: `r${i}` })),
    readyDelayMs: 50,
  });
  t.teardown(() => sandbox.close());
  const dir = await tempDir(t);
  const kubeconfig = join(dir, 'kubeconfig');
  await writeFile(kubeconfig, sandbox.kubeconfig());
  const src = join(dir, 'fixture');
  await cp(FIXTURE, src, { recursive: true });
  await rm(join(src, 'clusters'), { recursive: true });
  for (const [name, type] of Object.entries(clusters)) {
    await mkdir(join(src, 'clusters', name), { recursive: true });
    await writeFile(
      join(src, 'clusters', name, 'cluster.yaml'),
      `kind: ClusterNamespace\nmetadata:\n  name: ${name}\n  type: ${type}\n`,
    );
    await writeFile(
      join(src, 'clusters', name, 'configuration-var.yaml'),
      `kind: ResourceConfig\ncluster:\n  name: ${name}\n`,
    );
  }
  for (const type of new Set(Object.values(clusters)))
    await writeFile(
      join(src, 'templates', 'type', `${type}-var.yaml`),
      `kind: ResourceConfig\nmetadata:\n  type: ${type}\n`,
    );
  await rm(join(src, 'templates', 'type', 'test-var.yaml'));
  if (rollout) {
    const kit = await readFile(join(src, 'templates', 'kit.yaml'), 'utf8');
    await writeFile(join(src, 'templates', 'kit.yaml'), `${kit}${stringify({ rollout })}`);
  }
  const remote = await makeRemote(t, src);
  return { dir, kubeconfig, sandbox, remote };
}

export async function rolloutService(
  t: ExecutionContext,
  f: Fleet,
  extra: Record<string, unknown> = {},
  dataDir = join(f.dir, 'data'),
): Promise<WebhookService> {
  const config = testConfig(f.remote, dataDir, {
    deploy: { kubeconfig: f.kubeconfig },
    timeouts: { deploySeconds: 180 },
    ...extra,
  });
  return startService(t, config, { deploy: deployerStep(config.deploy!, 180_000) });
}

export const IMAGE_FILE = 'templates/images/acme/web/master.yaml';

/** Commits a new image for the web Deployment and sends its push webhook; returns the commit. */
export async function pushImage(f: Fleet, service: WebhookService, image: string): Promise<string> {
  const commit = await devCommit(f.remote, IMAGE_FILE, `image: '${image}'\n`, `image ${image}`);
  const r = await postGithub(service.url, await pushFromExample(f.remote, commit));
  if (r.status !== 202) throw new Error(`push not accepted: ${r.status} ${JSON.stringify(r.body)}`);
  return commit;
}

export async function runs(url: string): Promise<RunRecord[]> {
  return (await getJson(`${url}/runs?limit=1000`)).body.runs as RunRecord[];
}

/** Waits (bounded) until the run of `commit` satisfies `pred`. */
export async function runWhen(
  url: string,
  commit: string,
  pred: (r: RunRecord) => boolean,
  what: string,
): Promise<RunRecord> {
  return eventually(
    async () => (await runs(url)).find((r) => r.commit === commit && r.kind === 'deploy' && pred(r)),
    what,
  );
}

export const finished = (r: RunRecord): boolean => r.status !== 'running';

/** The image of Deployment default/web in a sandbox cluster (undefined when it does not exist). */
export async function imageIn(f: Fleet, cluster: string): Promise<string | undefined> {
  const client = await KubeClient.fromKubeconfig({ file: f.kubeconfig }, cluster, { timeoutMs: 10_000 });
  try {
    const d = await client.tryGet('apps/v1', 'Deployment', 'default', 'web');
    const spec = d?.spec as { template?: { spec?: { containers?: Array<{ image?: string }> } } } | undefined;
    return spec?.template?.spec?.containers?.[0]?.image;
  } finally {
    client.close();
  }
}

export function writes(f: Fleet, names: string[]): number {
  return names.reduce((n, c) => n + f.sandbox.cluster(c).requests.writes, 0);
}

export interface Recorded {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/** An HTTP server on port 0 that records every request and answers with `answer` (default 200 `{}`). */
export async function recorder(
  t: ExecutionContext,
  answer: (r: Recorded) => { status: number; body?: unknown } = () => ({ status: 200, body: {} }),
): Promise<{ url: string; got: Recorded[]; server: Server }> {
  const got: Recorded[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const r = {
        method: req.method ?? '',
        path: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString(),
      };
      got.push(r);
      const a = answer(r);
      const text = a.body === undefined ? '' : typeof a.body === 'string' ? a.body : JSON.stringify(a.body);
      res.writeHead(a.status, { 'content-type': typeof a.body === 'string' ? 'text/plain' : 'application/json' });
      res.end(text);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, got, server };
}
