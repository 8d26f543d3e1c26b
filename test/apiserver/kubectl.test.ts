import test from 'ava';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { eventually } from '../helpers/eventually.js';
import { SEED, startTestServer } from '../helpers/kubectl.js';

const rs = (name: string, replicas = 2) => `apiVersion: apps/v1
kind: ReplicaSet
metadata: {name: ${name}, labels: {app: ${name}}}
spec:
  replicas: ${replicas}
  selector: {matchLabels: {app: ${name}}}
  template:
    metadata: {labels: {app: ${name}}}
    spec:
      containers:
      - {name: web, image: "nginx:1.25", ports: [{containerPort: 80}], env: [{name: A, value: "1"}]}
`;

test('the seed walkthrough files are accepted verbatim and served in both versions', async (t) => {
  const { kubectl } = await startTestServer(t);
  for (const f of ['nginx-svc.yaml', 'ingress.yaml', 'nginx-rs.yaml', 'nginx-us-rs.yaml']) {
    const r = await kubectl(['create', '-f', join(SEED, f)]);
    t.is(r.code, 0, r.stderr);
  }
  const apps = JSON.parse((await kubectl(['get', 'replicasets.v1.apps', 'nginx', '-o', 'json'])).stdout);
  t.is(apps.apiVersion, 'apps/v1');
  t.deepEqual(apps.spec.selector, { matchLabels: { app: 'nginx' } }, 'v1beta1 selector defaulted from the template');
  t.is(apps.spec.replicas, 9);
  const ext = JSON.parse((await kubectl(['get', 'replicasets.v1beta1.extensions', 'nginx', '-o', 'json'])).stdout);
  t.is(ext.apiVersion, 'extensions/v1beta1');
  const ing = JSON.parse((await kubectl(['get', 'ingresses.v1.networking.k8s.io', 'nginx', '-o', 'json'])).stdout);
  t.deepEqual(ing.spec.defaultBackend, { service: { name: 'nginx', port: { number: 80 } } });
  const ingOld = JSON.parse((await kubectl(['get', 'ingresses.v1beta1.extensions', 'nginx', '-o', 'json'])).stdout);
  t.deepEqual(ingOld.spec.backend, { serviceName: 'nginx', servicePort: 80 });
  const table = await kubectl(['get', 'rs']);
  t.regex(table.stdout, /NAME\s+DESIRED\s+CURRENT\s+READY\s+AGE/);
  t.regex(table.stdout, /nginx-us\s+9\s+0\s+0/);
  const svc = await kubectl(['get', 'svc', 'nginx']);
  t.regex(svc.stdout, /LoadBalancer/);
});

test('create, get -o json|yaml, list, label, annotate, scale and describe behave as against a cluster', async (t) => {
  const { kubectl } = await startTestServer(t);
  t.is((await kubectl(['create', '-f', '-'], rs('web'))).code, 0);
  const yaml = await kubectl(['get', 'rs', 'web', '-o', 'yaml']);
  t.regex(yaml.stdout, /kind: ReplicaSet/);
  t.regex(yaml.stdout, /resourceVersion: "\d+"/);
  const list = JSON.parse((await kubectl(['get', 'rs', '-o', 'json'])).stdout);
  t.is(list.kind, 'List');
  t.is(list.items.length, 1);
  t.is((await kubectl(['label', 'rs', 'web', 'tier=frontend'])).code, 0);
  t.is((await kubectl(['annotate', 'rs', 'web', 'note=hello'])).code, 0);
  const scaled = await kubectl(['scale', 'rs', 'web', '--replicas=5']);
  t.is(scaled.code, 0, scaled.stderr);
  const obj = JSON.parse((await kubectl(['get', 'rs', 'web', '-o', 'json'])).stdout);
  t.is(obj.metadata.labels.tier, 'frontend');
  t.is(obj.metadata.annotations.note, 'hello');
  t.is(obj.spec.replicas, 5);
  t.is(obj.metadata.generation, 2, 'a spec change bumps generation; labels do not');
  const selected = await kubectl(['get', 'rs', '-l', 'tier in (frontend,backend),app', '-o', 'name']);
  t.is(selected.stdout.trim(), 'replicaset.apps/web');
  const none = await kubectl(['get', 'rs', '-l', 'tier!=frontend', '-o', 'name']);
  t.is(none.stdout.trim(), '');
  const described = await kubectl(['describe', 'rs', 'web']);
  t.regex(described.stdout, /Name:\s+web/);
  t.regex(described.stdout, /Replicas:\s+0 current \/ 5 desired/);
});

test('apply twice reports unchanged; server-side apply owns fields and reports conflicts', async (t) => {
  const { kubectl } = await startTestServer(t);
  const first = await kubectl(['apply', '-f', '-'], rs('api'));
  t.regex(first.stdout, /replicaset.apps\/api created/);
  const second = await kubectl(['apply', '-f', '-'], rs('api'));
  t.regex(second.stdout, /replicaset.apps\/api unchanged/);
  const changed = await kubectl(['apply', '-f', '-'], rs('api', 4));
  t.regex(changed.stdout, /configured/);

  const ssa = await kubectl(['apply', '--server-side', '-f', '-'], rs('ssa'));
  t.is(ssa.code, 0, ssa.stderr);
  t.regex(ssa.stdout, /serverside-applied/);
  t.is((await kubectl(['scale', 'rs', 'ssa', '--replicas=7'])).code, 0);
  const conflict = await kubectl(['apply', '--server-side', '-f', '-'], rs('ssa'));
  t.not(conflict.code, 0);
  t.regex(
    conflict.stderr,
    /Apply failed with 1 conflict: conflict with "kubectl" with subresource "scale" using apps\/v1: \.spec\.replicas/,
  );
  const forced = await kubectl(['apply', '--server-side', '--force-conflicts', '-f', '-'], rs('ssa'));
  t.is(forced.code, 0, forced.stderr);
  const obj = JSON.parse((await kubectl(['get', 'rs', 'ssa', '-o', 'json', '--show-managed-fields'])).stdout);
  t.is(obj.spec.replicas, 2);
  t.true(
    obj.metadata.managedFields.some(
      (m: { manager: string; operation: string }) => m.manager === 'kubectl' && m.operation === 'Apply',
    ),
    JSON.stringify(obj.metadata.managedFields),
  );
});

test('patch --type json, merge and strategic', async (t) => {
  const { kubectl } = await startTestServer(t);
  await kubectl(['create', '-f', '-'], rs('p'));
  t.is(
    (
      await kubectl([
        'patch',
        'rs',
        'p',
        '--type',
        'json',
        '-p',
        '[{"op":"replace","path":"/spec/replicas","value":3}]',
      ])
    ).code,
    0,
  );
  t.is((await kubectl(['patch', 'rs', 'p', '--type', 'merge', '-p', '{"metadata":{"labels":{"m":"1"}}}'])).code, 0);
  const smp = await kubectl([
    'patch',
    'rs',
    'p',
    '-p',
    '{"spec":{"template":{"spec":{"containers":[{"name":"web","image":"nginx:1.26","env":[{"name":"B","value":"2"}]}]}}}}',
  ]);
  t.is(smp.code, 0, smp.stderr);
  const obj = JSON.parse((await kubectl(['get', 'rs', 'p', '-o', 'json'])).stdout);
  t.is(obj.spec.replicas, 3);
  t.is(obj.metadata.labels.m, '1');
  const c = obj.spec.template.spec.containers[0];
  t.is(c.image, 'nginx:1.26');
  t.deepEqual(c.env.map((e: { name: string }) => e.name).sort(), ['A', 'B'], 'strategic merge merged env by name');
  t.deepEqual(c.ports, [{ containerPort: 80, protocol: 'TCP' }], 'untouched lists survive');
  const badTest = await kubectl([
    'patch',
    'rs',
    'p',
    '--type',
    'json',
    '-p',
    '[{"op":"test","path":"/spec/replicas","value":99}]',
  ]);
  t.not(badTest.code, 0);
});

test('get -w receives added, modified and deleted events', async (t) => {
  const { kubectl, kubeconfig, dir, server } = await startTestServer(t);
  const baseline = server.registry.cache.watcherCount;
  const watcher = spawn('kubectl', [
    '--kubeconfig',
    kubeconfig,
    '--cache-dir',
    join(dir, 'cache-w'),
    'get',
    'configmaps',
    '-w',
    '--output-watch-events',
    '--request-timeout=120s',
  ]);
  t.teardown(() => watcher.kill());
  let out = '';
  watcher.stdout.on('data', (d: Buffer) => (out += d.toString()));
  // Bounded waits wide enough for a loaded 2-core machine (kubectl alone can take seconds to start).
  const wait = async (re: RegExp) => {
    for (let i = 0; i < 600 && !re.test(out); i++) await new Promise((r) => setTimeout(r, 100));
    return re.test(out);
  };
  for (let i = 0; i < 600 && server.registry.cache.watcherCount === baseline; i++)
    await new Promise((r) => setTimeout(r, 100));
  t.true(server.registry.cache.watcherCount > baseline, 'kubectl get -w is watching');
  await kubectl(['create', 'configmap', 'cm1', '--from-literal=v=1', '--dry-run=client', '-o', 'yaml']).then((r) =>
    kubectl(['apply', '-f', '-'], r.stdout),
  );
  t.true(await wait(/ADDED\s+cm1\s+1\s/), out);
  await kubectl(['patch', 'configmap', 'cm1', '--type', 'merge', '-p', '{"data":{"w":"2"}}']);
  t.true(await wait(/MODIFIED\s+cm1\s+2\s/), out);
  await kubectl(['delete', 'configmap', 'cm1']);
  t.true(await wait(/DELETED\s+cm1/), out);
});

test('delete honours each --cascade value and namespaces terminate with their content', async (t) => {
  const { kubectl, server } = await startTestServer(t);
  const rsType = server.catalog.byKind('apps', 'v1', 'ReplicaSet')!;
  const cmType = server.catalog.byKind('', 'v1', 'ConfigMap')!;
  for (const [name, cascade] of [
    ['bg', 'background'],
    ['fg', 'foreground'],
    ['or', 'orphan'],
  ] as const) {
    const owner = await server.registry.create(rsType, 'default', {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: { name },
      spec: {
        selector: { matchLabels: { a: name } },
        template: { metadata: { labels: { a: name } }, spec: { containers: [{ name: 'c', image: 'x' }] } },
      },
    });
    await server.registry.create(cmType, 'default', {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {
        name: `${name}-dep`,
        ownerReferences: [
          { apiVersion: 'apps/v1', kind: 'ReplicaSet', name, uid: owner.metadata.uid!, blockOwnerDeletion: true },
        ],
      },
    });
    const r = await kubectl(['delete', 'rs', name, `--cascade=${cascade}`, '--timeout=20s']);
    t.is(r.code, 0, r.stderr);
    t.is((await kubectl(['get', 'rs', name])).code, 1, `${name} is gone`);
  }
  const wait = async (name: string, present: boolean) => {
    for (let i = 0; i < 50; i++) {
      if (((await server.registry.tryGet(cmType, 'default', name)) !== undefined) === present) return true;
      await new Promise((r) => setTimeout(r, 50));
    }
    return false;
  };
  t.true(await wait('bg-dep', false), 'background deletes dependents');
  t.true(await wait('fg-dep', false), 'foreground deletes dependents');
  t.true(await wait('or-dep', true), 'orphan keeps dependents');
  const orphan = await server.registry.get(cmType, 'default', 'or-dep');
  t.is(orphan.metadata.ownerReferences, undefined, 'orphaned dependents lose the owner reference');

  t.is((await kubectl(['create', '-f', '-'], 'apiVersion: v1\nkind: Namespace\nmetadata: {name: team}\n')).code, 0);
  t.is((await kubectl(['create', '-n', 'team', '-f', join(SEED, 'nginx-svc.yaml')])).code, 0);
  const del = await kubectl(['delete', 'namespace', 'team', '--timeout=20s']);
  t.is(del.code, 0, del.stderr);
  t.is((await kubectl(['get', 'namespace', 'team'])).code, 1);
  const missing = await kubectl(['create', '-n', 'nowhere', '-f', join(SEED, 'nginx-svc.yaml')]);
  t.regex(missing.stderr, /namespaces "nowhere" not found/);
  t.is(
    (await kubectl(['get', 'ns', 'default', 'kube-system', 'kube-public', '-o', 'name'])).stdout.trim().split('\n')
      .length,
    3,
  );
});

test('a namespace of hundreds of objects drains, and waits for an object a finalizer holds', async (t) => {
  const { kubectl } = await startTestServer(t);
  t.is((await kubectl(['create', 'namespace', 'bulk'])).code, 0);
  const items = [
    ...Array.from({ length: 300 }, (_, i) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `cm-${i}` } })),
    ...Array.from({ length: 60 }, (_, i) => ({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: `s-${i}` },
      stringData: { k: 'v' },
    })),
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'held', finalizers: ['example.com/hold'] } },
  ];
  const created = await kubectl(
    ['create', '-n', 'bulk', '-f', '-'],
    JSON.stringify({ apiVersion: 'v1', kind: 'List', items }),
  );
  t.is(created.code, 0, created.stderr);
  t.is((await kubectl(['delete', 'namespace', 'bulk', '--wait=false'])).code, 0);
  const names = async () => (await kubectl(['get', 'configmaps,secrets', '-n', 'bulk', '-o', 'name'])).stdout.trim();
  let left = '';
  await eventually(async () => (left = await names()) === 'configmap/held', 10_000, 100).catch(() => undefined);
  t.is(left, 'configmap/held', 'everything but the held object is deleted');
  const ns = JSON.parse((await kubectl(['get', 'namespace', 'bulk', '-o', 'json'])).stdout);
  t.is(ns.status.phase, 'Terminating', 'the namespace waits for the held object');
  const release = await kubectl([
    'patch',
    'configmap',
    'held',
    '-n',
    'bulk',
    '--type=merge',
    '-p',
    '{"metadata":{"finalizers":null}}',
  ]);
  t.is(release.code, 0, release.stderr);
  const gone = await kubectl(['wait', '--for=delete', 'namespace/bulk', '--timeout=20s']);
  t.is(gone.code, 0, gone.stderr);
});

test('bad input gets the right Status and nothing is stored', async (t) => {
  const { kubectl, server } = await startTestServer(t);
  const badName = await kubectl(['create', '-f', '-'], rs('Bad_Name'));
  t.regex(badName.stderr, /is invalid: metadata.name: Invalid value: "Bad_Name"/);
  const unknown = await kubectl(['create', '-f', '-'], rs('strict').replace('replicas: 2', 'replicas: 2\n  bogus: 1'));
  t.regex(unknown.stderr, /unknown field "spec.bogus"/);
  const post = (path: string, body: string, type = 'application/json') =>
    fetch(`${server.url}${path}`, { method: 'POST', headers: { 'content-type': type }, body });
  const malformed = await post('/api/v1/namespaces/default/configmaps', '{"apiVersion":"v1",');
  t.is(malformed.status, 400);
  t.is(((await malformed.json()) as { reason: string }).reason, 'BadRequest');
  const wrongKind = await post(
    '/api/v1/namespaces/default/configmaps',
    JSON.stringify({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'x' } }),
  );
  t.is(wrongKind.status, 400);
  const yamlBad = await post('/api/v1/namespaces/default/configmaps', 'a: [b', 'application/yaml');
  t.is(yamlBad.status, 400);
  const huge = await post(
    '/api/v1/namespaces/default/configmaps',
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'huge' },
      data: { x: 'x'.repeat(4 * 1024 * 1024) },
    }),
  );
  t.is(huge.status, 413);
  const invalid = await post(
    '/apis/apps/v1/namespaces/default/replicasets',
    JSON.stringify({
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: { name: 'r' },
      spec: {
        replicas: 'many',
        selector: { matchLabels: { a: 'b' } },
        template: { metadata: { labels: { a: 'c' } }, spec: { containers: [] } },
      },
    }),
  );
  t.is(invalid.status, 422);
  const status = (await invalid.json()) as { reason: string; details: { causes: Array<{ field: string }> } };
  t.is(status.reason, 'Invalid');
  t.true(status.details.causes.some((c) => c.field === 'spec.replicas'));
  const wrongMedia = await post('/api/v1/namespaces/default/configmaps', 'x', 'text/csv');
  t.is(wrongMedia.status, 415);
  const method = await fetch(`${server.url}/api/v1/namespaces/default/configmaps/x`, { method: 'POST' });
  t.is(method.status, 405);
  const list = (await (await fetch(`${server.url}/api/v1/configmaps`)).json()) as { items: unknown[] };
  t.is(list.items.length, 0, 'nothing was stored');
});
