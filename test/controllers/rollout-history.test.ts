/**
 * The federation's record of a Deployment's revisions: what `decide` makes of a Deployment and
 * the ReplicaSets it controls, then end to end with the real kubectl against the federation
 * (`rollout history`, `rollout undo`, `--to-revision`), the members following the undone template,
 * the records never propagated and gone with their Deployment.
 */
import test from 'ava';
import type { KubeObject } from '../../services/core/kube.js';
import { decideRolloutHistory as decide, REVISION_RECORD_LABEL } from '../../services/controllers/index.js';
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

test('Deployments: a first revision, a new one per template, an undo brings an old one to the newest revision, history is bounded', (t) => {
  const v1 = deployment('web:1', {
    annotations: { 'kubernetes.io/change-cause': 'first', 'kitfed.io/status': '{}', 'deployment.kubernetes.io/x': '1' },
  });
  const first = decide({ owner: v1, records: [] });
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
  const steady = decide({ owner: v1, records: [saved1] });
  t.is(steady.create, undefined);
  t.deepEqual(steady.patch, [
    {
      name: rs1.metadata.name,
      status: true,
      body: { status: { replicas: 4, fullyLabeledReplicas: 4, readyReplicas: 3, availableReplicas: 3 } },
    },
  ]);
  const settled1 = { ...saved1, status: (steady.patch[0]!.body as { status: object }).status };
  t.deepEqual(decide({ owner: v1, records: [settled1] }), { patch: [], delete: [] });

  // A new template: revision 2; the first counts nothing (what it counted is patched away).
  const second = decide({ owner: deployment('web:2'), records: [settled1] });
  t.is(second.create!.metadata.annotations![REVISION], '2');
  t.not(second.create!.metadata.name, rs1.metadata.name);
  t.deepEqual(second.patch, [
    { name: rs1.metadata.name, body: { spec: { replicas: 0 } } },
    {
      name: rs1.metadata.name,
      status: true,
      body: { status: { fullyLabeledReplicas: null, readyReplicas: null, availableReplicas: null, replicas: 0 } },
    },
  ]);
  const rs2 = stored(second.create!, 'rs2');

  // Undo: the first template again: its record takes revision 3 and remembers it was 1.
  const back = decide({ owner: v1, records: [settled1, rs2] });
  t.is(back.create, undefined);
  const bumped = back.patch.find((p) => p.name === rs1.metadata.name && !p.status)!;
  const annotations = (bumped.body as { metadata: { annotations: Record<string, string> } }).metadata.annotations;
  t.is(annotations[REVISION], '3');
  t.is(annotations['deployment.kubernetes.io/revision-history'], '1');

  // revisionHistoryLimit 0: old records go, oldest first; a paused Deployment gets no new record.
  const pruned = decide({ owner: deployment('web:3', {}, { revisionHistoryLimit: 0 }), records: [settled1, rs2] });
  t.deepEqual(
    pruned.delete.map((rs) => rs.metadata.name),
    [rs1.metadata.name, rs2.metadata.name],
  );
  t.truthy(pruned.create);
  t.is(decide({ owner: deployment('web:4', {}, { paused: true }), records: [settled1] }).create, undefined);

  // Another ReplicaSet already holds the name: the record takes another hash.
  const squatter: KubeObject = {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: { name: rs1.metadata.name!, namespace: 'shop', uid: 'x' },
  };
  t.not(decide({ owner: v1, records: [squatter] }).create!.metadata.name, rs1.metadata.name);
  // A Deployment being deleted: nothing (the garbage collector takes its records).
  t.deepEqual(
    decide({ owner: deployment('web:1', { deletionTimestamp: '2026-12-04T00:00:00Z' }), records: [settled1] }),
    {
      patch: [],
      delete: [],
    },
  );
});

test('DaemonSets and StatefulSets: ControllerRevisions whose data restores the template, renumbered by an undo, bounded', (t) => {
  const ds = (image: string, spec: object = {}): KubeObject => ({
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: { name: 'agent', namespace: 'shop', uid: 'ds-uid', annotations: { 'kubernetes.io/change-cause': image } },
    spec: {
      selector: { matchLabels: { app: 'agent' } },
      template: { metadata: { labels: { app: 'agent' } }, spec: { containers: [{ name: 'a', image }] } },
      ...spec,
    },
  });
  const first = decide({ owner: ds('agent:1'), records: [] }).create!;
  const hash = first.metadata.labels!['controller-revision-hash']!;
  t.is(first.kind, 'ControllerRevision');
  t.is(first.metadata.name, `agent-${hash}`);
  t.is((first as { revision?: number }).revision, 1);
  t.is(first.metadata.labels!.app, 'agent');
  t.deepEqual(first.metadata.annotations, { 'kubernetes.io/change-cause': 'agent:1' });
  t.deepEqual(first.data, {
    spec: {
      template: {
        metadata: { labels: { app: 'agent' } },
        spec: { containers: [{ name: 'a', image: 'agent:1' }] },
        $patch: 'replace',
      },
    },
  });
  const cr1 = stored(first, 'cr1');
  t.deepEqual(decide({ owner: ds('agent:1'), records: [cr1] }), { patch: [], delete: [] });
  const cr2 = stored(decide({ owner: ds('agent:2'), records: [cr1] }).create!, 'cr2');
  t.is((cr2 as { revision?: number }).revision, 2);
  t.deepEqual(decide({ owner: ds('agent:1'), records: [cr1, cr2] }).patch, [
    { name: cr1.metadata.name, body: { revision: 3 } },
  ]);
  t.deepEqual(
    decide({ owner: ds('agent:3', { revisionHistoryLimit: 1 }), records: [cr1, cr2] }).delete.map(
      (r) => r.metadata.name,
    ),
    [cr1.metadata.name],
  );

  // A StatefulSet's revision is named by its data, and carries no hash label.
  const sts: KubeObject = {
    ...ds('db:1'),
    kind: 'StatefulSet',
    metadata: { name: 'db', namespace: 'shop', uid: 'sts-uid' },
  };
  const rev = decide({ owner: sts, records: [] }).create!;
  t.regex(rev.metadata.name!, /^db-[a-z0-9]+$/);
  t.is(rev.metadata.labels!['controller-revision-hash'], undefined);
  t.deepEqual(rev.metadata.ownerReferences?.[0]?.kind, 'StatefulSet');
});

test('kubectl rollout history and undo against the federation: Deployments, DaemonSets, StatefulSets; members follow', async (t) => {
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

  // DaemonSets and StatefulSets: the same, through ControllerRevisions.
  for (const [kind, resource] of [
    ['daemonset', 'daemonsets'],
    ['statefulset', 'statefulsets'],
  ] as const) {
    const manifest = {
      apiVersion: 'apps/v1',
      kind: kind === 'daemonset' ? 'DaemonSet' : 'StatefulSet',
      metadata: { name: 'agent', namespace: 'shop' },
      spec: {
        ...(kind === 'statefulset' ? { serviceName: 'agent', replicas: 2 } : {}),
        selector: { matchLabels: { app: 'agent' } },
        template: { metadata: { labels: { app: 'agent' } }, spec: { containers: [{ name: 'a', image: 'agent:1' }] } },
      },
    };
    t.is((await fed.kubectl(['--context=federation', 'apply', '-f', '-'], JSON.stringify(manifest))).code, 0);
    await eventually(async () => {
      const h = await k(['rollout', 'history', `${kind}/agent`]);
      if (!/^1\s/m.test(h.stdout)) throw new Error(h.stdout + h.stderr);
    });
    t.is((await k(['set', 'image', `${kind}/agent`, 'a=agent:2'])).code, 0);
    await eventually(async () => {
      const h = await k(['rollout', 'history', `${kind}/agent`]);
      if (!/^2\s/m.test(h.stdout)) throw new Error(h.stdout + h.stderr);
    });
    const undone = await k(['rollout', 'undo', `${kind}/agent`]);
    t.is(undone.code, 0, undone.stderr);
    await eventually(async () => {
      for (const m of fed.members) {
        const o = await m.client.get('apps/v1', manifest.kind, 'shop', 'agent');
        if (image(o) !== 'agent:1') throw new Error(`${m.name} ${resource}: ${image(o)}`);
      }
    });
    await eventually(async () => {
      const h = await k(['rollout', 'history', `${kind}/agent`]);
      if (!/^2\s/m.test(h.stdout) || !/^3\s/m.test(h.stdout) || /^1\s/m.test(h.stdout)) throw new Error(h.stdout);
    });
  }
  for (const m of fed.members) t.deepEqual((await m.client.list('apps/v1', 'ControllerRevision', 'shop')).items, []);

  // They go with their Deployment.
  t.is((await k(['delete', 'deployment', 'web'])).code, 0);
  await eventually(async () => {
    const left = await fed.client.list('apps/v1', 'ReplicaSet', 'shop');
    if (left.items.length > 0) throw new Error(left.items.map((rs) => rs.metadata.name).join(', '));
  });
});
