import test, { type ExecutionContext } from 'ava';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { render, RenderError, formatProblem } from '../../services/deploymentizer/index.js';
import { makeRepo, readTree, writeTree } from './helpers.js';

/**
 * Renders, expects a RenderError, checks that the output was not touched (still absent, or
 * byte-identical to before), and returns the problems as `file: path: message` lines.
 */
async function problemsOf(t: ExecutionContext, options: Parameters<typeof render>[0]): Promise<string[]> {
  const out = options.out!;
  const snapshot = async (): Promise<Record<string, string> | string | undefined> => {
    const s = await stat(out).catch(() => undefined);
    if (!s) return undefined;
    return s.isDirectory() ? readTree(out, true) : readFile(out, 'utf8');
  };
  const before = await snapshot();
  const err = await t.throwsAsync(render(options), { instanceOf: RenderError });
  t.deepEqual(await snapshot(), before, 'a failed render leaves the output as it was');
  return err.problems.map(formatProblem);
}

test('missing type: named error, and the previous output is left exactly as it was', async (t) => {
  const { repo, out } = await makeRepo(t);
  await render({ repo, out });
  const before = await readTree(out, true);
  await writeTree(repo, { 'clusters/eu-1/cluster.yaml': 'kind: ClusterNamespace\nmetadata: {name: eu-1}\n' });
  t.deepEqual(await problemsOf(t, { repo, out }), [
    'clusters/eu-1/cluster.yaml: metadata.type: No Type found for cluster eu-1',
  ]);
  t.deepEqual(await readTree(out, true), before);
});

test('unsupported type: named error, nothing written', async (t) => {
  const { repo, out } = await makeRepo(t, {
    'clusters/eu-1/cluster.yaml': 'kind: ClusterNamespace\nmetadata: {name: eu-1, type: prod}\n',
  });
  t.deepEqual(await problemsOf(t, { repo, out }), ['clusters/eu-1/cluster.yaml: metadata.type: UnSupported Type prod']);
  await t.throwsAsync(readTree(out));
});

test('missing image for the branch names the cluster file, the YAML path and the branches that exist', async (t) => {
  const { repo, out } = await makeRepo(t, {
    'clusters/eu-1/cluster.yaml': 'kind: ClusterNamespace\nmetadata: {name: eu-1, type: staging, branch: develop}\n',
  });
  t.deepEqual(await problemsOf(t, { repo, out }), [
    'clusters/eu-1/cluster.yaml: resources.auth.containers.auth-con.image_tag: no image for ' +
      'branch "develop" (templates/images/invision/node-auth has: master, release)',
  ]);
  await t.throwsAsync(readTree(out));
});

test('unknown image tag is an error naming the images folder', async (t) => {
  const { repo, out } = await makeRepo(t, {
    'clusters/eu-1/cluster.yaml':
      'kind: ClusterNamespace\nmetadata: {name: eu-1, type: staging}\nresources:\n  auth: {containers: {auth-con: {image_tag: invision/nope}}}\n',
  });
  t.deepEqual(await problemsOf(t, { repo, out }), [
    'clusters/eu-1/cluster.yaml: resources.auth.containers.auth-con.image_tag: no images for "invision/nope" (templates/images/invision/nope does not exist)',
  ]);
});

test('every problem in every file is reported at once', async (t) => {
  const { repo, out } = await makeRepo(t, {
    'clusters/a/cluster.yaml': 'kind: ClusterNamespace\nmetadata: {name: a, type: staging, branch: hotfix}\n',
    'clusters/b/cluster.yaml': 'kind: ClusterNamespace\nmetadata: {name: b}\n',
    'clusters/c/cluster.yaml':
      'kind: ClusterNamespace\nmetadata: {name: c, type: staging}\nresources:\n  auth: {disable: "yes"}\n',
    'clusters/d/cluster.yaml': 'kind: ClusterNamespace\nmetadata: {name: d, type: staging\n',
    'clusters/e/cluster.yaml': 'kind: Cluster\nmetadata: {type: staging}\n',
    'templates/images/invision/node-auth/broken.yaml': 'tag: x\n',
  });
  const lines = await problemsOf(t, { repo, out });
  t.deepEqual(
    lines.filter((l) => !l.startsWith('clusters/d/')),
    [
      'clusters/b/cluster.yaml: metadata.type: No Type found for cluster b',
      'clusters/c/cluster.yaml: resources.auth.disable: must be boolean',
      'clusters/e/cluster.yaml: kind: must be "ClusterNamespace"',
      'clusters/e/cluster.yaml: metadata.name: is required',
      'templates/images/invision/node-auth/broken.yaml: image: is required',
      'clusters/a/cluster.yaml: resources.auth.containers.auth-con.image_tag: no image for branch ' +
        '"hotfix" (templates/images/invision/node-auth has: master, release)',
    ],
  );
  t.true(
    lines.some((l) => l.startsWith('clusters/d/cluster.yaml: invalid YAML:')),
    lines.join('\n'),
  );
  await t.throwsAsync(readTree(out));
});

test('a missing template is an error (kit only warned and skipped the file)', async (t) => {
  const { repo, out } = await makeRepo(t, {
    'clusters/eu-1/cluster.yaml':
      'kind: ClusterNamespace\nmetadata: {name: eu-1, type: staging}\nresources:\n  auth: {file: ./auth/gone.mustache}\n',
  });
  t.deepEqual(await problemsOf(t, { repo, out }), [
    'clusters/eu-1/cluster.yaml: resources.auth.file: template not found: templates/resources/auth/gone.mustache',
  ]);
});

test('an unknown template extension is an error', async (t) => {
  const { repo, out } = await makeRepo(t, {
    'clusters/eu-1/cluster.yaml':
      'kind: ClusterNamespace\nmetadata: {name: eu-1, type: staging}\nresources:\n  auth: {file: ./auth/auth.yml}\n',
  });
  t.deepEqual(await problemsOf(t, { repo, out }), [
    'clusters/eu-1/cluster.yaml: resources.auth.file: Unknown file type: .yml (templates/resources/auth/auth.yml); use .mustache or .yaml',
  ]);
});

test('rendered output must be one Kubernetes object with apiVersion, kind and metadata.name', async (t) => {
  const { repo, out } = await makeRepo(t, {
    'templates/resources/auth/auth-deployment.mustache':
      'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  labels: {app: "{{{name}}}"}\n',
    'templates/resources/two.yaml':
      'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\n',
    'templates/resources/bad.mustache': 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: {{{name}}}\n',
    'templates/resources/syntax.mustache': 'apiVersion: v1\n{{#open}}\n',
    'clusters/eu-1/cluster.yaml':
      'kind: ClusterNamespace\nmetadata: {name: eu-1, type: staging}\nresources:\n  two: {file: ' +
      'two.yaml}\n  bad: {file: bad.mustache}\n  syntax: {file: syntax.mustache}\n',
  });
  const lines = await problemsOf(t, { repo, out });
  t.is(
    lines[0],
    'templates/resources/auth/auth-deployment.mustache: metadata.name: rendered for cluster eu-1: is required (a non-empty string) in a Kubernetes object',
  );
  t.is(
    lines[1],
    'templates/resources/two.yaml: rendered for cluster eu-1: must render exactly one Kubernetes object (found 2 YAML documents)',
  );
  t.regex(lines[2]!, /^templates\/resources\/bad\.mustache: rendered for cluster eu-1: rendered YAML does not parse: /);
  t.regex(
    lines[lines.length - 1]!,
    /^templates\/resources\/syntax\.mustache: template does not render: Unclosed section "open"/,
  );
});

test('two resources writing the same file is an error (kit silently overwrote)', async (t) => {
  const { repo, out } = await makeRepo(t, {
    'clusters/eu-1/cluster.yaml':
      'kind: ClusterNamespace\nmetadata: {name: eu-1, type: staging}\nresources:\n  auth2: {file: ' +
      './auth/auth-deployment.mustache, containers: {auth-con: {image_tag: invision/node-auth}}}\n',
  });
  t.deepEqual(await problemsOf(t, { repo, out }), [
    'clusters/eu-1/cluster.yaml: resources.auth2: output file auth-deployment.yaml is also ' +
      'written by resource auth (templates/resources/auth/auth-deployment.mustache)',
  ]);
});

test('allowFailure: a failing resource becomes a warning and the rest is written', async (t) => {
  const { repo, out } = await makeRepo(t, {
    'templates/resources/cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm}\n',
    'clusters/eu-1/cluster.yaml':
      'kind: ClusterNamespace\nmetadata: {name: eu-1, type: staging, branch: hotfix, allowFailure: true}\nresources:\n  cm: {file: cm.yaml}\n',
  });
  const result = await render({ repo, out });
  t.deepEqual(Object.keys(await readTree(out)), ['eu-1/cm.yaml']);
  t.deepEqual(result.warnings.map(formatProblem), [
    'clusters/eu-1/cluster.yaml: resources.auth.containers.auth-con.image_tag: no image for ' +
      'branch "hotfix" (templates/images/invision/node-auth has: master, release) (resource auth skipped: allowFailure)',
  ]);
});

test('refuses to replace a directory that is not a render output', async (t) => {
  const { repo, out } = await makeRepo(t);
  await mkdir(out, { recursive: true });
  await writeFile(path.join(out, 'precious.txt'), 'keep me');
  t.deepEqual(await problemsOf(t, { repo, out }), [
    `(options): out: refusing to replace ${out}: it is not empty and holds no .kitfed-render.json (not a kitfed render output)`,
  ]);
  t.deepEqual(await readTree(out), { 'precious.txt': 'keep me' });
});

test('check mode validates and renders but writes nothing', async (t) => {
  const { repo, out } = await makeRepo(t);
  const result = await render({ repo, out, check: true });
  t.false(result.written);
  t.deepEqual(
    result.clusters[0]!.files.map((f) => f.file),
    ['auth-deployment.yaml'],
  );
  await t.throwsAsync(readTree(out));
});

test('refuses an output path that is a file', async (t) => {
  const { repo, out } = await makeRepo(t);
  await writeFile(out, 'a file');
  t.deepEqual(await problemsOf(t, { repo, out }), [`(options): out: cannot use ${out} as the output dir (ENOTDIR)`]);
});

test('strict mode: an undefined variable is an error (kit rendered it as empty); sections may test optional values', async (t) => {
  const files = {
    'templates/resources/auth/auth-deployment.mustache':
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{{name}}}\ndata:\n  replicas: ' +
      '"{{deployment.replicas}}"\n  typo: "{{{auth-con.imgae}}}"\n{{#deployment.id}}\n  id: ' +
      '{{deployment.id}}\n{{/deployment.id}}\n',
  };
  const { repo, out } = await makeRepo(t, files);
  t.deepEqual(await problemsOf(t, { repo, out, strict: true }), [
    'templates/resources/auth/auth-deployment.mustache: rendered for cluster eu-1: undefined variable {{auth-con.imgae}} (strict mode)',
    'templates/resources/auth/auth-deployment.mustache: rendered for cluster eu-1: undefined variable {{deployment.replicas}} (strict mode)',
  ]);
  await render({ repo, out });
  t.is(
    (await readTree(out))['eu-1/auth-deployment.yaml'],
    'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: auth\ndata:\n  replicas: ""\n  typo: ""\n',
  );
});
