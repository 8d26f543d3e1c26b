/**
 * Real member clusters for deployer tests: plain API servers on 127.0.0.1 (or sandbox clusters),
 * a kubeconfig with one context per cluster, and manifest folders written to a temp dir.
 */
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import { startApiServer, type ApiServer } from '../../services/apiserver/server.js';
import type { KubeObject } from '../../services/core/kube.js';
import { buildKubeconfig } from '../../services/core/kubeconfig.js';
import type { KubeClient } from '../../services/core/kube-client.js';
import type { Sandbox } from '../../services/sandbox/index.js';

export interface Cluster {
  name: string;
  server: ApiServer;
  /** Requests by verb seen by this cluster (GET, PATCH, POST, PUT, DELETE, …). */
  requests: Map<string, number>;
}

export interface Fixture {
  dir: string;
  manifests: string;
  kubeconfig: string;
  clusters: Cluster[];
  writes(name?: string): number;
  resetCounts(): void;
  close(): Promise<void>;
}

export function kubeconfigText(clusters: Array<{ name: string; url: string; namespace?: string }>): string {
  return buildKubeconfig(clusters.map(({ url, ...c }) => ({ ...c, server: url })));
}

const WRITE_VERBS = new Set(['POST', 'PUT', 'PATCH', 'DELETE', 'CREATE', 'UPDATE', 'APPLY']);

export async function startClusters(names: string[]): Promise<Fixture> {
  const dir = await mkdtemp(path.join(tmpdir(), 'kitfed-deployer-'));
  const clusters: Cluster[] = await Promise.all(
    names.map(async (name) => {
      const requests = new Map<string, number>();
      const server = await startApiServer({
        onRequest: (verb) => requests.set(verb.toUpperCase(), (requests.get(verb.toUpperCase()) ?? 0) + 1),
      });
      return { name, server, requests };
    }),
  );
  const kubeconfig = path.join(dir, 'kubeconfig');
  await writeFile(kubeconfig, kubeconfigText(clusters.map((c) => ({ name: c.name, url: c.server.url }))));
  const manifests = path.join(dir, 'manifests');
  await mkdir(manifests);
  return {
    dir,
    manifests,
    kubeconfig,
    clusters,
    writes: (name) =>
      clusters
        .filter((c) => !name || c.name === name)
        .reduce((n, c) => n + [...c.requests].filter(([v]) => WRITE_VERBS.has(v)).reduce((m, [, k]) => m + k, 0), 0),
    resetCounts: () => clusters.forEach((c) => c.requests.clear()),
    close: async () => {
      await Promise.all(clusters.map((c) => c.server.close().catch(() => undefined)));
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Writes `<manifests>/<folder>/<file>.yaml` for each object (file = `<kind>-<name>.yaml` lower-cased). */
export async function writeFolder(
  manifests: string,
  folder: string,
  objects: KubeObject[],
  opts: { clean?: boolean } = {},
): Promise<void> {
  const d = path.join(manifests, folder);
  if (opts.clean) await rm(d, { recursive: true, force: true });
  await mkdir(d, { recursive: true });
  await Promise.all(
    objects.map((o) =>
      writeFile(path.join(d, `${o.kind}-${o.metadata.name}.yaml`.toLowerCase()), YAML.stringify(o, { version: '1.1' })),
    ),
  );
}

export function configMap(
  name: string,
  data: Record<string, string>,
  namespace?: string,
  extra: Partial<KubeObject['metadata']> = {},
): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name, ...(namespace ? { namespace } : {}), ...extra },
    data,
  };
}

export function deployment(
  name: string,
  image: string,
  opts: {
    namespace?: string;
    replicas?: number;
    annotations?: Record<string, string>;
    labels?: Record<string, string>;
  } = {},
): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      name,
      ...(opts.namespace ? { namespace: opts.namespace } : {}),
      labels: { app: name, ...(opts.labels ?? {}) },
      ...(opts.annotations ? { annotations: opts.annotations } : {}),
    },
    spec: {
      replicas: opts.replicas ?? 1,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name, image }] } },
    },
  };
}

export function service(name: string, namespace?: string): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, ...(namespace ? { namespace } : {}), labels: { app: name } },
    spec: { selector: { app: name }, ports: [{ port: 80, targetPort: 8080 }] },
  };
}

export function namespace(name: string): KubeObject {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name } };
}

export interface SandboxFixture {
  dir: string;
  manifests: string;
  kubeconfig: string;
  sandbox: Sandbox;
  close(): Promise<void>;
}

/** Sandbox member clusters (Deployments become available, bad images fail to pull) + temp dirs. */
export async function startSandboxClusters(
  names: string[],
  opts: { readyDelayMs?: number } = {},
): Promise<SandboxFixture> {
  const { startSandbox } = await import('../../services/sandbox/index.js');
  const dir = await mkdtemp(path.join(tmpdir(), 'kitfed-deployer-sb-'));
  const sandbox = await startSandbox({
    clusters: names.map((name, i) => ({ name, region: `r${i}` })),
    readyDelayMs: opts.readyDelayMs ?? 100,
  });
  const kubeconfig = path.join(dir, 'kubeconfig');
  await writeFile(kubeconfig, sandbox.kubeconfig());
  const manifests = path.join(dir, 'manifests');
  await mkdir(manifests);
  return {
    dir,
    manifests,
    kubeconfig,
    sandbox,
    close: async () => {
      await sandbox.close().catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** A KubeClient for one context of a fixture's kubeconfig (closed at teardown by the caller). */
export async function clientFor(kubeconfig: string, context: string): Promise<KubeClient> {
  const { KubeClient } = await import('../../services/core/kube-client.js');
  return KubeClient.fromKubeconfig({ file: kubeconfig }, context, { timeoutMs: 5000 });
}
