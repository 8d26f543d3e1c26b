/** Test fixtures for the webhook service: a bare repo playing GitHub, a running service, signed requests. */
import { randomUUID } from 'node:crypto';
import { cp, mkdtemp, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { Webhooks } from '@octokit/webhooks';
import type { ExecutionContext } from 'ava';
import { pino } from 'pino';
import type { SimpleGit } from 'simple-git';
import { gitClient } from '../../services/core/git-client.js';
import { parseConfig, type WebhooksConfig } from '../../services/gitops/config.js';
import {
  startWebhookService,
  type WebhookService,
  type WebhookServiceOptions,
} from '../../services/gitops/webhook-service.js';
import { signImageBody } from '../../services/image-deployer/image-hook.js';

export const FIXTURE = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'manifests');
export const GITHUB_SECRET = 'gh-test-secret';
export const OLD_GITHUB_SECRET = 'gh-old-secret';
export const IMAGE_SECRET = 'image-test-secret';
export const NOTIFY_SECRET = 'notify-secret';
/** The bearer token of the read and control API in test configs. */
export const API_TOKEN = 'api-test-token';
export const REPO_NAME = 'acme/manifests';
export const BRANCH = 'main';

/** The same unattended simple-git setup the service uses (complete output, no prompts). */
function git(dir?: string): SimpleGit {
  return gitClient(dir, 60_000);
}

export interface Remote {
  tmp: string;
  /** The bare repo ("GitHub"). */
  url: string;
  /** A developer clone, for foreign pushes and for reading what landed. */
  dev: SimpleGit;
  devDir: string;
}

export async function tempDir(t: ExecutionContext, prefix = 'kitfed-gitops-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** A bare repo seeded with the fixture manifests on branch main, and a developer clone of it. */
export async function makeRemote(t: ExecutionContext, fixture = FIXTURE): Promise<Remote> {
  const tmp = await tempDir(t);
  const url = join(tmp, 'origin.git');
  await git().raw(['init', '--bare', '--initial-branch', BRANCH, url]);
  const devDir = join(tmp, 'dev');
  await cp(fixture, devDir, { recursive: true });
  const dev = git(devDir);
  await dev.init(['--initial-branch', BRANCH]);
  await dev.addConfig('user.name', 'Dev');
  await dev.addConfig('user.email', 'dev@example.com');
  await dev.add('.');
  await dev.commit('seed manifests');
  await dev.addRemote('origin', url);
  await dev.push('origin', BRANCH);
  return { tmp, url, dev, devDir };
}

/** Commits a file change in the developer clone and pushes it; returns the new commit. */
export async function devCommit(
  remote: Remote,
  file: string,
  content: string,
  message = `edit ${file}`,
): Promise<string> {
  await remote.dev.pull('origin', BRANCH, ['--rebase']);
  await mkdir(dirname(join(remote.devDir, file)), { recursive: true });
  await writeFile(join(remote.devDir, file), content);
  await remote.dev.add(file);
  await remote.dev.commit(message);
  // Another writer may push in between: rebase and push again, as a human would (bounded).
  for (let i = 0; ; i++) {
    try {
      await remote.dev.push('origin', BRANCH);
      break;
    } catch (err) {
      if (i >= 20) throw err;
      await remote.dev.pull('origin', BRANCH, ['--rebase']);
    }
  }
  return (await remote.dev.revparse(['HEAD'])).trim();
}

/** A file's content at the tip of the remote branch. */
export async function remoteFile(remote: Remote, file: string): Promise<string> {
  return git(remote.url).show([`${BRANCH}:${file}`]);
}

export async function remoteLog(remote: Remote): Promise<Array<{ hash: string; message: string; body: string }>> {
  const log = await git(remote.url).log([BRANCH]);
  return log.all.map((c) => ({ hash: c.hash, message: c.message, body: c.body }));
}

/** A config for the test remote; `extra` adds or replaces keys (`env`: extra environment for secret refs). */
export function testConfig(remote: Remote, dataDir: string, extra: Record<string, unknown> = {}): WebhooksConfig {
  const { env: extraEnv, ...rest } = extra as { env?: Record<string, string> };
  return parseConfig(
    {
      listen: '127.0.0.1:0',
      dataDir,
      github: { secret: [{ env: 'T_GH' }, { env: 'T_GH_OLD' }] },
      image: { secret: { env: 'T_IMG' } },
      repos: [{ url: remote.url, branch: BRANCH, name: REPO_NAME }],
      api: { token: { env: 'T_API' } },
      ...rest,
    },
    'test',
    process.cwd(),
    {
      T_GH: GITHUB_SECRET,
      T_GH_OLD: OLD_GITHUB_SECRET,
      T_IMG: IMAGE_SECRET,
      T_NOTIFY: NOTIFY_SECRET,
      T_API: API_TOKEN,
      T_SLACK: 'http://127.0.0.1:1/unset',
      T_GH_TOKEN: 'gh-status-token',
      ...extraEnv,
    },
  );
}

export async function startService(
  t: ExecutionContext,
  config: WebhooksConfig,
  opts: Omit<WebhookServiceOptions, 'config'> = {},
): Promise<WebhookService> {
  // Quiet unless asked: KITFED_TEST_LOGS=1 shows the service's logs.
  const log = opts.log ?? pino({ level: process.env.KITFED_TEST_LOGS ? 'debug' : 'silent' });
  const service = await startWebhookService({ config, log, ...opts });
  t.teardown(() => service.close(2000));
  return service;
}

export interface Reply {
  status: number;
  body: Record<string, unknown>;
}

async function reply(res: Response): Promise<Reply> {
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

export async function postImage(
  url: string,
  body: Record<string, unknown>,
  secret: string | null = IMAGE_SECRET,
): Promise<Reply> {
  const raw = JSON.stringify(body);
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (secret) headers['x-kitfed-signature-256'] = signImageBody(secret, raw);
  return reply(await fetch(`${url}/hooks/image`, { method: 'POST', body: raw, headers }));
}

export interface GithubSend {
  event?: string;
  delivery?: string;
  secret?: string | undefined;
  /** Send only the legacy SHA-1 header. */
  sha1Only?: boolean;
}

/** Posts a payload the way GitHub does: JSON body, X-Hub-Signature-256 over the exact bytes. */
export async function postGithub(
  url: string,
  payload: unknown,
  opts: GithubSend = {},
): Promise<Reply & { delivery: string }> {
  const raw = JSON.stringify(payload);
  const delivery = opts.delivery ?? randomUUID();
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'user-agent': 'GitHub-Hookshot/test',
    'x-github-event': opts.event ?? 'push',
    'x-github-delivery': delivery,
  };
  const secret = 'secret' in opts ? opts.secret : GITHUB_SECRET;
  if (secret && opts.sha1Only) {
    const { createHmac } = await import('node:crypto');
    headers['x-hub-signature'] = `sha1=${createHmac('sha1', secret).update(raw).digest('hex')}`;
  } else if (secret) {
    headers['x-hub-signature-256'] = await new Webhooks({ secret }).sign(raw);
  }
  return { ...(await reply(await fetch(`${url}/hooks/github`, { method: 'POST', body: raw, headers }))), delivery };
}

interface PushExample {
  ref: string;
  after: string;
  before: string;
  repository: { full_name: string; name: string; clone_url: string; owner: { login?: string; name?: string } };
  head_commit: { id: string } | null;
  [k: string]: unknown;
}

/** GitHub's own push example (a branch push) from @octokit/webhooks-examples, pointed at our repo and commit. */
export async function pushFromExample(remote: Remote, after: string, before = '0'.repeat(40)): Promise<PushExample> {
  const path = fileURLToPath(import.meta.resolve('@octokit/webhooks-examples'));
  const defs = JSON.parse(await readFile(path, 'utf8')) as Array<{ name: string; examples: PushExample[] }>;
  const example = defs.find((d) => d.name === 'push')?.examples.find((e) => e.ref.startsWith('refs/heads/'));
  if (!example) throw new Error('no branch push example in @octokit/webhooks-examples');
  const p = structuredClone(example);
  p.ref = `refs/heads/${BRANCH}`;
  p.after = after;
  p.before = before;
  p.repository = {
    ...p.repository,
    full_name: REPO_NAME,
    name: 'manifests',
    clone_url: remote.url,
    owner: { ...p.repository.owner, login: 'acme', name: 'acme' },
  };
  if (p.head_commit) p.head_commit = { ...p.head_commit, id: after };
  return p;
}

/** Polls until `fn` returns a value (bounded: `tries` × `intervalMs`), then returns it; throws if it never does. */
export async function eventually<T>(
  fn: () => Promise<T | undefined> | T | undefined,
  what: string,
  tries = 2400,
  intervalMs = 50,
): Promise<T> {
  for (let i = 0; i < tries; i++) {
    const v = await fn();
    if (v !== undefined) return v;
    await sleep(intervalMs);
  }
  throw new Error(`gave up waiting for ${what}`);
}

/** GET with the test API token (`token: null` sends none). */
export async function getJson(url: string, token: string | null = API_TOKEN): Promise<Reply> {
  return reply(await fetch(url, token ? { headers: { authorization: `Bearer ${token}` } } : {}));
}

/** POST JSON with the test API token. */
export async function postJson(url: string, body: unknown, token: string | null = API_TOKEN): Promise<Reply> {
  return reply(
    await fetch(url, {
      method: 'POST',
      body: JSON.stringify(body),
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    }),
  );
}
