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
