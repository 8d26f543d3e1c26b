import test from 'ava';
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFederationApiServer } from '../../services/apiserver/run.js';
import { kubectlFor } from '../helpers/kubectl.js';
import { kitfed } from '../helpers/kitfed.js';

const pkg = JSON.parse(await readFile('package.json', 'utf8')) as { version: string };
const head = execFileSync('git', ['rev-parse', 'HEAD'], { encoding: 'utf8' }).trim();

test("kitfed version and --version: kitfed's version, the git commit, Node's version", async (t) => {
  const text = await kitfed(['version']);
  t.is(text.code, 0, text.stderr);
  t.regex(text.stdout, new RegExp(`^Client Version: kitfed ${pkg.version.replace(/\./g, '\\.')}$`, 'm'));
  t.regex(text.stdout, new RegExp(`^Git Commit: ${head}`, 'm'));
  t.regex(text.stdout, new RegExp(`^Node Version: ${process.version.replace(/\./g, '\\.')} `, 'm'));
  t.is((await kitfed(['--version'])).stdout, text.stdout);
  const json = await kitfed(['--version', '-o', 'json']);
  const v = JSON.parse(json.stdout) as { clientVersion: Record<string, string>; serverVersion?: unknown };
  t.like(v.clientVersion, { kitfedVersion: pkg.version, gitCommit: head, nodeVersion: process.version });
  t.is(v.serverVersion, undefined, 'the server is asked only with --server');
  const bad = await kitfed(['version', '-o', 'xml']);
  t.is(bad.code, 2);
  t.regex(bad.stderr, /Allowed choices are text, json, yaml/);
});

test("kitfed version --server: the API server's /version carries kitfed's version (as kubectl's)", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'kitfed-version-'));
  const running = await startFederationApiServer({ listen: '127.0.0.1:0', dataDir: dir });
  t.teardown(async () => {
    await running.server.close();
    await rm(dir, { recursive: true, force: true });
  });
  const kubeconfig = join(dir, 'kubeconfig');
  await writeFile(kubeconfig, running.kubeconfig);

  const r = await kitfed(['version', '--server', '--kubeconfig', kubeconfig, '-o', 'json']);
  t.is(r.code, 0, r.stderr);
  const v = JSON.parse(r.stdout) as { serverVersion: Record<string, string> };
  t.like(v.serverVersion, { major: '1', minor: '32', kitfedVersion: pkg.version, gitCommit: head });
  t.is(v.serverVersion.gitVersion, `v1.32.0+kitfed.${pkg.version}`);
  const text = await kitfed(['version', '--server', '--kubeconfig', kubeconfig]);
  t.regex(
    text.stdout,
    new RegExp(`^Server Version: v1\\.32\\.0\\+kitfed\\.${pkg.version.replace(/\./g, '\\.')} \\(kitfed`, 'm'),
  );

  const kubectl = await kubectlFor(kubeconfig, join(dir, 'cache'))(['version', '-o', 'json']);
  t.is(kubectl.code, 0, kubectl.stderr);
  t.is(
    (JSON.parse(kubectl.stdout) as { serverVersion: { gitVersion: string } }).serverVersion.gitVersion,
    `v1.32.0+kitfed.${pkg.version}`,
  );

  await running.server.close();
  const down = await kitfed(['version', '--server', '--kubeconfig', kubeconfig]);
  t.is(down.code, 1, 'as kubectl: the client version, then the server failure');
  t.regex(down.stdout, /^Client Version: kitfed /m);
  t.regex(down.stderr, /ECONNREFUSED/);
});
