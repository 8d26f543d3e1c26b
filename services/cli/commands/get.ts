import type { Command } from 'commander';
import { RESOURCES } from '../../apiserver/builtin/index.js';
import type { KubeObject } from '../../core/kube.js';
import { UsageError } from '../main.js';
import { age, federationClient, parseOutput, printData, printTable, type FederationFlags } from '../lib/federation.js';

interface Flags extends FederationFlags {
  output?: string;
  namespace?: string;
}

/** What kitfed federates, by every name the API server's resource table gives it (plural, short names). */
const FEDERATED = new Set([
  'Cluster',
  'ReplicaSet',
  'Deployment',
  'Secret',
  'ConfigMap',
  'Namespace',
  'Service',
  'Ingress',
]);
const KINDS: Record<string, { apiVersion: string; kind: string }> = Object.fromEntries(
  RESOURCES.filter((r) => FEDERATED.has(r.kind)).flatMap((r) => {
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
    age(o.metadata.creationTimestamp),
  ];
}

export function register(program: Command): void {
  program
    .command('get')
    .description(
      'List federated objects (clusters with readiness, region and zones; workloads with desired/current/ready)',
    )
    .argument('<kind>', `one of: ${Object.keys(KINDS).join(', ')}`)
    .argument('[name]', 'one object')
    .option('-o, --output <format>', 'table | json | yaml | name', 'table')
    .option('-n, --namespace <ns>', 'namespace (default: all)')
    .option('--kubeconfig <file>', 'kubeconfig (default: $KUBECONFIG or .kitfed/kubeconfig)')
    .option('--context <name>', 'federation context', 'federation')
    .addHelpText(
      'after',
      '\nExamples:\n  kitfed get clusters\n  kitfed get rs -n default -o json\n  kitfed get clusters gce-us-central1-a -o yaml\n',
    )
    .action(async (kindArg: string, name: string | undefined, flags: Flags) => {
      const format = parseOutput(flags.output);
      const gvk = KINDS[kindArg];
      if (!gvk)
        throw new UsageError(`unknown kind ${JSON.stringify(kindArg)} (one of: ${Object.keys(KINDS).join(', ')})`);
      const client = await federationClient(flags);
      try {
        const items = name
          ? [await client.get(gvk.apiVersion, gvk.kind, flags.namespace ?? 'default', name)]
          : (await client.list(gvk.apiVersion, gvk.kind, flags.namespace)).items;
        if (format === 'json' || format === 'yaml')
          return printData(name ? items[0] : { apiVersion: 'v1', kind: 'List', items }, format);
        if (format === 'name') {
          process.stdout.write(items.map((o) => `${gvk.kind.toLowerCase()}/${o.metadata.name}\n`).join(''));
          return;
        }
        if (gvk.kind === 'Cluster') printTable(['NAME', 'READY', 'REGION', 'ZONES', 'AGE'], items.map(clusterRow));
        else if (gvk.kind === 'ReplicaSet' || gvk.kind === 'Deployment')
          printTable(['NAMESPACE', 'NAME', 'DESIRED', 'CURRENT', 'READY', 'AGE'], items.map(workloadRow));
        else
          printTable(
            ['NAMESPACE', 'NAME', 'AGE'],
            items.map((o) => [o.metadata.namespace ?? '', o.metadata.name ?? '', age(o.metadata.creationTimestamp)]),
          );
      } finally {
        client.close();
      }
    });
}
