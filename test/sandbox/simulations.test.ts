import test from 'ava';
import type { KubeObject } from '../../services/core/kube.js';
import { startTestSandbox, waitFor, type TestSandbox } from './helpers.js';

/** The kube controllers beside the workloads: CronJobs, Endpoints, PDBs, quota, limits, HPA, GC. */

async function json<T = KubeObject>(s: TestSandbox, args: string[]): Promise<T> {
  const r = await s.kubectl([...args, '-o', 'json']);
  if (r.code !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout) as T;
}

async function apply(s: TestSandbox, yaml: string): Promise<void> {
  const r = await s.kubectl(['apply', '-f', '-'], { input: yaml });
  if (r.code !== 0) throw new Error(r.stderr);
}

/** POSTs to the sandbox's admin endpoint (clock, metrics). */
async function admin(s: TestSandbox, path: string, body: unknown): Promise<Record<string, unknown>> {
  const res = await fetch(`${s.sandbox.adminUrl!}${path}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (res.status !== 200) throw new Error(`${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as Record<string, unknown>;
}

const items = async (s: TestSandbox, args: string[]) => (await json<{ items: KubeObject[] }>(s, args)).items;
const statusOf = (o: KubeObject) => (o.status ?? {}) as Record<string, unknown>;

function deployment(name: string, replicas: number, extra = ''): string {
  return `apiVersion: apps/v1
kind: Deployment
metadata: {name: ${name}, namespace: default}
spec:
  replicas: ${replicas}
  selector: {matchLabels: {app: ${name}}}
  template:
    metadata: {labels: {app: ${name}}}
    spec:
      containers:
      - name: main
        image: nginx:1.25
        ports: [{name: http, containerPort: 8080}]
${extra}`;
}

test('a CronJob creates Jobs on its schedule (simulated clock); history limits delete old Jobs', async (t) => {
  const s = await startTestSandbox(t, { adminPort: 0 });
  await apply(
    s,
    `apiVersion: batch/v1
kind: CronJob
metadata: {name: tick, namespace: default}
spec:
  schedule: "*/5 * * * *"
  successfulJobsHistoryLimit: 1
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: OnFailure
          containers: [{name: c, image: busybox:1.36}]
`,
  );
  const cluster = s.sandbox.clusters[0]!;
  t.deepEqual(await items(s, ['get', 'jobs']), [], 'nothing runs before the schedule comes');
  cluster.advanceClock(5 * 60_000);
  const first = await waitFor(
    'the first Job to complete',
    async () => {
      const jobs = await items(s, ['get', 'jobs']);
      const done = jobs.filter((j) =>
        ((statusOf(j).conditions ?? []) as Array<{ type: string }>).some((c) => c.type === 'Complete'),
      );
      return done.length === 1 ? done[0] : undefined;
    },
    60_000,
  );
  t.regex(first.metadata.name!, /^tick-\d+$/);
  t.is(first.metadata.ownerReferences?.[0]?.kind, 'CronJob');
  const cj = await waitFor(
    'lastSuccessfulTime',
    async () => {
      const o = await json(s, ['get', 'cronjob', 'tick']);
      return statusOf(o).lastSuccessfulTime ? o : undefined;
    },
    60_000,
  );
  t.truthy(statusOf(cj).lastScheduleTime);
  // The admin endpoint moves the clock too (as `kitfed sandbox` users do).
  const moved = await admin(s, '/clusters/c1/clock', { advanceSeconds: 300 });
  t.true(Number((moved.clock as { aheadSeconds: number }).aheadSeconds) >= 600, JSON.stringify(moved));
  const second = await waitFor(
    'the second Job to replace the first',
    async () => {
      const jobs = await items(s, ['get', 'jobs']);
      const names = jobs.map((j) => j.metadata.name);
      return names.length === 1 && names[0] !== first.metadata.name ? names[0] : undefined;
    },
    60_000,
  );
  t.regex(second, /^tick-\d+$/);
  // Named by its scheduled minute: a later */5 minute than the first. Wall time keeps moving under
  // the simulated clock, so a 5-minute boundary may pass between the two advances and kube then
  // starts only the most recent missed schedule (10 minutes on, not 5).
  const [firstMinute, secondMinute] = [Number(first.metadata.name!.slice(5)), Number(second.slice(5))];
  t.true(secondMinute > firstMinute && secondMinute % 5 === 0, `${first.metadata.name} then ${second}`);
  const job = await json(s, ['get', 'job', second]);
  t.is(
    job.metadata.annotations?.['batch.kubernetes.io/cronjob-scheduled-timestamp'],
    new Date(secondMinute * 60_000).toISOString().replace('.000Z', 'Z'),
    'the scheduled-timestamp annotation names the same minute',
  );
  // Deleting the CronJob collects its Job (and the Job's pods) by owner.
  t.is((await s.kubectl(['delete', 'cronjob', 'tick'])).code, 0);
  await waitFor(
    'the Jobs and pods to be collected',
    async () => {
      const [jobs, pods] = [await items(s, ['get', 'jobs']), await items(s, ['get', 'pods'])];
      return jobs.length === 0 && pods.length === 0;
    },
    60_000,
  );
});

test('Endpoints and EndpointSlices follow a Service and its ready pods', async (t) => {
  const s = await startTestSandbox(t);
  await apply(
    s,
    deployment('web', 3) +
      `---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: default}
spec:
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: http}]
`,
  );
  const addresses = async () => {
    const ep = await json(s, ['get', 'endpoints', 'web']);
    const subsets = ((ep as { subsets?: Array<{ addresses?: Array<{ ip: string }> }> }).subsets ?? []).flatMap(
      (x) => x.addresses ?? [],
    );
    return subsets.map((a) => a.ip).sort();
  };
  const ips = await waitFor(
    'three ready addresses',
    async () => {
      const a = await addresses();
      return a.length === 3 ? a : undefined;
    },
    60_000,
  );
  const podIps = (await items(s, ['get', 'pods', '-l', 'app=web'])).map((p) => String(statusOf(p).podIP)).sort();
  t.deepEqual(ips, podIps);
  const ep = await json<{ subsets: Array<{ ports: Array<{ port: number; name: string }> }> }>(s, [
    'get',
    'endpoints',
    'web',
  ]);
  t.deepEqual(ep.subsets[0]!.ports, [{ name: 'http', port: 8080, protocol: 'TCP' }], 'the named targetPort resolved');
  const slices = await items(s, ['get', 'endpointslices', '-l', 'kubernetes.io/service-name=web']);
  t.is(slices.length, 1);
  const slice = slices[0] as KubeObject & { addressType: string; endpoints: Array<{ addresses: string[] }> };
  t.is(slice.addressType, 'IPv4');
  t.deepEqual(slice.endpoints.flatMap((e) => e.addresses).sort(), podIps);
  t.is(slice.metadata.ownerReferences?.[0]?.kind, 'Service');
  t.regex((await s.kubectl(['get', 'endpoints', 'web'])).stdout, /web\s+\S+:8080,\S+:8080,\S+:8080/);
  // Scale down: the addresses follow.
  t.is((await s.kubectl(['scale', 'deployment/web', '--replicas=1'])).code, 0);
  await waitFor('one address', async () => (await addresses()).length === 1, 60_000);
  // The Service goes: its Endpoints and slices go too.
  t.is((await s.kubectl(['delete', 'service', 'web'])).code, 0);
  await waitFor(
    'endpoints and slices gone',
    async () => {
      const e = await s.kubectl(['get', 'endpoints', 'web']);
      const sl = await items(s, ['get', 'endpointslices', '-l', 'kubernetes.io/service-name=web']);
      return e.code !== 0 && sl.length === 0;
    },
    60_000,
  );
});

test('the kubernetes Service in default, with Endpoints and EndpointSlice naming the API server; put back when deleted', async (t) => {
  const s = await startTestSandbox(t);
  const svc = await waitFor('the kubernetes Service', async () => {
    const r = await s.kubectl(['get', 'service', 'kubernetes', '-o', 'json']);
    return r.code === 0 ? (JSON.parse(r.stdout) as KubeObject) : undefined;
  });
  t.deepEqual(svc.metadata.labels, { component: 'apiserver', provider: 'kubernetes' });
  t.like(svc.spec, { clusterIP: '10.96.0.1', clusterIPs: ['10.96.0.1'], type: 'ClusterIP' });
  t.deepEqual((svc.spec as { ports: unknown }).ports, [
    { name: 'https', port: 443, protocol: 'TCP', targetPort: 6443 },
  ]);
  t.regex(
    (await s.kubectl(['get', 'svc', 'kubernetes'])).stdout,
    /^kubernetes\s+ClusterIP\s+10\.96\.0\.1\s+<none>\s+443\/TCP\s/m,
  );
  const ep = await json<{ subsets: Array<{ addresses: Array<{ ip: string }>; ports: unknown }> }>(s, [
    'get',
    'endpoints',
    'kubernetes',
  ]);
  const ip = ep.subsets[0]!.addresses[0]!.ip;
  t.regex(ip, /^172\.\d+\.\d+\.1$/, 'the simulated control plane on the node network');
  t.deepEqual(ep.subsets[0]!.ports, [{ name: 'https', port: 6443, protocol: 'TCP' }]);
  const slice = await json<{ endpoints: Array<{ addresses: string[] }>; metadata: KubeObject['metadata'] }>(s, [
    'get',
    'endpointslice',
    'kubernetes',
  ]);
  t.deepEqual(slice.endpoints[0]!.addresses, [ip]);
  t.is(slice.metadata.labels?.['kubernetes.io/service-name'], 'kubernetes');

  // As kube-apiserver's bootstrap controller: deleted, they come back; endpoints rewritten by hand are put back.
  t.is((await s.kubectl(['delete', 'service', 'kubernetes'])).code, 0);
  const again = await waitFor('the Service recreated', async () => {
    const r = await s.kubectl(['get', 'service', 'kubernetes', '-o', 'json']);
    const o = r.code === 0 ? (JSON.parse(r.stdout) as KubeObject) : undefined;
    return o && o.metadata.uid !== svc.metadata.uid ? o : undefined;
  });
  t.is((again.spec as { clusterIP: string }).clusterIP, '10.96.0.1');
  await waitFor('its endpoints back', async () => (await s.kubectl(['get', 'endpoints', 'kubernetes'])).code === 0);
  t.is(
    (
      await s.kubectl([
        'patch',
        'endpoints',
        'kubernetes',
        '--type=merge',
        '-p',
        '{"subsets":[{"addresses":[{"ip":"10.1.2.3"}],"ports":[{"name":"https","port":1}]}]}',
      ])
    ).code,
    0,
  );
  await waitFor('the endpoints put back', async () => {
    const e = await json<{ subsets: Array<{ addresses: Array<{ ip: string }> }> }>(s, [
      'get',
      'endpoints',
      'kubernetes',
    ]);
    return e.subsets[0]?.addresses[0]?.ip === ip;
  });
});

test('PodDisruptionBudget status counts healthy pods; eviction honours it with 429', async (t) => {
  const s = await startTestSandbox(t);
  await apply(
    s,
    deployment('db', 3) +
      `---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: db, namespace: default}
spec:
  minAvailable: 2
  selector: {matchLabels: {app: db}}
`,
  );
  const pdb = await waitFor(
    'the PDB to allow one disruption',
    async () => {
      const o = await json(s, ['get', 'pdb', 'db']);
      return statusOf(o).currentHealthy === 3 ? o : undefined;
    },
    60_000,
  );
  t.like(statusOf(pdb), { currentHealthy: 3, desiredHealthy: 2, expectedPods: 3, disruptionsAllowed: 1 });
  const conditions = statusOf(pdb).conditions as Array<{ type: string; status: string; reason: string }>;
  t.like(
    conditions.find((c) => c.type === 'DisruptionAllowed'),
    { status: 'True', reason: 'SufficientPods' },
  );
  t.regex((await s.kubectl(['get', 'pdb', 'db'])).stdout, /db\s+2\s+N\/A\s+1\s/);

  const pods = (await items(s, ['get', 'pods', '-l', 'app=db'])).map((p) => p.metadata.name!);
  const cluster = s.sandbox.clusters[0]!;
  const evict = (name: string) =>
    fetch(`${cluster.url}/api/v1/namespaces/default/pods/${name}/eviction`, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/json',
        ...(cluster.token ? { Authorization: `Bearer ${cluster.token}` } : {}),
      },
      body: JSON.stringify({ apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name, namespace: 'default' } }),
    });
  // Two evictions at once race for the one allowed disruption: exactly one has it. (One after the
  // other, a replacement pod may be Ready in between — its ready delay is 50 ms — and then the
  // budget rightly allows the second.)
  const [first, second] = await Promise.all([evict(pods[0]!), evict(pods[1]!)]);
  t.deepEqual([first.status, second.status].sort(), [201, 429]);
  const refused = first.status === 429 ? first : second;
  const refusedPod = first.status === 429 ? pods[0]! : pods[1]!;
  t.regex(((await refused.json()) as { message: string }).message, /would violate the pod's disruption budget/);
  // The ReplicaSet replaces the evicted pod; once it is ready the budget allows one disruption again.
  await waitFor(
    'the budget to recover',
    async () => {
      const o = await json(s, ['get', 'pdb', 'db']);
      return statusOf(o).currentHealthy === 3 && statusOf(o).disruptionsAllowed === 1 && !statusOf(o).disruptedPods;
    },
    60_000,
  );
  t.is((await evict(refusedPod)).status, 201);
});

test('ResourceQuota tracks usage and refuses with 403 "exceeded quota"; a held ReplicaSet resumes when it is raised', async (t) => {
  const s = await startTestSandbox(t);
  await apply(
    s,
    `apiVersion: v1
kind: ResourceQuota
metadata: {name: q, namespace: default}
spec:
  hard: {pods: "2", requests.cpu: "1", configmaps: "5"}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: default}
data: {a: b}
`,
  );
  await waitFor('the quota status', async () => statusOf(await json(s, ['get', 'quota', 'q'])).hard, 60_000);
  const pod = (name: string, cpu: string) => `apiVersion: v1
kind: Pod
metadata: {name: ${name}, namespace: default}
spec:
  containers: [{name: c, image: nginx, resources: {requests: {cpu: "${cpu}"}}}]
`;
  await apply(s, pod('a', '300m'));
  const tooBig = await s.kubectl(['create', '-f', '-'], { input: pod('b', '800m') });
  t.not(tooBig.code, 0);
  t.regex(
    tooBig.stderr,
    /pods "b" is forbidden: exceeded quota: q, requested: requests.cpu=800m, used: requests.cpu=300m, limited: requests.cpu=1/,
  );
  const noRequest = await s.kubectl(['create', '-f', '-'], {
    input: 'apiVersion: v1\nkind: Pod\nmetadata: {name: c}\nspec: {containers: [{name: c, image: nginx}]}\n',
  });
  t.regex(noRequest.stderr, /pods "c" is forbidden: failed quota: q: must specify requests.cpu/);
  await apply(s, pod('b', '200m'));
  const third = await s.kubectl(['create', '-f', '-'], { input: pod('d', '100m') });
  t.regex(third.stderr, /exceeded quota: q, requested: pods=1, used: pods=2, limited: pods=2/);
  const q = await waitFor(
    'usage in the status',
    async () => {
      const o = await json(s, ['get', 'quota', 'q']);
      const used = statusOf(o).used as Record<string, string> | undefined;
      return used?.pods === '2' ? used : undefined;
    },
    60_000,
  );
  const configmaps = (await items(s, ['get', 'configmaps'])).length;
  t.like(q, { pods: '2', 'requests.cpu': '500m', configmaps: String(configmaps) });
  t.regex((await s.kubectl(['describe', 'quota', 'q'])).stdout, /requests\.cpu\s+500m\s+1/);

  // A ReplicaSet's pods beyond the quota fail (FailedCreate) and come once the quota is raised.
  await apply(
    s,
    `apiVersion: apps/v1
kind: ReplicaSet
metadata: {name: rs, namespace: default}
spec:
  replicas: 2
  selector: {matchLabels: {app: rs}}
  template:
    metadata: {labels: {app: rs}}
    spec: {containers: [{name: c, image: nginx, resources: {requests: {cpu: 100m}}}]}
`,
  );
  await waitFor(
    'a FailedCreate event',
    async () => {
      const ev = await items(s, ['get', 'events', '--field-selector', 'reason=FailedCreate']);
      return ev.some((e) => /exceeded quota: q/.test(String((e as { message?: string }).message)));
    },
    60_000,
  );
  t.is((await items(s, ['get', 'pods', '-l', 'app=rs'])).length, 0);
  t.is((await s.kubectl(['patch', 'quota', 'q', '-p', '{"spec":{"hard":{"pods":"4"}}}'])).code, 0);
  await waitFor(
    'the ReplicaSet to create its pods',
    async () => {
      return (await items(s, ['get', 'pods', '-l', 'app=rs'])).length === 2;
    },
    60_000,
  );
});

test('LimitRange defaults container requests and limits and refuses what exceeds its max', async (t) => {
  const s = await startTestSandbox(t);
  await apply(
    s,
    `apiVersion: v1
kind: LimitRange
metadata: {name: lr, namespace: default}
spec:
  limits:
  - type: Container
    default: {cpu: 500m, memory: 256Mi}
    defaultRequest: {cpu: 100m, memory: 64Mi}
    max: {cpu: "1"}
`,
  );
  await apply(s, 'apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: c, image: nginx}]}\n');
  const p = await json<{ spec: { containers: Array<{ resources: unknown }> }; metadata: KubeObject['metadata'] }>(s, [
    'get',
    'pod',
    'p',
  ]);
  t.deepEqual(p.spec.containers[0]!.resources, {
    limits: { cpu: '500m', memory: '256Mi' },
    requests: { cpu: '100m', memory: '64Mi' },
  });
  t.regex(
    p.metadata.annotations?.['kubernetes.io/limit-ranger'] ?? '',
    /LimitRanger plugin set: cpu, memory request for container c; cpu, memory limit for container c/,
  );
  const big = await s.kubectl(['create', '-f', '-'], {
    input:
      'apiVersion: v1\nkind: Pod\nmetadata: {name: big}\nspec: {containers: [{name: c, image: nginx, ' +
      'resources: {limits: {cpu: "2"}}}]}\n',
  });
  t.not(big.code, 0);
  t.regex(big.stderr, /pods "big" is forbidden: maximum cpu usage per Container is 1, but limit is 2/);
});

test('an HPA scales its Deployment on the simulated metric and reports status', async (t) => {
  const s = await startTestSandbox(t, { adminPort: 0 });
  const resources = '        resources: {requests: {cpu: 100m}}\n';
  await apply(
    s,
    deployment('api', 2, resources) +
      `---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: api, namespace: default}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: api}
  minReplicas: 1
  maxReplicas: 5
  metrics:
  - type: Resource
    resource: {name: cpu, target: {type: Utilization, averageUtilization: 50}}
`,
  );
  // No metric yet: as on a cluster without a metrics server.
  const unknown = await waitFor(
    'ScalingActive=False',
    async () => {
      const o = await json(s, ['get', 'hpa', 'api']);
      const c = ((statusOf(o).conditions ?? []) as Array<{ type: string; status: string; reason: string }>).find(
        (x) => x.type === 'ScalingActive',
      );
      return c?.status === 'False' ? c : undefined;
    },
    60_000,
  );
  t.is(unknown.reason, 'FailedGetResourceMetric');
  // 100 % of the request against a 50 % target: twice the replicas, which share the load (50 % each).
  t.is((await s.kubectl(['annotate', 'deployment/api', 'sandbox.kitfed.io/cpu-utilization=100'])).code, 0);
  const hpa = await waitFor(
    'the HPA to scale to 4',
    async () => {
      const o = await json(s, ['get', 'hpa', 'api']);
      return statusOf(o).desiredReplicas === 4 && statusOf(o).currentReplicas === 4 ? o : undefined;
    },
    60_000,
  );
  t.truthy(statusOf(hpa).lastScaleTime);
  t.is(
    (statusOf(hpa).currentMetrics as Array<{ resource: { current: { averageUtilization: number } } }>)[0]!.resource
      .current.averageUtilization,
    50,
  );
  t.is((await json<{ spec: { replicas: number } }>(s, ['get', 'deployment', 'api'])).spec.replicas, 4);
  t.regex((await s.kubectl(['get', 'hpa', 'api'])).stdout, /api\s+Deployment\/api\s+cpu: 50%\/50%\s+1\s+5\s+4/);
  // Four times the load: above maxReplicas, so limited to it.
  t.is(
    (await s.kubectl(['annotate', '--overwrite', 'deployment/api', 'sandbox.kitfed.io/cpu-utilization=400'])).code,
    0,
  );
  await waitFor(
    'maxReplicas',
    async () => {
      const o = await json(s, ['get', 'hpa', 'api']);
      const c = ((statusOf(o).conditions ?? []) as Array<{ type: string; status: string }>).find(
        (x) => x.type === 'ScalingLimited',
      );
      return statusOf(o).desiredReplicas === 5 && c?.status === 'True';
    },
    60_000,
  );
  // Scale-down waits for the 5-minute stabilization window, on the simulator's clock.
  const cluster = s.sandbox.clusters[0]!;
  await admin(s, '/clusters/c1/metrics', { cpuUtilization: 10 });
  t.is(
    (await s.kubectl(['annotate', 'deployment/api', 'sandbox.kitfed.io/cpu-utilization-'])).code,
    0,
    'the cluster metric applies once the annotation is gone',
  );
  cluster.advanceClock(6 * 60_000);
  await waitFor(
    'scale down to 1',
    async () => {
      const o = await json(s, ['get', 'hpa', 'api']);
      return statusOf(o).desiredReplicas === 1;
    },
    60_000,
  );
});

test('deleting a DaemonSet collects its ControllerRevisions and pods by owner; orphan keeps them', async (t) => {
  const s = await startTestSandbox(t);
  const ds = (name: string) => `apiVersion: apps/v1
kind: DaemonSet
metadata: {name: ${name}, namespace: default}
spec:
  selector: {matchLabels: {app: ${name}}}
  template:
    metadata: {labels: {app: ${name}}}
    spec: {containers: [{name: a, image: busybox:1.36}]}
`;
  await apply(s, ds('agent') + '---\n' + ds('keep'));
  const revisionsOf = async (app: string) =>
    (await items(s, ['get', 'controllerrevisions', '-l', `app=${app}`])).length;
  await waitFor('a revision each', async () => (await revisionsOf('agent')) === 1 && (await revisionsOf('keep')) === 1);
  t.is((await s.kubectl(['delete', 'daemonset', 'agent'])).code, 0);
  t.is((await s.kubectl(['delete', 'daemonset', 'keep', '--cascade=orphan'])).code, 0);
  await waitFor(
    'the revisions and pods of the deleted DaemonSet to go',
    async () => (await revisionsOf('agent')) === 0 && (await items(s, ['get', 'pods', '-l', 'app=agent'])).length === 0,
    60_000,
  );
  t.is(await revisionsOf('keep'), 1, 'an orphaned revision stays');
  const kept = await items(s, ['get', 'controllerrevisions', '-l', 'app=keep']);
  t.deepEqual(kept[0]!.metadata.ownerReferences ?? [], []);
});
