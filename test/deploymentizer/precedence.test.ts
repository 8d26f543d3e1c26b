import test from 'ava';
import { createHash } from 'node:crypto';
import { appendFile, cp, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { render, RenderError, type ClusterIndex } from '../../services/deploymentizer/index.js';
import { FIXTURES, readTree, tempDir } from './helpers.js';

const REPO = path.join(FIXTURES, 'precedence');
const EXPECTED = path.join(FIXTURES, 'precedence-expected');

function pick(tree: Record<string, string>, prefix: string): Record<string, string> {
  return Object.fromEntries(Object.entries(tree).filter(([k]) => k.startsWith(prefix)));
}

test('precedence and merge: base → type → cluster, env by name, branch overrides, disable, svc, escaping (kit §2.14)', async (t) => {
  const out = path.join(await tempDir(t), 'out');
  const result = await render({ repo: REPO, out });
  t.deepEqual(await readTree(out), await readTree(EXPECTED));
  t.deepEqual(
    result.clusters.map((c) => c.name),
    ['eu-1', 'us-1'],
    'disabled cluster "off" and the folder without cluster.yaml produce nothing',
  );
  t.true(result.written);
});

test('index per cluster lists every object with its sha256; summary lists clusters', async (t) => {
  const out = path.join(await tempDir(t), 'out');
  await render({ repo: REPO, out });
  const index = JSON.parse(await readFile(path.join(out, 'eu-1', '.kitfed-index.json'), 'utf8')) as ClusterIndex;
  t.is(index.kind, 'RenderIndex');
  t.is(index.cluster, 'eu-1');
  t.is(index.type, 'staging');
  t.deepEqual(
    index.objects.map((o) => [o.file, o.kind, o.name, o.namespace, o.resource]),
    [
      ['static-config.yaml', 'ConfigMap', 'static-config', null, 'static-config'],
      ['web-deployment.yaml', 'Deployment', 'web', null, 'web'],
      ['web-svc.yaml', 'Service', 'web-svc', null, 'web'],
      ['worker-deployment.yaml', 'Deployment', 'worker', null, 'worker'],
    ],
  );
  for (const o of index.objects) {
    const bytes = await readFile(path.join(out, 'eu-1', o.file));
    t.is(o.sha256, `sha256:${createHash('sha256').update(bytes).digest('hex')}`);
  }
  const summary = JSON.parse(await readFile(path.join(out, '.kitfed-render.json'), 'utf8')) as {
    clusters: Array<{ name: string; objects: number; digest: string }>;
  };
  t.deepEqual(
    summary.clusters.map((c) => [c.name, c.objects, c.digest]),
    [
      ['eu-1', 4, index.digest],
      ['us-1', 3, summary.clusters[1]!.digest],
    ],
  );
});

test('deterministic: two renders are byte-identical, index included', async (t) => {
  const dir = await tempDir(t);
  await render({ repo: REPO, out: path.join(dir, 'a') });
  await render({ repo: REPO, out: path.join(dir, 'b') });
  t.deepEqual(await readTree(path.join(dir, 'a'), true), await readTree(path.join(dir, 'b'), true));
});

test('filters: cluster name, cluster type, resource', async (t) => {
  const dir = await tempDir(t);
  const expected = await readTree(EXPECTED);
  await render({ repo: REPO, out: path.join(dir, 'name'), clusters: ['us-1'] });
  t.deepEqual(await readTree(path.join(dir, 'name')), pick(expected, 'us-1/'));
  await render({ repo: REPO, out: path.join(dir, 'type'), types: ['staging'] });
  t.deepEqual(await readTree(path.join(dir, 'type')), expected);
  await render({ repo: REPO, out: path.join(dir, 'res'), resources: ['web'] });
  t.deepEqual(Object.keys(await readTree(path.join(dir, 'res'))), [
    'eu-1/web-deployment.yaml',
    'eu-1/web-svc.yaml',
    'us-1/web-deployment.yaml',
    'us-1/web-svc.yaml',
  ]);
});

test('filters naming nothing are errors, not empty output', async (t) => {
  const out = path.join(await tempDir(t), 'out');
  const err = await t.throwsAsync(
    render({ repo: REPO, out, clusters: ['mars'], types: ['prod'], resources: ['nope'] }),
    { instanceOf: RenderError },
  );
  t.deepEqual(
    err.problems.map((p) => p.message),
    ['no cluster named "mars"', 'no cluster has type "prod"', 'no cluster has a resource named "nope"'],
  );
});

test('deploy id and fast rollback are in the view (deployment.id, deployment.fastRollback)', async (t) => {
  const dir = await tempDir(t);
  const repo = path.join(dir, 'repo');
  await cp(REPO, repo, { recursive: true });
  const tpl = path.join(repo, 'resources', 'worker', 'worker-deployment.mustache');
  await writeFile(
    tpl,
    (await readFile(tpl, 'utf8')).replace(
      '  name: {{{name}}}\n',
      '  name: {{{name}}}\n  labels:\n    id: "{{deployment.id}}"\n    fast: "{{deployment.fastRollback}}"\n',
    ),
  );
  await render({ repo, out: path.join(dir, 'out'), resources: ['worker'], deployId: 'SOME-SHA', fastRollback: true });
  const text = await readFile(path.join(dir, 'out', 'eu-1', 'worker-deployment.yaml'), 'utf8');
  t.true(text.includes('    id: "SOME-SHA"\n    fast: "true"\n'));
  const err = await t.throwsAsync(render({ repo, out: path.join(dir, 'x'), deployId: 'SOME-SHA' }), {
    instanceOf: RenderError,
  });
  t.deepEqual(
    err.problems.map((p) => p.message),
    ['You must include the resource if deploying a specific id'],
  );
  const err2 = await t.throwsAsync(render({ repo, out: path.join(dir, 'x'), fastRollback: true }), {
    instanceOf: RenderError,
  });
  t.deepEqual(
    err2.problems.map((p) => p.message),
    ['You must include the id if configuring fastRollbacks'],
  );
});

test('kitfed.arrayMerge: replace makes a shorter override list replace the base list', async (t) => {
  const dir = await tempDir(t);
  const repo = path.join(dir, 'repo');
  await cp(REPO, repo, { recursive: true });
  await appendFile(path.join(repo, 'kit.yaml'), 'kitfed: {arrayMerge: replace}\n');
  await render({ repo, out: path.join(dir, 'out'), clusters: ['eu-1'] });
  const text = await readFile(path.join(dir, 'out', 'eu-1', 'web-deployment.yaml'), 'utf8');
  t.true(text.includes('tags: "x;"'), 'index merge would give x;b;c;');
  t.true(text.includes('value: "on"'), 'env still merges by name');
});
