import { Argument, type Command } from 'commander';
import { RESOURCES } from '../../apiserver/index.js';
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
  syncCells,
  type FederationFlags,
} from '../lib/federation.js';

interface Flags extends FederationFlags {
  output?: string;
  namespace?: string;
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
    .option('--kubeconfig <file>', 'kubeconfig (default: $KUBECONFIG or .kitfed/kubeconfig)')
    .option('--context <name>', 'federation context', 'federation')
    .addHelpText(
      'after',
      '\nExamples:\n  kitfed get clusters\n  kitfed get rs -n default -o json\n  kitfed get configmaps -n shop\n' +
        '  kitfed get clusters gce-us-central1-a -o yaml\n',
    )
    .action(async (kindArg: string, name: string | undefined, flags: Flags) => {
      const format = parseOutput(flags.output);
      // The API server's own table: no discovery request before the list of a kind it serves.
      const client = (await federationClient(flags)).assume(RESOURCES);
      try {
        const gvk = KINDS[kindArg] ?? (await resolveKind(client, kindArg));
        if (!gvk) throw new UsageError(`unknown kind ${JSON.stringify(kindArg)}: the federation does not serve it`);
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
