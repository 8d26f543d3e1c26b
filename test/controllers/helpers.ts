import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ExecutionContext } from 'ava';
import { buildKubeconfig } from '../../services/core/kubeconfig.js';
import { startApiServer, type ApiServer } from '../../services/apiserver/server.js';
import type { AdmissionPlugin } from '../../services/apiserver/registry.js';
import { federationAdmission } from '../../services/apiserver/federation-admission.js';
import { KubeClient } from '../../services/core/kube-client.js';
import type { KubeObject } from '../../services/core/kube.js';
import { joinCluster } from '../../services/controllers/join.js';
import {
  startControllers,
  type ControllersOptions,
  type RunningControllers,
} from '../../services/controllers/index.js';
import { kubectlFor, type Kubectl } from '../helpers/kubectl.js';
import { eventually } from '../helpers/eventually.js';

export interface Member {
  name: string;
  server: ApiServer;
  client: KubeClient;
  /** Adds this much delay to every request (0 = none). */
  latencyMs: number;
  /** Write requests served (POST, PUT, PATCH, DELETE), newest last. */
  writes: string[];
}

export interface Federation {
  server: ApiServer;
  client: KubeClient;
  members: Member[];
  dir: string;
  /** kubeconfig with context `federation` and one context per member. */
  kubeconfig: string;
  kubectl: Kubectl;
  startControllers(options?: Partial<ControllersOptions>): Promise<RunningControllers>;
  join(name: string, labels?: Record<string, string>): Promise<void>;
}

function kubeconfigOf(entries: Array<{ name: string; url: string }>): string {
  return buildKubeconfig(
    entries.map((e) => ({ name: e.name, server: e.url })),
    'federation',
  );
}

/** A federation API server and `n` member API servers (plain kitfed API servers) on loopback. */
export async function startFederation(
  t: ExecutionContext,
  n: number,
  opts: { join?: boolean; memberAdmission?: (name: string) => AdmissionPlugin[] } = {},
): Promise<Federation> {
  const dir = await mkdtemp(join(tmpdir(), 'kitfed-fed-'));
  const server = await startApiServer({ admission: federationAdmission() });
  const members: Member[] = [];
  for (let i = 0; i < n; i++) {
    const name = `m${i + 1}`;
    const m: Partial<Member> & { latencyMs: number; writes: string[] } = { name, latencyMs: 0, writes: [] };
    m.server = await startApiServer({
      ...(opts.memberAdmission ? { admission: opts.memberAdmission(name) } : {}),
      intercept: async (req) => {
        if (req.method !== 'GET') m.writes.push(`${req.method} ${req.url}`);
        if (m.latencyMs > 0) await new Promise((r) => setTimeout(r, m.latencyMs));
        return false;
      },
    });
    members.push(m as Member);
  }
  const kubeconfig = join(dir, 'kubeconfig');
  await writeFile(
    kubeconfig,
    kubeconfigOf([
      { name: 'federation', url: server.url },
      ...members.map((m) => ({ name: m.name, url: m.server.url })),
    ]),
  );
  const client = await KubeClient.fromKubeconfig({ file: kubeconfig }, 'federation', { timeoutMs: 10_000 });
  for (const m of members)
    m.client = await KubeClient.fromKubeconfig({ file: kubeconfig }, m.name, { timeoutMs: 10_000 });
  const running: RunningControllers[] = [];
  t.teardown(async () => {
    for (const r of running) await r.stop();
    client.close();
    for (const m of members) {
      m.client.close();
      await m.server.close();
    }
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });
  const fed: Federation = {
    server,
    client,
    members,
    dir,
    kubeconfig,
    kubectl: kubectlFor(kubeconfig, join(dir, 'cache')),
    async startControllers(options = {}) {
      const r = await startControllers({
        kubeconfig: { file: kubeconfig },
        context: 'federation',
        leaderElect: false,
        clusterMonitorPeriodMs: 200,
        ...options,
      });
      running.push(r);
      return r;
    },
    async join(name, labels = {}) {
      await joinCluster(client, name, { file: kubeconfig, context: name }, labels);
    },
  };
  if (opts.join ?? true) for (const m of members) await fed.join(m.name);
  return fed;
}

/** Waits until every named cluster is Ready in the federation. */
export async function waitReady(
  fed: Federation,
  names = fed.members.map((m) => m.name),
  timeoutMs = 10_000,
): Promise<void> {
  await eventually(async () => {
    for (const name of names) {
      const c = await fed.client.get('federation.kitfed.io/v1beta1', 'Cluster', undefined, name);
      const conds =
        (c.status as { conditions?: Array<{ type: string; status: string }> } | undefined)?.conditions ?? [];
      if (!conds.some((x) => x.type === 'Ready' && x.status === 'True')) throw new Error(`${name} not Ready`);
    }
  }, timeoutMs);
}

export function secret(
  name: string,
  data: Record<string, string>,
  namespace = 'default',
  extra: Partial<KubeObject['metadata']> = {},
): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name, namespace, ...extra },
    type: 'Opaque',
    data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
  };
}

export function decode(obj: KubeObject | undefined, key: string): string | undefined {
  const v = (obj?.data as Record<string, string> | undefined)?.[key];
  return v === undefined ? undefined : Buffer.from(v, 'base64').toString('utf8');
}

export interface ClusterStatusView {
  cluster: string;
  state: string;
  reason?: string;
  message?: string;
  replicas?: number;
  conditions?: Array<{ type: string; status: string; reason?: string }>;
  overrides?: string[];
}

/** The propagation status kitfed records on a federated object (`kitfed.io/status`). */
export function propagationStatus(obj: KubeObject | undefined): {
  reason?: string;
  message?: string;
  clusters: ClusterStatusView[];
} {
  const text = obj?.metadata.annotations?.['kitfed.io/status'];
  if (!text) throw new Error(`${obj?.kind ?? 'object'} ${obj?.metadata.name ?? ''} has no kitfed.io/status yet`);
  return JSON.parse(text) as { reason?: string; message?: string; clusters: ClusterStatusView[] };
}

const KITFED = fileURLToPath(new URL('../../services/cli/kitfed.ts', import.meta.url));

/** Runs the kitfed CLI as a child process. */
export function kitfed(args: string[], timeoutMs = 60_000): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', KITFED, ...args], { timeout: timeoutMs }, (err, stdout, stderr) => {
      const code = err
        ? typeof (err as { code?: unknown }).code === 'number'
          ? (err as { code: number }).code
          : 1
        : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}
