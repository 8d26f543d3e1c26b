/**
 * `kitfed simulate`: sends correctly signed webhooks to a running `kitfed webhooks`, exactly as
 * GitHub (push) and a CI system (image) would, using the secrets of the same config file.
 */
import { randomUUID } from 'node:crypto';
import { Webhooks } from '@octokit/webhooks';
import { answerOf } from '../core/http.js';
import { gitClient } from '../core/git-client.js';
import { IMAGE_SIGNATURE_HEADER, signImageBody } from '../image-deployer/index.js';
import { serviceUrl } from './client.js';
import type { RepoConfig, WebhooksConfig } from './config.js';

export interface SimulateResult {
  status: number;
  body: unknown;
  delivery?: string;
}

async function post(url: string, body: string, headers: Record<string, string>): Promise<SimulateResult> {
  return answerOf(
    await fetch(url, {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/json', ...headers },
      signal: AbortSignal.timeout(120_000),
    }),
  );
}

/** A push payload with the fields kitfed (and most receivers) read. */
export function pushPayload(repo: RepoConfig, after: string, before = '0'.repeat(40)): Record<string, unknown> {
  const [owner = '', name = ''] = repo.name.split('/');
  return {
    ref: `refs/heads/${repo.branch}`,
    before,
    after,
    created: false,
    deleted: false,
    forced: false,
    base_ref: null,
    compare: `https://github.com/${repo.name}/compare/${before.slice(0, 12)}...${after.slice(0, 12)}`,
    commits: [],
    head_commit: { id: after, message: 'kitfed simulate push', timestamp: new Date().toISOString() },
    repository: {
      name,
      full_name: repo.name,
      owner: { login: owner, name: owner },
      clone_url: repo.url,
      default_branch: repo.branch,
    },
    pusher: { name: 'kitfed-simulate', email: 'simulate@kitfed.local' },
    sender: { login: 'kitfed-simulate' },
  };
}

export async function simulatePush(
  config: WebhooksConfig,
  opts: { url?: string; repo?: string; commit?: string },
): Promise<SimulateResult> {
  const repo = opts.repo ? config.repos.find((r) => r.name === opts.repo) : config.repos[0];
  if (!repo)
    throw new Error(`repo ${opts.repo} is not in the config (repos: ${config.repos.map((r) => r.name).join(', ')})`);
  const secret = config.githubSecrets[0];
  if (!secret) throw new Error('the config has no github.secret');
  const commit = opts.commit ?? (await headOf(repo));
  const body = JSON.stringify(pushPayload(repo, commit));
  const delivery = randomUUID();
  const signature = await new Webhooks({ secret }).sign(body);
  const res = await post(`${serviceUrl(config, opts.url)}/hooks/github`, body, {
    'x-github-event': 'push',
    'x-github-delivery': delivery,
    'x-hub-signature-256': signature,
    'user-agent': 'GitHub-Hookshot/kitfed-simulate',
  });
  return { ...res, delivery };
}

async function headOf(repo: RepoConfig): Promise<string> {
  const out = await gitClient(undefined, 30_000).listRemote([repo.url, `refs/heads/${repo.branch}`]);
  const sha = out.split(/\s+/)[0] ?? '';
  if (!/^[0-9a-f]{40,64}$/.test(sha)) throw new Error(`branch ${repo.branch} not found in ${repo.name}`);
  return sha;
}

/** `registry.example/acme/web:master-1a2b3c4` → repository `acme/web`, branch `master`, commit `1a2b3c4`. */
export function imageBody(
  image: string,
  opts: { repository?: string; branch?: string; commit?: string; message?: string },
): Record<string, string> {
  const at = image.lastIndexOf(':');
  const name = at > image.lastIndexOf('/') ? image.slice(0, at) : image;
  const tag = at > image.lastIndexOf('/') ? image.slice(at + 1) : '';
  const parts = name.split('/');
  if (parts.length > 2 && /[.:]|^localhost$/.test(parts[0] ?? '')) parts.shift();
  const m = /^(.+)-([0-9a-f]{7,40})$/.exec(tag);
  return {
    image,
    repository: opts.repository ?? parts.join('/'),
    branch: opts.branch ?? m?.[1] ?? 'master',
    commit: opts.commit ?? m?.[2] ?? '0000000',
    ...(opts.message ? { message: opts.message } : {}),
  };
}

export async function simulateImage(
  config: WebhooksConfig,
  image: string,
  opts: { url?: string; repository?: string; branch?: string; commit?: string; message?: string },
): Promise<SimulateResult> {
  const secret = config.imageSecrets[0];
  if (!secret) throw new Error('the config has no image.secret');
  const body = JSON.stringify(imageBody(image, opts));
  return post(`${serviceUrl(config, opts.url)}/hooks/image`, body, {
    [IMAGE_SIGNATURE_HEADER]: signImageBody(secret, body),
  });
}
