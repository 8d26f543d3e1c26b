import { Argument, type Command } from 'commander';
import type { KindInfo, OverrideObject } from '../../controllers/index.js';
import type { KubeClient } from '../../core/kube-client.js';
import type { KubeObject } from '../../core/kube.js';
import type { ClusterPods } from '../../core/pods.js';
import { UsageError } from '../lib/usage.js';
import { completeWith, kindNames, namesOfKind } from '../lib/completion.js';
import {
  age,
  federationClient,
  parseOutput,
  POD_OWNERS,
  podsOf,
  printData,
  printTable,
  resolveKind,
  syncStatusOf,
  type FederationFlags,
} from '../lib/federation.js';

interface Flags extends FederationFlags {
  namespace: string;
  output?: string;
}

interface ClusterView {
  cluster: string;
  ready: string;
  state: string;
  replicas?: number;
  /** A split Job: its copy's completions (`replicas` is then its parallelism). */
  completions?: number;
  message?: string;
  /** The effective object's differences from the template (JSON pointers). */
  changes: Array<{ path: string; from?: unknown; to?: unknown }>;
  overrideError?: string;
}

const show = (v: unknown): string => (v === undefined ? '<absent>' : JSON.stringify(v));

export function register(program: Command): void {
  program
    .command('describe')
    .description(
      'Describe a federated object of any kind: per-cluster state, replicas and effective object ' +
        '(differences from the template after overrides), for workloads their pods in the members ' +
        '(through clusters/proxy, as you), recent events',
    )
    .addArgument(
      completeWith(
        new Argument('<kind>', 'any kind the federation serves (e.g. rs, deployment, configmap, statefulset)'),
        kindNames,
      ),
    )
    .addArgument(completeWith(new Argument('<name>'), namesOfKind))
    .option('-n, --namespace <ns>', 'namespace', 'default')
    .option('-o, --output <format>', 'table | json | yaml', 'table')
    .option('--kubeconfig <file>', 'kubeconfig (default: $KUBECONFIG or .kitfed/kubeconfig)')
    .option('--context <name>', 'federation context', 'federation')
    .addHelpText(
      'after',
      '\nExamples:\n  kitfed describe rs nginx\n  kitfed describe deployment web -n shop -o json\n' +
        '  kitfed describe configmap settings -n shop\n',
    )
    .action(async (kindArg: string, name: string, flags: Flags) => {
      const format = parseOutput(flags.output);
      const fed = await federationClient(flags);
      try {
        const served = await resolveKind(fed, kindArg);
        if (!served) throw new UsageError(`unknown kind ${JSON.stringify(kindArg)}: the federation does not serve it`);
        const ctl = await import('../../controllers/index.js');
        const namespace = served.namespaced ? flags.namespace : undefined;
        const obj = await fed.get(served.apiVersion, served.kind, namespace, name);
        // The kind as the engine sees it (a custom resource's scale paths come from its CRD).
        const group = served.apiVersion.includes('/') ? served.apiVersion.split('/')[0]! : '';
        const version = served.apiVersion.split('/').pop()!;
        let kind: KindInfo | undefined = {
          id: group ? `${group}/${served.kind}` : served.kind,
          group,
          version,
          apiVersion: served.apiVersion,
          kind: served.kind,
          plural: served.plural,
          namespaced: served.namespaced,
          statusSubresource: served.subresources.includes('status'),
          ...(served.subresources.includes('scale')
            ? { scale: { specReplicasPath: '.spec.replicas', statusReplicasPath: '.status.replicas' } }
            : {}),
        };
        const crd = group.includes('.')
          ? await fed
              .tryGet('apiextensions.k8s.io/v1', 'CustomResourceDefinition', undefined, `${served.plural}.${group}`)
              .catch(() => undefined)
          : undefined;
        if (crd) kind = ctl.kindFromCrd(crd) ?? kind;
        if (!kind) throw new UsageError(`${served.kind} cannot be propagated (the federation does not list it)`);
        const status = syncStatusOf(obj);
        const clusters = (await fed.list('federation.kitfed.io/v1beta1', 'Cluster')).items;
        const overrides = (await fed.list(ctl.OVERRIDE_API_VERSION, ctl.OVERRIDE_KIND, '').catch(() => ({ items: [] })))
          .items as OverrideObject[];
        const applying = ctl.orderOverrides(overrides.filter((o) => ctl.overrideTargets(o, obj)));
        const template = ctl.memberTemplate(kind, obj);
        const views: ClusterView[] = clusters
          .map((c) => {
            const cname = c.metadata.name!;
            const ready =
              (
                (c.status as { conditions?: Array<{ type: string; status: string }> } | undefined)?.conditions ?? []
              ).find((x) => x.type === 'Ready')?.status ?? 'Unknown';
            const s = status?.clusters.find((x) => x.cluster === cname);
            const view: ClusterView = { cluster: cname, ready, state: s?.state ?? '-', changes: [] };
            if (s?.replicas !== undefined) view.replicas = s.replicas;
            if (s?.completions !== undefined) view.completions = s.completions;
            if (s?.message) view.message = s.message;
            else if (s?.reason) view.message = s.reason;
            const e = ctl.effectiveObject(
              kind,
              template,
              { name: cname, labels: c.metadata.labels },
              applying,
              s?.replicas,
              s?.completions,
            );
            if ('error' in e) view.overrideError = e.error;
            else view.changes = ctl.diffObjects(template, e.object);
            return view;
          })
          .filter((v) => v.state !== '-' || v.changes.length > 0 || v.overrideError);
        const events = (
          await fed.list('v1', 'Event', obj.metadata.namespace ?? 'default', {
            fieldSelector: `involvedObject.name=${name},involvedObject.kind=${served.kind}`,
          })
        ).items
          .sort((a, b) =>
            String(a.lastTimestamp ?? a.metadata.creationTimestamp).localeCompare(
              String(b.lastTimestamp ?? b.metadata.creationTimestamp),
            ),
          )
          .slice(-20);
        const overrideNames = applying.map((o) => `${o.metadata.namespace}/${o.metadata.name}`);
        const pods =
          POD_OWNERS.has(served.kind) && namespace
            ? await memberPods(fed, clusters, { apiVersion: served.apiVersion, kind: served.kind, name }, namespace)
            : undefined;
        if (format === 'json' || format === 'yaml')
          return await printData(
            { object: obj, status, overrides: overrideNames, clusters: views, ...(pods ? { pods } : {}), events },
            format,
          );
        printDescription(
          obj,
          served.kind,
          served.apiVersion,
          kind.scale !== undefined,
          status,
          views,
          overrideNames,
          pods,
          events,
        );
      } finally {
        fed.close();
      }
    });
}

/**
 * The workload's pods in every Ready member, through the federation's clusters/proxy as the
 * caller; a member that is not Ready is listed as not read.
 */
async function memberPods(
  fed: KubeClient,
  clusters: KubeObject[],
  owner: { apiVersion: string; kind: string; name: string },
  namespace: string,
): Promise<ClusterPods[]> {
  const { podsInFleet } = await import('../../core/pods.js');
  return podsInFleet(fed, clusters, (member) => podsOf(member, owner, namespace));
}

function printDescription(
  obj: KubeObject,
  kind: string,
  apiVersion: string,
  scalable: boolean,
  status: ReturnType<typeof syncStatusOf>,
  views: ClusterView[],
  overrides: string[],
  pods: ClusterPods[] | undefined,
  events: KubeObject[],
): void {
  const out = process.stdout;
  out.write(`Name:        ${obj.metadata.name}\n`);
  if (obj.metadata.namespace) out.write(`Namespace:   ${obj.metadata.namespace}\n`);
  out.write(`Kind:        ${kind} (${apiVersion})\n`);
  if (scalable) {
    const spec = (obj.spec ?? {}) as { replicas?: number };
    const st = (obj.status ?? {}) as { replicas?: number; readyReplicas?: number; availableReplicas?: number };
    out.write(
      `Replicas:    ${spec.replicas ?? 1} desired | ${st.replicas ?? 0} current | ` +
        `${st.readyReplicas ?? 0} ready | ${st.availableReplicas ?? 0} available\n`,
    );
  }
  out.write(`Age:         ${age(obj.metadata.creationTimestamp)}\n`);
  if (status?.reason) out.write(`Propagation: ${status.reason}: ${status.message ?? ''}\n`);
  out.write(`Overrides:   ${overrides.length > 0 ? overrides.join(', ') : '<none>'}\n\nClusters:\n`);
  if (views.length === 0) out.write('  <none>\n');
  else {
    // A Job split by job preferences shows each copy's share; a scalable kind its replicas.
    const split = !scalable && views.some((v) => v.replicas !== undefined);
    const count = (n: number | undefined) => (n === undefined ? '-' : String(n));
    printTable(
      [
        'CLUSTER',
        'READY',
        'STATE',
        ...(scalable ? ['REPLICAS'] : split ? ['PARALLELISM', 'COMPLETIONS'] : []),
        'MESSAGE',
      ],
      views.map((v) => [
        v.cluster,
        v.ready,
        v.state,
        ...(scalable ? [count(v.replicas)] : split ? [count(v.replicas), count(v.completions)] : []),
        v.message ?? '',
      ]),
    );
  }
  out.write('\nEffective object per cluster (differences from the template):\n');
  for (const v of views) {
    if (v.overrideError) out.write(`  ${v.cluster}: overrides do not apply: ${v.overrideError}\n`);
    else if (v.changes.length === 0) out.write(`  ${v.cluster}: same as the template\n`);
    else {
      out.write(`  ${v.cluster}:\n`);
      for (const c of v.changes) out.write(`    ~ ${c.path}: ${show(c.from)} → ${show(c.to)}\n`);
    }
  }
  if (pods) {
    out.write('\nPods in the members:\n');
    const rows = pods.flatMap((c) =>
      (c.pods ?? []).map((p) => [
        c.cluster,
        p.name,
        p.ready,
        p.status,
        String(p.restarts),
        p.node || '<none>',
        age(p.created),
      ]),
    );
    if (rows.length > 0) printTable(['CLUSTER', 'POD', 'READY', 'STATUS', 'RESTARTS', 'NODE', 'AGE'], rows);
    else if (pods.every((c) => !c.error)) out.write('  <none>\n');
    for (const c of pods) if (c.error) out.write(`  ${c.cluster}: ${c.error}\n`);
  }
  out.write('\nEvents:\n');
  if (events.length === 0) out.write('  <none>\n');
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
}
