import test from 'ava';
import * as k8s from '@kubernetes/client-node';
import type { IncomingMessage } from 'node:http';
import { startApiServer } from '../../services/apiserver/server.js';

function clientFor(url: string): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'c', server: url, skipTLSVerify: true }],
    users: [{ name: 'u' }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
    currentContext: 'x',
  });
  return kc;
}

async function until(cond: () => boolean, ms = 5000): Promise<boolean> {
  for (let waited = 0; waited < ms && !cond(); waited += 20) await new Promise((r) => setTimeout(r, 20));
  return cond();
}

test('client-node CRUD through the typed API', async (t) => {
  const server = await startApiServer();
  t.teardown(() => server.close());
  const core = clientFor(server.url).makeApiClient(k8s.CoreV1Api);
  const created = await core.createNamespacedConfigMap({
    namespace: 'default',
    body: { metadata: { name: 'cfg', labels: { a: 'b' } }, data: { k: 'v' } },
  });
  t.truthy(created.metadata?.uid);
  const read = await core.readNamespacedConfigMap({ namespace: 'default', name: 'cfg' });
  t.is(read.data?.k, 'v');
  read.data = { k: 'w' };
  const replaced = await core.replaceNamespacedConfigMap({ namespace: 'default', name: 'cfg', body: read });
  t.is(replaced.data?.k, 'w');
  const list = await core.listNamespacedConfigMap({ namespace: 'default', labelSelector: 'a=b' });
  t.is(list.items.length, 1);
  await core.deleteNamespacedConfigMap({ namespace: 'default', name: 'cfg' });
  const err = await t.throwsAsync(core.readNamespacedConfigMap({ namespace: 'default', name: 'cfg' }));
  t.is((err as unknown as { code: number }).code, 404);
});

test('an informer sees adds, updates and deletes, and re-lists after a 410', async (t) => {
  let gate: Promise<void> | undefined;
  const server = await startApiServer({
    intercept: async (req: IncomingMessage) => {
      if (gate && req.url?.includes('watch=true')) await gate;
      return false;
    },
  });
  t.teardown(() => server.close());
  const kc = clientFor(server.url);
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const informer = k8s.makeInformer(kc, '/api/v1/namespaces/default/configmaps', () =>
    core.listNamespacedConfigMap({ namespace: 'default' }),
  );
  const seen: string[] = [];
  informer.on('add', (o) => seen.push(`add ${o.metadata?.name}`));
  informer.on('update', (o) => seen.push(`update ${o.metadata?.name} ${o.data?.v}`));
  informer.on('delete', (o) => seen.push(`delete ${o.metadata?.name}`));
  await informer.start();
  t.teardown(() => void informer.stop());
  const cm = server.catalog.byKind('', 'v1', 'ConfigMap')!;
  await server.registry.create(cm, 'default', {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'a' },
    data: { v: '1' },
  });
  await server.registry.patch(cm, 'default', 'a', 'merge', '{"data":{"v":"2"}}');
  await server.registry.delete(cm, 'default', 'a');
  t.true(await until(() => seen.includes('delete a')), seen.join(', '));
  t.deepEqual(seen, ['add a', 'update a 2', 'delete a']);

  // Hold reconnecting watches, drop the streams, write and compact past the informer's
  // resourceVersion: its next watch gets 410 Gone and it must re-list to see "b".
  let release!: () => void;
  gate = new Promise((r) => (release = r));
  server.dropWatches();
  await server.registry.create(cm, 'default', {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'b' },
    data: { v: '1' },
  });
  server.registry.cache.compact(server.registry.cache.revision);
  gate = undefined;
  release();
  t.true(await until(() => seen.includes('add b')), seen.join(', '));
  await server.registry.create(cm, 'default', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' } });
  t.true(await until(() => seen.includes('add c')), 'the informer watches again after the re-list');
});

test('two writers racing with the same resourceVersion: exactly one wins, the other gets 409', async (t) => {
  const server = await startApiServer();
  t.teardown(() => server.close());
  const base = `${server.url}/api/v1/namespaces/default/configmaps`;
  const created = (await (
    await fetch(base, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'race' } }),
    })
  ).json()) as { metadata: { resourceVersion: string } };
  const put = (v: string) =>
    fetch(`${base}/race`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'race', resourceVersion: created.metadata.resourceVersion },
        data: { writer: v },
      }),
    });
  const results = await Promise.all(Array.from({ length: 8 }, (_, i) => put(String(i))));
  const codes = results.map((r) => r.status).sort();
  t.is(codes.filter((c) => c === 200).length, 1, String(codes));
  t.is(codes.filter((c) => c === 409).length, 7, String(codes));
  const conflict = (await results.find((r) => r.status === 409)!.json()) as { reason: string };
  t.is(conflict.reason, 'Conflict');
});

test('watch from a compacted resourceVersion answers 410 Expired; bookmarks come when asked', async (t) => {
  const server = await startApiServer({ bookmarkIntervalMs: 100 });
  t.teardown(() => server.close());
  const cm = server.catalog.byKind('', 'v1', 'ConfigMap')!;
  const first = await server.registry.create(cm, 'default', {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'x' },
  });
  await server.registry.create(cm, 'default', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'y' } });
  server.registry.cache.compact(server.registry.cache.revision);
  const gone = await fetch(
    `${server.url}/api/v1/namespaces/default/configmaps?watch=1&resourceVersion=${first.metadata.resourceVersion}`,
  );
  const line = JSON.parse((await gone.text()).trim()) as { type: string; object: { code: number; reason: string } };
  t.is(line.type, 'ERROR');
  t.is(line.object.code, 410);
  t.is(line.object.reason, 'Expired');
  const ctrl = new AbortController();
  const res = await fetch(
    `${server.url}/api/v1/namespaces/default/configmaps?watch=1&allowWatchBookmarks=true&resourceVersion=${server.registry.cache.revision}`,
    { signal: ctrl.signal },
  );
  const reader = res.body!.getReader();
  const { value } = await reader.read();
  ctrl.abort();
  const event = JSON.parse(new TextDecoder().decode(value).split('\n')[0]!) as {
    type: string;
    object: { metadata: { resourceVersion: string } };
  };
  t.is(event.type, 'BOOKMARK');
  t.is(event.object.metadata.resourceVersion, String(server.registry.cache.revision));
});

test('a PUT to a missing object is 404, not a create (a stale copy cannot resurrect a deleted object)', async (t) => {
  const server = await startApiServer();
  t.teardown(() => server.close());
  const res = await fetch(`${server.url}/api/v1/namespaces/default/configmaps/ghost`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'ghost', resourceVersion: '68' } }),
  });
  t.is(res.status, 404);
  t.is(((await res.json()) as { reason: string }).reason, 'NotFound');
});
