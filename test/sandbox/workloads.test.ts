import test from 'ava';
import type { KubeObject } from '../../services/core/kube.js';
import { memberType } from '../../services/sandbox/resources.js';
import { deploymentYaml, startTestSandbox, waitFor } from './helpers.js';

const Pod = memberType('Pod');

function phaseAndReasons(pods: KubeObject[]): string[] {
  return pods.map((p) => {
    const cs = ((p.status as { containerStatuses?: Array<{ state?: { waiting?: { reason?: string } } }> } | undefined)
      ?.containerStatuses ?? [])[0];
    return cs?.state?.waiting?.reason ?? String((p.status as { phase?: string } | undefined)?.phase);
  });
}

test('kubectl apply of a Deployment creates a ReplicaSet and pods; rollout status completes', async (t) => {
  const s = await startTestSandbox(t);
  const file = await s.file('web.yaml', deploymentYaml('web', { replicas: 3 }));
  const applied = await s.kubectl(['apply', '-f', file]);
  t.is(applied.code, 0, applied.stderr);
  const rollout = await s.kubectl(['rollout', 'status', 'deployment/web', '--timeout=30s']);
  t.is(rollout.code, 0, rollout.stderr);
  t.regex(rollout.stdout, /successfully rolled out/);
  const rs = JSON.parse((await s.kubectl(['get', 'rs', '-l', 'app=web', '-o', 'json'])).stdout) as {
    items: KubeObject[];
  };
  t.is(rs.items.length, 1);
  const hash = rs.items[0]!.metadata.labels!['pod-template-hash']!;
  t.is(rs.items[0]!.metadata.name, `web-${hash}`);
  t.is(rs.items[0]!.metadata.ownerReferences?.[0]?.kind, 'Deployment');
  t.true(rs.items[0]!.metadata.ownerReferences?.[0]?.controller);
  t.is(rs.items[0]!.metadata.annotations?.['deployment.kubernetes.io/revision'], '1');
  t.like(rs.items[0]!.status, {
    replicas: 3,
    fullyLabeledReplicas: 3,
    readyReplicas: 3,
    availableReplicas: 3,
    observedGeneration: 1,
  });
  const pods = JSON.parse((await s.kubectl(['get', 'pods', '-l', 'app=web', '-o', 'json'])).stdout) as {
    items: KubeObject[];
  };
  t.is(pods.items.length, 3);
  for (const p of pods.items) {
    t.is(p.metadata.labels?.['pod-template-hash'], hash);
    t.is(p.metadata.ownerReferences?.[0]?.name, `web-${hash}`);
    t.like(p.status, { phase: 'Running' });
    t.truthy((p.spec as { nodeName?: string }).nodeName);
  }
  const d = JSON.parse((await s.kubectl(['get', 'deployment', 'web', '-o', 'json'])).stdout) as KubeObject;
  t.like(d.status, {
    observedGeneration: 1,
    replicas: 3,
    updatedReplicas: 3,
    readyReplicas: 3,
    availableReplicas: 3,
  });
  const conds = (d.status as { conditions: Array<{ type: string; status: string; reason: string }> }).conditions;
  t.like(
    conds.find((c) => c.type === 'Available'),
    { status: 'True', reason: 'MinimumReplicasAvailable' },
  );
  t.like(
    conds.find((c) => c.type === 'Progressing'),
    { status: 'True', reason: 'NewReplicaSetAvailable' },
  );
  t.is(d.metadata.annotations?.['deployment.kubernetes.io/revision'], '1');
  const table = await s.kubectl(['get', 'pods']);
  t.regex(table.stdout, /web-\S+\s+1\/1\s+Running\s+0/);
  const events = await s.kubectl(['get', 'events', '-o', 'json']);
  const reasons = new Set(
    (JSON.parse(events.stdout) as { items: Array<{ reason: string }> }).items.map((e) => e.reason),
  );
  for (const r of ['ScalingReplicaSet', 'SuccessfulCreate', 'Scheduled', 'Pulled', 'Created', 'Started'])
    t.true(reasons.has(r), r);
  // Deleting the Deployment garbage-collects its ReplicaSet and pods.
  t.is((await s.kubectl(['delete', 'deployment', 'web'])).code, 0);
  await waitFor(
    'pods gone',
    async () => (await s.sandbox.clusters[0]!.registry.list(Pod, 'default')).items.length === 0,
  );
});

test('kubectl create deployment (a protobuf body) rolls out and kubectl scale follows', async (t) => {
  const s = await startTestSandbox(t);
  const created = await s.kubectl(['create', 'deployment', 'pb', '--image=nginx:1.25', '--replicas=2']);
  t.is(created.code, 0, created.stderr);
  const rollout = await s.kubectl(['rollout', 'status', 'deployment/pb', '--timeout=30s']);
  t.is(rollout.code, 0, rollout.stderr);
  t.is((await s.kubectl(['scale', 'deployment/pb', '--replicas=4'])).code, 0);
  t.is((await s.kubectl(['rollout', 'status', 'deployment/pb', '--timeout=30s'])).code, 0);
  t.regex((await s.kubectl(['get', 'deployment', 'pb'])).stdout, /pb\s+4\/4\s+4\s+4/);
  t.is((await s.kubectl(['get', 'pods', '-l', 'app=pb', '-o', 'name'])).stdout.trim().split('\n').length, 4);
});

test('a rolling update replaces every pod within maxSurge and maxUnavailable', async (t) => {
  const s = await startTestSandbox(t, { readyDelayMs: 40 });
  const registry = s.sandbox.clusters[0]!.registry;
  t.is(
    (
      await s.kubectl([
        'apply',
        '-f',
        await s.file('d.yaml', deploymentYaml('roll', { replicas: 4, maxSurge: 1, maxUnavailable: 1 })),
      ])
    ).code,
    0,
  );
  t.is((await s.kubectl(['rollout', 'status', 'deployment/roll', '--timeout=30s'])).code, 0);
  const before = new Set((await registry.list(Pod, 'default')).items.map((p) => p.metadata.name));
  // Track every pod of the Deployment from the registry's watch while the image changes.
  const initial = await registry.list(Pod, 'default', { labelSelector: 'app=roll' });
  const pods = new Map<string, KubeObject>(initial.items.map((p) => [p.metadata.name!, p]));
  let maxTotal = 0;
  let minReady = Infinity;
  const stop = await registry.watch(
    Pod,
    'default',
    { labelSelector: 'app=roll', resourceVersion: initial.metadata.resourceVersion },
    (e) => {
      if (e.type === 'DELETED') pods.delete(e.object.metadata.name!);
      else pods.set(e.object.metadata.name!, e.object);
      const ready = [...pods.values()].filter((p) =>
        ((p.status as { conditions?: Array<{ type: string; status: string }> } | undefined)?.conditions ?? []).some(
          (c) => c.type === 'Ready' && c.status === 'True',
        ),
      ).length;
      maxTotal = Math.max(maxTotal, pods.size);
      minReady = Math.min(minReady, ready);
    },
  );
  t.teardown(stop);
  t.is((await s.kubectl(['set', 'image', 'deployment/roll', 'main=nginx:1.26'])).code, 0);
  const rollout = await s.kubectl(['rollout', 'status', 'deployment/roll', '--timeout=30s']);
  t.is(rollout.code, 0, rollout.stderr);
  const after = (await registry.list(Pod, 'default', { labelSelector: 'app=roll' })).items;
  t.is(after.length, 4);
  t.true(after.every((p) => !before.has(p.metadata.name) && JSON.stringify(p.spec).includes('nginx:1.26')));
  t.true(maxTotal <= 5, `at most replicas + maxSurge pods (saw ${maxTotal})`);
  t.true(minReady >= 3, `at least replicas - maxUnavailable ready (saw ${minReady})`);
  const history = await s.kubectl(['rollout', 'history', 'deployment/roll']);
  t.regex(history.stdout, /1\s+<none>\s+2\s+<none>/s);
  const rs = JSON.parse((await s.kubectl(['get', 'rs', '-l', 'app=roll', '-o', 'json'])).stdout) as {
    items: KubeObject[];
  };
  t.deepEqual(rs.items.map((r) => (r.spec as { replicas: number }).replicas).sort(), [0, 4]);
  // Undo goes back to the first template: its ReplicaSet is reused with the next revision.
  t.is((await s.kubectl(['rollout', 'undo', 'deployment/roll'])).code, 0);
  t.is((await s.kubectl(['rollout', 'status', 'deployment/roll', '--timeout=30s'])).code, 0);
  const d = JSON.parse((await s.kubectl(['get', 'deployment', 'roll', '-o', 'json'])).stdout) as KubeObject;
  t.is(d.metadata.annotations?.['deployment.kubernetes.io/revision'], '3');
  const rsAfter = (await registry.list(memberType('ReplicaSet'), 'default', { labelSelector: 'app=roll' })).items;
  t.is(rsAfter.length, 2, JSON.stringify(rsAfter.map((r) => (r.spec as { template: unknown }).template)));
  // A reused ReplicaSet keeps the revisions it had before in revision-history, as kube's controller does:
  // undo twice more and the first template's ReplicaSet has been revisions 1, 3 and now 5.
  for (const revision of ['4', '5']) {
    t.is((await s.kubectl(['rollout', 'undo', 'deployment/roll'])).code, 0);
    t.is((await s.kubectl(['rollout', 'status', 'deployment/roll', '--timeout=30s'])).code, 0);
    const now = JSON.parse((await s.kubectl(['get', 'deployment', 'roll', '-o', 'json'])).stdout) as KubeObject;
    t.is(now.metadata.annotations?.['deployment.kubernetes.io/revision'], revision);
  }
  const byRevision = new Map(
    (await registry.list(memberType('ReplicaSet'), 'default', { labelSelector: 'app=roll' })).items.map((r) => [
      r.metadata.annotations?.['deployment.kubernetes.io/revision'],
      r.metadata.annotations?.['deployment.kubernetes.io/revision-history'],
    ]),
  );
  t.deepEqual(Object.fromEntries(byRevision), { '4': '2', '5': '1,3' });
});

test('an image that never pulls fails the rollout with ErrImagePull / ImagePullBackOff and Warning events', async (t) => {
  const s = await startTestSandbox(t, { readyDelayMs: 100 });
  t.is(
    (
      await s.kubectl([
        'apply',
        '-f',
        await s.file('bad.yaml', deploymentYaml('bad', { replicas: 2, image: 'registry.example/doesnotexist:1' })),
      ])
    ).code,
    0,
  );
  const rollout = await s.kubectl(['rollout', 'status', 'deployment/bad', '--timeout=5s']);
  t.not(rollout.code, 0);
  t.regex(rollout.stderr, /timed out/);
  const registry = s.sandbox.clusters[0]!.registry;
  const pods = await waitFor('ImagePullBackOff', async () => {
    const items = (await registry.list(Pod, 'default', { labelSelector: 'app=bad' })).items;
    return items.length === 2 && phaseAndReasons(items).every((r) => r === 'ImagePullBackOff') ? items : undefined;
  });
  t.is(pods.length, 2);
  const table = await s.kubectl(['get', 'pods', '-l', 'app=bad']);
  t.regex(table.stdout, /0\/1\s+ImagePullBackOff/);
  const events = JSON.parse(
    (
      await s.kubectl([
        'get',
        'events',
        '--field-selector',
        `involvedObject.name=${pods[0]!.metadata.name},type=Warning`,
        '-o',
        'json',
      ])
    ).stdout,
  ) as { items: Array<{ reason: string; message: string; involvedObject: { kind: string } }> };
  t.true(
    events.items.some(
      (e) => e.reason === 'Failed' && /Failed to pull image "registry.example\/doesnotexist:1"/.test(e.message),
    ),
  );
  t.true(events.items.some((e) => e.reason === 'Failed' && e.message === 'Error: ErrImagePull'));
  t.true(events.items.every((e) => e.involvedObject.kind === 'Pod'));
  const backoff = await s.kubectl([
    'get',
    'events',
    '--field-selector',
    `involvedObject.name=${pods[0]!.metadata.name},reason=BackOff`,
    '-o',
    'name',
  ]);
  t.not(backoff.stdout.trim(), '');
});

test('a rollout past its progress deadline reports ProgressDeadlineExceeded', async (t) => {
  const s = await startTestSandbox(t, { readyDelayMs: 50 });
  t.is(
    (
      await s.kubectl([
        'apply',
        '-f',
        await s.file(
          'slow.yaml',
          deploymentYaml('slow', { replicas: 1, image: 'example/bad-image:1', progressDeadlineSeconds: 1 }),
        ),
      ])
    ).code,
    0,
  );
  const rollout = await s.kubectl(['rollout', 'status', 'deployment/slow', '--timeout=20s']);
  t.not(rollout.code, 0);
  t.regex(rollout.stderr, /exceeded its progress deadline/);
  const d = JSON.parse((await s.kubectl(['get', 'deployment', 'slow', '-o', 'json'])).stdout) as KubeObject;
  const progressing = (
    d.status as { conditions: Array<{ type: string; status: string; reason: string }> }
  ).conditions.find((c) => c.type === 'Progressing');
  t.like(progressing, { status: 'False', reason: 'ProgressDeadlineExceeded' });
});

test('pods beyond the cluster capacity stay Pending with PodScheduled=False reason Unschedulable', async (t) => {
  const s = await startTestSandbox(t, { capacity: 3 });
  t.is((await s.kubectl(['apply', '-f', await s.file('big.yaml', deploymentYaml('big', { replicas: 5 }))])).code, 0);
  const registry = s.sandbox.clusters[0]!.registry;
  const unschedulable = (p: KubeObject) =>
    (
      (p.status as { conditions?: Array<{ type: string; status: string; reason?: string }> } | undefined)?.conditions ??
      []
    ).some((c) => c.type === 'PodScheduled' && c.status === 'False' && c.reason === 'Unschedulable');
  await waitFor(
    '2 unschedulable pods',
    async () => (await registry.list(Pod, 'default')).items.filter(unschedulable).length === 2,
  );
  const pods = (await registry.list(Pod, 'default')).items;
  t.is(pods.filter((p) => (p.spec as { nodeName?: string }).nodeName).length, 3);
  t.true(
    pods
      .filter(unschedulable)
      .every((p) => (p.status as { phase: string }).phase === 'Pending' && !(p.spec as { nodeName?: string }).nodeName),
  );
  const events = await s.kubectl([
    'get',
    'events',
    '--field-selector',
    'reason=FailedScheduling',
    '-o',
    'jsonpath={.items[*].message}',
  ]);
  t.regex(events.stdout, /0\/2 nodes are available: 2 Too many pods/);
  const rollout = await s.kubectl(['rollout', 'status', 'deployment/big', '--timeout=2s']);
  t.not(rollout.code, 0);
  // Scaling down frees capacity: nothing is left unschedulable.
  t.is((await s.kubectl(['scale', 'deployment/big', '--replicas=3'])).code, 0);
  t.is((await s.kubectl(['rollout', 'status', 'deployment/big', '--timeout=30s'])).code, 0);
  t.is((await registry.list(Pod, 'default')).items.filter(unschedulable).length, 0);
  // Raising the capacity at run time schedules waiting pods.
  t.is((await s.kubectl(['scale', 'deployment/big', '--replicas=6'])).code, 0);
  await waitFor(
    '3 waiting',
    async () => (await registry.list(Pod, 'default')).items.filter(unschedulable).length === 3,
  );
  await s.sandbox.clusters[0]!.setCapacity(6);
  t.is((await s.kubectl(['rollout', 'status', 'deployment/big', '--timeout=30s'])).code, 0);
});

test('LoadBalancer Services and Ingresses get an address from the cluster pool', async (t) => {
  const s = await startTestSandbox(t, {
    clusters: [{ name: 'c1', region: 'r1', lbPool: ['203.0.113.10', '203.0.113.11'] }],
  });
  const yaml = `apiVersion: v1
kind: Service
metadata: {name: web, namespace: default}
spec:
  type: LoadBalancer
  selector: {app: web}
  ports: [{port: 80}]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: web, namespace: default}
spec:
  rules: [{host: web.example, http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}]}}]
---
apiVersion: v1
kind: Service
metadata: {name: internal, namespace: default}
spec:
  selector: {app: web}
  ports: [{port: 80}]
`;
  t.is((await s.kubectl(['apply', '-f', await s.file('lb.yaml', yaml)])).code, 0);
  const svcIp = await waitFor('service address', async () =>
    (await s.kubectl(['get', 'svc', 'web', '-o', 'jsonpath={.status.loadBalancer.ingress[0].ip}'])).stdout.trim(),
  );
  const ingIp = await waitFor('ingress address', async () =>
    (await s.kubectl(['get', 'ingress', 'web', '-o', 'jsonpath={.status.loadBalancer.ingress[0].ip}'])).stdout.trim(),
  );
  t.deepEqual([svcIp, ingIp].sort(), ['203.0.113.10', '203.0.113.11']);
  t.regex((await s.kubectl(['get', 'svc', 'web'])).stdout, /LoadBalancer\s+\S+\s+203\.0\.113\.1[01]/);
  t.is(
    (await s.kubectl(['get', 'svc', 'internal', '-o', 'jsonpath={.status.loadBalancer.ingress}'])).stdout.trim(),
    '',
  );
  // Deleting a Service releases its address for the next one.
  t.is((await s.kubectl(['delete', 'svc', 'web'])).code, 0);
  t.is((await s.kubectl(['patch', 'svc', 'internal', '-p', '{"spec":{"type":"LoadBalancer"}}'])).code, 0);
  const reused = await waitFor('reused address', async () =>
    (await s.kubectl(['get', 'svc', 'internal', '-o', 'jsonpath={.status.loadBalancer.ingress[0].ip}'])).stdout.trim(),
  );
  t.is(reused, svcIp);
});

test('nodes carry zone and region labels; DaemonSets run one pod per node; Jobs complete', async (t) => {
  const s = await startTestSandbox(t, {
    clusters: [{ name: 'c1', region: 'eu-west1', zones: ['eu-west1-a', 'eu-west1-b', 'eu-west1-c'] }],
  });
  const nodes = JSON.parse((await s.kubectl(['get', 'nodes', '-o', 'json'])).stdout) as { items: KubeObject[] };
  t.is(nodes.items.length, 3);
  t.deepEqual(nodes.items.map((n) => n.metadata.labels?.['topology.kubernetes.io/zone']).sort(), [
    'eu-west1-a',
    'eu-west1-b',
    'eu-west1-c',
  ]);
  for (const n of nodes.items) {
    t.is(n.metadata.labels?.['topology.kubernetes.io/region'], 'eu-west1');
    t.is(n.metadata.labels?.['failure-domain.beta.kubernetes.io/region'], 'eu-west1');
    t.is(
      n.metadata.labels?.['failure-domain.beta.kubernetes.io/zone'],
      n.metadata.labels?.['topology.kubernetes.io/zone'],
    );
  }
  t.regex((await s.kubectl(['get', 'nodes'])).stdout, /c1-eu-west1-a-1\s+Ready/);
  const yaml = `apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent, namespace: default}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec:
      containers: [{name: agent, image: busybox:1.36}]
---
apiVersion: batch/v1
kind: Job
metadata: {name: once, namespace: default}
spec:
  completions: 2
  template:
    spec:
      restartPolicy: Never
      containers: [{name: once, image: busybox:1.36}]
`;
  t.is((await s.kubectl(['apply', '-f', await s.file('w.yaml', yaml)])).code, 0);
  const ds = await s.kubectl(['rollout', 'status', 'daemonset/agent', '--timeout=30s']);
  t.is(ds.code, 0, ds.stderr);
  const dsPods = JSON.parse((await s.kubectl(['get', 'pods', '-l', 'app=agent', '-o', 'json'])).stdout) as {
    items: KubeObject[];
  };
  t.deepEqual(
    dsPods.items.map((p) => (p.spec as { nodeName: string }).nodeName).sort(),
    nodes.items.map((n) => n.metadata.name).sort(),
  );
  const wait = await s.kubectl(['wait', '--for=condition=complete', 'job/once', '--timeout=30s']);
  t.is(wait.code, 0, wait.stderr);
  t.regex((await s.kubectl(['get', 'job', 'once'])).stdout, /once\s+Complete\s+2\/2/);
  t.regex((await s.kubectl(['get', 'pods', '-l', 'job-name=once'])).stdout, /Completed/);
});

test('the simulator keeps at most maxEvents of its events per cluster', async (t) => {
  const s = await startTestSandbox(t, { maxEvents: 10 });
  t.is((await s.kubectl(['apply', '-f', await s.file('e.yaml', deploymentYaml('ev', { replicas: 4 }))])).code, 0);
  t.is((await s.kubectl(['rollout', 'status', 'deployment/ev', '--timeout=30s'])).code, 0);
  const registry = s.sandbox.clusters[0]!.registry;
  await waitFor(
    'at most 10 events',
    async () => (await registry.list(memberType('Event'), 'default')).items.length <= 10,
  );
  const reasons = (await registry.list(memberType('Event'), 'default')).items.map((e) => e.reason);
  t.true(reasons.includes('Started'), 'the newest are kept');
});

test('a Recreate Deployment removes every old pod before starting new ones', async (t) => {
  const s = await startTestSandbox(t, { readyDelayMs: 30 });
  const yaml = deploymentYaml('rec', { replicas: 3 }).replace(
    '  selector:',
    '  strategy: {type: Recreate}\n  selector:',
  );
  t.is((await s.kubectl(['apply', '-f', await s.file('rec.yaml', yaml)])).code, 0);
  t.is((await s.kubectl(['rollout', 'status', 'deployment/rec', '--timeout=30s'])).code, 0);
  const registry = s.sandbox.clusters[0]!.registry;
  const initial = await registry.list(Pod, 'default', { labelSelector: 'app=rec' });
  const pods = new Map<string, KubeObject>(initial.items.map((p) => [p.metadata.name!, p]));
  let mixed = false;
  const stop = await registry.watch(
    Pod,
    'default',
    { labelSelector: 'app=rec', resourceVersion: initial.metadata.resourceVersion },
    (e) => {
      if (e.type === 'DELETED') pods.delete(e.object.metadata.name!);
      else pods.set(e.object.metadata.name!, e.object);
      if (new Set([...pods.values()].map((p) => p.metadata.labels?.['pod-template-hash'])).size > 1) mixed = true;
    },
  );
  t.teardown(stop);
  t.is((await s.kubectl(['set', 'image', 'deployment/rec', 'main=nginx:1.26'])).code, 0);
  t.is((await s.kubectl(['rollout', 'status', 'deployment/rec', '--timeout=30s'])).code, 0);
  t.false(mixed, 'old and new pods never coexist');
  t.is((await registry.list(Pod, 'default', { labelSelector: 'app=rec' })).items.length, 3);
});

test('a DaemonSet image change rolls out to every node', async (t) => {
  const s = await startTestSandbox(t, {
    readyDelayMs: 30,
    clusters: [{ name: 'c1', region: 'r1', zones: ['r1-a', 'r1-b', 'r1-c'] }],
  });
  const yaml = `apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent, namespace: default}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec:
      containers: [{name: agent, image: busybox:1.36}]
`;
  t.is((await s.kubectl(['apply', '-f', await s.file('ds.yaml', yaml)])).code, 0);
  t.is((await s.kubectl(['rollout', 'status', 'daemonset/agent', '--timeout=30s'])).code, 0);
  t.is((await s.kubectl(['set', 'image', 'daemonset/agent', 'agent=busybox:1.37'])).code, 0);
  const rollout = await s.kubectl(['rollout', 'status', 'daemonset/agent', '--timeout=30s']);
  t.is(rollout.code, 0, rollout.stderr);
  const pods = (await s.sandbox.clusters[0]!.registry.list(Pod, 'default', { labelSelector: 'app=agent' })).items;
  t.is(pods.length, 3);
  t.true(pods.every((p) => JSON.stringify(p.spec).includes('busybox:1.37')));
  t.is(new Set(pods.map((p) => (p.spec as { nodeName: string }).nodeName)).size, 3);
});
