import test from 'ava';
import { execFile } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import YAML from 'yaml';
import { clientFor, configMap, kubeconfigText, startClusters, writeFolder } from './helpers.js';

const run = promisify(execFile);
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const KITFED = path.join(ROOT, 'services', 'cli', 'kitfed.ts');

async function kitfed(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', KITFED, 'deploy', ...args], {
      cwd: ROOT,
      env: { ...process.env, KITFED_LOG_LEVEL: 'warn' },
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

const secret = {
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: { name: 'creds' },
  stringData: { token: 'top-secret-token-value' },
};

test('kitfed deploy: JSON lines when not on a terminal, summary table, --report; --diff --exit-code; Secret values never printed', async (t) => {
  const f = await startClusters(['a', 'b']);
  t.teardown(() => f.close());
  for (const c of ['a', 'b']) await writeFolder(f.manifests, c, [configMap('cfg', { v: '1' }), secret]);
  const reportFile = path.join(f.dir, 'report.json');
  const r = await kitfed([
    f.manifests,
    '--kubeconfig',
    f.kubeconfig,
    '--commit',
    'abc123',
    '--commit-time',
    '2026-11-22T01:00:00Z',
    '--report',
    reportFile,
    '--timeout',
    '20s',
  ]);
  t.is(r.code, 0, r.stderr);
  const lines = r.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { type: string; cluster?: string; result?: string });
  t.is(lines[0]!.type, 'start');
  t.deepEqual(
    lines
      .filter((l) => l.type === 'cluster-done')
      .map((l) => [l.cluster, l.result])
      .sort(),
    [
      ['a', 'succeeded'],
      ['b', 'succeeded'],
    ],
  );
  t.is(lines.at(-1)!.type, 'report');
  t.regex(r.stderr, /^CLUSTER {3,}RESULT {3,}OBJECTS/m);
  t.regex(r.stderr, /apply: 2\/2 clusters succeeded/);
  const report = JSON.parse(await readFile(reportFile, 'utf8')) as {
    ok: boolean;
    commit: string;
    clusters: Array<{ cluster: string; objects: unknown[]; durations: { totalMs: number } }>;
  };
  t.true(report.ok);
  t.is(report.commit, 'abc123');
  t.deepEqual(
    report.clusters.map((c) => [c.cluster, c.objects.length]),
    [
      ['a', 2],
      ['b', 2],
    ],
  );

  const same = await kitfed([f.manifests, '--kubeconfig', f.kubeconfig, '--diff', '--exit-code']);
  t.is(same.code, 0, same.stderr);
  await writeFolder(f.manifests, 'b', [
    configMap('cfg', { v: '2' }),
    { ...secret, stringData: { token: 'another-secret-token' } },
  ]);
  const diff = await kitfed([f.manifests, '--kubeconfig', f.kubeconfig, '--diff', '--exit-code', '-o', 'text']);
  t.is(diff.code, 1, diff.stderr);
  t.regex(diff.stdout, /# cluster b\n/);
  t.regex(diff.stdout, /-\s+v: "1"\n\+\s+v: "2"/);
  t.notRegex(diff.stdout, /# cluster a/);
  for (const out of [r.stdout, r.stderr, diff.stdout, diff.stderr, await readFile(reportFile, 'utf8')]) {
    t.false(out.includes('top-secret-token-value') || out.includes('another-secret-token'));
  }
});

test('kitfed deploy: exit 1 when a cluster fails, 2 on usage errors', async (t) => {
  const f = await startClusters(['a', 'b']);
  t.teardown(() => f.close());
  for (const c of ['a', 'b']) await writeFolder(f.manifests, c, [configMap('cfg', { v: '1' })]);
  await f.clusters[1]!.server.pause();
  const r = await kitfed([f.manifests, '--kubeconfig', f.kubeconfig, '-o', 'text', '--timeout', '5s']);
  t.is(r.code, 1);
  t.regex(r.stdout, /^b {3,}failed /m);
  t.regex(r.stdout, /apply: 1\/2 clusters succeeded .* — FAILED/);
  const allowed = await kitfed([
    f.manifests,
    '--kubeconfig',
    f.kubeconfig,
    '-o',
    'text',
    '--timeout',
    '5s',
    '--allow-failure',
    'b',
  ]);
  t.is(allowed.code, 0, allowed.stdout);
  t.regex(allowed.stdout, /failed \(allowed\)/);
  const usage = [
    [f.manifests],
    [f.manifests, '--kubeconfig', f.kubeconfig, '--commit', 'x'],
    [f.manifests, '--kubeconfig', f.kubeconfig, '--timeout', 'soon'],
    [f.manifests, '--kubeconfig', f.kubeconfig, '--exit-code'],
  ];
  const [missing, ...results] = await Promise.all([
    kitfed([path.join(f.dir, 'nope'), '--kubeconfig', f.kubeconfig]),
    ...usage.map((a) => kitfed(a)),
  ]);
  results.forEach((u, i) => t.is(u.code, 2, `${usage[i]!.join(' ')}: ${u.stderr}`));
  t.is(missing.code, 1);
  t.regex(missing.stderr, /manifests dir .*nope: ENOENT/);
});

test("kitfed deploy --kubeconfigs DIR (kit's layout): metadata.name picks the folder, the context's namespace is the default", async (t) => {
  const f = await startClusters(['c1', 'c2']);
  t.teardown(() => f.close());
  const dir = path.join(f.dir, 'kubeconfigs');
  await mkdir(dir);
  for (const [i, c] of f.clusters.entries()) {
    const kc = YAML.parse(
      kubeconfigText([{ name: `ctx-${c.name}`, url: c.server.url, namespace: `team-${i}` }]),
    ) as Record<string, unknown>;
    await writeFile(path.join(dir, `${c.name}.yaml`), YAML.stringify({ ...kc, metadata: { name: `kit-${c.name}` } }));
  }
  await writeFolder(f.manifests, 'kit-c1', [configMap('cfg', { v: '1' })]);
  await writeFolder(f.manifests, 'kit-c2', [configMap('cfg', { v: '1' })]);
  const r = await kitfed([f.manifests, '--kubeconfigs', dir, '-o', 'text']);
  t.is(r.code, 0, r.stdout + r.stderr);
  for (const [i, c] of f.clusters.entries()) {
    const client = await clientFor(path.join(dir, `${c.name}.yaml`), `ctx-${c.name}`);
    t.teardown(() => client.close());
    t.truthy(await client.tryGet('v1', 'ConfigMap', `team-${i}`, 'cfg'), 'namespace created and used');
  }
  await writeFile(path.join(dir, 'bad.yaml'), 'kind: Config\n');
  const bad = await kitfed([f.manifests, '--kubeconfigs', dir]);
  t.is(bad.code, 1);
  t.regex(bad.stderr, /Missing required 'metadata.name' property for .*bad\.yaml/);
  await writeFile(path.join(dir, 'bad.yaml'), 'kind: Config\nusers:\n- name: u\n  user: {token: s3cr3t-token\n');
  const broken = await kitfed([f.manifests, '--kubeconfigs', dir]);
  t.is(broken.code, 1);
  t.regex(broken.stderr, /kubeconfig .*bad\.yaml: /);
  t.false(broken.stderr.includes('s3cr3t-token'), broken.stderr);
});

test('kitfed deploy --target federation: one folder to the federation API as one cluster; kubectl sees kitfed as the field manager', async (t) => {
  const f = await startClusters(['federation', 'member']);
  t.teardown(() => f.close());
  await writeFolder(f.manifests, 'global', [configMap('fed-cfg', { v: '1' })]);
  await writeFolder(f.manifests, 'other', [configMap('x', {})]);
  const r = await kitfed([
    f.manifests,
    '--target',
    'federation',
    '--kubeconfig',
    f.kubeconfig,
    '--folder',
    'global',
    '-o',
    'text',
  ]);
  t.is(r.code, 0, r.stdout + r.stderr);
  t.regex(r.stdout, /^CLUSTER {3,}RESULT {3,}OBJECTS/);
  t.regex(r.stdout, /^federation {3,}succeeded /m);
  const { stdout } = await run('kubectl', [
    '--kubeconfig',
    f.kubeconfig,
    '--context',
    'federation',
    '--cache-dir',
    path.join(f.dir, 'kube-cache'),
    'get',
    'configmap',
    'fed-cfg',
    '-o',
    'json',
    '--show-managed-fields',
  ]);
  const cm = JSON.parse(stdout) as { metadata: { managedFields: Array<{ manager: string; operation: string }> } };
  t.true(cm.metadata.managedFields.some((m) => m.manager === 'kitfed' && m.operation === 'Apply'));
  const member = await clientFor(f.kubeconfig, 'member');
  t.teardown(() => member.close());
  t.is(await member.tryGet('v1', 'ConfigMap', 'default', 'fed-cfg'), undefined);
  const which = await kitfed([f.manifests, '--target', 'federation', '--kubeconfig', f.kubeconfig]);
  t.is(which.code, 1);
  t.regex(which.stderr, /which folder\?/);
});
