import test from 'ava';
import { MEMBER_RESOURCES } from '../../services/sandbox/resources.js';
import { startSandbox } from '../../services/sandbox/index.js';
import { kubectlFor, startTestServer } from '../helpers/kubectl.js';
import { eventually } from '../helpers/eventually.js';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Behaviour a real kube-apiserver 1.32 has (issue 13 §6), each through kubectl or plain HTTP. */

const pod = (name: string, extra = '') => `apiVersion: v1
kind: Pod
metadata: {name: ${name}, labels: {app: ${name}}}
spec:
  containers: [{name: c, image: nginx}]
${extra}`;

test('default, kube-system and kube-public cannot be deleted: 403 "this namespace may not be deleted"', async (t) => {
  const { kubectl } = await startTestServer(t);
  for (const ns of ['default', 'kube-system', 'kube-public']) {
    const r = await kubectl(['delete', 'namespace', ns]);
    t.is(r.code, 1);
    t.regex(r.stderr, new RegExp(`namespaces "${ns}" is forbidden: this namespace may not be deleted`));
  }
  t.is((await kubectl(['get', 'namespace', 'default', '-o', 'name'])).stdout.trim(), 'namespace/default');
});

test("an undecodable body gets kube's error naming the kind the URL takes", async (t) => {
  const { kubectl, dir } = await startTestServer(t);
  const file = join(dir, 'pod.yaml');
  await writeFile(file, pod('p'));
  const r = await kubectl(['create', '--raw', '/api/v1/namespaces', '-f', file]);
  t.not(r.code, 0);
  t.regex(
    r.stderr,
    /the object provided is unrecognized \(must be of type Namespace\): couldn't get version\/kind; json parse error: invalid character 'a' looking for beginning of value \(61706956657273696f6e/,
  );
});

test('a volume without a source is defaulted to emptyDir: {}', async (t) => {
  const { kubectl } = await startTestServer(t, { resources: MEMBER_RESOURCES });
  const r = await kubectl(['create', '-f', '-'], pod('v', '  volumes: [{name: scratch}]'));
  t.is(r.code, 0, r.stderr);
  const got = JSON.parse((await kubectl(['get', 'pod', 'v', '-o', 'json'])).stdout);
  t.deepEqual(got.spec.volumes, [{ name: 'scratch', emptyDir: {} }]);
});

test('/metrics serves Prometheus request counters and latencies', async (t) => {
  const { server, kubectl } = await startTestServer(t);
  await kubectl(['get', 'configmaps']);
  const text = await (await fetch(`${server.url}/metrics`)).text();
  t.regex(
    text,
    /apiserver_request_total\{verb="LIST",group="",version="v1",resource="configmaps",subresource="",scope="namespace",component="apiserver",code="200"\} [1-9]/,
  );
  // Three LISTs and a missing object: counts by code, cumulative buckets ending in +Inf = _count.
  await kubectl(['get', 'configmaps']);
  await kubectl(['get', 'configmaps']);
  await kubectl(['get', 'configmap', 'nope']);
  const after = await (await fetch(`${server.url}/metrics`)).text();
  const series =
    'verb="LIST",group="",version="v1",resource="configmaps",subresource="",scope="namespace",component="apiserver"';
  const value = (line: string) =>
    Number(
      after
        .split('\n')
        .find((l) => l.startsWith(`${line} `))
        ?.split(' ')[1],
    );
  t.is(value(`apiserver_request_total{${series},code="200"}`), 3);
  const get404 =
    'verb="GET",group="",version="v1",resource="configmaps",subresource="",scope="resource",component="apiserver"';
  t.is(value(`apiserver_request_total{${get404},code="404"}`), 1);
  const buckets = after
    .split('\n')
    .filter((l) => l.startsWith(`apiserver_request_duration_seconds_bucket{${series},`))
    .map((l) => Number(l.split(' ')[1]));
  t.is(buckets.length, 24);
  t.deepEqual(
    buckets,
    [...buckets].sort((a, b) => a - b),
  );
  t.is(buckets.at(-1), 3);
  t.is(value(`apiserver_request_duration_seconds_count{${series}}`), 3);
  t.true(value(`apiserver_request_duration_seconds_sum{${series}}`) > 0);
  t.regex(after, /# TYPE apiserver_request_duration_seconds histogram/);
});

test('pods/ephemeralcontainers: kubectl debug adds a container; a missing pod is a 404 Status with details', async (t) => {
  const { kubectl, server } = await startTestServer(t, { resources: MEMBER_RESOURCES });
  t.is((await kubectl(['create', '-f', '-'], pod('web'))).code, 0);
  const r = await kubectl(['debug', 'web', '--image=busybox', '--container=dbg']);
  t.is(r.code, 0, r.stderr);
  const got = JSON.parse((await kubectl(['get', 'pod', 'web', '-o', 'json'])).stdout);
  t.is(got.spec.ephemeralContainers[0].name, 'dbg');
  t.is(got.spec.ephemeralContainers[0].image, 'busybox');
  const missing = await fetch(`${server.url}/api/v1/namespaces/default/pods/nope/ephemeralcontainers`);
  t.is(missing.status, 404);
  t.like(await missing.json(), { kind: 'Status', reason: 'NotFound', details: { name: 'nope', kind: 'pods' } });
  // Existing ephemeral containers may not change.
  const change = await kubectl([
    'patch',
    'pod',
    'web',
    '--subresource=ephemeralcontainers',
    '--type=json',
    '-p',
    '[{"op":"replace","path":"/spec/ephemeralContainers/0/image","value":"alpine"}]',
  ]);
  t.is(change.code, 1);
  t.regex(change.stderr, /existing ephemeral containers "dbg" may not be changed/);
});

test('exec, attach and port-forward: a plain request is told to upgrade, as kube does; kubectl is told why not', async (t) => {
  const { kubectl, server } = await startTestServer(t, { resources: MEMBER_RESOURCES });
  t.is((await kubectl(['create', '-f', '-'], pod('web'))).code, 0);
  const plain = await fetch(`${server.url}/api/v1/namespaces/default/pods/web/exec?command=true`, { method: 'POST' });
  t.is(plain.status, 400);
  t.like(await plain.json(), { kind: 'Status', reason: 'BadRequest', message: 'Upgrade request required' });
  // kubectl upgrades (WebSocket, then SPDY): the answer says the pod is simulated.
  const exec = await kubectl(['exec', 'web', '--', 'echo', 'hi']);
  t.is(exec.code, 1);
  t.regex(exec.stderr, /pod "web" has no running containers to exec: kitfed simulates pods \(kubectl logs shows/);
  // kubectl port-forward first checks that the pod runs.
  const running = [
    'patch',
    'pod',
    'web',
    '--subresource=status',
    '--type=merge',
    '-p',
    '{"status":{"phase":"Running"}}',
  ];
  t.is((await kubectl(running)).code, 0);
  const forward = await kubectl(['port-forward', 'pod/web', '0:80'], undefined, 10_000);
  t.not(forward.code, 0);
  t.regex(forward.stderr, /pod "web" has no running containers to forward ports to/);
  const missing = await kubectl(['exec', 'nope', '--', 'true']);
  t.regex(missing.stderr, /pods "nope" not found/);
});

test('bindings, pods/eviction, componentstatuses and verbs a resource lacks answer as kube does', async (t) => {
  const { kubectl, server } = await startTestServer(t, { resources: MEMBER_RESOURCES });
  t.is((await kubectl(['create', '-f', '-'], pod('b'))).code, 0);
  const bind = await fetch(`${server.url}/api/v1/namespaces/default/pods/b/binding`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({
      apiVersion: 'v1',
      kind: 'Binding',
      metadata: { name: 'b' },
      target: { kind: 'Node', name: 'n1' },
    }),
  });
  t.is(bind.status, 201);
  t.is(JSON.parse((await kubectl(['get', 'pod', 'b', '-o', 'json'])).stdout).spec.nodeName, 'n1');
  const again = await fetch(`${server.url}/api/v1/namespaces/default/bindings`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({
      apiVersion: 'v1',
      kind: 'Binding',
      metadata: { name: 'b' },
      target: { kind: 'Node', name: 'n2' },
    }),
  });
  t.is(again.status, 409);
  t.regex(((await again.json()) as { message: string }).message, /pod b is already assigned to node "n1"/);
  t.is((await fetch(`${server.url}/api/v1/namespaces/default/bindings`)).status, 405);

  const cs = await kubectl(['get', 'componentstatuses']);
  t.is(cs.code, 0, cs.stderr);
  t.regex(cs.stdout, /etcd-0\s+Healthy/);
  t.regex(cs.stderr, /v1 ComponentStatus is deprecated in v1.19\+/);

  const evict = await fetch(`${server.url}/api/v1/namespaces/default/pods/b/eviction`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: 'b', namespace: 'default' } }),
  });
  t.is(evict.status, 201);
  t.is((await kubectl(['get', 'pod', 'b'])).code, 1);
});

test('the DaemonSet simulation writes ControllerRevisions: kubectl rollout history ds lists them', async (t) => {
  const sandbox = await startSandbox({ clusters: [{ name: 's1', region: 'r1' }], readyDelayMs: 50 });
  t.teardown(() => sandbox.close());
  const dir = await mkdtemp(join(tmpdir(), 'kitfed-ds-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const kubeconfig = join(dir, 'kubeconfig');
  await writeFile(kubeconfig, sandbox.kubeconfig());
  const kubectl = kubectlFor(kubeconfig, join(dir, 'cache'), 's1');
  const ds = (image: string) => `apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec: {containers: [{name: a, image: ${image}}]}
`;
  t.is((await kubectl(['apply', '-f', '-'], ds('busybox:1'))).code, 0);
  await eventually(async () => {
    const h = await kubectl(['rollout', 'history', 'ds/agent']);
    if (!/^1\s/m.test(h.stdout)) throw new Error(h.stdout + h.stderr);
  }, 30_000);
  t.is((await kubectl(['apply', '-f', '-'], ds('busybox:2'))).code, 0);
  const history = await eventually(async () => {
    const h = await kubectl(['rollout', 'history', 'ds/agent']);
    if (!/^2\s/m.test(h.stdout)) throw new Error(h.stdout + h.stderr);
    return h.stdout;
  }, 30_000);
  t.regex(history, /REVISION\s+CHANGE-CAUSE/);
  const revisions = JSON.parse((await kubectl(['get', 'controllerrevisions', '-o', 'json'])).stdout).items;
  t.is(revisions.length, 2);
  t.true(
    revisions.every(
      (r: { metadata: { ownerReferences: Array<{ kind: string }> } }) =>
        r.metadata.ownerReferences[0]!.kind === 'DaemonSet',
    ),
  );
});

test("a Service's cluster IP may not change once set; a replace that leaves it out keeps it", async (t) => {
  const { kubectl } = await startTestServer(t);
  const svc = (ip: string) => `apiVersion: v1
kind: Service
metadata: {name: a}
spec:
  ${ip ? `clusterIP: ${ip}\n  ` : ''}ports: [{port: 80}]
`;
  t.is((await kubectl(['apply', '-f', '-'], svc('None'))).code, 0);
  const changed = await kubectl(['apply', '-f', '-'], svc('10.0.0.12'));
  t.is(changed.code, 1);
  t.regex(
    changed.stderr,
    /Service "a" is invalid: spec\.clusterIPs\[0\]: Invalid value: \[\]string\{"10\.0\.0\.12"\}: may not change once set/,
  );
  const merged = await kubectl(['patch', 'service', 'a', '--type=merge', '-p', '{"spec":{"clusterIP":"10.0.0.13"}}']);
  t.regex(merged.stderr, /may not change once set/);
  const replaced = await kubectl(['replace', '-f', '-'], svc(''));
  t.is(replaced.code, 0, replaced.stderr);
  const got = JSON.parse((await kubectl(['get', 'service', 'a', '-o', 'json'])).stdout);
  t.is(got.spec.clusterIP, 'None');
  t.deepEqual(got.spec.clusterIPs, ['None']);
});

test('?pretty=true and clients a person reads (curl) get indented JSON; kubectl gets it compact', async (t) => {
  const { server } = await startTestServer(t);
  const get = async (path: string, userAgent: string) =>
    (await fetch(`${server.url}${path}`, { headers: { 'User-Agent': userAgent } })).text();
  const pretty = await get('/api/v1/namespaces/default?pretty=true', 'kubectl/v1.32.0');
  t.regex(pretty, /^\{\n {2}"apiVersion": "v1",\n {2}"kind": "Namespace",\n/);
  t.regex(await get('/api/v1/namespaces/default', 'curl/8.5.0'), /^\{\n {2}"apiVersion": "v1",\n/);
  t.regex(
    await get('/api/v1/namespaces/default?pretty=false', 'curl/8.5.0'),
    /^\{"apiVersion":"v1","kind":"Namespace"/,
  );
  t.regex(await get('/api/v1/namespaces/default', 'kubectl/v1.32.0'), /^\{"apiVersion":"v1","kind":"Namespace"/);
  t.regex(
    await get('/api/v1/namespaces/nope?pretty=1', 'kubectl/v1.32.0'),
    /^\{\n {2}"apiVersion": "v1",\n {2}"kind": "Status",\n/,
  );
});

test('kubectl apply --server-side takes over what client-side kubectl apply managed; another field manager still conflicts', async (t) => {
  const { kubectl } = await startTestServer(t);
  const manifest = (label: string, image: string) => `apiVersion: v1
kind: Pod
metadata: {name: test-pod, labels: {name: ${label}}}
spec:
  containers: [{name: kubernetes-pause, image: ${image}}]
`;
  const before = manifest('test-pod-label', 'registry.k8s.io/pause:3.10');
  const after = manifest('test-pod-applied', 'registry.k8s.io/pause:3.9');
  t.is((await kubectl(['apply', '-f', '-'], before)).code, 0);
  const other = await kubectl(['apply', '--server-side', '--field-manager=not-kubectl', '-f', '-'], after);
  t.is(other.code, 1);
  // kube's words: the managers each with their fields, an Update manager with its API version.
  t.true(
    other.stderr.includes(
      'Apply failed with 2 conflicts: conflicts with "kubectl-client-side-apply" using v1:\n' +
        '- .metadata.labels.name\n- .spec.containers[name="kubernetes-pause"].image\n',
    ),
    other.stderr,
  );
  const upgraded = await kubectl(['apply', '--server-side', '-f', '-'], after);
  t.is(upgraded.code, 0, upgraded.stderr);
  const pod = JSON.parse((await kubectl(['get', 'pod', 'test-pod', '-o', 'json'])).stdout);
  t.is(pod.metadata.labels.name, 'test-pod-applied');
  t.is(pod.spec.containers[0].image, 'registry.k8s.io/pause:3.9');
  t.regex(
    (await kubectl(['apply', 'view-last-applied', 'pod/test-pod', '-o', 'json'])).stdout,
    /"name": "test-pod-applied"/,
  );
  // and back: server-side apply of the first manifest, then client-side apply again
  t.is((await kubectl(['apply', '--server-side', '-f', '-'], before)).code, 0);
  t.regex(
    (await kubectl(['apply', 'view-last-applied', 'pod/test-pod', '-o', 'json'])).stdout,
    /"name": "test-pod-label"/,
  );
  const back = await kubectl(['apply', '-f', '-'], after);
  t.is(back.code, 0, back.stderr);
});

test("a client's patch of managedFields is taken as given: kubectl's upgrade to server-side apply then drops a field it no longer applies", async (t) => {
  const { kubectl } = await startTestServer(t);
  const cm = (data: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: test}\ndata: {${data}}\n`;
  t.is((await kubectl(['apply', '-f', '-'], cm('key: value, legacy: unused'))).code, 0);
  t.is((await kubectl(['apply', '--server-side', '-f', '-'], cm('key: value, legacy: unused'))).code, 0);
  const dropped = await kubectl(['apply', '--server-side', '-f', '-'], cm('key: value'));
  t.is(dropped.code, 0, dropped.stderr);
  const got = JSON.parse((await kubectl(['get', 'configmap', 'test', '-o', 'json', '--show-managed-fields'])).stdout);
  t.deepEqual(got.data, { key: 'value' });
  t.deepEqual((got.metadata.managedFields as Array<{ manager: string }>).map((m) => m.manager).sort(), [
    'kubectl',
    'kubectl-last-applied',
  ]);
});

test("a built-in kind's schema is checked: a wrong type is 422 naming the field, nothing is stored", async (t) => {
  const { kubectl } = await startTestServer(t);
  const r = await kubectl(
    ['create', '-f', '-', '--validate=false'],
    'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: typed}\ndata: {count: 5}\n',
  );
  t.is(r.code, 1);
  t.regex(r.stderr, /ConfigMap "typed" is invalid: data\.count: Invalid value: .*must be string/);
  const after = await kubectl(['get', 'configmap', 'typed']);
  t.regex(after.stderr, /configmaps "typed" not found/);
});

test("a Secret's stringData lands in data; a bad key is 422 naming data[key]; an immutable Secret keeps its data", async (t) => {
  const { kubectl } = await startTestServer(t);
  const bad = await kubectl(
    ['create', '-f', '-'],
    'apiVersion: v1\nkind: Secret\nmetadata: {name: keys}\nstringData: {"bad key": x}\n',
  );
  t.is(bad.code, 1);
  t.regex(bad.stderr, /Secret "keys" is invalid: data\[bad key\]: Invalid value: "bad key": a valid config key/);

  const created = await kubectl(
    ['create', '-f', '-'],
    'apiVersion: v1\nkind: Secret\nmetadata: {name: fixed}\nimmutable: true\nstringData: {password: hunter2}\n',
  );
  t.is(created.code, 0, created.stderr);
  const stored = JSON.parse((await kubectl(['get', 'secret', 'fixed', '-o', 'json'])).stdout);
  t.deepEqual(stored.data, { password: Buffer.from('hunter2').toString('base64') });
  t.is(stored.stringData, undefined);

  const changed = await kubectl([
    'patch',
    'secret',
    'fixed',
    '--type=merge',
    '-p',
    '{"stringData":{"password":"other"}}',
  ]);
  t.is(changed.code, 1);
  t.regex(changed.stderr, /data: Forbidden: field is immutable when `immutable` is set/);
  const after = JSON.parse((await kubectl(['get', 'secret', 'fixed', '-o', 'json'])).stdout);
  t.deepEqual(after.data, stored.data);
});
