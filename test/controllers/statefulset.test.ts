/**
 * A federated StatefulSet: replicas spread by the v1 planner with the generic
 * `federation.kubernetes.io/replica-preferences`, the members' status summed back (what
 * `kubectl get statefulset` shows), a scale re-plans, and bad preferences are refused at admission.
 */
import test from 'ava';
import type { KitfedError } from '../../services/core/errors.js';
import type { KubeObject } from '../../services/core/kube.js';
import { eventually } from '../helpers/eventually.js';
import { propagationStatus, startFederation, waitReady, type Member } from './helpers.js';

const PREFS = 'federation.kubernetes.io/replica-preferences';

function statefulSet(replicas: number, prefs: string): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name: 'db', namespace: 'default', annotations: { [PREFS]: prefs } },
    spec: {
      replicas,
      serviceName: 'db',
      selector: { matchLabels: { app: 'db' } },
      template: { metadata: { labels: { app: 'db' } }, spec: { containers: [{ name: 'db', image: 'postgres:16' }] } },
      volumeClaimTemplates: [
        {
          metadata: { name: 'data' },
          spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
        },
      ],
    },
  };
}

const replicasIn = async (members: Member[]): Promise<Record<string, number>> => {
  const out: Record<string, number> = {};
  for (const m of members) {
    const o = await m.client.tryGet('apps/v1', 'StatefulSet', 'default', 'db');
    if (o) out[m.name] = (o.spec as { replicas: number }).replicas;
  }
  return out;
};

test('a StatefulSet with preferences: spread by the planner, status summed, scaled; bad ones refused', async (t) => {
  const fed = await startFederation(t, 3);
  await fed.startControllers();
  await waitReady(fed);
  const members = fed.members;
  const bad = await t.throwsAsync(fed.client.create(statefulSet(3, '{"clusters":{"m1":{"weight":-1}}}')));
  t.is((bad as KitfedError).code, 422);
  t.regex((bad as KitfedError).message, /metadata\.annotations\[federation\.kubernetes\.io\/replica-preferences\]/);

  const prefs = JSON.stringify({ rebalance: true, clusters: { m1: { weight: 2 }, m2: { weight: 1 } } });
  await fed.client.create(statefulSet(6, prefs));
  await eventually(async () => {
    const r = await replicasIn(members);
    if (JSON.stringify(r) !== '{"m1":4,"m2":2}') throw new Error(JSON.stringify(r));
  });
  const copy = await members[0]!.client.get('apps/v1', 'StatefulSet', 'default', 'db');
  t.is((copy.spec as { volumeClaimTemplates: unknown[] }).volumeClaimTemplates.length, 1);
  t.is((copy.spec as { serviceName: string }).serviceName, 'db');

  // The members' StatefulSet controllers report: the federation sums them, as kubectl shows.
  for (const [m, n] of [
    [members[0]!, 4],
    [members[1]!, 2],
  ] as const) {
    const o = await m.client.get('apps/v1', 'StatefulSet', 'default', 'db');
    await m.client.update(
      {
        ...o,
        status: {
          observedGeneration: o.metadata.generation,
          replicas: n,
          readyReplicas: n,
          currentReplicas: n,
          updatedReplicas: n,
          availableReplicas: n,
        },
      },
      { subresource: 'status' },
    );
  }
  const fedObj = await eventually(async () => {
    const o = await fed.client.get('apps/v1', 'StatefulSet', 'default', 'db');
    if ((o.status as { readyReplicas?: number } | undefined)?.readyReplicas !== 6)
      throw new Error(JSON.stringify(o.status));
    return o;
  });
  t.like(fedObj.status, {
    observedGeneration: fedObj.metadata.generation,
    replicas: 6,
    readyReplicas: 6,
    currentReplicas: 6,
    updatedReplicas: 6,
    availableReplicas: 6,
  });
  t.deepEqual(
    propagationStatus(fedObj).clusters.map((c) => [c.cluster, c.state, c.replicas]),
    [
      ['m1', 'InSync', 4],
      ['m2', 'InSync', 2],
      ['m3', 'InSync', 0],
    ],
  );
  const get = await fed.kubectl(['--context=federation', 'get', 'statefulset', 'db']);
  t.regex(get.stdout, /^db\s+6\/6\s/m, get.stdout);

  // Scaled in the federation: planned again by the same preferences.
  const scaled = await fed.kubectl(['--context=federation', 'scale', 'statefulset', 'db', '--replicas=9']);
  t.is(scaled.code, 0, scaled.stderr);
  await eventually(async () => {
    const r = await replicasIn(members);
    if (JSON.stringify(r) !== '{"m1":6,"m2":3}') throw new Error(JSON.stringify(r));
  });
});
