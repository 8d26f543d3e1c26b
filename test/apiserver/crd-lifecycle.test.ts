import test from 'ava';
import * as k8s from '@kubernetes/client-node';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { kubeconfigFor } from '../../services/apiserver/run.js';
import { startApiServer } from '../../services/apiserver/server.js';
import { EtcdStore } from '../../services/apiserver/storage/etcd.js';
import { openStore } from '../../services/apiserver/storage/open.js';
import { CRONTAB_CRD, crontab, installCrd } from '../helpers/crd.js';
import { eventually } from '../helpers/eventually.js';
import { kubectlFor, startTestServer } from '../helpers/kubectl.js';
import { startTestSandbox } from '../sandbox/helpers.js';
import { startEtcd } from '../storage/etcd-harness.js';
import { etcdTest } from '../storage/etcd-test.js';

const CRONTABS = '/apis/stable.example.com/v1/namespaces/default/crontabs';

async function json(url: string, init?: RequestInit): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(url, init);
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

function post(url: string, body: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  return json(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
}

function cr(name: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    apiVersion: 'stable.example.com/v1',
    kind: 'CronTab',
    metadata: { name, ...extra },
    spec: { cronSpec: '* * * * *' },
  };
}

test('deleting a CRD deletes its objects first; objects with finalizers hold it; creates are refused meanwhile', async (t) => {
  const { server, kubectl } = await startTestServer(t);
  await installCrd(kubectl, CRONTAB_CRD, 'crontabs.stable.example.com');
  t.is((await post(`${server.url}${CRONTABS}`, cr('plain'))).status, 201);
  t.is((await post(`${server.url}${CRONTABS}`, cr('held', { finalizers: ['example.com/hold'] }))).status, 201);
  t.is((await kubectl(['create', 'namespace', 'other'])).code, 0);
  t.is(
    (await post(`${server.url}/apis/stable.example.com/v1/namespaces/other/crontabs`, { ...cr('elsewhere') })).status,
    201,
  );

  const deleting = await kubectl(['delete', 'crd', 'crontabs.stable.example.com', '--wait=false']);
  t.is(deleting.code, 0, deleting.stderr);
  const crd = await eventually(async () => {
    const o = JSON.parse((await kubectl(['get', 'crd', 'crontabs.stable.example.com', '-o', 'json'])).stdout);
    return o.status.conditions?.some((c: { type: string }) => c.type === 'Terminating') ? o : false;
  });
  t.truthy(crd.metadata.deletionTimestamp);
  t.deepEqual(crd.metadata.finalizers, ['customresourcecleanup.apiextensions.k8s.io']);
  t.like(
    crd.status.conditions.find((c: { type: string }) => c.type === 'Terminating'),
    { status: 'True', reason: 'InstanceDeletionInProgress' },
  );
  await eventually(async () => (await json(`${server.url}${CRONTABS}/plain`)).status === 404);
  t.is((await json(`${server.url}/apis/stable.example.com/v1/namespaces/other/crontabs/elsewhere`)).status, 404);
  const held = (await json(`${server.url}${CRONTABS}/held`)).body as { metadata: { deletionTimestamp?: string } };
  t.truthy(held.metadata.deletionTimestamp, 'the object with a finalizer is being deleted, and holds the CRD');
  const refused = await post(`${server.url}${CRONTABS}`, cr('late'));
  t.is(refused.status, 405);
  t.regex(String(refused.body.message), /create not allowed while custom resource definition is terminating/);
  t.is((await kubectl(['get', 'crd', 'crontabs.stable.example.com', '-o', 'name'])).code, 0, 'the CRD is still there');

  const released = await kubectl(['patch', 'ct', 'held', '--type=merge', '-p', '{"metadata":{"finalizers":null}}']);
  t.is(released.code, 0, released.stderr);
  const gone = await kubectl(['wait', '--for=delete', 'crd/crontabs.stable.example.com', '--timeout=20s']);
  t.is(gone.code, 0, gone.stderr);
  t.is((await json(`${server.url}${CRONTABS}`)).status, 404, 'the resource is no longer served');
  t.false((await kubectl(['api-resources', '-o', 'name'])).stdout.includes('crontabs'), 'and no longer discovered');
  // The same CRD again starts empty.
  await installCrd(kubectl, CRONTAB_CRD, 'crontabs.stable.example.com');
  t.is((await kubectl(['get', 'ct', '-A', '-o', 'name'])).stdout.trim(), '');
});

test('watches, finalizers, owner references and namespace deletion work on custom resources', async (t) => {
  const { server, kubectl } = await startTestServer(t);
  await installCrd(kubectl, CRONTAB_CRD, 'crontabs.stable.example.com');
  const ctrl = new AbortController();
  t.teardown(() => ctrl.abort());
  const res = await fetch(`${server.url}${CRONTABS}?watch=1`, { signal: ctrl.signal });
  const reader = res.body!.getReader();
  const events: Array<{ type: string; object: { apiVersion: string; metadata: { name: string } } }> = [];
  let buffer = '';
  const pump = (async () => {
    for (;;) {
      const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true }));
      if (done) return;
      buffer += new TextDecoder().decode(value);
      let nl;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        events.push(JSON.parse(buffer.slice(0, nl)));
        buffer = buffer.slice(nl + 1);
      }
    }
  })();

  const owner = await post(`${server.url}${CRONTABS}`, cr('owner', { finalizers: ['example.com/hold'] }));
  t.is(owner.status, 201);
  const uid = (owner.body.metadata as { uid: string }).uid;
  t.is((await kubectl(['label', 'ct', 'owner', 'team=a'])).code, 0);
  const dependent = await post(`${server.url}/api/v1/namespaces/default/configmaps`, {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: 'dependent',
      ownerReferences: [{ apiVersion: 'stable.example.com/v1', kind: 'CronTab', name: 'owner', uid }],
    },
  });
  t.is(dependent.status, 201);
  const child = await post(`${server.url}${CRONTABS}`, {
    ...cr('child'),
    metadata: {
      name: 'child',
      ownerReferences: [{ apiVersion: 'stable.example.com/v1', kind: 'CronTab', name: 'owner', uid }],
    },
  });
  t.is(child.status, 201);

  t.is((await kubectl(['delete', 'ct', 'owner', '--wait=false'])).code, 0);
  const pending = (await json(`${server.url}${CRONTABS}/owner`)).body as { metadata: { deletionTimestamp?: string } };
  t.truthy(pending.metadata.deletionTimestamp, 'a finalizer keeps the custom resource');
  t.is(
    (await kubectl(['patch', 'ct', 'owner', '--type=json', '-p', '[{"op":"remove","path":"/metadata/finalizers"}]']))
      .code,
    0,
  );
  await eventually(async () => (await json(`${server.url}${CRONTABS}/owner`)).status === 404);
  await eventually(
    async () => (await json(`${server.url}/api/v1/namespaces/default/configmaps/dependent`)).status === 404,
  );
  await eventually(async () => (await json(`${server.url}${CRONTABS}/child`)).status === 404);
  await eventually(() =>
    ['ADDED owner', 'MODIFIED owner', 'DELETED owner', 'ADDED child', 'DELETED child'].every((e) =>
      events.some((x) => `${x.type} ${x.object.metadata.name}` === e),
    ),
  );
  t.true(events.every((e) => e.object.apiVersion === 'stable.example.com/v1'));

  // Foreground deletion of a custom resource waits for its dependents.
  const fg = await post(`${server.url}${CRONTABS}`, cr('fg'));
  const fgUid = (fg.body.metadata as { uid: string }).uid;
  await post(`${server.url}${CRONTABS}`, {
    ...cr('fg-child'),
    metadata: {
      name: 'fg-child',
      finalizers: ['example.com/hold'],
      ownerReferences: [
        { apiVersion: 'stable.example.com/v1', kind: 'CronTab', name: 'fg', uid: fgUid, blockOwnerDeletion: true },
      ],
    },
  });
  t.is((await kubectl(['delete', 'ct', 'fg', '--cascade=foreground', '--wait=false'])).code, 0);
  const fgNow = (await json(`${server.url}${CRONTABS}/fg`)).body as { metadata: { finalizers?: string[] } };
  t.deepEqual(fgNow.metadata.finalizers, ['foregroundDeletion']);
  await kubectl(['patch', 'ct', 'fg-child', '--type=merge', '-p', '{"metadata":{"finalizers":null}}']);
  await eventually(async () => (await json(`${server.url}${CRONTABS}/fg`)).status === 404);

  // A namespace going away takes its custom resources with it.
  t.is((await kubectl(['create', 'namespace', 'team'])).code, 0);
  t.is((await post(`${server.url}/apis/stable.example.com/v1/namespaces/team/crontabs`, cr('in-team'))).status, 201);
  const nsGone = await kubectl(['delete', 'namespace', 'team', '--timeout=30s']);
  t.is(nsGone.code, 0, nsGone.stderr);
  t.is((await json(`${server.url}/apis/stable.example.com/v1/namespaces/team/crontabs/in-team`)).status, 404);
  ctrl.abort();
  await pump;
});

test('a client-node informer on a custom resource sees adds, updates and deletes', async (t) => {
  const { server, kubectl } = await startTestServer(t);
  await installCrd(kubectl, CRONTAB_CRD, 'crontabs.stable.example.com');
  const kc = new k8s.KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'c', server: server.url, skipTLSVerify: true }],
    users: [{ name: 'u' }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
    currentContext: 'x',
  });
  const custom = kc.makeApiClient(k8s.CustomObjectsApi);
  const target = { group: 'stable.example.com', version: 'v1', namespace: 'default', plural: 'crontabs' };
  const informer = k8s.makeInformer<k8s.KubernetesObject & { spec?: { image?: string } }>(
    kc,
    CRONTABS,
    () => custom.listNamespacedCustomObject(target) as Promise<k8s.KubernetesListObject<k8s.KubernetesObject>>,
  );
  const seen: string[] = [];
  informer.on('add', (o) => seen.push(`add ${o.metadata?.name}`));
  informer.on('update', (o) => seen.push(`update ${o.metadata?.name} ${o.spec?.image ?? ''}`));
  informer.on('delete', (o) => seen.push(`delete ${o.metadata?.name}`));
  await custom.createNamespacedCustomObject({ ...target, body: cr('before') });
  await informer.start();
  t.teardown(() => informer.stop());
  await eventually(() => seen.includes('add before'));
  await custom.createNamespacedCustomObject({ ...target, body: cr('after') });
  await custom.patchNamespacedCustomObject(
    { ...target, name: 'after', body: { spec: { image: 'v2' } } },
    k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
  );
  await custom.deleteNamespacedCustomObject({ ...target, name: 'before' });
  await eventually(() => ['add after', 'update after v2', 'delete before'].every((e) => seen.includes(e)), 15_000);
  t.deepEqual(
    informer.list().map((o) => o.metadata?.name),
    ['after'],
  );
  const got = (await custom.getNamespacedCustomObject({ ...target, name: 'after' })) as { spec: { image: string } };
  t.is(got.spec.image, 'v2');
});

test('CRDs and their objects survive a restart: the catalog is rebuilt from storage', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'kitfed-crd-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const url = `sqlite://${join(dir, 'api.db')}`;
  const first = await startApiServer({ store: await openStore(url) });
  const kc1 = join(dir, 'kc1');
  await writeFile(kc1, kubeconfigFor(first.url, 'x'));
  const kubectl1 = kubectlFor(kc1, join(dir, 'cache1'));
  await installCrd(kubectl1, CRONTAB_CRD, 'crontabs.stable.example.com');
  t.is((await kubectl1(['create', '-f', '-'], crontab('kept'))).code, 0);
  await first.close();

  const second = await startApiServer({ store: await openStore(url) });
  t.teardown(() => second.close());
  const kc2 = join(dir, 'kc2');
  await writeFile(kc2, kubeconfigFor(second.url, 'x'));
  const kubectl2 = kubectlFor(kc2, join(dir, 'cache2'));
  const got = await kubectl2(['get', 'ct', 'kept', '-o', 'jsonpath={.spec.replicas}']);
  t.is(got.code, 0, got.stderr);
  t.is(got.stdout, '1');
  t.regex((await kubectl2(['get', 'ct'])).stdout, /^NAME\s+SPEC\s+REPLICAS\s+READY\s+AGE\nkept\s+/);
  const invalid = await kubectl2(['create', '-f', '-'], crontab('bad', { replicas: 99 }));
  t.regex(invalid.stderr, /spec\.replicas in body should be less than or equal to 10/, 'validation is back too');
  const crd = JSON.parse((await kubectl2(['get', 'crd', 'crontabs.stable.example.com', '-o', 'json'])).stdout);
  t.like(
    crd.status.conditions.find((c: { type: string }) => c.type === 'Established'),
    { status: 'True' },
  );
});

etcdTest('two API servers on one etcd: a CRD created through one is served by the other', async (t) => {
  const etcd = await startEtcd();
  t.teardown(() => etcd.stop());
  const a = await startApiServer({
    store: new EtcdStore(etcd.endpoints, { keyPrefix: '/ha', requestTimeoutMs: 10_000 }),
  });
  t.teardown(() => a.close());
  const b = await startApiServer({
    store: new EtcdStore(etcd.endpoints, { keyPrefix: '/ha', requestTimeoutMs: 10_000 }),
  });
  t.teardown(() => b.close());
  const dir = await mkdtemp(join(tmpdir(), 'kitfed-crd-ha-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, 'a'), kubeconfigFor(a.url, 'a'));
  await writeFile(join(dir, 'b'), kubeconfigFor(b.url, 'b'));
  const kubectlA = kubectlFor(join(dir, 'a'), join(dir, 'cache-a'));
  const kubectlB = kubectlFor(join(dir, 'b'), join(dir, 'cache-b'));
  await installCrd(kubectlA, CRONTAB_CRD, 'crontabs.stable.example.com');
  // B learnt the CRD from its etcd watch: it serves, validates and lists the new resource.
  await eventually(async () => (await json(`${b.url}${CRONTABS}`)).status === 200, 10_000);
  const viaB = await kubectlB(['create', '-f', '-'], crontab('from-b'));
  t.is(viaB.code, 0, viaB.stderr);
  t.regex(
    (await kubectlB(['create', '-f', '-'], crontab('bad', { policy: 'x' }))).stderr,
    /spec\.policy: Unsupported value/,
  );
  t.is((await kubectlA(['get', 'ct', 'from-b', '-o', 'name'])).stdout.trim(), 'crontab.stable.example.com/from-b');
  // Deleting through B: both stop serving it.
  t.is((await kubectlB(['delete', 'crd', 'crontabs.stable.example.com', '--timeout=30s'])).code, 0);
  await eventually(async () => (await json(`${a.url}${CRONTABS}`)).status === 404, 10_000);
  t.is((await json(`${b.url}${CRONTABS}`)).status, 404);
});

test('a sandbox member cluster serves CRDs too, over HTTPS with its token', async (t) => {
  const { kubectl } = await startTestSandbox(t, { tls: true });
  const created = await kubectl(['--context', 'c1', 'apply', '-f', '-'], { input: CRONTAB_CRD });
  t.is(created.code, 0, created.stderr);
  const waited = await kubectl([
    '--context',
    'c1',
    'wait',
    '--for=condition=Established',
    'crd/crontabs.stable.example.com',
  ]);
  t.is(waited.code, 0, waited.stderr);
  const cron = await kubectl(['--context', 'c1', 'apply', '-f', '-'], { input: crontab('member') });
  t.is(cron.code, 0, cron.stderr);
  const scaled = await kubectl(['--context', 'c1', 'scale', 'ct', 'member', '--replicas=2']);
  t.is(scaled.code, 0, scaled.stderr);
  const table = await kubectl(['--context', 'c1', 'get', 'ct']);
  t.regex(table.stdout, /^NAME\s+SPEC\s+REPLICAS\s+READY\s+AGE\nmember\s+\* \* \* \* \*\/5\s+2\s+/);
  const explain = await kubectl(['--context', 'c1', 'explain', 'ct.spec.replicas']);
  t.regex(explain.stdout, /FIELD: replicas <integer>/);
});
