import type { Command } from 'commander';
import { KitfedError } from '../../core/errors.js';
import type { KubeObject } from '../../core/kube.js';
import { UsageError } from '../main.js';
import {
  age,
  federationClient,
  memberClient,
  parseOutput,
  printData,
  printTable,
  type FederationFlags,
} from '../lib/federation.js';

interface Flags extends FederationFlags {
  namespace: string;
  output?: string;
}

interface ClusterView {
  cluster: string;
  ready: string;
  planned: number | undefined;
  desired: number | undefined;
  readyReplicas: number | undefined;
  error?: string;
}

export function register(program: Command): void {
  program
    .command('describe')
    .description(
      'Describe a federated ReplicaSet or Deployment: per-cluster plan, desired/ready per cluster, recent events',
    )
    .argument('<kind>', 'rs | replicaset | deployment | deploy')
    .argument('<name>')
    .option('-n, --namespace <ns>', 'namespace', 'default')
    .option('-o, --output <format>', 'table | json | yaml', 'table')
    .option('--kubeconfig <file>', 'kubeconfig (default: $KUBECONFIG or .kitfed/kubeconfig)')
    .option('--context <name>', 'federation context', 'federation')
    .addHelpText('after', '\nExamples:\n  kitfed describe rs nginx\n  kitfed describe deployment web -n shop -o json\n')
    .action(async (kindArg: string, name: string, flags: Flags) => {
      const format = parseOutput(flags.output);
      const kind = ['rs', 'replicaset', 'replicasets'].includes(kindArg)
        ? 'ReplicaSet'
        : ['deployment', 'deploy', 'deployments'].includes(kindArg)
          ? 'Deployment'
          : undefined;
      if (!kind) throw new UsageError(`describe supports rs|replicaset|deployment (got ${JSON.stringify(kindArg)})`);
      const fed = await federationClient(flags);
      try {
        const { recordedPlan } = await import('../../controllers/index.js');
        const obj = await fed.get('apps/v1', kind, flags.namespace, name);
        const plan = recordedPlan(obj)?.plan ?? {};
        const clusters = (await fed.list('federation.kitfed.io/v1beta1', 'Cluster')).items;
        const views: ClusterView[] = await Promise.all(
          clusters.map(async (c) => {
            const ready =
              (
                (c.status as { conditions?: Array<{ type: string; status: string }> } | undefined)?.conditions ?? []
              ).find((x) => x.type === 'Ready')?.status ?? 'Unknown';
            const view: ClusterView = {
              cluster: c.metadata.name!,
              ready,
              planned: plan[c.metadata.name!],
              desired: undefined,
              readyReplicas: undefined,
            };
            try {
              const member = await memberClient(fed, c);
              if (!member) return { ...view, error: 'no credentials' };
              try {
                const m = await member.tryGet('apps/v1', kind, flags.namespace, name);
                if (m) {
                  view.desired = (m.spec as { replicas?: number }).replicas ?? 0;
                  view.readyReplicas = (m.status as { readyReplicas?: number } | undefined)?.readyReplicas ?? 0;
                }
              } finally {
                member.close();
              }
            } catch (err) {
              view.error = err instanceof KitfedError || err instanceof Error ? err.message : String(err);
            }
            return view;
          }),
        );
        const events = (
          await fed.list('v1', 'Event', flags.namespace, {
            fieldSelector: `involvedObject.name=${name},involvedObject.kind=${kind}`,
          })
        ).items
          .sort((a, b) =>
            String(a.lastTimestamp ?? a.metadata.creationTimestamp).localeCompare(
              String(b.lastTimestamp ?? b.metadata.creationTimestamp),
            ),
          )
          .slice(-20);
        if (format === 'json' || format === 'yaml') return printData({ object: obj, clusters: views, events }, format);
        const spec = obj.spec as { replicas?: number };
        const status = (obj.status ?? {}) as { replicas?: number; readyReplicas?: number; availableReplicas?: number };
        process.stdout.write(
          `Name:        ${name}\nNamespace:   ${flags.namespace}\nKind:        ${kind}\nReplicas:    ${spec.replicas ?? 0} desired | ${status.replicas ?? 0} current | ${status.readyReplicas ?? 0} ready | ${status.availableReplicas ?? 0} available\nAge:         ${age(obj.metadata.creationTimestamp)}\n\nClusters:\n`,
        );
        printTable(
          ['CLUSTER', 'READY', 'PLANNED', 'DESIRED', 'READY-REPLICAS', 'NOTE'],
          views.map((v) => [
            v.cluster,
            v.ready,
            v.planned === undefined ? '-' : String(v.planned),
            v.desired === undefined ? '-' : String(v.desired),
            v.readyReplicas === undefined ? '-' : String(v.readyReplicas),
            v.error ?? '',
          ]),
        );
        process.stdout.write('\nEvents:\n');
        if (events.length === 0) process.stdout.write('  <none>\n');
        else
          printTable(
            ['TYPE', 'REASON', 'AGE', 'MESSAGE'],
            events.map((e) => [
              String(e.type ?? ''),
              String(e.reason ?? ''),
              age(String(e.lastTimestamp ?? e.metadata.creationTimestamp)),
              String(e.message ?? ''),
            ]),
          );
      } finally {
        fed.close();
      }
    });
}
