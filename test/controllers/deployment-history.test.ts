/**
 * The federation's record of a Deployment's revisions: what `decide` makes of a Deployment and
 * the ReplicaSets it controls, then end to end with the real kubectl against the federation
 * (`rollout history`, `rollout undo`, `--to-revision`), the members following the undone template,
 * the records never propagated and gone with their Deployment.
 */
import test from 'ava';
import type { KubeObject } from '../../services/core/kube.js';
import { decideDeploymentHistory as decide, REVISION_RECORD_LABEL } from '../../services/controllers/index.js';
import { eventually } from '../helpers/eventually.js';
import { startFederation, waitReady } from './helpers.js';

const REVISION = 'deployment.kubernetes.io/revision';

function deployment(image: string, extra: Partial<KubeObject['metadata']> = {}, spec: object = {}): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'shop', uid: 'd-uid', ...extra },
    spec: {
      replicas: 4,
      selector: { matchLabels: { app: 'web' } },
      template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image }] } },
      ...spec,
    },
    status: { replicas: 4, updatedReplicas: 4, readyReplicas: 3, availableReplicas: 3 },
  };
}

/** What the API server would store of a created record. */
const stored = (rs: KubeObject, uid: string): KubeObject => ({
  ...rs,
  metadata: { ...rs.metadata, uid, resourceVersion: '1' },
});

test('a first revision, a new one per template, an undo brings an old one to the newest revision, history is bounded', (t) => {
  const v1 = deployment('web:1', {
    annotations: { 'kubernetes.io/change-cause': 'first', 'kitfed.io/status': '{}', 'deployment.kubernetes.io/x': '1' },
  });
  const first = decide({ deployment: v1, replicaSets: [] });
  const rs1 = first.create!;
  t.truthy(rs1);
  const hash = rs1.metadata.labels!['pod-template-hash']!;
  t.is(rs1.metadata.name, `web-${hash}`);
  t.is(rs1.metadata.labels![REVISION_RECORD_LABEL], 'true');
  t.is(rs1.metadata.labels!.app, 'web');
  // kube's inheritance: the change cause travels; kube's and kitfed's own bookkeeping does not.
  t.deepEqual(rs1.metadata.annotations, { 'kubernetes.io/change-cause': 'first', [REVISION]: '1' });
  t.deepEqual(rs1.metadata.ownerReferences, [
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      name: 'web',
      uid: 'd-uid',
      controller: true,
      blockOwnerDeletion: true,
    },
  ]);
  t.deepEqual((rs1.spec as { selector: unknown }).selector, { matchLabels: { app: 'web', 'pod-template-hash': hash } });
  t.is((rs1.spec as { replicas: number }).replicas, 4);

  // Next pass: the record exists; it counts the Deployment's updated replicas.
  const saved1 = stored(rs1, 'rs1');
  const steady = decide({ deployment: v1, replicaSets: [saved1] });
  t.is(steady.create, undefined);
  t.deepEqual(steady.update, []);
  t.deepEqual(
    steady.updateStatus.map((rs) => rs.status),
    [{ replicas: 4, fullyLabeledReplicas: 4, readyReplicas: 3, availableReplicas: 3 }],
  );
  const settled1 = { ...saved1, status: steady.updateStatus[0]!.status };
  t.deepEqual(decide({ deployment: v1, replicaSets: [settled1] }), { update: [], updateStatus: [], delete: [] });

  // A new template: revision 2; the first counts nothing.
  const v2 = deployment('web:2');
  const second = decide({ deployment: v2, replicaSets: [settled1] });
  t.is(second.create!.metadata.annotations![REVISION], '2');
  t.not(second.create!.metadata.name, rs1.metadata.name);
  t.deepEqual(
    second.updateStatus.map((rs) => [rs.metadata.name, rs.status]),
    [[rs1.metadata.name, { replicas: 0 }]],
  );
  t.deepEqual(
    second.update.map((rs) => [rs.metadata.name, (rs.spec as { replicas: number }).replicas]),
    [[rs1.metadata.name, 0]],
  );
  const rs2 = stored(second.create!, 'rs2');

  // Undo: the first template again: its record takes revision 3 and remembers it was 1.
  const back = decide({ deployment: v1, replicaSets: [settled1, rs2] });
  t.is(back.create, undefined);
  const bumped = back.update.find((rs) => rs.metadata.name === rs1.metadata.name)!;
  t.is(bumped.metadata.annotations![REVISION], '3');
  t.is(bumped.metadata.annotations!['deployment.kubernetes.io/revision-history'], '1');

  // revisionHistoryLimit 0: old records go, oldest first; a paused Deployment gets no new record.
  const limited = deployment('web:3', {}, { revisionHistoryLimit: 0 });
  const pruned = decide({ deployment: limited, replicaSets: [settled1, rs2] });
  t.deepEqual(
    pruned.delete.map((rs) => rs.metadata.name),
    [rs1.metadata.name, rs2.metadata.name],
  );
  t.truthy(pruned.create);
  t.is(decide({ deployment: deployment('web:4', {}, { paused: true }), replicaSets: [settled1] }).create, undefined);

  // Another ReplicaSet already holds the name: the record takes another hash.
  const squatter: KubeObject = {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: { name: rs1.metadata.name!, namespace: 'shop', uid: 'x' },
  };
  const other = decide({ deployment: v1, replicaSets: [squatter] }).create!;
  t.not(other.metadata.name, rs1.metadata.name);
  // A Deployment being deleted: nothing (the garbage collector takes its records).
  t.deepEqual(
    decide({ deployment: deployment('web:1', { deletionTimestamp: '2026-12-04T00:00:00Z' }), replicaSets: [settled1] }),
    {
      update: [],
      updateStatus: [],
      delete: [],
    },
  );
});

test('kubectl rollout history and undo work against the federation; members follow; the records stay in the federation', async (t) => {
  const fed = await startFederation(t, 2);
  await fed.startControllers();
  await waitReady(fed);
  const k = (args: string[]) => fed.kubectl(['--context=federation', '-n', 'shop', ...args]);
  t.is((await fed.kubectl(['--context=federation', 'create', 'namespace', 'shop'])).code, 0);
  const created = await k(['create', 'deployment', 'web', '--image=nginx:1.25', '--replicas=2']);
  t.is(created.code, 0, created.stderr);
  t.is((await k(['annotate', 'deployment', 'web', 'kubernetes.io/change-cause=first'])).code, 0);
  await eventually(async () => {
    const h = await k(['rollout', 'history', 'deployment/web']);
    if (!/^1\s+first$/m.test(h.stdout)) throw new Error(h.stdout + h.stderr);
  });

  t.is((await k(['set', 'image', 'deployment/web', 'nginx=nginx:1.26'])).code, 0);
  t.is((await k(['annotate', 'deployment', 'web', 'kubernetes.io/change-cause=second', '--overwrite'])).code, 0);
  await eventually(async () => {
    const h = await k(['rollout', 'history', 'deployment/web']);
    if (!/^1\s+first$/m.test(h.stdout) || !/^2\s+second$/m.test(h.stdout)) throw new Error(h.stdout + h.stderr);
  });
  const image = (o: KubeObject) =>
    (o.spec as { template: { spec: { containers: Array<{ image: string }> } } }).template.spec.containers[0]!.image;
  await eventually(async () => {
    const m = await fed.members[0]!.client.get('apps/v1', 'Deployment', 'shop', 'web');
    if (image(m) !== 'nginx:1.26') throw new Error(image(m));
  });

  const undo = await k(['rollout', 'undo', 'deployment/web']);
  t.is(undo.code, 0, undo.stderr);
  t.regex(undo.stdout, /rolled back/);
  t.is(image(await fed.client.get('apps/v1', 'Deployment', 'shop', 'web')), 'nginx:1.25');
  await eventually(async () => {
    for (const m of fed.members) {
      const d = await m.client.get('apps/v1', 'Deployment', 'shop', 'web');
      if (image(d) !== 'nginx:1.25') throw new Error(`${m.name}: ${image(d)}`);
    }
  });
  await eventually(async () => {
    const h = await k(['rollout', 'history', 'deployment/web']);
    if (!/^2\s+second$/m.test(h.stdout) || !/^3\s+first$/m.test(h.stdout) || /^1\s/m.test(h.stdout))
      throw new Error(h.stdout);
  });
  const missing = await k(['rollout', 'undo', 'deployment/web', '--to-revision=9']);
  t.is(missing.code, 1);
  t.regex(missing.stderr, /unable to find specified revision 9 in history/);
  const toTwo = await k(['rollout', 'undo', 'deployment/web', '--to-revision=2']);
  t.is(toTwo.code, 0, toTwo.stderr);
  t.is(image(await fed.client.get('apps/v1', 'Deployment', 'shop', 'web')), 'nginx:1.26');

  // The records are the federation's: no member holds them (these members run no controllers).
  const records = await fed.client.list('apps/v1', 'ReplicaSet', 'shop', { labelSelector: REVISION_RECORD_LABEL });
  t.is(records.items.length, 2);
  for (const m of fed.members) t.deepEqual((await m.client.list('apps/v1', 'ReplicaSet', 'shop')).items, []);

  // They go with their Deployment.
  t.is((await k(['delete', 'deployment', 'web'])).code, 0);
  await eventually(async () => {
    const left = await fed.client.list('apps/v1', 'ReplicaSet', 'shop');
    if (left.items.length > 0) throw new Error(left.items.map((rs) => rs.metadata.name).join(', '));
  });
});
