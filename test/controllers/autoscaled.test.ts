/**
 * A federated Deployment that a federated HorizontalPodAutoscaler targets: each member's HPA
 * scales its own copy, so kitfed keeps an existing copy's replicas instead of putting the plan
 * back every time the member's HPA moves them (which made the two fight every sync period), while
 * every other change still reaches the members. Without the HPA the plan owns the replicas again.
 */
import test from 'ava';
import type { KubeObject } from '../../services/core/kube.js';
import { eventually } from '../helpers/eventually.js';
import { startFederation, waitReady, type Member } from './helpers.js';

const deployment: KubeObject = {
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'api', namespace: 'default' },
  spec: {
    replicas: 4,
    selector: { matchLabels: { app: 'api' } },
    template: { metadata: { labels: { app: 'api' } }, spec: { containers: [{ name: 'api', image: 'api:1' }] } },
  },
};

const hpa: KubeObject = {
  apiVersion: 'autoscaling/v2',
  kind: 'HorizontalPodAutoscaler',
  metadata: { name: 'api', namespace: 'default' },
  spec: {
    scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'api' },
    minReplicas: 1,
    maxReplicas: 10,
    metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 50 } } }],
  },
};

const copy = (m: Member) => m.client.get('apps/v1', 'Deployment', 'default', 'api');
const replicasOf = (o: KubeObject) => (o.spec as { replicas: number }).replicas;
const imageOf = (o: KubeObject) =>
  (o.spec as { template: { spec: { containers: Array<{ image: string }> } } }).template.spec.containers[0]!.image;

test("a member's HPA owns its copy's replicas while a federated HPA targets the Deployment", async (t) => {
  const fed = await startFederation(t, 2);
  await fed.startControllers();
  await waitReady(fed);
  const [m1, m2] = fed.members as [Member, Member];
  await fed.client.create(deployment);
  await eventually(async () => {
    for (const m of [m1, m2]) if (replicasOf(await copy(m)) !== 2) throw new Error(`${m.name} not planned yet`);
  });
  await fed.client.create(hpa);
  await eventually(() => m1.client.get('autoscaling/v2', 'HorizontalPodAutoscaler', 'default', 'api'));

  // m1's HPA scales its copy up, as it would under load.
  const scaled = await copy(m1);
  await m1.client.update({ ...scaled, spec: { ...(scaled.spec as object), replicas: 7 } });
  // Another change to the federated Deployment still goes out, and leaves m1's replicas alone.
  await fed.client.patch('apps/v1', 'Deployment', 'default', 'api', {
    spec: { template: { spec: { containers: [{ name: 'api', image: 'api:2' }] } } },
  });
  await eventually(async () => {
    for (const m of [m1, m2]) if (imageOf(await copy(m)) !== 'api:2') throw new Error(`${m.name} not updated yet`);
  });
  t.is(replicasOf(await copy(m1)), 7);
  t.is(replicasOf(await copy(m2)), 2);
  // The Scheduled condition says who owns the replicas.
  const now = await fed.client.get('apps/v1', 'Deployment', 'default', 'api');
  const scheduledNow = (now.status as { conditions?: Array<{ type: string; reason?: string }> }).conditions?.find(
    (c) => c.type === 'Scheduled',
  );
  t.is(scheduledNow?.reason, 'Autoscaled');

  // Without the HPA, the plan owns the replicas again.
  await fed.client.delete('autoscaling/v2', 'HorizontalPodAutoscaler', 'default', 'api');
  await eventually(async () => {
    const n = replicasOf(await copy(m1));
    if (n !== 2) throw new Error(`m1 still at ${n}`);
  });
});

test('an HPA that changes its target leaves the old one to the plan', async (t) => {
  const fed = await startFederation(t, 2);
  await fed.startControllers();
  await waitReady(fed);
  const [m1] = fed.members as [Member];
  await fed.client.create(deployment);
  await fed.client.create(hpa);
  await eventually(() => m1.client.get('autoscaling/v2', 'HorizontalPodAutoscaler', 'default', 'api'));
  await eventually(async () => {
    if (replicasOf(await copy(m1)) !== 2) throw new Error('not planned yet');
  });
  const scaled = await copy(m1);
  await m1.client.update({ ...scaled, spec: { ...(scaled.spec as object), replicas: 7 } });
  // A pass after the member's change has kept its 7 (an image change that reaches m1).
  await fed.client.patch('apps/v1', 'Deployment', 'default', 'api', {
    spec: { template: { spec: { containers: [{ name: 'api', image: 'api:2' }] } } },
  });
  await eventually(async () => {
    if (imageOf(await copy(m1)) !== 'api:2') throw new Error('m1 not updated yet');
  });
  t.is(replicasOf(await copy(m1)), 7);
  await fed.client.patch('autoscaling/v2', 'HorizontalPodAutoscaler', 'default', 'api', {
    spec: { scaleTargetRef: { name: 'other' } },
  });
  await eventually(async () => {
    const n = replicasOf(await copy(m1));
    if (n !== 2) throw new Error(`m1 still at ${n}`);
  });
  t.is(replicasOf(await copy(m1)), 2);
});

test("a federated HPA's status is its copies' put together: kubectl get hpa reads the fleet", async (t) => {
  const fed = await startFederation(t, 2);
  await fed.startControllers();
  await waitReady(fed);
  const [m1, m2] = fed.members as [Member, Member];
  await fed.client.create(deployment);
  const packets = {
    type: 'Pods',
    pods: { metric: { name: 'packets-per-second' }, target: { type: 'AverageValue', averageValue: '1' } },
  };
  const queue = {
    type: 'External',
    external: { metric: { name: 'queue-depth' }, target: { type: 'Value', value: '30' } },
  };
  await fed.client.create({
    ...hpa,
    spec: { ...(hpa.spec as object), metrics: [...(hpa.spec as { metrics: unknown[] }).metrics, packets, queue] },
  });
  const report = async (m: Member, status: Record<string, unknown>) => {
    const o = await eventually(() => m.client.get('autoscaling/v2', 'HorizontalPodAutoscaler', 'default', 'api'));
    await m.client.update({ ...o, status }, { subresource: 'status' });
  };
  const condition = (type: string, status: string, reason: string, message: string) => ({
    type,
    status,
    reason,
    message,
    lastTransitionTime: '2026-12-05T10:00:00Z',
  });
  const readings = (cpu: number, pps: string, depth: string) => [
    { type: 'Resource', resource: { name: 'cpu', current: { averageUtilization: cpu, averageValue: `${cpu * 2}m` } } },
    { type: 'Pods', pods: { metric: { name: 'packets-per-second' }, current: { averageValue: pps } } },
    { type: 'External', external: { metric: { name: 'queue-depth' }, current: { value: depth } } },
  ];
  // m1 runs 2 pods at 40 % CPU; m2 runs 6 at 80 % and has hit maxReplicas.
  await report(m1, {
    observedGeneration: 1,
    currentReplicas: 2,
    desiredReplicas: 2,
    lastScaleTime: '2026-12-05T10:00:00Z',
    currentMetrics: readings(40, '100m', '12'),
    conditions: [
      condition('AbleToScale', 'True', 'ReadyForNewScale', 'recommended size matches current size'),
      condition('ScalingLimited', 'False', 'DesiredWithinRange', 'the desired count is within the acceptable range'),
    ],
  });
  await report(m2, {
    observedGeneration: 1,
    currentReplicas: 6,
    desiredReplicas: 7,
    lastScaleTime: '2026-12-05T10:03:00Z',
    currentMetrics: readings(80, '300m', '31'),
    conditions: [
      condition('AbleToScale', 'True', 'ReadyForNewScale', 'recommended size matches current size'),
      condition('ScalingLimited', 'True', 'TooManyReplicas', 'the desired replica count is more than the maximum'),
    ],
  });
  const status = await eventually(async () => {
    const o = await fed.client.get('autoscaling/v2', 'HorizontalPodAutoscaler', 'default', 'api');
    const s = o.status as Record<string, any> | undefined;
    if (s?.currentReplicas !== 8 || s.lastScaleTime !== '2026-12-05T10:03:00Z') throw new Error(JSON.stringify(s));
    return s;
  });
  t.is(status.desiredReplicas, 9);
  // Averages weighted by each member's replicas: (40×2 + 80×6) / 8 = 70 %; (0.1×2 + 0.3×6) / 8 = 250m.
  // The External value is the largest member's reading.
  t.deepEqual(status.currentMetrics, [
    { type: 'Resource', resource: { name: 'cpu', current: { averageUtilization: 70, averageValue: '140m' } } },
    { type: 'Pods', pods: { metric: { name: 'packets-per-second' }, current: { averageValue: '250m' } } },
    { type: 'External', external: { metric: { name: 'queue-depth' }, current: { value: '31' } } },
  ]);
  const limited = (status.conditions as Array<{ type: string; status: string; message?: string }>).find(
    (c) => c.type === 'ScalingLimited',
  );
  t.is(limited?.status, 'True');
  t.regex(limited?.message ?? '', /^m2: the desired replica count is more than the maximum/);

  const table = await fed.kubectl(['--context=federation', 'get', 'hpa', 'api', '--no-headers']);
  t.is(table.code, 0, table.stderr);
  t.regex(table.stdout, /cpu: 70%\/50%, 250m\/1 \+ 1 more\.\.\.\s+1\s+10\s+8\s/);
});
