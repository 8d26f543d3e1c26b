import test from 'ava';
import type { KubeObject } from '../../services/core/kube.js';
import { plan, replicaState } from '../../services/planner/index.js';

const NOW = Date.parse('2026-01-01T12:00:00Z');
const ago = (s: number): string => new Date(NOW - s * 1000).toISOString();

function rs(replicas: number | undefined, readyReplicas: number | undefined, namespace = 'web'): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: { name: 'front', namespace },
    spec: {
      ...(replicas === undefined ? {} : { replicas }),
      selector: {
        matchLabels: { app: 'front' },
        matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['db'] }],
      },
    },
    status: readyReplicas === undefined ? {} : { readyReplicas },
  };
}

function pod(
  name: string,
  status: Record<string, unknown>,
  opts: { namespace?: string; labels?: Record<string, string> } = {},
): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: opts.namespace ?? 'web', labels: opts.labels ?? { app: 'front' } },
    status,
  };
}

const ready = (s: 'True' | 'False') => ({ phase: 'Running', conditions: [{ type: 'Ready', status: s }] });
const unschedulable = (since: string) => ({
  phase: 'Pending',
  conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', lastTransitionTime: since }],
});

test('a cluster without the object has no entry; spec.replicas == readyReplicas uses the status, not the pods', (t) => {
  const state = replicaState(
    [
      { cluster: 'absent' },
      { cluster: 'steady', object: rs(3, 3), pods: [pod('p', unschedulable(ago(600)))] },
      { cluster: 'defaulted', object: rs(undefined, 1) },
    ],
    NOW,
  );
  t.deepEqual(state, { current: { steady: 3, defaulted: 1 }, estimatedCapacity: {} });
});

test('otherwise pods are analysed: only Ready=True counts (the v1 quirk is fixed), unschedulable for over 60 s caps capacity', (t) => {
  const pods = [
    pod('ok-1', ready('True')),
    pod('ok-2', ready('True')),
    pod('not-ready', ready('False')), // v1 counted this one
    pod('no-condition', { phase: 'Running', conditions: [] }),
    pod('stuck-1', unschedulable(ago(120))),
    pod('stuck-2', unschedulable(ago(61))),
    pod('young', unschedulable(ago(10))),
    pod('other-ns', ready('True'), { namespace: 'other' }),
    pod('other-app', ready('True'), { labels: { app: 'back' } }),
    pod('db-tier', ready('True'), { labels: { app: 'front', tier: 'db' } }),
    pod('pending', { phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'True' }] }),
  ];
  const state = replicaState([{ cluster: 'eu-1', object: rs(8, 2), pods }], NOW);
  t.deepEqual(state.current, { 'eu-1': 2 });
  t.deepEqual(state.estimatedCapacity, { 'eu-1': 6 });
  t.is(state.recheckAt, NOW + 50_000, 'the young unschedulable pod crosses 60 s in 50 s');
});

test('a missing selector selects no pods, as in Kubernetes', (t) => {
  const obj = rs(2, 0);
  (obj.spec as Record<string, unknown>).selector = undefined;
  const state = replicaState([{ cluster: 'a', object: obj, pods: [pod('p', ready('True'))] }], NOW);
  t.deepEqual(state, { current: { a: 0 }, estimatedCapacity: {} });
});

test('the measured state feeds the planner: running replicas stay, capacity produces overflow', (t) => {
  const state = replicaState(
    [
      { cluster: 'A', object: rs(5, 5) },
      {
        cluster: 'B',
        object: rs(10, 4),
        pods: [
          ...Array.from({ length: 4 }, (_, i) => pod(`r${i}`, ready('True'))),
          ...Array.from({ length: 6 }, (_, i) => pod(`u${i}`, unschedulable(ago(90)))),
        ],
      },
    ],
    NOW,
  );
  t.deepEqual(state, { current: { A: 5, B: 4 }, estimatedCapacity: { B: 4 } });
  const result = plan({
    preferences: { rebalance: false, clusters: { '*': { weight: 1 } } },
    totalReplicas: 20,
    clusters: ['A', 'B'],
    currentReplicas: state.current,
    estimatedCapacity: state.estimatedCapacity,
    key: 'web/front',
  });
  t.deepEqual(result, { plan: { A: 16, B: 4 }, overflow: {} });
});

test('workloads may also be keyed by cluster name, and now may be a Date', (t) => {
  const state = replicaState(
    { a: { object: rs(2, 2) }, b: { object: rs(3, 1), pods: [pod('p', ready('True'))] }, c: {} },
    new Date(NOW),
  );
  t.deepEqual(state, { current: { a: 2, b: 1 }, estimatedCapacity: {} });
});
