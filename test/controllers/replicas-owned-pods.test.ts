import test from 'ava';
import type { KubeObject } from '../../services/core/kube.js';
import { ownedPods } from '../../services/controllers/index.js';

const pod = (name: string, owner?: string): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: {
    name,
    labels: { app: 'nginx' },
    ...(owner
      ? { ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'x', uid: owner, controller: true }] }
      : {}),
  },
});

test("only pods controlled by the member ReplicaSet count, not another workload's pods with the same labels", (t) => {
  const rs: KubeObject = { apiVersion: 'apps/v1', kind: 'ReplicaSet', metadata: { name: 'nginx', uid: 'rs-1' } };
  const pods = [pod('mine', 'rs-1'), pod('gitops-deployment', 'rs-of-deployment'), pod('orphan')];
  t.deepEqual(
    ownedPods(rs, pods, []).map((p) => p.metadata.name),
    ['mine', 'orphan'],
  );
});

test('a member Deployment owns the pods of the ReplicaSets it controls', (t) => {
  const deploy: KubeObject = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', uid: 'd-1' } };
  const replicaSets: KubeObject[] = [
    {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: {
        name: 'web-abc',
        uid: 'rs-a',
        ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', uid: 'd-1', controller: true }],
      },
    },
    { apiVersion: 'apps/v1', kind: 'ReplicaSet', metadata: { name: 'other', uid: 'rs-b' } },
  ];
  t.deepEqual(
    ownedPods(deploy, [pod('a', 'rs-a'), pod('b', 'rs-b')], replicaSets).map((p) => p.metadata.name),
    ['a'],
  );
});
