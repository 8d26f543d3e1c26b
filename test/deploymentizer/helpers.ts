import { mkdtemp, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ExecutionContext } from 'ava';

export const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures');
export const ROOT = path.resolve(FIXTURES, '..', '..', '..');

/** A fresh temp dir removed when the test ends. */
export async function tempDir(t: ExecutionContext): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'kitfed-dz-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** Writes `{relative path: content}` under dir. */
export async function writeTree(dir: string, files: Record<string, string>): Promise<void> {
  for (const [rel, text] of Object.entries(files)) {
    const abs = path.join(dir, rel);
    await mkdir(path.dirname(abs), { recursive: true });
    await writeFile(abs, text);
  }
}

/** Every file under dir as `{relative posix path: content}`; dotfiles only when asked. */
export async function readTree(dir: string, withDotfiles = false): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  for (const e of entries) {
    if (!e.isFile() || (!withDotfiles && e.name.startsWith('.'))) continue;
    const abs = path.join(e.parentPath, e.name);
    out[path.relative(dir, abs).split(path.sep).join('/')] = await readFile(abs, 'utf8');
  }
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => (a < b ? -1 : 1)));
}

/**
 * A small repo in kitfed's layout (templates/ + clusters/): one cluster `eu-1` of type `staging`,
 * one resource `auth` with container `auth-con` (image invision/node-auth, branches master and release).
 * `files` adds or replaces files.
 */
export function miniRepo(files: Record<string, string> = {}): Record<string, string> {
  return {
    'templates/base-cluster.yaml': `kind: ClusterNamespace
metadata: {name: base, branch: master}
resources:
  auth:
    file: ./auth/auth-deployment.mustache
    containers:
      auth-con:
        image_tag: invision/node-auth
        env: [{name: LOG_LEVEL, value: info}]
`,
    'templates/base-var.yaml': 'kind: ResourceConfig\ndeployment: {replicaCount: 1}\n',
    'templates/type/staging-var.yaml': 'kind: ResourceConfig\nmetadata: {type: staging}\n',
    'templates/images/invision/node-auth/master.yaml': 'image: quay.io/invision/node-auth:master-aaaa\n',
    'templates/images/invision/node-auth/release.yaml': 'image: quay.io/invision/node-auth:release-bbbb\n',
    'templates/resources/base-svc.mustache': 'apiVersion: v1\nkind: Service\nmetadata:\n  name: {{{svc.name}}}\n',
    'templates/resources/auth/auth-deployment.mustache': `apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{{name}}}
spec:
  replicas: {{deployment.replicaCount}}
  template:
    spec:
      containers:
        - name: auth
          image: {{{auth-con.image}}}
          env:
{{#auth-con.env}}
            - name: {{{name}}}
              value: "{{{value}}}"
{{/auth-con.env}}
`,
    'clusters/eu-1/cluster.yaml': 'kind: ClusterNamespace\nmetadata: {name: eu-1, type: staging}\n',
    ...files,
  };
}

/** Writes miniRepo(files) into a fresh temp dir; returns {repo, out}. */
export async function makeRepo(
  t: ExecutionContext,
  files: Record<string, string> = {},
): Promise<{ repo: string; out: string }> {
  const dir = await tempDir(t);
  const repo = path.join(dir, 'repo');
  await writeTree(repo, miniRepo(files));
  return { repo, out: path.join(dir, 'out') };
}
