import { Argument, type Command } from 'commander';
import { RESOURCES } from '../../apiserver/index.js';
import { clusterProxyPath } from '../../core/cluster.js';
import type { KubeClient } from '../../core/kube-client.js';
import type { KubeObject } from '../../core/kube.js';
import { UsageError } from '../lib/usage.js';
import { completeWith, kindNames, namesOfKind } from '../lib/completion.js';
import {
  age,
  federationClient,
  parseOutput,
  printData,
  printTable,
  resolveKind,
  selectClusters,
  syncCells,
  throughProxy,
  type FederationFlags,
} from '../lib/federation.js';

interface Flags extends FederationFlags {
  output?: string;
  namespace?: string;
  members?: boolean;
  clusters?: string;
  selector?: string;
}

const TABLE = 'application/json;as=Table;v=v1;g=meta.k8s.io';

interface Table {
  columnDefinitions: Array<{ name: string; priority?: number }>;
  rows: Array<{ cells: unknown[]; object?: { metadata?: { namespace?: string } } }>;
}

/** Every kind the API server's resource table serves, by plural and short names (others resolve through discovery). */
const KINDS: Record<string, { apiVersion: string; kind: string }> = Object.fromEntries(
  RESOURCES.flatMap((r) => {
    const gvk = { apiVersion: r.group ? `${r.group}/${r.version}` : r.version, kind: r.kind };
    return [r.plural, ...(r.shortNames ?? [])].map((name) => [name, gvk] as const);
  }),
);

function condition(o: KubeObject, type: string): string {
  const conditions =
    (o.status as { conditions?: Array<{ type: string; status: string }> } | undefined)?.conditions ?? [];
  return conditions.find((c) => c.type === type)?.status ?? 'Unknown';
}

function clusterRow(o: KubeObject): string[] {
  const status = (o.status ?? {}) as { region?: string; zones?: string[] };
  return [
    o.metadata.name ?? '',
    condition(o, 'Ready'),
    status.region ?? '',
    (status.zones ?? []).join(',') || '<none>',
    age(o.metadata.creationTimestamp),
  ];
}

function workloadRow(o: KubeObject): string[] {
  const spec = (o.spec ?? {}) as { replicas?: number };
  const status = (o.status ?? {}) as { replicas?: number; readyReplicas?: number };
  return [
    o.metadata.namespace ?? '',
    o.metadata.name ?? '',
    String(spec.replicas ?? 0),
    String(status.replicas ?? 0),
    String(status.readyReplicas ?? 0),
    ...syncCells(o),
    age(o.metadata.creationTimestamp),
  ];
}

export function register(program: Command): void {
  program
    .command('get')
    .description(
      'List federated objects of any kind with their propagation (clusters in sync, worst state); ' +
        'clusters with readiness, region and zones',
    )
    .addArgument(
      completeWith(
        new Argument(
          '<kind>',
          'any kind the federation serves: plural, singular, short name or Kind ' +
            '(e.g. clusters, rs, deployments, configmaps)',
        ),
        kindNames,
      ),
    )
    .addArgument(completeWith(new Argument('[name]', 'one object'), namesOfKind))
    .option('-o, --output <format>', 'table | json | yaml | name', 'table')
    .option('-n, --namespace <ns>', 'namespace (default: all)')
    .option(
      '--members',
      "the kind as each member cluster holds it (its own columns, a CLUSTER column first), read through the federation's clusters/proxy with your identity",
    )
    .option('--clusters <names>', 'with --members: only these clusters (comma-separated; default: every Ready one)')
    .option('-l, --selector <labels>', 'with --members: a label selector (app=web,tier!=cache)')
    .option('--kubeconfig <file>', 'kubeconfig (default: $KUBECONFIG or .kitfed/kubeconfig)')
    .option('--context <name>', 'federation context', 'federation')
    .addHelpText(
      'after',
      '\nExamples:\n  kitfed get clusters\n  kitfed get rs -n default -o json\n  kitfed get configmaps -n shop\n' +
        '  kitfed get clusters gce-us-central1-a -o yaml\n  kitfed get pods -n shop -l app=web --members\n',
    )
    .action(async (kindArg: string, name: string | undefined, flags: Flags) => {
      const format = parseOutput(flags.output);
      if ((flags.clusters || flags.selector) && !flags.members)
        throw new UsageError('--clusters and --selector go with --members');
      if (flags.members && format !== 'table')
        throw new UsageError(
          `-o ${format} with --members: read one member with kubectl --server <federation>${clusterProxyPath('NAME')}`,
        );
      // The API server's own table: no discovery request before the list of a kind it serves.
      const client = (await federationClient(flags)).assume(RESOURCES);
      try {
        const gvk = KINDS[kindArg] ?? (await resolveKind(client, kindArg));
        if (!gvk) throw new UsageError(`unknown kind ${JSON.stringify(kindArg)}: the federation does not serve it`);
        if (flags.members) {
          if (!(await printMembers(client, gvk, name, flags))) process.exitCode = 1;
          return;
        }
        const items = name
          ? [await client.get(gvk.apiVersion, gvk.kind, flags.namespace ?? 'default', name)]
          : (await client.list(gvk.apiVersion, gvk.kind, flags.namespace ?? '')).items;
        if (format === 'json' || format === 'yaml')
          return await printData(name ? items[0] : { apiVersion: 'v1', kind: 'List', items }, format);
        if (format === 'name') {
          process.stdout.write(items.map((o) => `${gvk.kind.toLowerCase()}/${o.metadata.name}\n`).join(''));
          return;
        }
        if (gvk.kind === 'Cluster') printTable(['NAME', 'READY', 'REGION', 'ZONES', 'AGE'], items.map(clusterRow));
        else if (items.some((o) => typeof (o.spec as { replicas?: unknown } | undefined)?.replicas === 'number'))
          printTable(
            ['NAMESPACE', 'NAME', 'DESIRED', 'CURRENT', 'READY', 'SYNCED', 'STATUS', 'AGE'],
            items.map(workloadRow),
          );
        else
          printTable(
            ['NAMESPACE', 'NAME', 'SYNCED', 'STATUS', 'AGE'],
            items.map((o) => [
              o.metadata.namespace ?? '',
              o.metadata.name ?? '',
              ...syncCells(o),
              age(o.metadata.creationTimestamp),
            ]),
          );
      } finally {
        client.close();
      }
    });
}

/**
 * The kind in every Ready member (or those of --clusters), each member's own server-side table
 * (kubectl's columns for that kind) under a CLUSTER column. False when a member could not be read.
 */
async function printMembers(
  fed: KubeClient,
  gvk: { apiVersion: string; kind: string },
  name: string | undefined,
  flags: Flags,
): Promise<boolean> {
  const clusters = await selectClusters(fed, flags.clusters);
  let ok = true;
  const namespace = flags.namespace ?? '';
  const tables = await Promise.all(
    clusters.map(async ({ name: cluster, ready }) => {
      if (!ready) {
        process.stderr.write(`kitfed get: skipped cluster ${cluster}: not Ready\n`);
        return undefined;
      }
      const member = throughProxy(fed, cluster).assume(RESOURCES);
      try {
        const path = await member.path(gvk.apiVersion, gvk.kind, namespace || undefined);
        const query: Record<string, string> = { includeObject: 'Metadata' };
        if (flags.selector) query.labelSelector = flags.selector;
        if (name) query.fieldSelector = `metadata.name=${name}`;
        const table = await member.request<Table>('GET', path, { accept: TABLE, query });
        return { cluster, table };
      } catch (err) {
        ok = false;
        process.stderr.write(`kitfed get: ${cluster}: ${err instanceof Error ? err.message : String(err)}\n`);
        return undefined;
      } finally {
        member.close();
      }
    }),
  );
  const read = tables.filter((x): x is { cluster: string; table: Table } => !!x);
  const first = read.find((r) => r.table.columnDefinitions?.length)?.table;
  if (!first || read.every((r) => r.table.rows.length === 0)) {
    process.stderr.write(`No resources found${namespace ? ` in ${namespace} namespace` : ''} in the clusters read.\n`);
    return ok;
  }
  const shown = first.columnDefinitions.flatMap((d, i) => (d.priority ? [] : [i]));
  const allNamespaces = !namespace && read.some((r) => r.table.rows.some((row) => row.object?.metadata?.namespace));
  printTable(
    [
      'CLUSTER',
      ...(allNamespaces ? ['NAMESPACE'] : []),
      ...shown.map((i) => first.columnDefinitions[i]!.name.toUpperCase()),
    ],
    read.flatMap(({ cluster, table }) =>
      table.rows.map((row) => [
        cluster,
        ...(allNamespaces ? [row.object?.metadata?.namespace ?? ''] : []),
        ...shown.map((i) => cellText(row.cells[i])),
      ]),
    ),
  );
  return ok;
}

function cellText(v: unknown): string {
  if (v === undefined || v === null) return '<none>';
  return typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : JSON.stringify(v);
}
