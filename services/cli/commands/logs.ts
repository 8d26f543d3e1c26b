import { Argument, type Command } from 'commander';
import type { IncomingMessage } from 'node:http';
import type { KubeClient } from '../../core/kube-client.js';
import type { KubeObject } from '../../core/kube.js';
import {
  federationClient,
  POD_OWNERS,
  podsOf,
  resolveKind,
  selectClusters,
  throughProxy,
  type FederationFlags,
} from '../lib/federation.js';
import { durationFlag, intFlag } from '../lib/flags.js';
import { UsageError } from '../lib/usage.js';

interface Flags extends FederationFlags {
  namespace: string;
  container?: string;
  allContainers?: boolean;
  clusters?: string;
  follow?: boolean;
  tail?: string;
  since?: string;
  timestamps?: boolean;
  prefix: boolean;
}

interface Stream {
  cluster: string;
  pod: string;
  container: string;
  client: KubeClient;
  namespace: string;
}

export function register(program: Command): void {
  program
    .command('logs')
    .description(
      "Print the logs of a workload's pods in every member cluster, each line prefixed with " +
        '[cluster/pod/container]: read through the federation (clusters/proxy) with your own identity',
    )
    .addArgument(new Argument('<target>', 'POD, or TYPE/NAME (deploy/web, sts/db, ds/agent, job/migrate)'))
    .option('-n, --namespace <ns>', 'namespace', 'default')
    .option('-c, --container <name>', "the container (default: each pod's first)")
    .option('--all-containers', 'every container of each pod')
    .option('--clusters <names>', 'only these member clusters (comma-separated; default: every Ready one)')
    .option('-f, --follow', 'stream new lines until every stream ends or Ctrl-C')
    .option('--tail <n>', 'the last N lines of each container')
    .option('--since <duration>', 'only lines newer than this (5s, 2m, 1h)')
    .option('--timestamps', 'each line with its timestamp')
    .option('--no-prefix', 'lines without their [cluster/pod/container] prefix')
    .option('--kubeconfig <file>', 'kubeconfig (default: $KUBECONFIG or .kitfed/kubeconfig)')
    .option('--context <name>', 'federation context', 'federation')
    .addHelpText(
      'after',
      '\nNeeds `get` on clusters/proxy in the federation and read access to pods (and pods/log) in each member,\n' +
        'which sees you as yourself.\n\nExamples:\n  kitfed logs deploy/web -n shop\n' +
        '  kitfed logs sts/db --clusters us-east,eu-west --tail 20\n  kitfed logs job/migrate -f --all-containers\n',
    )
    .action(async (target: string, flags: Flags) => {
      const query: Record<string, string> = {};
      if (flags.tail !== undefined) query.tailLines = String(intFlag('--tail', flags.tail, 0));
      if (flags.since !== undefined)
        query.sinceSeconds = String(Math.max(1, Math.ceil(durationFlag('--since', flags.since) / 1000)));
      if (flags.timestamps) query.timestamps = 'true';
      if (flags.follow) query.follow = 'true';
      if (flags.container && flags.allContainers)
        throw new UsageError('--container and --all-containers exclude each other');
      const fed = await federationClient(flags);
      const members: KubeClient[] = [];
      try {
        const slash = target.indexOf('/');
        // TYPE/NAME: each member's own object gives its pods' selector (a federated object, or one
        // the deployer applied to the members directly).
        let owner: { apiVersion: string; kind: string; name: string } | undefined;
        if (slash >= 0) {
          const typed = target.slice(0, slash);
          const served = await resolveKind(fed, typed);
          if (!served || !POD_OWNERS.has(served.kind))
            throw new UsageError(
              `${JSON.stringify(typed)} is not a kind with pods: use a Deployment, ReplicaSet, StatefulSet, ` +
                'DaemonSet, Job or ReplicationController (deploy/web), or a pod name',
            );
          owner = { apiVersion: served.apiVersion, kind: served.kind, name: target.slice(slash + 1) };
        }
        const what = owner ? `${owner.kind} ${flags.namespace}/${owner.name}` : `pod ${flags.namespace}/${target}`;
        const clusters = await selectClusters(fed, flags.clusters);
        const streams: Stream[] = [];
        let failed = false;
        await Promise.all(
          clusters.map(async ({ name: cluster, ready }) => {
            if (!ready) {
              process.stderr.write(`kitfed logs: skipped cluster ${cluster}: not Ready\n`);
              return;
            }
            const client = throughProxy(fed, cluster);
            members.push(client);
            try {
              const pods = owner
                ? await podsOf(client, owner, flags.namespace)
                : [await client.tryGet('v1', 'Pod', flags.namespace, target)].filter((p): p is KubeObject => !!p);
              for (const pod of pods.sort((a, b) => a.metadata.name!.localeCompare(b.metadata.name!))) {
                const containers = (
                  (pod.spec as { containers?: Array<{ name: string }> } | undefined)?.containers ?? []
                ).map((x) => x.name);
                const chosen = flags.container
                  ? [flags.container]
                  : flags.allContainers
                    ? containers
                    : containers.slice(0, 1);
                for (const container of chosen)
                  streams.push({ cluster, pod: pod.metadata.name!, container, client, namespace: flags.namespace });
              }
            } catch (err) {
              failed = true;
              process.stderr.write(`kitfed logs: ${cluster}: ${err instanceof Error ? err.message : String(err)}\n`);
            }
          }),
        );
        if (streams.length === 0) {
          process.stderr.write(`kitfed logs: no pods of ${what} in the clusters read\n`);
          process.exitCode = 1;
          return;
        }
        streams.sort((a, b) =>
          `${a.cluster}/${a.pod}/${a.container}`.localeCompare(`${b.cluster}/${b.pod}/${b.container}`),
        );
        const results = streams.map((s) => readLog(s, query, flags.prefix, !!flags.follow));
        // Without --follow the logs print whole, one stream after another in order; with it, lines as they come.
        for (const r of results) {
          const outcome = await r;
          if (!flags.follow) process.stdout.write(outcome.text);
          if (outcome.error) {
            failed = true;
            process.stderr.write(`kitfed logs: ${outcome.error}\n`);
          }
        }
        if (failed) process.exitCode = 1;
      } finally {
        for (const m of members) m.close();
        fed.close();
      }
    });
}

/** One container's log: its text (whole, or written line by line when following) or why it failed. */
async function readLog(
  s: Stream,
  query: Record<string, string>,
  prefix: boolean,
  follow: boolean,
): Promise<{ text: string; error?: string }> {
  const where = `${s.cluster}/${s.pod}/${s.container}`;
  const params = new URLSearchParams({ ...query, container: s.container });
  let res: IncomingMessage;
  try {
    res = await s.client.stream(
      'GET',
      `/api/v1/namespaces/${encodeURIComponent(s.namespace)}/pods/${encodeURIComponent(s.pod)}/log?${params}`,
      { headersTimeoutMs: 30_000 },
    );
  } catch (err) {
    return { text: '', error: `${where}: ${err instanceof Error ? err.message : String(err)}` };
  }
  const lead = prefix ? `[${where}] ` : '';
  const ok = res.statusCode === 200;
  let text = '';
  let pending = '';
  res.setEncoding('utf8');
  const emit = (line: string) => {
    if (follow) process.stdout.write(`${lead}${line}\n`);
    else text += `${lead}${line}\n`;
  };
  await new Promise<void>((resolve) => {
    res.on('data', (chunk: string) => {
      pending += chunk;
      if (!ok) return;
      let nl: number;
      while ((nl = pending.indexOf('\n')) >= 0) {
        emit(pending.slice(0, nl));
        pending = pending.slice(nl + 1);
      }
    });
    res.once('end', resolve);
    res.once('error', () => resolve());
  });
  if (!ok) {
    let message = pending.trim();
    try {
      message = String((JSON.parse(message) as { message?: unknown }).message ?? message);
    } catch {
      // not a Status
    }
    return { text: '', error: `${where}: ${message || `HTTP ${res.statusCode}`}` };
  }
  if (pending) emit(pending);
  return { text };
}
