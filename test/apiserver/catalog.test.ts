import test from 'ava';
import type { ResourceType } from '../../services/apiserver/resources.js';
import { startTestServer } from '../helpers/kubectl.js';

const widgets: ResourceType = {
  group: 'example.kitfed.io',
  version: 'v1',
  kind: 'Widget',
  plural: 'widgets',
  singular: 'widget',
  shortNames: ['wd'],
  namespaced: true,
  columns: [{ name: 'Size', type: 'string', value: 'spec.size' }],
};

test('a type added at run time is served at once (discovery, OpenAPI, kubectl, watch) and gone once removed', async (t) => {
  const { server, kubectl } = await startTestServer(t);
  const before = await kubectl(['api-resources', '--api-group=example.kitfed.io', '-o', 'name']);
  t.is(before.stdout.trim(), '');
  const index = (await (await fetch(`${server.url}/openapi/v3`)).json()) as { paths: Record<string, unknown> };
  t.false('apis/example.kitfed.io/v1' in index.paths);

  const change = server.catalog.set('widgets.example.kitfed.io', [widgets]);
  t.deepEqual(
    change.added.map((x) => x.plural),
    ['widgets'],
  );
  const listed = await kubectl(['api-resources', '--api-group=example.kitfed.io']);
  t.regex(listed.stdout, /widgets\s+wd\s+example\.kitfed\.io\/v1\s+true\s+Widget/);
  const doc = await fetch(`${server.url}/openapi/v3/apis/example.kitfed.io/v1`);
  t.is(doc.status, 200, 'the OpenAPI document of the new group/version exists');

  const created = await kubectl(
    ['apply', '-f', '-'],
    'apiVersion: example.kitfed.io/v1\nkind: Widget\nmetadata: {name: w1}\nspec: {size: large}\n',
  );
  t.is(created.code, 0, created.stderr);
  const table = await kubectl(['get', 'wd']);
  t.regex(table.stdout, /NAME\s+SIZE\s+AGE\n\s*w1\s+large\s+/);

  // A watch on the type ends when the type is no longer served.
  const ctrl = new AbortController();
  const res = await fetch(`${server.url}/apis/example.kitfed.io/v1/namespaces/default/widgets?watch=1`, {
    signal: ctrl.signal,
  });
  t.teardown(() => ctrl.abort());
  const body = res.text(); // the response started: the watch is registered
  const removed = server.catalog.set('widgets.example.kitfed.io', []);
  t.deepEqual(
    removed.removed.map((x) => x.plural),
    ['widgets'],
  );
  t.regex(await body, /"ADDED"/, 'the watch delivered the object, then ended');
  const gone = await fetch(`${server.url}/apis/example.kitfed.io/v1/namespaces/default/widgets`);
  t.is(gone.status, 404);
  const after = await fetch(`${server.url}/openapi/v3/apis/example.kitfed.io/v1`);
  t.is(after.status, 404);
});

test('a run-time type may not take a resource already served', (t) => {
  return startTestServer(t).then(({ server }) => {
    const clash: ResourceType = { ...widgets, group: 'apps', plural: 'deployments', kind: 'Deployment' };
    t.throws(() => server.catalog.set('x', [clash]), { message: /apps\/v1\/deployments is already served/ });
    t.is(server.catalog.byResource('apps', 'v1', 'deployments')?.model, 'V1Deployment');
  });
});
