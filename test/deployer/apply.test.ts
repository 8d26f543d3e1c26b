import test from 'ava';
import { writeFile, unlink } from 'node:fs/promises';
import path from 'node:path';
import { deploy, ManifestError } from '../../services/deployer/index.js';
import type { KubeObject } from '../../services/core/kube.js';
import { clientFor, configMap, deployment, namespace, service, startClusters, writeFolder } from './helpers.js';

const ingress = (name: string, ns: string): KubeObject => ({
  apiVersion: 'networking.k8s.io/v1',
  kind: 'Ingress',
  metadata: { name, namespace: ns },
  spec: {
    rules: [
      {
        host: `${name}.example.com`,
        http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name, port: { number: 80 } } } }] },
      },
    ],
  },
});

function app(ns: string, tag: string): KubeObject[] {
  return [
    ingress('web', ns),
    deployment('web', `nginx:${tag}`, { namespace: ns }),
    service('web', ns),
    configMap('web-config', { tag }, ns),
    {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'web-secret', namespace: ns },
      stringData: { password: 'hunter2-secret' },
    },
    namespace(ns),
  ];
}

test(
  'applies every folder to its cluster in kind order (Namespace, config, Service, workloads, ' +
    'Ingress); reports unknown folders and clusters without one',
  async (t) => {
    const f = await startClusters(['east', 'west', 'lonely']);
    t.teardown(() => f.close());
    await writeFolder(f.manifests, 'east', app('shop', 'v1'));
    await writeFolder(f.manifests, 'west', app('shop', 'v1'));
    await writeFolder(f.manifests, 'stray', [configMap('x', {})]);
    const report = await deploy({ dir: f.manifests, kubeconfig: f.kubeconfig, wait: false, timeoutMs: 10_000 });
    t.true(report.ok);
    t.deepEqual(report.unknownFolders, ['stray']);
    t.deepEqual(report.missingFolders, ['lonely']);
    t.deepEqual(
      report.clusters.map((c) => [c.cluster, c.result, c.counts.applied]),
      [
        ['east', 'succeeded', 6],
        ['west', 'succeeded', 6],
      ],
    );
    for (const name of ['east', 'west']) {
      const c = await clientFor(f.kubeconfig, name);
      t.teardown(() => c.close());
      const rv = async (apiVersion: string, kind: string, n: string, ns?: string): Promise<number> =>
        Number((await c.get(apiVersion, kind, ns, n)).metadata.resourceVersion);
      const order = [
        await rv('v1', 'Namespace', 'shop'),
        await rv('v1', 'ConfigMap', 'web-config', 'shop'),
        await rv('v1', 'Service', 'web', 'shop'),
        await rv('apps/v1', 'Deployment', 'web', 'shop'),
        await rv('networking.k8s.io/v1', 'Ingress', 'web', 'shop'),
      ];
      t.deepEqual(
        [...order].sort((a, b) => a - b),
        order,
        `${name}: created in kind order`,
      );
      const d = await c.get('apps/v1', 'Deployment', 'shop', 'web');
      t.is(d.metadata.labels?.['kitfed.io/managed-by'], 'kitfed-deployer');
      t.regex(d.metadata.annotations?.['kitfed.io/applied-digest'] ?? '', /^sha256:[0-9a-f]{64}$/);
      t.true(d.metadata.managedFields?.some((m) => m.manager === 'kitfed' && m.operation === 'Apply'));
    }
    t.is(
      await clientFor(f.kubeconfig, 'lonely').then(async (c) => {
        const l = await c.list('v1', 'ConfigMap', 'default');
        c.close();
        return l.items.length;
      }),
      0,
    );
  },
);

test('a redeploy of the same commit does zero writes; a changed manifest is the only write', async (t) => {
  const f = await startClusters(['a', 'b']);
  t.teardown(() => f.close());
  for (const c of ['a', 'b']) await writeFolder(f.manifests, c, app('shop', 'v1'));
  const opts = {
    dir: f.manifests,
    kubeconfig: f.kubeconfig,
    wait: false,
    commit: 'c1',
    commitTime: '2026-11-01T10:00:00Z',
    timeoutMs: 10_000,
  };
  t.true((await deploy(opts)).ok);
  f.resetCounts();
  const again = await deploy(opts);
  t.true(again.ok);
  t.is(f.writes(), 0, 'no write on any cluster');
  t.deepEqual(
    again.clusters.map((c) => [c.counts.unchanged, c.writes]),
    [
      [6, 0],
      [6, 0],
    ],
  );
  await writeFolder(f.manifests, 'a', [configMap('web-config', { tag: 'v2' }, 'shop')]);
  f.resetCounts();
  const changed = await deploy({ ...opts, commit: 'c2', commitTime: '2026-11-01T11:00:00Z' });
  t.true(changed.ok);
  t.is(changed.clusters[0]!.counts.applied, 1);
  t.is(f.writes('a'), 2, 'the ConfigMap and the inventory (new commit)');
  t.is(f.writes('b'), 1, 'only the inventory (new commit)');
});

test('dry run: validated by the server, nothing written anywhere', async (t) => {
  const f = await startClusters(['a', 'b']);
  t.teardown(() => f.close());
  for (const c of ['a', 'b']) await writeFolder(f.manifests, c, app('shop', 'v1'));
  const report = await deploy({
    dir: f.manifests,
    kubeconfig: f.kubeconfig,
    dryRun: true,
    prune: true,
    timeoutMs: 10_000,
  });
  t.true(report.ok, JSON.stringify(report.clusters.map((c) => c.error)));
  t.is(report.mode, 'dry-run');
  for (const name of ['a', 'b']) {
    const c = await clientFor(f.kubeconfig, name);
    t.teardown(() => c.close());
    t.is(await c.tryGet('v1', 'Namespace', undefined, 'shop'), undefined);
    t.is((await c.list('v1', 'ConfigMap', 'kube-system')).items.length, 0, 'no inventory');
    t.is((await c.list('apps/v1', 'Deployment', 'default')).items.length, 0);
  }
  // A manifest the server rejects fails the dry run.
  await writeFolder(f.manifests, 'a', [configMap('bad', {}, 'shop', { labels: { app: 'not a valid label!' } })]);
  const bad = await deploy({ dir: f.manifests, kubeconfig: f.kubeconfig, dryRun: true, timeoutMs: 10_000 });
  t.false(bad.ok);
  t.is(bad.clusters[0]!.result, 'failed');
  t.regex(bad.clusters[0]!.error ?? '', /ConfigMap shop\/bad: .*metadata\.labels/);
});

test('an invalid manifest in one folder: nothing applied anywhere, every problem named', async (t) => {
  const f = await startClusters(['a', 'b']);
  t.teardown(() => f.close());
  await writeFolder(f.manifests, 'a', app('shop', 'v1'));
  await writeFolder(f.manifests, 'b', app('shop', 'v1'));
  await writeFile(
    path.join(f.manifests, 'b', 'broken.yaml'),
    'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: [oops\n',
  );
  await writeFile(path.join(f.manifests, 'b', 'noname.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata: {}\n');
  f.resetCounts();
  const err = await t.throwsAsync(deploy({ dir: f.manifests, kubeconfig: f.kubeconfig, wait: false }), {
    instanceOf: ManifestError,
  });
  t.regex(err.message, /b\/broken\.yaml: YAML/);
  t.regex(err.message, /b\/noname\.yaml: metadata\.name is required/);
  t.is(f.writes(), 0);
  for (const c of f.clusters) t.is(c.requests.get('GET') ?? 0, 0, `${c.name} not even read`);
  await unlink(path.join(f.manifests, 'b', 'broken.yaml'));
  await unlink(path.join(f.manifests, 'b', 'noname.yaml'));
  // A dependency cycle is invalid too.
  await writeFolder(f.manifests, 'a', [
    configMap('x', {}, 'shop', { labels: { n: 'x' }, annotations: { 'kit-deployer/dependency-selector': 'n=y' } }),
    configMap('y', {}, 'shop', { labels: { n: 'y' }, annotations: { 'kit-deployer/dependency-selector': 'n=x' } }),
  ]);
  await t.throwsAsync(deploy({ dir: f.manifests, kubeconfig: f.kubeconfig, wait: false }), {
    message: /a: dependency cycle: ConfigMap\/x -> ConfigMap\/y -> ConfigMap\/x/,
  });
  t.is(f.writes(), 0);
});

test('the index names the files and guards them: a file edited after rendering is refused', async (t) => {
  const f = await startClusters(['a']);
  t.teardown(() => f.close());
  await writeFolder(f.manifests, 'a', [configMap('one', { k: 'v' })]);
  const file = 'configmap-one.yaml';
  const { createHash } = await import('node:crypto');
  const { readFile } = await import('node:fs/promises');
  const text = await readFile(path.join(f.manifests, 'a', file), 'utf8');
  const index = {
    apiVersion: 'kitfed.io/v1alpha1',
    kind: 'RenderIndex',
    cluster: 'a',
    type: 't',
    digest: 'x',
    objects: [
      {
        file,
        apiVersion: 'v1',
        kind: 'ConfigMap',
        namespace: null,
        name: 'one',
        resource: 'one',
        source: 's',
        sha256: `sha256:${createHash('sha256').update(text).digest('hex')}`,
      },
    ],
  };
  await writeFile(path.join(f.manifests, 'a', '.kitfed-index.json'), JSON.stringify(index));
  await writeFile(path.join(f.manifests, 'a', 'not-in-index.yaml'), YAML_CM);
  const ok = await deploy({ dir: f.manifests, kubeconfig: f.kubeconfig, wait: false });
  t.deepEqual(
    ok.clusters[0]!.objects.map((o) => o.name),
    ['one'],
    'only indexed files are read',
  );
  await writeFile(path.join(f.manifests, 'a', file), text.replace('v', 'w'));
  await t.throwsAsync(deploy({ dir: f.manifests, kubeconfig: f.kubeconfig, wait: false }), {
    message: /a\/configmap-one\.yaml: sha256 differs from \.kitfed-index\.json/,
  });
});

const YAML_CM = 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: extra}\n';

test('prune deletes what left git and nothing kitfed did not apply', async (t) => {
  const f = await startClusters(['a']);
  t.teardown(() => f.close());
  const c = await clientFor(f.kubeconfig, 'a');
  t.teardown(() => c.close());
  await writeFolder(f.manifests, 'a', [
    configMap('keep', {}),
    configMap('drop', {}),
    configMap('handover', {}),
    service('old-svc'),
    namespace('old-ns'),
    configMap('in-old-ns', {}, 'old-ns'),
  ]);
  t.true((await deploy({ dir: f.manifests, kubeconfig: f.kubeconfig, wait: false })).ok);
  await c.create(configMap('by-hand', {}, 'default'));
  // Someone takes `handover` over: without kitfed's label it is not kitfed's to delete.
  await c.patch('v1', 'ConfigMap', 'default', 'handover', { metadata: { labels: { 'kitfed.io/managed-by': null } } });
  await writeFolder(f.manifests, 'a', [configMap('keep', {})], { clean: true });
  const noPrune = await deploy({ dir: f.manifests, kubeconfig: f.kubeconfig, wait: false });
  t.true(noPrune.ok);
  t.truthy(await c.tryGet('v1', 'ConfigMap', 'default', 'drop'), 'without --prune nothing is deleted');
  const pruned = await deploy({ dir: f.manifests, kubeconfig: f.kubeconfig, wait: false, prune: true });
  t.true(pruned.ok, pruned.clusters[0]!.error);
  const actions = Object.fromEntries(pruned.clusters[0]!.objects.map((o) => [o.name, o.action]));
  t.deepEqual(actions, {
    keep: 'unchanged',
    drop: 'pruned',
    'old-svc': 'pruned',
    handover: 'kept',
    'in-old-ns': 'pruned',
    'old-ns': 'kept',
  });
  t.regex(
    pruned.clusters[0]!.objects.find((o) => o.name === 'old-ns')!.message!,
    /deleting a Namespace deletes everything in it/,
  );
  t.truthy(await c.tryGet('v1', 'Namespace', undefined, 'old-ns'), 'namespaces are never pruned');
  t.is(await c.tryGet('v1', 'ConfigMap', 'default', 'drop'), undefined);
  t.is(await c.tryGet('v1', 'Service', 'default', 'old-svc'), undefined);
  t.truthy(await c.tryGet('v1', 'ConfigMap', 'default', 'keep'));
  t.truthy(await c.tryGet('v1', 'ConfigMap', 'default', 'handover'));
  t.truthy(await c.tryGet('v1', 'ConfigMap', 'default', 'by-hand'));
  const inv = await c.get('v1', 'ConfigMap', 'kube-system', 'kitfed-inventory-a');
  t.deepEqual(
    (
      JSON.parse((inv as unknown as { data: Record<string, string> }).data['inventory.json']!) as {
        objects: Array<{ name: string }>;
      }
    ).objects.map((o) => o.name),
    ['keep'],
  );
  f.resetCounts();
  t.true((await deploy({ dir: f.manifests, kubeconfig: f.kubeconfig, wait: false, prune: true })).ok);
  t.is(f.writes(), 0, 'nothing left to prune: no writes');
});

test('never backwards: an older commit is refused per cluster, --force overrides', async (t) => {
  const f = await startClusters(['a', 'b']);
  t.teardown(() => f.close());
  for (const c of ['a', 'b']) await writeFolder(f.manifests, c, [configMap('cfg', { v: '1' })]);
  const base = { dir: f.manifests, kubeconfig: f.kubeconfig, wait: false };
  t.true((await deploy({ ...base, clusters: ['a'], commit: 'new', commitTime: '2026-11-02T00:00:00Z' })).ok);
  t.true((await deploy({ ...base, clusters: ['b'], commit: 'mid', commitTime: '2026-11-01T00:00:00Z' })).ok);
  for (const c of ['a', 'b']) await writeFolder(f.manifests, c, [configMap('cfg', { v: 'old' })]);
  f.resetCounts();
  const old = await deploy({ ...base, commit: 'old', commitTime: '2026-11-01T12:00:00+00:00' });
  t.false(old.ok);
  t.deepEqual(
    old.clusters.map((c) => [c.cluster, c.result]),
    [
      ['a', 'refused'],
      ['b', 'succeeded'],
    ],
  );
  t.regex(
    old.clusters[0]!.error!,
    /refusing to deploy commit old of 2026-11-01T12:00:00.000Z over the newer commit new of 2026-11-02T00:00:00.000Z/,
  );
  t.is(f.writes('a'), 0, 'nothing written to the refused cluster');
  const c = await clientFor(f.kubeconfig, 'a');
  t.teardown(() => c.close());
  t.is(((await c.get('v1', 'ConfigMap', 'default', 'cfg')) as unknown as { data: { v: string } }).data.v, '1');
  const forced = await deploy({
    ...base,
    clusters: ['a'],
    commit: 'old',
    commitTime: '2026-11-01T12:00:00Z',
    force: true,
  });
  t.true(forced.ok);
  const cm = await c.get('v1', 'ConfigMap', 'default', 'cfg');
  t.is((cm as unknown as { data: { v: string } }).data.v, 'old');
  t.is(cm.metadata.annotations?.['kitfed.io/commit'], 'old');
  t.is(cm.metadata.annotations?.['kitfed.io/commit-time'], '2026-11-01T12:00:00.000Z');
});

test('diff: per-cluster unified diff of live vs desired without status, managed fields or Secret values', async (t) => {
  const f = await startClusters(['a', 'b']);
  t.teardown(() => f.close());
  for (const c of ['a', 'b']) await writeFolder(f.manifests, c, app('shop', 'v1'));
  t.true((await deploy({ dir: f.manifests, kubeconfig: f.kubeconfig, wait: false })).ok);
  const same = await deploy({ dir: f.manifests, kubeconfig: f.kubeconfig, diff: true });
  t.false(same.changed);
  t.deepEqual(
    same.clusters.map((c) => c.diff),
    ['', ''],
  );
  await writeFolder(f.manifests, 'a', [
    deployment('web', 'nginx:v2', { namespace: 'shop' }),
    {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'web-secret', namespace: 'shop' },
      stringData: { password: 'new-secret-value' },
    },
    configMap('added', { a: 'b' }, 'shop'),
  ]);
  const d = await deploy({ dir: f.manifests, kubeconfig: f.kubeconfig, diff: true });
  const c = await clientFor(f.kubeconfig, 'a');
  t.teardown(() => c.close());
  t.is(
    await c.tryGet('v1', 'ConfigMap', 'shop', 'added'),
    undefined,
    'diff changes nothing (server-side dry runs only)',
  );
  t.regex(JSON.stringify((await c.get('apps/v1', 'Deployment', 'shop', 'web')).spec), /nginx:v1/);
  t.true(d.changed);
  t.is(d.clusters[1]!.diff, '');
  const text = d.clusters[0]!.diff!;
  t.regex(text, /--- live\/a\/Deployment\/shop\/web/);
  t.regex(text, /-\s+- image: nginx:v1\n\+\s+- image: nginx:v2/);
  t.regex(text, /--- \/dev\/null\n\+\+\+ desired\/a\/ConfigMap\/shop\/added/);
  t.notRegex(text, /managedFields|resourceVersion|creationTimestamp|status:|applied-digest/);
  t.false(text.includes('new-secret-value') || text.includes('hunter2'), 'no Secret values');
  t.regex(text, /redacted, sha256/);
});

test('an immutable-field change fails the cluster; with recreate the object is deleted and re-created', async (t) => {
  const f = await startClusters(['a']);
  t.teardown(() => f.close());
  await writeFolder(f.manifests, 'a', [deployment('web', 'nginx:1')]);
  t.true((await deploy({ dir: f.manifests, kubeconfig: f.kubeconfig, wait: false })).ok);
  const c = await clientFor(f.kubeconfig, 'a');
  t.teardown(() => c.close());
  const uid = (await c.get('apps/v1', 'Deployment', 'default', 'web')).metadata.uid;
  const changed = deployment('web', 'nginx:1');
  (changed.spec as { selector: { matchLabels: Record<string, string> } }).selector.matchLabels = {
    app: 'web',
    tier: 'front',
  };
  (changed.spec as { template: { metadata: { labels: Record<string, string> } } }).template.metadata.labels = {
    app: 'web',
    tier: 'front',
  };
  await writeFolder(f.manifests, 'a', [changed]);
  const refused = await deploy({ dir: f.manifests, kubeconfig: f.kubeconfig, wait: false });
  t.false(refused.ok);
  t.regex(refused.clusters[0]!.error!, /spec\.selector: Invalid value: field is immutable/);
  const recreated = await deploy({ dir: f.manifests, kubeconfig: f.kubeconfig, wait: false, recreate: true });
  t.true(recreated.ok, recreated.clusters[0]!.error);
  t.is(recreated.clusters[0]!.objects[0]!.message, 'recreated: an immutable field changed');
  const live = await c.get('apps/v1', 'Deployment', 'default', 'web');
  t.not(live.metadata.uid, uid);
  t.deepEqual((live.spec as { selector: unknown }).selector, { matchLabels: { app: 'web', tier: 'front' } });
});

test('files are recognised by their stat only when old enough: a same-size rewrite is always read again', async (t) => {
  const { readFolders } = await import('../../services/deployer/manifests.js');
  const { mkdtemp, mkdir, utimes, rm } = await import('node:fs/promises');
  const { tmpdir } = await import('node:os');
  const d = await mkdtemp(path.join(tmpdir(), 'kitfed-statcache-'));
  t.teardown(() => rm(d, { recursive: true, force: true }));
  await mkdir(path.join(d, 'c'));
  const file = path.join(d, 'c', 'a.yaml');
  const cm = (v: string): string => `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {v: "${v}"}\n`;
  await writeFile(file, cm('1'));
  const old = new Date(Date.now() - 10_000);
  await utimes(file, old, old);
  const data = async (): Promise<unknown> => (await readFolders(d, ['c'])).get('c')![0]!.obj.data;
  t.deepEqual(await data(), { v: '1' });
  t.deepEqual(await data(), { v: '1' });
  await writeFile(file, cm('2'));
  t.deepEqual(await data(), { v: '2' });
  await writeFile(file, cm('3'));
  t.deepEqual(await data(), { v: '3' }, 'a file read while fresh is never trusted by its stat');
});
