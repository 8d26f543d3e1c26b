import { fileURLToPath } from 'node:url';
/**
 * End to end: the federation API server, sandbox member clusters joined with the join helper,
 * the controller manager with the replica scheduler, and the real kubectl. The seed
 * walkthrough, a cluster going offline and coming back, and a capacity-limited cluster.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import YAML from 'yaml';
import { KubeClient } from '../../services/core/kube-client.js';
import type { Condition, KubeObject } from '../../services/core/kube.js';
import { startApiServer } from '../../services/apiserver/server.js';
import { federationAdmission } from '../../services/apiserver/federation-admission.js';
import { startSandbox, type Sandbox } from '../../services/sandbox/index.js';
import { recordedPlan, startControllers, type RunningControllers } from '../../services/controllers/index.js';
import { joinCluster } from '../../services/controllers/join.js';
import { plan, parsePreferences } from '../../services/planner/index.js';
import { buildKubeconfig, mergeKubeconfigs } from '../../services/core/kubeconfig.js';
import { deploy } from '../../services/deployer/index.js';

const SEED = fileURLToPath(new URL('../fixtures/seed-walkthrough', import.meta.url));
const SEED_CLUSTERS = [
  'gce-asia-east1-a',
  'gce-asia-east1-b',
  'gce-asia-east1-c',
  'gce-europe-west1-b',
  'gce-europe-west1-c',
  'gce-europe-west1-d',
  'gce-us-central1-a',
  'gce-us-central1-b',
  'gce-us-central1-c',
];

interface Kubectl {
  (args: string[], input?: string): Promise<{ code: number; stdout: string; stderr: string }>;
}

interface Env {
  fed: KubeClient;
  /** The kubeconfig with contexts `federation` and one per member. */
  kubeconfig: string;
  dir: string;
  sandbox: Sandbox;
  controllers: RunningControllers;
  kubectl: Kubectl;
  member(name: string): Promise<KubeClient>;
}

/** Polls `fn` until it returns a value other than undefined/false, or fails after `timeoutMs`. */
async function eventually<T>(
  t: ExecutionContext,
  what: string,
  fn: () => Promise<T | undefined | false>,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      t.fail(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
      throw new Error(`timed out: ${what}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

function regionOf(cluster: string): string {
  return cluster.replace(/^gce-/, '').replace(/-[a-z]$/, '');
}

async function startEnv(t: ExecutionContext, clusters: Array<{ name: string; capacity?: number }>): Promise<Env> {
  const dir = await mkdtemp(join(tmpdir(), 'kitfed-replicas-'));
  const server = await startApiServer({ admission: federationAdmission() });
  const sandbox = await startSandbox({
    clusters: clusters.map((c) => ({
      name: c.name,
      region: regionOf(c.name),
      zones: [c.name.replace(/^gce-/, '')],
      ...(c.capacity !== undefined ? { capacity: c.capacity } : {}),
    })),
    readyDelayMs: 50,
  });
  const membersFile = join(dir, 'members.kubeconfig');
  const membersText = sandbox.kubeconfig();
  await writeFile(membersFile, membersText);
  // One kubeconfig for kubectl: the federation context plus every member's.
  const kubeconfig = join(dir, 'kubeconfig');
  await writeFile(
    kubeconfig,
    mergeKubeconfigs([buildKubeconfig([{ name: 'federation', server: server.url }]), membersText]),
  );
  const fed = await KubeClient.fromKubeconfig({ file: kubeconfig }, 'federation');
  const memberClients = new Map<string, KubeClient>();
  for (const c of clusters)
    await joinCluster(fed, c.name, { file: membersFile, context: c.name }, { region: regionOf(c.name) });
  const controllers = await startControllers({ federation: fed, leaderElect: false, clusterMonitorPeriodMs: 300 });
  const kubectl: Kubectl = (args, input) =>
    new Promise((resolve) => {
      const child = execFile(
        'kubectl',
        ['--kubeconfig', kubeconfig, '--cache-dir', join(dir, 'cache'), ...args],
        { timeout: 30_000, env: { ...process.env, KUBECTL_KUBERC: 'false' } },
        (err, stdout, stderr) => {
          resolve({
            code: err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0,
            stdout: String(stdout),
            stderr: String(stderr),
          });
        },
      );
      child.stdin?.end(input ?? '');
    });
  t.teardown(async () => {
    await controllers.stop();
    for (const c of memberClients.values()) c.close();
    fed.close();
    await sandbox.close();
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });
  return {
    fed,
    kubeconfig,
    dir,
    sandbox,
    controllers,
    kubectl,
    async member(name) {
      let c = memberClients.get(name);
      if (!c) memberClients.set(name, (c = await KubeClient.fromKubeconfig({ file: membersFile }, name)));
      return c;
    },
  };
}

const conditions = (o: KubeObject): Condition[] =>
  (o.status as { conditions?: Condition[] } | undefined)?.conditions ?? [];

/** Per member: the spec.replicas of its copy of `kind/name` (absent when there is none). */
function memberReplicas(
  env: Env,
  clusters: readonly string[],
  kind: string,
  name: string,
): Promise<Record<string, number>> {
  return memberReplicasIn(env, clusters, kind, 'default', name);
}

async function memberReplicasIn(
  env: Env,
  clusters: readonly string[],
  kind: string,
  namespace: string,
  name: string,
): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const c of clusters) {
    const o = await (await env.member(c)).tryGet('apps/v1', kind, namespace, name);
    if (o) out[c] = (o.spec as { replicas: number }).replicas;
  }
  return out;
}

test.serial(
  'seed walkthrough: 9 clusters Ready; Service, Ingress and the 9-replica ReplicaSet; 1 ready replica per member; the preferences example plans as v1',
  async (t) => {
    const env = await startEnv(
      t,
      SEED_CLUSTERS.map((name) => ({ name })),
    );
    const { kubectl } = env;

    const clusters = await eventually(t, '9 Ready clusters', async () => {
      const r = await kubectl(['--context=federation', 'get', 'clusters']);
      const rows = r.stdout.trim().split('\n').slice(1);
      return rows.length === 9 && rows.every((l) => /\sTrue\s/.test(l)) ? r.stdout : undefined;
    });
    t.log(clusters);
    for (const c of SEED_CLUSTERS) t.regex(clusters, new RegExp(`^${c}\\s+True`, 'm'));

    for (const f of ['nginx-svc.yaml', 'ingress.yaml', 'nginx-rs.yaml']) {
      const r = await kubectl(['--context=federation', 'create', '-f', `${SEED}/${f}`]);
      t.is(r.code, 0, r.stderr);
    }
    const started = Date.now();
    await eventually(
      t,
      'a copy in every member',
      async () => Object.keys(await memberReplicas(env, SEED_CLUSTERS, 'ReplicaSet', 'nginx')).length === 9,
    );
    t.log(`a copy in all 9 members ${Date.now() - started} ms after create`);
    // Every member: nginx with DESIRED 1, CURRENT 1, READY 1.
    for (const c of SEED_CLUSTERS) {
      const line = await eventually(t, `nginx 1/1/1 in ${c}`, async () => {
        const r = await kubectl([`--context=${c}`, 'get', 'rs', 'nginx', '--no-headers']);
        return /^nginx\s+1\s+1\s+1\s/.test(r.stdout) ? r.stdout.trim() : undefined;
      });
      t.regex(line, /^nginx\s+1\s+1\s+1\s/);
    }
    const fedStatus = await eventually(t, 'federated status: 9 ready', async () => {
      const r = await kubectl(['--context=federation', 'get', 'rs', 'nginx', '-o', 'json']);
      const o = JSON.parse(r.stdout) as KubeObject & {
        status?: { readyReplicas?: number; observedGeneration?: number };
      };
      return o.status?.readyReplicas === 9 && o.status.observedGeneration === o.metadata.generation ? o : undefined;
    });
    t.log(`9 replicas ready in 9 members ${Date.now() - started} ms after create`);
    t.like(fedStatus.status, { replicas: 9, readyReplicas: 9, availableReplicas: 9, fullyLabeledReplicas: 9 });
    t.deepEqual(recordedPlan(fedStatus)?.plan, Object.fromEntries(SEED_CLUSTERS.map((c) => [c, 1])));
    t.like(
      conditions(fedStatus).find((c) => c.type === 'Propagated'),
      { status: 'True' },
    );
    const get = await kubectl(['--context=federation', 'get', 'rs', 'nginx']);
    t.regex(get.stdout, /^nginx\s+9\s+9\s+9\s/m, get.stdout);
    t.log(get.stdout);

    // Steady state: no more writes, neither to the federated object nor to the members.
    await new Promise((r) => setTimeout(r, 500));
    const rv = (await env.fed.get('apps/v1', 'ReplicaSet', 'default', 'nginx')).metadata.resourceVersion;
    for (const c of env.sandbox.clusters) c.resetRequests();
    await new Promise((r) => setTimeout(r, 1500));
    t.is(
      (await env.fed.get('apps/v1', 'ReplicaSet', 'default', 'nginx')).metadata.resourceVersion,
      rv,
      'no status rewrites when nothing changes',
    );
    t.deepEqual(
      env.sandbox.clusters.map((c) => c.requests.writes),
      SEED_CLUSTERS.map(() => 0),
      'no member writes when nothing changes',
    );

    // Member copies are kitfed's: managed-by label and the federated uid.
    const copy = await (await env.member('gce-asia-east1-a')).get('apps/v1', 'ReplicaSet', 'default', 'nginx');
    t.is(copy.metadata.labels?.['kitfed.io/managed-by'], 'kitfed');
    t.is(copy.metadata.annotations?.['kitfed.io/origin-uid'], fedStatus.metadata.uid);

    // Drift made by hand in a member is reverted; a deleted copy comes back.
    t.is((await kubectl(['--context=gce-asia-east1-b', 'scale', 'rs', 'nginx', '--replicas=3'])).code, 0);
    t.is((await kubectl(['--context=gce-asia-east1-c', 'delete', 'rs', 'nginx'])).code, 0);
    await eventually(
      t,
      'drift reverted',
      async () =>
        JSON.stringify(await memberReplicas(env, ['gce-asia-east1-b', 'gce-asia-east1-c'], 'ReplicaSet', 'nginx')) ===
        '{"gce-asia-east1-b":1,"gce-asia-east1-c":1}',
    );

    // Events in the federation API.
    const events = await eventually(t, 'CreateInCluster event', async () => {
      const r = await kubectl([
        '--context=federation',
        'get',
        'events',
        '--field-selector',
        'involvedObject.name=nginx,involvedObject.kind=ReplicaSet',
        '-o',
        'json',
      ]);
      const items = (JSON.parse(r.stdout) as { items: Array<{ reason: string; message: string }> }).items;
      return items.some((e) => e.reason === 'CreateInCluster') ? items : undefined;
    });
    const created = events
      .filter((e) => e.reason === 'CreateInCluster')
      .map((e) => e.message)
      .join('\n');
    for (const c of SEED_CLUSTERS) t.true(created.includes(c), `CreateInCluster names ${c}`);

    // The preferences example: v1's plan for the same inputs and key.
    t.is((await kubectl(['--context=federation', 'create', '-f', `${SEED}/nginx-us-rs.yaml`])).code, 0);
    const annotation = (
      YAML.parse(await (await import('node:fs/promises')).readFile(`${SEED}/nginx-us-rs.yaml`, 'utf8')) as KubeObject
    ).metadata.annotations!['federation.kubernetes.io/replica-set-preferences'];
    const expected = plan({
      preferences: parsePreferences(annotation),
      totalReplicas: 9,
      clusters: SEED_CLUSTERS,
      key: 'default/nginx-us',
    });
    t.deepEqual(
      Object.entries(expected.plan).filter(([, n]) => n > 0),
      [['gce-us-central1-a', 4]],
    );
    const us = await eventually(t, 'nginx-us scheduled', async () => {
      const o = await env.fed.get('apps/v1', 'ReplicaSet', 'default', 'nginx-us');
      return o.status && (o.status as { readyReplicas?: number }).readyReplicas === 4 ? o : undefined;
    });
    t.deepEqual(recordedPlan(us)?.plan, Object.fromEntries(SEED_CLUSTERS.map((c) => [c, expected.plan[c]])));
    t.like(
      conditions(us).find((c) => c.type === 'Scheduled'),
      { status: 'False', reason: 'ReplicasUnplaced' },
    );
    t.deepEqual(await memberReplicas(env, SEED_CLUSTERS, 'ReplicaSet', 'nginx-us'), { 'gce-us-central1-a': 4 });
    const usLine = await kubectl(['--context=gce-us-central1-a', 'get', 'rs', 'nginx-us', '--no-headers']);
    t.regex(usLine.stdout, /^nginx-us\s+4\s+4\s+4\s/);
    const describe = await kubectl(['--context=federation', 'describe', 'rs', 'nginx-us']);
    t.log(describe.stdout);

    // Cascading delete (kubectl's default) removes every member copy.
    const del = await kubectl(['--context=federation', 'delete', 'rs', 'nginx', 'nginx-us', '--wait=true']);
    t.is(del.code, 0, del.stderr);
    await eventually(
      t,
      'member copies deleted',
      async () => Object.keys(await memberReplicas(env, SEED_CLUSTERS, 'ReplicaSet', 'nginx')).length === 0,
    );
    t.pass();
  },
);

test.serial(
  'a cluster going offline: its replicas move to the others; back with rebalance, they move back',
  async (t) => {
    const names = ['gce-europe-west1-b', 'gce-europe-west1-c', 'gce-europe-west1-d'];
    const env = await startEnv(
      t,
      names.map((name) => ({ name })),
    );
    await eventually(t, '3 Ready clusters', async () => env.controllers.context()?.members.ready().length === 3);
    const rs = {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: {
        name: 'web',
        namespace: 'default',
        annotations: {
          'federation.kubernetes.io/replica-set-preferences': '{"rebalance":true,"clusters":{"*":{"weight":1}}}',
        },
      },
      spec: {
        replicas: 6,
        selector: { matchLabels: { app: 'web' } },
        template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image: 'nginx' }] } },
      },
    };
    await env.fed.create(rs);
    const even = Object.fromEntries(names.map((c) => [c, 2]));
    await eventually(
      t,
      '2 per cluster',
      async () => JSON.stringify(await memberReplicas(env, names, 'ReplicaSet', 'web')) === JSON.stringify(even),
    );

    const down = 'gce-europe-west1-c';
    const t0 = Date.now();
    await env.sandbox.cluster(down).stop();
    const others = names.filter((c) => c !== down);
    await eventually(t, 'replicas moved off the offline cluster', async () => {
      const r = await memberReplicas(env, others, 'ReplicaSet', 'web');
      return r[others[0]!] === 3 && r[others[1]!] === 3;
    });
    t.log(`replicas moved ${Date.now() - t0} ms after the cluster went down`);
    const fedDown = await eventually(t, 'status without the offline cluster', async () => {
      const o = await env.fed.get('apps/v1', 'ReplicaSet', 'default', 'web');
      return (o.status as { readyReplicas?: number } | undefined)?.readyReplicas === 6 ? o : undefined;
    });
    t.false(down in (recordedPlan(fedDown)?.plan ?? {}));
    const t1 = Date.now();
    await env.sandbox.cluster(down).start();
    await eventually(
      t,
      'replicas moved back (rebalance)',
      async () => JSON.stringify(await memberReplicas(env, names, 'ReplicaSet', 'web')) === JSON.stringify(even),
    );
    t.log(`replicas back ${Date.now() - t1} ms after the cluster returned`);

    // Cluster selector: labelling a cluster so it stops matching moves its replicas and deletes its copy.
    t.is(
      (
        await env.kubectl([
          '--context=federation',
          'annotate',
          'rs',
          'web',
          `federation.alpha.kubernetes.io/cluster-selector=[{"key":"tier","operator":"!"}]`,
        ])
      ).code,
      0,
    );
    t.is((await env.kubectl(['--context=federation', 'label', 'cluster', 'gce-europe-west1-d', 'tier=edge'])).code, 0);
    await eventually(
      t,
      'unselected cluster emptied',
      async () =>
        JSON.stringify(await memberReplicas(env, names, 'ReplicaSet', 'web')) ===
        '{"gce-europe-west1-b":3,"gce-europe-west1-c":3}',
    );
    t.pass();
  },
);

test.serial('a capacity-limited cluster: unschedulable pods cap it and its overflow goes to the others', async (t) => {
  const names = ['gce-us-central1-a', 'gce-us-central1-b', 'gce-us-central1-c'];
  const small = 'gce-us-central1-b';
  const env = await startEnv(
    t,
    names.map((name) => ({ name, ...(name === small ? { capacity: 2 } : {}) })),
  );
  await eventually(t, '3 Ready clusters', async () => env.controllers.context()?.members.ready().length === 3);
  await env.fed.create({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      name: 'api',
      namespace: 'default',
      annotations: {
        'federation.kubernetes.io/deployment-preferences': '{"rebalance":true,"clusters":{"*":{"weight":1}}}',
      },
    },
    spec: {
      replicas: 12,
      selector: { matchLabels: { app: 'api' } },
      template: { metadata: { labels: { app: 'api' } }, spec: { containers: [{ name: 'api', image: 'nginx' }] } },
    },
  });
  await eventually(
    t,
    '4 per cluster at first',
    async () =>
      JSON.stringify(await memberReplicas(env, names, 'Deployment', 'api')) ===
      JSON.stringify(Object.fromEntries(names.map((c) => [c, 4]))),
  );
  // Two of the small cluster's pods stay Pending (Unschedulable); after 60 s v1 counts them and caps it at 2.
  const fedObj = await eventually(
    t,
    'capacity found, overflow re-planned',
    async () => {
      const o = await env.fed.get('apps/v1', 'Deployment', 'default', 'api');
      const p = recordedPlan(o);
      return p && p.plan[small] === 2 ? o : undefined;
    },
    90_000,
  );
  const p = recordedPlan(fedObj)!;
  t.log(JSON.stringify(p));
  t.is(p.plan['gce-us-central1-a']! + p.plan['gce-us-central1-c']!, 10);
  t.true((p.overflow[small] ?? 0) > 0);
  const final = await eventually(t, '12 ready', async () => {
    const o = await env.fed.get('apps/v1', 'Deployment', 'default', 'api');
    return (o.status as { readyReplicas?: number } | undefined)?.readyReplicas === 12 ? o : undefined;
  });
  t.like(final.status, { readyReplicas: 12 });
  // The small cluster still asks for plan + overflow (the extra pods run if room appears).
  const r = await memberReplicas(env, names, 'Deployment', 'api');
  t.is(r[small], 2 + p.overflow[small]!);
  t.log(r);
});

test.serial(
  'Deployment: kubectl scale, set image and rollout status follow the aggregated status; a ' +
    'non-default namespace; orphan delete keeps member copies without markers',
  async (t) => {
    const names = ['gce-asia-east1-a', 'gce-asia-east1-b'];
    const env = await startEnv(
      t,
      names.map((name) => ({ name })),
    );
    const { kubectl } = env;
    await eventually(t, '2 Ready clusters', async () => env.controllers.context()?.members.ready().length === 2);
    t.is((await kubectl(['--context=federation', 'create', 'namespace', 'shop'])).code, 0);
    const created = await kubectl([
      '--context=federation',
      '-n',
      'shop',
      'create',
      'deployment',
      'web',
      '--image=nginx',
      '--replicas=4',
    ]);
    t.is(created.code, 0, created.stderr);
    const rollout = await kubectl([
      '--context=federation',
      '-n',
      'shop',
      'rollout',
      'status',
      'deployment/web',
      '--timeout=30s',
    ]);
    t.is(rollout.code, 0, rollout.stderr);
    t.regex(rollout.stdout, /successfully rolled out/);
    t.deepEqual(await memberReplicasIn(env, names, 'Deployment', 'shop', 'web'), {
      'gce-asia-east1-a': 2,
      'gce-asia-east1-b': 2,
    });

    t.is((await kubectl(['--context=federation', '-n', 'shop', 'scale', 'deployment/web', '--replicas=7'])).code, 0);
    const scaled = await kubectl([
      '--context=federation',
      '-n',
      'shop',
      'rollout',
      'status',
      'deployment/web',
      '--timeout=30s',
    ]);
    t.is(scaled.code, 0, scaled.stderr);
    const dep = await env.fed.get('apps/v1', 'Deployment', 'shop', 'web');
    t.like(dep.status, {
      observedGeneration: dep.metadata.generation,
      replicas: 7,
      updatedReplicas: 7,
      readyReplicas: 7,
      availableReplicas: 7,
    });
    const r = await memberReplicasIn(env, names, 'Deployment', 'shop', 'web');
    t.is(r['gce-asia-east1-a']! + r['gce-asia-east1-b']!, 7);
    const wide = await kubectl(['--context=federation', '-n', 'shop', 'get', 'deployment', 'web']);
    t.regex(wide.stdout, /^web\s+7\/7\s+7\s+7\s/m, wide.stdout);

    // A rolling update: the new template reaches every member, rollout status waits for all of them.
    t.is(
      (await kubectl(['--context=federation', '-n', 'shop', 'set', 'image', 'deployment/web', 'nginx=nginx:1.27']))
        .code,
      0,
    );
    const updated = await kubectl([
      '--context=federation',
      '-n',
      'shop',
      'rollout',
      'status',
      'deployment/web',
      '--timeout=30s',
    ]);
    t.is(updated.code, 0, updated.stderr);
    for (const c of names) {
      const copy = await (await env.member(c)).get('apps/v1', 'Deployment', 'shop', 'web');
      t.is(
        (copy.spec as { template: { spec: { containers: Array<{ image: string }> } } }).template.spec.containers[0]!
          .image,
        'nginx:1.27',
        c,
      );
    }
    const after = await env.fed.get('apps/v1', 'Deployment', 'shop', 'web');
    t.like(after.status, { observedGeneration: after.metadata.generation, updatedReplicas: 7, availableReplicas: 7 });

    const del = await kubectl([
      '--context=federation',
      '-n',
      'shop',
      'delete',
      'deployment',
      'web',
      '--cascade=orphan',
    ]);
    t.is(del.code, 0, del.stderr);
    await eventually(
      t,
      'federated Deployment gone',
      async () => (await env.fed.tryGet('apps/v1', 'Deployment', 'shop', 'web')) === undefined,
    );
    for (const c of names) {
      const copy = await (await env.member(c)).get('apps/v1', 'Deployment', 'shop', 'web');
      t.is(copy.metadata.labels?.['kitfed.io/managed-by'], undefined, `${c}: ownership label removed`);
      t.is(copy.metadata.annotations?.['kitfed.io/origin-uid'], undefined);
    }
  },
);

test.serial(
  'cascade delete while a member is offline: the federated object goes at once; the copy goes when the member returns',
  async (t) => {
    const names = ['gce-us-central1-a', 'gce-us-central1-b', 'gce-us-central1-c'];
    const env = await startEnv(
      t,
      names.map((name) => ({ name })),
    );
    await eventually(t, '3 Ready clusters', async () => env.controllers.context()?.members.ready().length === 3);
    t.is((await env.kubectl(['--context=federation', 'create', '-f', `${SEED}/nginx-rs.yaml`])).code, 0);
    await eventually(
      t,
      '3 per cluster',
      async () =>
        JSON.stringify(await memberReplicas(env, names, 'ReplicaSet', 'nginx')) ===
        JSON.stringify(Object.fromEntries(names.map((c) => [c, 3]))),
    );
    const down = 'gce-us-central1-b';
    await env.sandbox.cluster(down).stop();
    await eventually(t, 'cluster not Ready', async () => env.controllers.context()?.members.isReady(down) === false);
    const del = await env.kubectl(['--context=federation', 'delete', 'rs', 'nginx', '--timeout=20s']);
    t.is(del.code, 0, del.stderr);
    const up = names.filter((c) => c !== down);
    await eventually(
      t,
      'copies in available members deleted',
      async () => Object.keys(await memberReplicas(env, up, 'ReplicaSet', 'nginx')).length === 0,
    );
    await env.sandbox.cluster(down).start();
    await eventually(
      t,
      'copy in the returning member deleted',
      async () => Object.keys(await memberReplicas(env, [down], 'ReplicaSet', 'nginx')).length === 0,
    );
    // The event is recorded right after the deletion it reports: wait for it rather than race it.
    let reasons: string[] = [];
    await eventually(t, 'cleanup events recorded', async () => {
      const events = await env.kubectl(['--context=federation', 'get', 'events', '-o', 'json']);
      reasons = (JSON.parse(events.stdout) as { items: Array<{ reason: string }> }).items.map((e) => e.reason);
      return reasons.includes('CleanupDeferred') && reasons.includes('DeferredCleanupDone');
    });
    t.true(reasons.includes('CleanupDeferred'), reasons.join(','));
    t.true(reasons.includes('DeferredCleanupDone'), reasons.join(','));
  },
);

test.serial(
  'kitfed deploy --target federation waits for a federated DaemonSet and Job through their aggregated status',
  async (t) => {
    const env = await startEnv(t, [{ name: 'gce-us-central1-a' }, { name: 'gce-europe-west1-b' }]);
    const out = join(env.dir, 'out');
    await mkdir(join(out, 'federation'), { recursive: true });
    await writeFile(
      join(out, 'federation', 'workloads.yaml'),
      `apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent, namespace: default}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec: {containers: [{name: a, image: "agent:1"}]}
---
apiVersion: batch/v1
kind: Job
metadata: {name: migrate, namespace: default}
spec:
  template:
    spec:
      restartPolicy: Never
      containers: [{name: m, image: "migrate:1"}]
`,
    );
    const report = await deploy({
      dir: out,
      target: 'federation',
      kubeconfig: env.kubeconfig,
      context: 'federation',
      timeoutMs: 30_000,
    });
    const federation = report.clusters[0]!;
    t.is(federation.result, 'succeeded', JSON.stringify(federation.objects));
    t.is(federation.counts.healthy, 2);
    const ds = await env.fed.get('apps/v1', 'DaemonSet', 'default', 'agent');
    const members = await Promise.all(
      ['gce-us-central1-a', 'gce-europe-west1-b'].map(async (name) =>
        (await env.member(name)).get('apps/v1', 'DaemonSet', 'default', 'agent'),
      ),
    );
    const sum = members.reduce((n, m) => n + ((m.status as { numberAvailable?: number }).numberAvailable ?? 0), 0);
    t.true(sum > 0);
    t.is((ds.status as { numberAvailable?: number }).numberAvailable, sum);
    const job = await env.fed.get('batch/v1', 'Job', 'default', 'migrate');
    t.true(conditions(job).some((c) => c.type === 'Complete' && c.status === 'True'));
  },
);
