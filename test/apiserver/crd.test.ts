import test from 'ava';
import YAML from 'yaml';
import { CRONTAB_CRD, crontab, installCrd } from '../helpers/crd.js';
import { eventually } from '../helpers/eventually.js';
import { startTestServer } from '../helpers/kubectl.js';

const CRONTABS = '/apis/stable.example.com/v1/namespaces/default/crontabs';

interface Answer {
  status: number;
  body: Record<string, unknown>;
  headers: Headers;
}

async function call(
  base: string,
  method: string,
  path: string,
  body?: unknown,
  type = 'application/json',
): Promise<Answer> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': type },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {}, headers: res.headers };
}

function causes(a: Answer): Array<{ field?: string; message: string }> {
  return ((a.body.details as { causes?: Array<{ field?: string; message: string }> } | undefined)?.causes ?? []).map(
    (c) => ({ field: c.field, message: c.message }),
  );
}

test('a new CRD is served at once: discovery, OpenAPI, kubectl get/explain, create, patch, apply, delete', async (t) => {
  const { server, kubectl } = await startTestServer(t);
  await installCrd(kubectl, CRONTAB_CRD, 'crontabs.stable.example.com');

  const crds = await kubectl(['get', 'crds']);
  t.regex(crds.stdout, /NAME\s+CREATED AT\ncrontabs\.stable\.example\.com\s+\d{4}-\d\d-\d\dT/);
  const resources = await kubectl(['api-resources', '--api-group=stable.example.com']);
  t.regex(resources.stdout, /crontabs\s+ct\s+stable\.example\.com\/v1\s+true\s+CronTab/);
  const index = (await (await fetch(`${server.url}/openapi/v3`)).json()) as { paths: Record<string, unknown> };
  t.true('apis/stable.example.com/v1' in index.paths, 'OpenAPI v3 lists the new group/version');

  const explain = await kubectl(['explain', 'crontabs.spec.cronSpec']);
  t.is(explain.code, 0, explain.stderr);
  t.regex(explain.stdout, /KIND:\s+CronTab/);
  t.regex(explain.stdout, /The schedule, in cron format\./);
  const explainRoot = await kubectl(['explain', 'ct']);
  t.regex(explainRoot.stdout, /CronTab runs an image on a schedule\./);
  t.regex(explainRoot.stdout, /metadata\s+<\w*ObjectMeta>/);

  const created = await kubectl(['create', '-f', '-'], crontab('nightly'));
  t.is(created.code, 0, created.stderr);
  t.regex(created.stdout, /crontab\.stable\.example\.com\/nightly created/);
  const obj = JSON.parse((await kubectl(['get', 'ct', 'nightly', '-o', 'json'])).stdout);
  t.is(obj.apiVersion, 'stable.example.com/v1');
  t.is(obj.metadata.generation, 1);
  t.truthy(obj.metadata.uid);
  t.is((await kubectl(['get', 'crontabs', '-o', 'name'])).stdout.trim(), 'crontab.stable.example.com/nightly');
  t.regex((await kubectl(['get', 'all'])).stdout, /crontab\.stable\.example\.com\/nightly/, 'category "all"');

  // patches: merge and JSON patch work; strategic merge is 415 as for any custom resource
  t.is((await kubectl(['patch', 'ct', 'nightly', '--type=merge', '-p', '{"spec":{"image":"v2"}}'])).code, 0);
  const jp = await kubectl([
    'patch',
    'ct',
    'nightly',
    '--type=json',
    '-p',
    '[{"op":"replace","path":"/spec/replicas","value":3}]',
  ]);
  t.is(jp.code, 0, jp.stderr);
  const smp = await kubectl(['patch', 'ct', 'nightly', '-p', '{"spec":{"image":"v3"}}']);
  t.not(smp.code, 0);
  t.regex(smp.stderr, /application\/strategic-merge-patch\+json is not supported/);
  const raw = await call(
    server.url,
    'PATCH',
    `${CRONTABS}/nightly`,
    { spec: { image: 'v3' } },
    'application/strategic-merge-patch+json',
  );
  t.is(raw.status, 415);
  t.is(raw.body.reason, 'UnsupportedMediaType');
  const patched = JSON.parse((await kubectl(['get', 'ct', 'nightly', '-o', 'json'])).stdout);
  t.is(patched.spec.image, 'v2');
  t.is(patched.spec.replicas, 3);
  t.is(patched.metadata.generation, 3);

  // client-side apply: created, unchanged, configured
  t.regex(
    (await kubectl(['apply', '-f', '-'], crontab('hourly'))).stdout,
    /crontab\.stable\.example\.com\/hourly created/,
  );
  t.regex((await kubectl(['apply', '-f', '-'], crontab('hourly'))).stdout, /unchanged/);
  t.regex((await kubectl(['apply', '-f', '-'], crontab('hourly', { image: 'x' }))).stdout, /configured/);

  const deleted = await kubectl(['delete', 'ct', 'nightly', 'hourly']);
  t.is(deleted.code, 0, deleted.stderr);
  t.is((await kubectl(['get', 'ct', '-o', 'name'])).stdout.trim(), '');
});

test('server-side apply on custom resources: list-map keys from the schema merge managers, conflicts are 409', async (t) => {
  const { server, kubectl } = await startTestServer(t);
  await installCrd(kubectl, CRONTAB_CRD, 'crontabs.stable.example.com');
  const first = await kubectl(
    ['apply', '--server-side', '-f', '-'],
    crontab('ssa', { ports: [{ name: 'http', port: 80 }], tags: ['a'] }),
  );
  t.is(first.code, 0, first.stderr);
  const second = await kubectl(
    ['apply', '--server-side', '--field-manager=metrics', '-f', '-'],
    YAML.stringify({
      apiVersion: 'stable.example.com/v1',
      kind: 'CronTab',
      metadata: { name: 'ssa' },
      spec: { cronSpec: '* * * * */5', ports: [{ name: 'metrics', port: 9090 }], tags: ['b'] },
    }),
  );
  t.is(second.code, 0, second.stderr);
  const got = (await call(server.url, 'GET', `${CRONTABS}/ssa`)).body as {
    spec: { ports: unknown[]; tags: string[] };
    metadata: { managedFields: Array<{ manager: string; operation: string; fieldsV1: Record<string, unknown> }> };
  };
  t.deepEqual(got.spec.ports, [
    { name: 'http', port: 80 },
    { name: 'metrics', port: 9090 },
  ]);
  t.deepEqual(got.spec.tags, ['a', 'b'], 'a set list merges its members');
  const metrics = got.metadata.managedFields.find((m) => m.manager === 'metrics')!;
  t.is(metrics.operation, 'Apply');
  t.deepEqual(Object.keys((metrics.fieldsV1['f:spec'] as Record<string, Record<string, unknown>>)['f:ports']!), [
    'k:{"name":"metrics"}',
  ]);
  // The first manager drops its port: only its own entry goes.
  const third = await kubectl(['apply', '--server-side', '-f', '-'], crontab('ssa', { tags: ['a'] }));
  t.is(third.code, 0, third.stderr);
  const after = (await call(server.url, 'GET', `${CRONTABS}/ssa`)).body as { spec: { ports: unknown[] } };
  t.deepEqual(after.spec.ports, [{ name: 'metrics', port: 9090 }]);
  const conflict = await kubectl(
    ['apply', '--server-side', '-f', '-'],
    crontab('ssa', { image: 'other', replicas: 1, tags: ['a'] }),
  );
  t.is(conflict.code, 0, 'no conflict for fields only this manager owns');
  const clash = await kubectl(
    ['apply', '--server-side', '--field-manager=metrics', '-f', '-'],
    YAML.stringify({
      apiVersion: 'stable.example.com/v1',
      kind: 'CronTab',
      metadata: { name: 'ssa' },
      spec: { image: 'mine' },
    }),
  );
  t.not(clash.code, 0);
  t.regex(clash.stderr, /conflict with "kubectl"/);
  t.regex(clash.stderr, /\.spec\.image/);
});

test('a custom resource that violates its schema is 422 naming each field, in kube words', async (t) => {
  const { server, kubectl } = await startTestServer(t);
  await installCrd(kubectl, CRONTAB_CRD, 'crontabs.stable.example.com');
  const bad = await call(server.url, 'POST', CRONTABS, {
    apiVersion: 'stable.example.com/v1',
    kind: 'CronTab',
    metadata: { name: 'bad' },
    spec: {
      cronSpec: 'not cron',
      image: 5,
      replicas: 20,
      policy: 'Sometimes',
      ports: [{ name: 'a' }, { name: 'a', port: 2 }, { port: 3 }],
      tags: ['x', 'x'],
    },
  });
  t.is(bad.status, 422);
  t.is(bad.body.reason, 'Invalid');
  t.deepEqual((bad.body.details as { group: string; kind: string; name: string }).kind, 'CronTab');
  const got = causes(bad);
  const expect = [
    {
      field: 'spec.cronSpec',
      message: `Invalid value: "not cron": spec.cronSpec in body should match '^(\\d+|\\*)(/\\d+)?(\\s+(\\d+|\\*)(/\\d+)?){4}$'`,
    },
    { field: 'spec.image', message: 'Invalid value: "integer": spec.image in body must be of type string: "integer"' },
    { field: 'spec.replicas', message: 'Invalid value: 20: spec.replicas in body should be less than or equal to 10' },
    { field: 'spec.policy', message: 'Unsupported value: "Sometimes": supported values: "Allow", "Forbid", "Replace"' },
    { field: 'spec.ports[2].name', message: 'Required value' },
    { field: 'spec.ports[1]', message: 'Duplicate value: {"name":"a"}' },
    { field: 'spec.tags[1]', message: 'Duplicate value: "x"' },
  ];
  for (const e of expect)
    t.true(
      got.some((c) => c.field === e.field && c.message === e.message),
      `${JSON.stringify(e)} in ${JSON.stringify(got)}`,
    );
  t.regex(String(bad.body.message), /^CronTab\.stable\.example\.com "bad" is invalid: /);
  const missing = await kubectl(
    ['create', '-f', '-'],
    YAML.stringify({
      apiVersion: 'stable.example.com/v1',
      kind: 'CronTab',
      metadata: { name: 'm' },
      spec: { image: 'x' },
    }),
  );
  t.not(missing.code, 0);
  t.regex(missing.stderr, /The CronTab "m" is invalid: spec\.cronSpec: Required value/);
  // Updates are validated too, and nothing is stored from a refused write.
  t.is((await kubectl(['create', '-f', '-'], crontab('ok'))).code, 0);
  const update = await kubectl(['patch', 'ct', 'ok', '--type=merge', '-p', '{"spec":{"replicas":-1}}']);
  t.regex(
    update.stderr,
    /spec\.replicas: Invalid value: -1: spec\.replicas in body should be greater than or equal to 0/,
  );
  t.is(
    (await call(server.url, 'GET', `${CRONTABS}/ok`)).body.spec &&
      ((await call(server.url, 'GET', `${CRONTABS}/ok`)).body.spec as { replicas: number }).replicas,
    1,
  );
  t.is((await call(server.url, 'GET', `${CRONTABS}/bad`)).status, 404);
});

test('defaulting, and pruning of unknown fields except under x-kubernetes-preserve-unknown-fields', async (t) => {
  const { server, kubectl } = await startTestServer(t);
  await installCrd(kubectl, CRONTAB_CRD, 'crontabs.stable.example.com');
  const body = {
    apiVersion: 'stable.example.com/v1',
    kind: 'CronTab',
    metadata: { name: 'p', labels: { a: 'b' }, bogus: 1 },
    spec: {
      cronSpec: '* * * * *',
      junk: { deep: true },
      extra: { anything: { goes: [1, 2] } },
      note: null,
      policy: null,
    },
    status: { replicas: 5 },
    topLevel: 'x',
  };
  const warned = await call(server.url, 'POST', CRONTABS, body);
  t.is(warned.status, 201);
  const warning = warned.headers.get('warning') ?? '';
  t.regex(warning, /unknown field \\"spec\.junk\\"/);
  t.regex(warning, /unknown field \\"topLevel\\"/);
  t.regex(warning, /unknown field \\"metadata\.bogus\\"/);
  const stored = (await call(server.url, 'GET', `${CRONTABS}/p`)).body as Record<string, Record<string, unknown>>;
  t.deepEqual(
    stored.spec,
    {
      cronSpec: '* * * * *',
      extra: { anything: { goes: [1, 2] } },
      note: null,
      replicas: 1,
    },
    'unknown fields pruned, the preserved subtree kept, replicas defaulted, a non-nullable null dropped, a nullable one kept',
  );
  t.is(stored.topLevel, undefined);
  t.is(stored.status, undefined, 'status is set through the status subresource only');
  t.deepEqual(stored.metadata!.labels, { a: 'b' });

  const strict = await call(server.url, 'POST', `${CRONTABS}?fieldValidation=Strict`, {
    ...body,
    metadata: { name: 'q' },
  });
  t.is(strict.status, 400);
  t.regex(String(strict.body.message), /strict decoding error: .*unknown field "spec\.junk"/);
  const kubectlStrict = await kubectl(
    ['create', '-f', '-'],
    YAML.stringify({ ...body, metadata: { name: 'r' }, status: undefined }),
  );
  t.not(kubectlStrict.code, 0, 'kubectl validates strictly by default');
  t.regex(kubectlStrict.stderr, /unknown field "spec\.junk"/);
  const lax = await kubectl(
    ['create', '--validate=false', '-f', '-'],
    YAML.stringify({ ...body, metadata: { name: 'r' }, status: undefined }),
  );
  t.is(lax.code, 0, lax.stderr);
});

test('printer columns: the CRD columns with JSONPath (filters too) and priority; no columns → NAME, AGE', async (t) => {
  const { server, kubectl } = await startTestServer(t);
  await installCrd(kubectl, CRONTAB_CRD, 'crontabs.stable.example.com');
  t.is((await kubectl(['create', '-f', '-'], crontab('c1', { replicas: 2 }))).code, 0);
  await call(server.url, 'PUT', `${CRONTABS}/c1/status`, {
    ...(await call(server.url, 'GET', `${CRONTABS}/c1`)).body,
    status: {
      conditions: [
        { type: 'Synced', status: 'False' },
        { type: 'Ready', status: 'True' },
      ],
    },
  });
  t.is((await kubectl(['create', '-f', '-'], crontab('c2'))).code, 0);
  const table = await kubectl(['get', 'ct']);
  t.regex(table.stdout, /^NAME\s+SPEC\s+REPLICAS\s+READY\s+AGE\n/);
  t.regex(table.stdout, /\nc1\s+\* \* \* \* \*\/5\s+2\s+True\s+\d+s\n/);
  t.regex(table.stdout, /\nc2\s+\* \* \* \* \*\/5\s+1\s+\d+s/, 'a missing cell is null: kubectl leaves it blank');
  const wide = await kubectl(['get', 'ct', '-o', 'wide']);
  t.regex(wide.stdout, /^NAME\s+SPEC\s+REPLICAS\s+READY\s+IMAGE\s+AGE\nc1\s+.*my-cron-image\s+\d+s\n/);

  const plain = CRONTAB_CRD.replace(/crontabs/g, 'plains')
    .replace(/crontab/g, 'plain')
    .replace(/CronTab/g, 'Plain')
    .replace('shortNames: [ct], ', '')
    .replace(/ {4}additionalPrinterColumns:\n( {4}- .*\n)+/, '');
  await installCrd(kubectl, plain, 'plains.stable.example.com');
  t.is((await kubectl(['create', '-f', '-'], crontab('p1').replace('CronTab', 'Plain'))).code, 0);
  t.regex((await kubectl(['get', 'plains'])).stdout, /^NAME\s+AGE\np1\s+\d+s\n$/);
});

test('status and scale subresources: /status owns status, kubectl scale sets the replicas path', async (t) => {
  const { server, kubectl } = await startTestServer(t);
  await installCrd(kubectl, CRONTAB_CRD, 'crontabs.stable.example.com');
  t.is((await kubectl(['create', '-f', '-'], crontab('s'))).code, 0);
  const cur = (await call(server.url, 'GET', `${CRONTABS}/s`)).body;
  const statusPut = await call(server.url, 'PUT', `${CRONTABS}/s/status`, {
    ...cur,
    spec: { cronSpec: '1 * * * *' },
    status: { replicas: 1, labelSelector: 'app=s' },
  });
  t.is(statusPut.status, 200);
  const afterStatus = (await call(server.url, 'GET', `${CRONTABS}/s`)).body as {
    spec: { cronSpec: string };
    status: unknown;
    metadata: { generation: number };
  };
  t.is(afterStatus.spec.cronSpec, '* * * * */5', '/status ignores the spec');
  t.deepEqual(afterStatus.status, { replicas: 1, labelSelector: 'app=s' });
  t.is(afterStatus.metadata.generation, 1, 'a status change does not bump generation');
  const mainPut = await call(server.url, 'PUT', `${CRONTABS}/s`, { ...afterStatus, status: { replicas: 9 } });
  t.is(mainPut.status, 200);
  t.deepEqual(
    (mainPut.body as { status: unknown }).status,
    { replicas: 1, labelSelector: 'app=s' },
    'the main resource ignores status',
  );
  const badStatus = await call(
    server.url,
    'PATCH',
    `${CRONTABS}/s/status`,
    { status: { replicas: 'many' } },
    'application/merge-patch+json',
  );
  t.is(badStatus.status, 422, 'status is validated by the schema too');

  const scaled = await kubectl(['scale', 'ct', 's', '--replicas=4']);
  t.is(scaled.code, 0, scaled.stderr);
  const scale = (await call(server.url, 'GET', `${CRONTABS}/s/scale`)).body;
  t.like(scale, {
    apiVersion: 'autoscaling/v1',
    kind: 'Scale',
    spec: { replicas: 4 },
    status: { replicas: 1, selector: 'app=s' },
  });
  const obj = (await call(server.url, 'GET', `${CRONTABS}/s`)).body as {
    spec: { replicas: number };
    metadata: { generation: number };
  };
  t.is(obj.spec.replicas, 4);
  t.is(obj.metadata.generation, 2);
  const tooMany = await kubectl(['scale', 'ct', 's', '--replicas=11']);
  t.not(tooMany.code, 0, 'the schema bounds scaling too');
  t.regex(tooMany.stderr, /spec\.replicas in body should be less than or equal to 10/);
  const statusPatch = await kubectl([
    'patch',
    'ct',
    's',
    '--subresource=status',
    '--type=merge',
    '-p',
    '{"status":{"replicas":4}}',
  ]);
  t.is(statusPatch.code, 0, statusPatch.stderr);
});

const MULTI = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.kitfed.io}
spec:
  group: example.kitfed.io
  scope: Cluster
  names: {plural: widgets, kind: Widget}
  versions:
  - name: v1alpha1
    served: false
    storage: false
    schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
  - name: v1beta1
    served: true
    storage: false
    additionalPrinterColumns: [{name: Size, type: string, jsonPath: .spec.size}]
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec: {type: object, properties: {size: {type: string}, color: {type: string, default: red}}}
  - name: v1
    served: true
    storage: true
    additionalPrinterColumns: [{name: Size, type: string, jsonPath: .spec.size}, {name: Color, type: string, jsonPath: .spec.color}]
    selectableFields: [{jsonPath: .spec.color}]
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec: {type: object, properties: {size: {type: string, enum: [S, M, L]}, color: {type: string}}}
`;

test('several versions (conversion None): each has its own schema and columns, objects are stored in the storage version', async (t) => {
  const { server, kubectl } = await startTestServer(t);
  await installCrd(kubectl, MULTI, 'widgets.example.kitfed.io');
  const group = (await call(server.url, 'GET', '/apis/example.kitfed.io')).body as {
    versions: Array<{ version: string }>;
    preferredVersion: { version: string };
  };
  t.deepEqual(
    group.versions.map((v) => v.version),
    ['v1', 'v1beta1'],
  );
  t.is(group.preferredVersion.version, 'v1');
  t.is(
    (await call(server.url, 'GET', '/apis/example.kitfed.io/v1alpha1/widgets')).status,
    404,
    'an unserved version is 404',
  );

  const viaBeta = await call(server.url, 'POST', '/apis/example.kitfed.io/v1beta1/widgets', {
    apiVersion: 'example.kitfed.io/v1beta1',
    kind: 'Widget',
    metadata: { name: 'w' },
    spec: { size: 'XL' },
  });
  t.is(viaBeta.status, 201, JSON.stringify(viaBeta.body));
  t.is(viaBeta.body.apiVersion, 'example.kitfed.io/v1beta1');
  t.deepEqual(viaBeta.body.spec, { size: 'XL', color: 'red' }, 'v1beta1 defaults color and has no enum on size');
  const raw = await server.registry.store.get('/registry/example.kitfed.io/widgets/w');
  t.is(
    (JSON.parse(raw!.value) as { apiVersion: string }).apiVersion,
    'example.kitfed.io/v1',
    'stored in the storage version',
  );
  const viaV1 = await call(server.url, 'GET', '/apis/example.kitfed.io/v1/widgets/w');
  t.is(viaV1.body.apiVersion, 'example.kitfed.io/v1');
  const refused = await call(server.url, 'POST', '/apis/example.kitfed.io/v1/widgets', {
    apiVersion: 'example.kitfed.io/v1',
    kind: 'Widget',
    metadata: { name: 'w2' },
    spec: { size: 'XL' },
  });
  t.is(refused.status, 422, 'v1 has its own schema');
  t.regex((await kubectl(['get', 'widgets.v1beta1.example.kitfed.io'])).stdout, /^NAME\s+SIZE\n/);
  t.regex((await kubectl(['get', 'widgets.v1.example.kitfed.io'])).stdout, /^NAME\s+SIZE\s+COLOR\nw\s+XL\s+red\n/);
  t.is(
    (await kubectl(['get', 'widgets', '--field-selector=spec.color=red', '-o', 'name'])).stdout.trim(),
    'widget.example.kitfed.io/w',
  );
  t.is((await kubectl(['get', 'widgets', '--field-selector=spec.color=blue', '-o', 'name'])).stdout.trim(), '');

  // Moving the storage version records both in status.storedVersions.
  const moved = MULTI.replace('served: true\n    storage: false', 'served: true\n    storage: true').replace(
    /(- name: v1\n {4}served: true\n {4})storage: true/,
    '$1storage: false',
  );
  t.is((await kubectl(['apply', '-f', '-'], moved)).code, 0);
  await eventually(async () => {
    const crd = JSON.parse((await kubectl(['get', 'crd', 'widgets.example.kitfed.io', '-o', 'json'])).stdout);
    t.deepEqual(crd.status.storedVersions, ['v1', 'v1beta1']);
  });
  const v2 = await call(server.url, 'POST', '/apis/example.kitfed.io/v1/widgets', {
    apiVersion: 'example.kitfed.io/v1',
    kind: 'Widget',
    metadata: { name: 'w3' },
    spec: { size: 'S' },
  });
  t.is(v2.status, 201);
  const raw3 = await server.registry.store.get('/registry/example.kitfed.io/widgets/w3');
  t.is((JSON.parse(raw3!.value) as { apiVersion: string }).apiVersion, 'example.kitfed.io/v1beta1');
  t.is(
    (await call(server.url, 'GET', '/apis/example.kitfed.io/v1/widgets/w3')).body.apiVersion,
    'example.kitfed.io/v1',
  );
});

function crdWith(
  patch: (spec: Record<string, unknown>) => void,
  name = 'things.example.kitfed.io',
): Record<string, unknown> {
  const spec: Record<string, unknown> = {
    group: 'example.kitfed.io',
    scope: 'Namespaced',
    names: { plural: 'things', kind: 'Thing' },
    versions: [
      {
        name: 'v1',
        served: true,
        storage: true,
        schema: {
          openAPIV3Schema: {
            type: 'object',
            properties: { spec: { type: 'object', properties: { a: { type: 'string' } } } },
          },
        },
      },
    ],
  };
  patch(spec);
  return { apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', metadata: { name }, spec };
}

test('invalid CRDs are refused with 422 naming the field, and nothing is stored', async (t) => {
  const { server, kubectl } = await startTestServer(t);
  const post = (body: unknown) =>
    call(server.url, 'POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', body);
  const v = (s: Record<string, unknown>) => (s.versions as Array<Record<string, unknown>>)[0]!;
  const schema = (s: Record<string, unknown>) =>
    (v(s).schema as { openAPIV3Schema: Record<string, unknown> }).openAPIV3Schema;
  const cases: Array<[string, Record<string, unknown>, string, RegExp]> = [
    [
      'name ≠ plural.group',
      crdWith(() => {}, 'other.example.kitfed.io'),
      'metadata.name',
      /must be spec\.names\.plural\+"\."\+spec\.group/,
    ],
    [
      'group without a dot',
      crdWith((s) => (s.group = 'example'), 'things.example'),
      'spec.group',
      /should be a domain with at least one dot/,
    ],
    [
      'bad plural',
      crdWith((s) => ((s.names as Record<string, unknown>).plural = 'Things'), 'Things.example.kitfed.io'),
      'spec.names.plural',
      /DNS-1035 label/,
    ],
    [
      'kind = listKind',
      crdWith((s) => ((s.names as Record<string, unknown>).listKind = 'Thing')),
      'spec.names.listKind',
      /kind and listKind may not be the same/,
    ],
    [
      'scope',
      crdWith((s) => (s.scope = 'Global')),
      'spec.scope',
      /Unsupported value: "Global": supported values: "Cluster", "Namespaced"/,
    ],
    [
      'no storage version',
      crdWith((s) => (v(s).storage = false)),
      'spec.versions',
      /must have exactly one version marked as storage version/,
    ],
    [
      'no schema',
      crdWith((s) => delete v(s).schema),
      'spec.versions[0].schema.openAPIV3Schema',
      /Required value: schemas are required/,
    ],
    [
      'non-structural: a field without a type',
      crdWith(
        (s) =>
          ((schema(s).properties as Record<string, Record<string, unknown>>).spec = {
            properties: { a: { type: 'string' } },
          }),
      ),
      'spec.versions[0].schema.openAPIV3Schema.properties[spec].type',
      /Required value: must not be empty for specified object fields/,
    ],
    [
      'non-structural: an array without items',
      crdWith((s) => ((schema(s).properties as Record<string, Record<string, unknown>>).list = { type: 'array' })),
      'spec.versions[0].schema.openAPIV3Schema.properties[list].items',
      /Required value: must be specified/,
    ],
    [
      '$ref',
      crdWith(
        (s) => ((schema(s).properties as Record<string, Record<string, unknown>>).r = { $ref: '#/definitions/x' }),
      ),
      'spec.versions[0].schema.openAPIV3Schema.properties[r].$ref',
      /Forbidden: \$ref is not supported/,
    ],
    [
      'properties and additionalProperties',
      crdWith((s) => (schema(s).additionalProperties = { type: 'string' })),
      'spec.versions[0].schema.openAPIV3Schema.additionalProperties',
      /additionalProperties and properties are mutual exclusive/,
    ],
    [
      'a default that fails its own schema',
      crdWith(
        (s) =>
          ((schema(s).properties as Record<string, Record<string, unknown>>).n = { type: 'integer', default: 'x' }),
      ),
      'spec.versions[0].schema.openAPIV3Schema.properties[n].default',
      /must be of type integer/,
    ],
    [
      'list-type map without keys',
      crdWith(
        (s) =>
          ((schema(s).properties as Record<string, Record<string, unknown>>).m = {
            type: 'array',
            'x-kubernetes-list-type': 'map',
            items: { type: 'object' },
          }),
      ),
      'spec.versions[0].schema.openAPIV3Schema.properties[m].x-kubernetes-list-map-keys',
      /must not be empty if x-kubernetes-list-type is map/,
    ],
    [
      'webhook conversion',
      crdWith((s) => (s.conversion = { strategy: 'Webhook' })),
      'spec.conversion.strategy',
      /Unsupported value: "Webhook": supported values: "None"/,
    ],
    [
      'a protected group without approval',
      crdWith((s) => (s.group = 'thing.k8s.io'), 'things.thing.k8s.io'),
      'metadata.annotations[api-approved.kubernetes.io]',
      /protected groups must have approval annotation/,
    ],
    [
      'scale path outside .spec',
      crdWith(
        (s) =>
          (v(s).subresources = { scale: { specReplicasPath: '.replicas', statusReplicasPath: '.status.replicas' } }),
      ),
      'spec.versions[0].subresources.scale.specReplicasPath',
      /should be a json path under \.spec/,
    ],
    [
      'printer column type',
      crdWith((s) => (v(s).additionalPrinterColumns = [{ name: 'A', type: 'float', jsonPath: '.spec.a' }])),
      'spec.versions[0].additionalPrinterColumns[0].type',
      /must be one of boolean,date,integer,number,string/,
    ],
  ];
  for (const [what, body, field, message] of cases) {
    const res = await post(body);
    t.is(res.status, 422, `${what}: ${JSON.stringify(res.body)}`);
    const c = causes(res).find((x) => x.field === field);
    t.truthy(c, `${what}: no cause for ${field} in ${JSON.stringify(causes(res))}`);
    if (c) t.regex(c.message, message, what);
    t.regex(String(res.body.message), /^CustomResourceDefinition\.apiextensions\.k8s\.io ".*" is invalid: /, what);
  }
  const listed = await kubectl(['get', 'crds', '-o', 'name']);
  t.is(listed.stdout.trim(), '', 'nothing was stored');
  const viaKubectl = await kubectl(['create', '-f', '-'], YAML.stringify(crdWith((s) => (s.scope = 'Global'))));
  t.regex(
    viaKubectl.stderr,
    /The CustomResourceDefinition "things\.example\.kitfed\.io" is invalid: spec\.scope: Unsupported value/,
  );
  // An accepted CRD may not change its group, plural or (once established) scope.
  await installCrd(kubectl, YAML.stringify(crdWith(() => {})), 'things.example.kitfed.io');
  const cur = (
    await call(server.url, 'GET', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/things.example.kitfed.io')
  ).body;
  const scoped = await call(
    server.url,
    'PUT',
    '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/things.example.kitfed.io',
    {
      ...cur,
      spec: { ...(cur.spec as object), scope: 'Cluster' },
    },
  );
  t.is(scoped.status, 422);
  t.deepEqual(causes(scoped), [{ field: 'spec.scope', message: 'Invalid value: "Cluster": field is immutable' }]);
});

test('a CRD whose names are taken is reported NamesAccepted=False and served once they are free', async (t) => {
  const { server, kubectl } = await startTestServer(t);
  await installCrd(kubectl, CRONTAB_CRD, 'crontabs.stable.example.com');
  const second = CRONTAB_CRD.replace(/crontabs/g, 'crons')
    .replace('singular: crontab', 'singular: cron')
    .replace(/CronTab/g, 'Cron');
  t.is(
    (await kubectl(['apply', '-f', '-'], second)).code,
    0,
    'a conflicting CRD is stored (kube reports, does not refuse)',
  );
  const conditions = await eventually(async () => {
    const crd = JSON.parse((await kubectl(['get', 'crd', 'crons.stable.example.com', '-o', 'json'])).stdout);
    const c = crd.status.conditions as Array<{ type: string; status: string; reason: string; message: string }>;
    if (!c?.length) return false;
    return c;
  });
  t.like(
    conditions.find((c) => c.type === 'NamesAccepted'),
    {
      status: 'False',
      reason: 'ShortNamesConflict',
      message: '"ct" is already in use',
    },
  );
  t.like(
    conditions.find((c) => c.type === 'Established'),
    { status: 'False', reason: 'NotAccepted' },
  );
  t.is((await call(server.url, 'GET', '/apis/stable.example.com/v1/crons')).status, 404, 'not served');
  const waited = await kubectl(['wait', '--for=condition=Established', 'crd/crons.stable.example.com', '--timeout=1s']);
  t.not(waited.code, 0);

  // A built-in resource's names are taken too.
  const clash = CRONTAB_CRD.replace(/crontabs\.stable\.example\.com/, 'clusters.federation.kitfed.io')
    .replace('group: stable.example.com', 'group: federation.kitfed.io')
    .replace(
      'plural: crontabs, singular: crontab, kind: CronTab, shortNames: [ct]',
      'plural: clusters, singular: cluster, kind: Cluster',
    );
  t.is((await kubectl(['apply', '-f', '-'], clash)).code, 0);
  await eventually(async () => {
    const crd = JSON.parse((await kubectl(['get', 'crd', 'clusters.federation.kitfed.io', '-o', 'json'])).stdout);
    t.like(crd.status.conditions?.[0], { type: 'NamesAccepted', status: 'False', reason: 'PluralConflict' });
  });
  t.regex(
    (await kubectl(['get', 'clusters'])).stderr + (await kubectl(['get', 'clusters'])).stdout,
    /No resources found|NAME\s+READY/,
  );

  // Deleting the holder frees the short name: the waiting CRD is accepted and served.
  t.is((await kubectl(['delete', 'crd', 'crontabs.stable.example.com'])).code, 0);
  const established = await kubectl([
    'wait',
    '--for=condition=Established',
    'crd/crons.stable.example.com',
    '--timeout=20s',
  ]);
  t.is(established.code, 0, established.stderr);
  t.is((await call(server.url, 'GET', '/apis/stable.example.com/v1/crons')).status, 200);
});
