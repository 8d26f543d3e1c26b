import { CLUSTER_API_VERSION, clusterProxyPath, isClusterReady, type ClusterObject } from '../../core/cluster.js';
import { columns } from '../../core/columns.js';
import { existsSync } from 'node:fs';
import { KubeClient } from '../../core/kube-client.js';
import type { PropagationStatus } from '../../controllers/index.js';
import type { KubeObject } from '../../core/kube.js';
import { labelSelectorText } from '../../core/label-selector.js';
import { UsageError } from './usage.js';

export interface FederationFlags {
  kubeconfig?: string;
  context?: string;
}

/** The kubeconfig to use: the flag, $KUBECONFIG, or the embedded default's `.kitfed/kubeconfig`. */
export function resolveKubeconfig(flag?: string): string {
  const file = flag ?? process.env.KUBECONFIG?.split(':')[0] ?? '.kitfed/kubeconfig';
  if (!existsSync(file))
    throw new UsageError(
      `kubeconfig ${file} not found (pass --kubeconfig, set KUBECONFIG, or run \`kitfed up\` first)`,
    );
  return file;
}

export async function federationClient(flags: FederationFlags, timeoutMs = 10_000): Promise<KubeClient> {
  return KubeClient.fromKubeconfig({ file: resolveKubeconfig(flags.kubeconfig) }, flags.context ?? 'federation', {
    timeoutMs,
  });
}

/** A member's API through the federation's proxy, with the federation client's credentials. */
export function throughProxy(federation: KubeClient, cluster: string): KubeClient {
  return federation.at(clusterProxyPath(cluster));
}

/**
 * The member clusters a fleet-wide command reads, in name order: every Cluster, or those a
 * `--clusters a,b` flag names (an unknown name is a UsageError listing the clusters there are).
 */
export async function selectClusters(
  federation: KubeClient,
  flag: string | undefined,
): Promise<Array<{ name: string; ready: boolean }>> {
  const clusters = (await federation.list<ClusterObject>(CLUSTER_API_VERSION, 'Cluster')).items;
  const names = clusters.map((c) => c.metadata.name!).sort();
  const wanted = flag
    ?.split(',')
    .map((c) => c.trim())
    .filter(Boolean);
  for (const w of wanted ?? [])
    if (!names.includes(w))
      throw new UsageError(`no cluster ${JSON.stringify(w)} in the federation (clusters: ${names.join(', ')})`);
  return clusters
    .filter((c) => !wanted || wanted.includes(c.metadata.name!))
    .map((c) => ({ name: c.metadata.name!, ready: isClusterReady(c) }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** Kinds whose pods a fleet-wide command finds, by the member object's selector. */
export const POD_OWNERS = new Set([
  'Deployment',
  'ReplicaSet',
  'StatefulSet',
  'DaemonSet',
  'Job',
  'ReplicationController',
]);

/**
 * The pods of `owner` in one member (a client through the proxy): by the member's own object's
 * selector, so a workload the deployer applied there directly counts as much as a federated one;
 * none when the member has no such object.
 */
export async function podsOf(
  member: KubeClient,
  owner: { apiVersion: string; kind: string; name: string },
  namespace: string,
): Promise<KubeObject[]> {
  const obj = await member.tryGet(owner.apiVersion, owner.kind, namespace, owner.name);
  if (!obj) return [];
  const spec = (obj.spec ?? {}) as { selector?: unknown };
  const selector =
    owner.kind === 'ReplicationController'
      ? labelSelectorText({ matchLabels: spec.selector })
      : labelSelectorText(spec.selector);
  if (!selector) return [];
  return (await member.list('v1', 'Pod', namespace, { labelSelector: selector })).items;
}

export type OutputFormat = 'table' | 'json' | 'yaml' | 'name';

export function parseOutput(value: string | undefined): OutputFormat {
  const v = value ?? 'table';
  if (!['table', 'json', 'yaml', 'name'].includes(v))
    throw new UsageError(`-o must be one of table, json, yaml, name (got ${JSON.stringify(v)})`);
  return v as OutputFormat;
}

/** JSON, or YAML as kubectl prints it (the `yaml` library, loaded only for -o yaml). */
export async function printData(data: unknown, format: 'json' | 'yaml'): Promise<void> {
  if (format === 'json') return void process.stdout.write(`${JSON.stringify(data, null, 2)}\n`);
  const { default: YAML } = await import('yaml');
  process.stdout.write(YAML.stringify(data));
}

/** Fixed-width columns as kubectl prints them. */
export function printTable(headers: string[], rows: string[][]): void {
  process.stdout.write(columns(headers, rows));
}

export function age(timestamp: string | undefined, now = Date.now()): string {
  if (!timestamp) return '<unknown>';
  const s = Math.max(0, Math.floor((now - Date.parse(timestamp)) / 1000));
  if (s < 120) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 120) return `${m}m`;
  const h = Math.floor(m / 60);
  return h < 48 ? `${h}h` : `${Math.floor(h / 24)}d`;
}

/** A kind as the federation API serves it. */
export interface ServedKind {
  apiVersion: string;
  kind: string;
  plural: string;
  namespaced: boolean;
  /** Its subresources (`status`, `scale`). */
  subresources: string[];
}

interface DiscoveredResource {
  name: string;
  singularName?: string;
  shortNames?: string[];
  kind: string;
  namespaced: boolean;
}

/**
 * Resolves what a user typed (plural, singular, short name or Kind, optionally `.group`) through
 * the federation's discovery, so kinds added at run time (CRDs) resolve too.
 */
export async function resolveKind(client: KubeClient, typed: string): Promise<ServedKind | undefined> {
  const dot = typed.indexOf('.');
  const name = (dot < 0 ? typed : typed.slice(0, dot)).toLowerCase();
  const group = dot < 0 ? undefined : typed.slice(dot + 1);
  const lists: Array<{ gv: string; resources: DiscoveredResource[] }> = [];
  if (!group) {
    const core = await client.request<{ resources: DiscoveredResource[] }>('GET', '/api/v1');
    lists.push({ gv: 'v1', resources: core.resources });
  }
  const groups = await client.request<{ groups: Array<{ name: string; preferredVersion?: { groupVersion: string } }> }>(
    'GET',
    '/apis',
  );
  for (const g of groups.groups) {
    if (group !== undefined && g.name !== group) continue;
    const gv = g.preferredVersion?.groupVersion;
    if (!gv) continue;
    const list = await client.request<{ resources: DiscoveredResource[] }>('GET', `/apis/${gv}`);
    lists.push({ gv, resources: list.resources });
  }
  for (const { gv, resources } of lists)
    for (const r of resources) {
      if (r.name.includes('/')) continue;
      const names = [r.name, r.singularName, r.kind.toLowerCase(), ...(r.shortNames ?? [])];
      if (names.includes(name))
        return {
          apiVersion: gv,
          kind: r.kind,
          plural: r.name,
          namespaced: r.namespaced,
          subresources: resources
            .filter((x) => x.name.startsWith(`${r.name}/`))
            .map((x) => x.name.slice(r.name.length + 1)),
        };
    }
  return undefined;
}

/**
 * The propagation status kitfed records on a federated object (`kitfed.io/status`), as the
 * controllers write it (their types only: the commands that read it do not load the controllers).
 */
export function syncStatusOf(obj: KubeObject): PropagationStatus | undefined {
  const text = obj.metadata.annotations?.['kitfed.io/status'];
  if (!text) return undefined;
  try {
    return JSON.parse(text) as PropagationStatus;
  } catch {
    return undefined;
  }
}

/** `SYNCED` and `STATUS` cells of `kitfed get`: clusters in sync / clusters, and the worst state. */
export function syncCells(obj: KubeObject): [string, string] {
  const s = syncStatusOf(obj);
  if (!s) return ['-', '<none>'];
  if (s.reason) return ['0/0', s.reason];
  const inSync = s.clusters.filter((c) => c.state === 'InSync').length;
  const order = ['Failed', 'ClusterNotReady', 'Pending', 'InSync'];
  const worst = order.find((st) => s.clusters.some((c) => c.state === st)) ?? 'InSync';
  return [`${inSync}/${s.clusters.length}`, s.clusters.length === 0 ? 'NoClusters' : worst];
}
