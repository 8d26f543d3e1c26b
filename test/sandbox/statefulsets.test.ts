import test from 'ava';
import type { KubeObject } from '../../services/core/kube.js';
import { memberType } from '../../services/sandbox/resources.js';
import { startTestSandbox, waitFor, type TestSandbox } from './helpers.js';

const Pod = memberType('Pod');

interface Sts {
  replicas?: number;
  image?: string;
  policy?: 'OrderedReady' | 'Parallel';
  retention?: { whenDeleted: string; whenScaled: string };
  partition?: number;
}

function stsYaml(name: string, o: Sts = {}): string {
  const r = o.retention;
  const extra = [
    o.policy ? `  podManagementPolicy: ${o.policy}\n` : '',
    r ? `  persistentVolumeClaimRetentionPolicy: {whenDeleted: ${r.whenDeleted}, whenScaled: ${r.whenScaled}}\n` : '',
    o.partition !== undefined
      ? `  updateStrategy: {type: RollingUpdate, rollingUpdate: {partition: ${o.partition}}}\n`
      : '',
  ].join('');
  return `apiVersion: v1
kind: Service
metadata: {name: ${name}, namespace: default}
spec:
  clusterIP: None
  selector: {app: ${name}}
  ports: [{name: web, port: 80, targetPort: web}]
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: ${name}, namespace: default}
spec:
  serviceName: ${name}
  replicas: ${o.replicas ?? 3}
${extra}  selector: {matchLabels: {app: ${name}}}
  template:
    metadata: {labels: {app: ${name}}}
    spec:
      containers:
      - name: main
        image: ${o.image ?? 'nginx:1.25'}
        ports: [{name: web, containerPort: 8080}]
  volumeClaimTemplates:
  - metadata: {name: data}
    spec:
      accessModes: [ReadWriteOnce]
      resources: {requests: {storage: 1Gi}}
`;
}

const ready = (p: KubeObject) =>
  ((p.status as { conditions?: Array<{ type: string; status: string }> } | undefined)?.conditions ?? []).some(
    (c) => c.type === 'Ready' && c.status === 'True',
  );

/** Every pod event of the StatefulSet's pods, in order: `ADDED web-0`, `READY web-0`, `DELETED web-2`. */
async function recordPods(t: Parameters<typeof startTestSandbox>[0], s: TestSandbox, app: string): Promise<string[]> {
  const registry = s.sandbox.clusters[0]!.registry;
  const log: string[] = [];
  const readySeen = new Set<string>();
  const stop = await registry.watch(Pod, 'default', { labelSelector: `app=${app}` }, (e) => {
    const name = e.object.metadata.name!;
    if (e.type === 'ADDED') {
      log.push(`ADDED ${name}`);
      readySeen.delete(e.object.metadata.uid!);
    }
    if (e.type === 'DELETED') log.push(`DELETED ${name}`);
    else if (ready(e.object) && !readySeen.has(e.object.metadata.uid!)) {
      readySeen.add(e.object.metadata.uid!);
      log.push(`READY ${name}`);
    }
  });
  t.teardown(stop);
  return log;
}

async function json<T = KubeObject>(s: TestSandbox, args: string[]): Promise<T> {
  const r = await s.kubectl([...args, '-o', 'json']);
  if (r.code !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout) as T;
}

test('StatefulSet: web-0..2 in order, each Ready first, one bound PVC each; scale-down from the top', async (t) => {
  const s = await startTestSandbox(t, { readyDelayMs: 150 });
  const log = await recordPods(t, s, 'web');
  t.is((await s.kubectl(['apply', '-f', await s.file('web.yaml', stsYaml('web'))])).code, 0);
  const rollout = await s.kubectl(['rollout', 'status', 'statefulset/web', '--timeout=60s']);
  t.is(rollout.code, 0, rollout.stderr);
  t.regex(rollout.stdout, /partitioned roll out complete: 3 new pods have been updated/);
  t.deepEqual(
    log.filter((l) => !l.startsWith('DELETED')),
    ['ADDED web-0', 'READY web-0', 'ADDED web-1', 'READY web-1', 'ADDED web-2', 'READY web-2'],
  );
  const pods = (await json<{ items: KubeObject[] }>(s, ['get', 'pods', '-l', 'app=web'])).items;
  for (const p of pods) {
    const name = p.metadata.name!;
    const spec = p.spec as {
      hostname: string;
      subdomain: string;
      volumes: Array<{ name: string; persistentVolumeClaim?: { claimName: string } }>;
    };
    t.is(spec.hostname, name);
    t.is(spec.subdomain, 'web');
    t.is(p.metadata.labels?.['statefulset.kubernetes.io/pod-name'], name);
    t.is(p.metadata.labels?.['apps.kubernetes.io/pod-index'], name.slice(-1));
    t.deepEqual(spec.volumes.find((v) => v.name === 'data')?.persistentVolumeClaim, { claimName: `data-${name}` });
  }
  // One claim per replica, bound to a volume provisioned through the default StorageClass.
  const sc = await json(s, ['get', 'storageclass', 'standard']);
  t.is(sc.metadata.annotations?.['storageclass.kubernetes.io/is-default-class'], 'true');
  t.is((sc as { provisioner?: string }).provisioner, 'kitfed.io/sandbox');
  const pvcs = (await json<{ items: KubeObject[] }>(s, ['get', 'pvc'])).items;
  t.deepEqual(pvcs.map((c) => c.metadata.name).sort(), ['data-web-0', 'data-web-1', 'data-web-2']);
  for (const c of pvcs) {
    t.is((c.spec as { storageClassName: string }).storageClassName, 'standard');
    t.is(c.metadata.labels?.app, 'web');
    t.like(c.status, { phase: 'Bound', capacity: { storage: '1Gi' }, accessModes: ['ReadWriteOnce'] });
    const pv = await json(s, ['get', 'pv', (c.spec as { volumeName: string }).volumeName]);
    t.is(pv.metadata.name, `pvc-${c.metadata.uid}`);
    t.like(pv.spec, {
      claimRef: { name: c.metadata.name, namespace: 'default', uid: c.metadata.uid },
      storageClassName: 'standard',
      persistentVolumeReclaimPolicy: 'Delete',
    });
    t.like(pv.status, { phase: 'Bound' });
  }
  t.regex((await s.kubectl(['get', 'pvc'])).stdout, /data-web-0\s+Bound\s+pvc-\S+\s+1Gi\s+RWO\s+standard/);
  const sts = await json(s, ['get', 'sts', 'web']);
  t.like(sts.status, {
    replicas: 3,
    readyReplicas: 3,
    currentReplicas: 3,
    updatedReplicas: 3,
    availableReplicas: 3,
  });
  const status = sts.status as { currentRevision: string; updateRevision: string };
  t.is(status.currentRevision, status.updateRevision);
  t.regex((await s.kubectl(['get', 'sts', 'web'])).stdout, /web\s+3\/3/);

  log.length = 0;
  t.is((await s.kubectl(['scale', 'statefulset/web', '--replicas=1'])).code, 0);
  await waitFor(
    'scaled to one pod',
    async () =>
      (await s.sandbox.clusters[0]!.registry.list(Pod, 'default', { labelSelector: 'app=web' })).items.length === 1,
  );
  t.deepEqual(
    log.filter((l) => l.startsWith('DELETED')),
    ['DELETED web-2', 'DELETED web-1'],
  );
  // The default retention policy (Retain) keeps the claims of the removed replicas.
  t.is((await json<{ items: KubeObject[] }>(s, ['get', 'pvc'])).items.length, 3);
  // Scaling up again reuses them.
  t.is((await s.kubectl(['scale', 'statefulset/web', '--replicas=2'])).code, 0);
  t.is((await s.kubectl(['rollout', 'status', 'statefulset/web', '--timeout=60s'])).code, 0);
  t.deepEqual((await json<{ items: KubeObject[] }>(s, ['get', 'pvc'])).items.map((c) => c.metadata.name).sort(), [
    'data-web-0',
    'data-web-1',
    'data-web-2',
  ]);
});

test('StatefulSet rolling update: highest ordinal first, down to the partition; rollout history/undo', async (t) => {
  const s = await startTestSandbox(t, { readyDelayMs: 60 });
  t.is((await s.kubectl(['apply', '-f', await s.file('db.yaml', stsYaml('db', { partition: 1 }))])).code, 0);
  t.is((await s.kubectl(['rollout', 'status', 'statefulset/db', '--timeout=60s'])).code, 0);
  const log = await recordPods(t, s, 'db');
  t.is((await s.kubectl(['set', 'image', 'statefulset/db', 'main=nginx:1.27'])).code, 0);
  const rollout = await s.kubectl(['rollout', 'status', 'statefulset/db', '--timeout=60s']);
  t.is(rollout.code, 0, rollout.stderr);
  t.regex(rollout.stdout, /partitioned roll out complete: 2 new pods have been updated/);
  t.deepEqual(
    log.filter((l) => l.startsWith('DELETED')),
    ['DELETED db-2', 'DELETED db-1'],
    'ordinals at or above the partition, highest first',
  );
  const images = async () =>
    Object.fromEntries(
      (await json<{ items: KubeObject[] }>(s, ['get', 'pods', '-l', 'app=db'])).items.map((p) => [
        p.metadata.name,
        (p.spec as { containers: Array<{ image: string }> }).containers[0]!.image,
      ]),
    );
  t.deepEqual(await images(), { 'db-0': 'nginx:1.25', 'db-1': 'nginx:1.27', 'db-2': 'nginx:1.27' });
  let sts = await json(s, ['get', 'sts', 'db']);
  const st = sts.status as {
    currentRevision: string;
    updateRevision: string;
    updatedReplicas: number;
    currentReplicas: number;
  };
  t.not(st.currentRevision, st.updateRevision);
  t.is(st.updatedReplicas, 2);
  t.is(st.currentReplicas, 1);
  // Partition 0 finishes the rollout; the current revision becomes the update revision.
  t.is(
    (
      await s.kubectl([
        'patch',
        'statefulset/db',
        '-p',
        '{"spec":{"updateStrategy":{"rollingUpdate":{"partition":0}}}}',
      ])
    ).code,
    0,
  );
  t.is((await s.kubectl(['rollout', 'status', 'statefulset/db', '--timeout=60s'])).code, 0);
  await waitFor('db-0 updated', async () => (await images())['db-0'] === 'nginx:1.27');
  sts = await waitFor('current revision = update revision', async () => {
    const o = await json(s, ['get', 'sts', 'db']);
    const x = o.status as { currentRevision: string; updateRevision: string; currentReplicas?: number };
    return x.currentRevision === x.updateRevision && x.currentReplicas === 3 ? o : undefined;
  });
  const revisions = (await json<{ items: KubeObject[] }>(s, ['get', 'controllerrevisions', '-l', 'app=db'])).items;
  t.is(revisions.length, 2);
  for (const r of revisions) {
    t.is(r.metadata.ownerReferences?.[0]?.kind, 'StatefulSet');
    t.true(r.metadata.ownerReferences?.[0]?.controller);
    t.true(r.metadata.name!.startsWith('db-'));
  }
  t.is(
    (await s.kubectl(['get', 'pods', 'db-0', '-o', 'jsonpath={.metadata.labels.controller-revision-hash}'])).stdout,
    (sts.status as { updateRevision: string }).updateRevision,
  );
  const history = await s.kubectl(['rollout', 'history', 'statefulset/db']);
  t.is(history.code, 0, history.stderr);
  t.regex(history.stdout, /REVISION\s+CHANGE-CAUSE\s+1\s+<none>\s+2\s+<none>/);
  t.regex((await s.kubectl(['rollout', 'history', 'statefulset/db', '--revision=1'])).stdout, /Image:\s+nginx:1\.25/);
  // Undo: the revision-1 template comes back as revision 3 (the same ControllerRevision, renumbered).
  const undo = await s.kubectl(['rollout', 'undo', 'statefulset/db']);
  t.is(undo.code, 0, undo.stderr);
  t.is((await s.kubectl(['rollout', 'status', 'statefulset/db', '--timeout=60s'])).code, 0);
  await waitFor('rolled back', async () => Object.values(await images()).every((i) => i === 'nginx:1.25'));
  t.regex((await s.kubectl(['rollout', 'history', 'statefulset/db'])).stdout, /2\s+<none>\s+3\s+<none>/);
  t.is((await json<{ items: KubeObject[] }>(s, ['get', 'controllerrevisions', '-l', 'app=db'])).items.length, 2);
});

test('Parallel pod management acts at once; retention Delete/Delete collects claims by owner', async (t) => {
  const s = await startTestSandbox(t, { readyDelayMs: 400 });
  const registry = s.sandbox.clusters[0]!.registry;
  const log = await recordPods(t, s, 'par');
  const yaml = stsYaml('par', {
    replicas: 3,
    policy: 'Parallel',
    retention: { whenDeleted: 'Delete', whenScaled: 'Delete' },
  });
  t.is((await s.kubectl(['apply', '-f', await s.file('par.yaml', yaml)])).code, 0);
  t.is((await s.kubectl(['rollout', 'status', 'statefulset/par', '--timeout=60s'])).code, 0);
  // All three were created before the first became Ready.
  t.deepEqual(log.slice(0, 3).sort(), ['ADDED par-0', 'ADDED par-1', 'ADDED par-2']);
  const owners = async () =>
    Object.fromEntries(
      (await json<{ items: KubeObject[] }>(s, ['get', 'pvc'])).items.map((c) => [
        c.metadata.name,
        (c.metadata.ownerReferences ?? []).map((r) => `${r.kind}/${r.name}`).join(','),
      ]),
    );
  t.deepEqual(await owners(), {
    'data-par-0': 'StatefulSet/par',
    'data-par-1': 'StatefulSet/par',
    'data-par-2': 'StatefulSet/par',
  });
  // whenScaled: Delete — a removed replica's claim is owned by its pod, then collected with it.
  t.is((await s.kubectl(['scale', 'statefulset/par', '--replicas=1'])).code, 0);
  await waitFor('claims of removed replicas collected', async () => {
    const o = await owners();
    return Object.keys(o).length === 1 && o['data-par-0'] === 'StatefulSet/par';
  });
  // Their volumes (reclaim policy Delete) go with them.
  await waitFor(
    'volumes deleted',
    async () => (await json<{ items: KubeObject[] }>(s, ['get', 'pv'])).items.length === 1,
  );
  // whenDeleted: Delete — deleting the set collects its pods, its revisions and its claims.
  t.is((await s.kubectl(['delete', 'statefulset', 'par'])).code, 0);
  await waitFor('everything collected', async () => {
    const pods = (await registry.list(Pod, 'default', { labelSelector: 'app=par' })).items.length;
    const revisions = (await registry.list(memberType('ControllerRevision'), 'default')).items.length;
    const claims = (await registry.list(memberType('PersistentVolumeClaim'), 'default')).items.length;
    const volumes = (await registry.list(memberType('PersistentVolume'), undefined)).items.length;
    return pods + revisions + claims + volumes === 0;
  });
  t.pass();
});

test('claims get the default StorageClass; an unknown class or a missing claim keeps a pod Pending', async (t) => {
  const s = await startTestSandbox(t);
  const yaml = `apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: fast-claim, namespace: default}
spec:
  storageClassName: fast
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 2Gi}}
---
apiVersion: v1
kind: Pod
metadata: {name: needs-fast, namespace: default}
spec:
  containers: [{name: c, image: nginx}]
  volumes: [{name: d, persistentVolumeClaim: {claimName: fast-claim}}]
---
apiVersion: v1
kind: Pod
metadata: {name: needs-missing, namespace: default}
spec:
  containers: [{name: c, image: nginx}]
  volumes: [{name: d, persistentVolumeClaim: {claimName: nothere}}]
`;
  t.is((await s.kubectl(['apply', '-f', await s.file('c.yaml', yaml)])).code, 0);
  const event = (object: string, reason: string) =>
    waitFor(`${reason} on ${object}`, async () => {
      const r = await s.kubectl([
        'get',
        'events',
        '--field-selector',
        `involvedObject.name=${object},reason=${reason}`,
        '-o',
        'json',
      ]);
      return (JSON.parse(r.stdout) as { items: Array<{ message: string }> }).items[0]?.message;
    });
  t.is(await event('fast-claim', 'ProvisioningFailed'), 'storageclass.storage.k8s.io "fast" not found');
  t.regex(
    await event('needs-fast', 'FailedScheduling'),
    /^0\/2 nodes are available: pod has unbound immediate PersistentVolumeClaims\./,
  );
  t.regex(
    await event('needs-missing', 'FailedScheduling'),
    /^0\/2 nodes are available: persistentvolumeclaim "nothere" not found\./,
  );
  // Creating the class provisions the claim, and the pod then schedules and runs.
  const sc = `apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: fast}
provisioner: example.com/fast
reclaimPolicy: Retain
`;
  t.is((await s.kubectl(['apply', '-f', await s.file('sc.yaml', sc)])).code, 0);
  await waitFor(
    'pod running',
    async () => (await s.kubectl(['get', 'pod', 'needs-fast', '-o', 'jsonpath={.status.phase}'])).stdout === 'Running',
  );
  const pvc = await json(s, ['get', 'pvc', 'fast-claim']);
  t.is(pvc.metadata.annotations?.['volume.kubernetes.io/storage-provisioner'], 'example.com/fast');
  // A claim without storageClassName gets the default class at admission.
  const plain = `apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: plain, namespace: default}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Gi}}
`;
  t.is((await s.kubectl(['apply', '-f', await s.file('p.yaml', plain)])).code, 0);
  t.is((await s.kubectl(['get', 'pvc', 'plain', '-o', 'jsonpath={.spec.storageClassName}'])).stdout, 'standard');
  // Released volumes follow their reclaim policy: Retain keeps it Released, Delete removes it.
  const fastPv = (pvc.spec as { volumeName: string }).volumeName;
  await waitFor(
    'plain bound',
    async () => (await s.kubectl(['get', 'pvc', 'plain', '-o', 'jsonpath={.status.phase}'])).stdout === 'Bound',
  );
  const plainPv = (await s.kubectl(['get', 'pvc', 'plain', '-o', 'jsonpath={.spec.volumeName}'])).stdout;
  t.is((await s.kubectl(['delete', 'pod', 'needs-fast', '--wait=false'])).code, 0);
  t.is((await s.kubectl(['delete', 'pvc', 'fast-claim', 'plain', '--wait=false'])).code, 0);
  await waitFor(
    'fast volume released',
    async () => (await s.kubectl(['get', 'pv', fastPv, '-o', 'jsonpath={.status.phase}'])).stdout === 'Released',
  );
  await waitFor('standard volume deleted', async () => (await s.kubectl(['get', 'pv', plainPv])).code !== 0);
});
