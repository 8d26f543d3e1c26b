/**
 * `POST /hooks/github`: verified with @octokit/webhooks against each configured secret (rotation),
 * `X-Hub-Signature-256` required (SHA-1-only deliveries are refused), `ping` answered, `push` to a
 * configured repo+branch persisted in the event store before the 202. Replays answer 200 duplicate.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { Webhooks, type EmitterWebhookEvent } from '@octokit/webhooks';
import { errors } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import type { HookResponse } from '../image-deployer/index.js';
import type { RepoConfig } from './config.js';
import type { EventStore } from './event-store.js';

type PushPayload = EmitterWebhookEvent<'push'>['payload'];

const ZERO_SHA = /^0+$/;

/** A verifier trying each secret in turn (the first is current; others are accepted during rotation). */
export function githubVerifier(secrets: readonly string[]): (payload: string, signature: string) => Promise<boolean> {
  const hooks = secrets.map((secret) => new Webhooks({ secret }));
  return async (payload, signature) => {
    if (!payload || !signature) return false;
    for (const h of hooks) if (await h.verify(payload, signature).catch(() => false)) return true;
    return false;
  };
}

export interface GithubHookOptions {
  readonly secrets: readonly string[];
  readonly store: EventStore;
  readonly repos: readonly RepoConfig[];
  readonly log: Logger;
  /** Called after a push event is persisted, to wake the repo's worker. */
  readonly onAccepted: (repo: string) => void;
  /** Handles `package`/`registry_package` events (the image webhook). */
  readonly onPackage?: (raw: Buffer, headers: IncomingHttpHeaders) => Promise<HookResponse>;
  readonly onResult?: (result: 'accepted' | 'duplicate' | 'ignored' | 'rejected' | 'ping') => void;
}

export function createGithubHook(
  opts: GithubHookOptions,
): (raw: Buffer, headers: IncomingHttpHeaders) => Promise<HookResponse> {
  const verify = githubVerifier(opts.secrets);
  const result = (r: Parameters<NonNullable<GithubHookOptions['onResult']>>[0]): void => opts.onResult?.(r);
  return async (raw, headers) => {
    if (opts.secrets.length === 0) throw errors.notFound({ group: '', plural: 'hooks', name: 'github' });
    const sig = header(headers, 'x-hub-signature-256');
    if (!sig) {
      result('rejected');
      throw errors.unauthorized(
        header(headers, 'x-hub-signature')
          ? 'X-Hub-Signature-256 is required: SHA-1 signatures (X-Hub-Signature) are not accepted'
          : 'X-Hub-Signature-256 is required',
      );
    }
    if ((header(headers, 'content-type') ?? '').includes('x-www-form-urlencoded')) {
      throw errors.unsupportedMediaType(
        'application/x-www-form-urlencoded (set the GitHub webhook content type to application/json)',
      );
    }
    const payload = raw.toString('utf8');
    if (!(await verify(payload, sig))) {
      result('rejected');
      throw errors.unauthorized('signature does not match the payload and any configured secret');
    }
    const event = header(headers, 'x-github-event');
    const delivery = header(headers, 'x-github-delivery');
    if (!event || !delivery) throw errors.badRequest('X-GitHub-Event and X-GitHub-Delivery headers are required');
    if (event === 'ping') {
      result('ping');
      return { status: 200, body: { ok: true, event: 'ping' } };
    }
    if ((event === 'package' || event === 'registry_package') && opts.onPackage) return opts.onPackage(raw, headers);
    if (event !== 'push') {
      result('ignored');
      return { status: 200, body: { ignored: `event ${event} is not handled` } };
    }
    return acceptPush(opts, parsePush(payload), delivery, result);
  };
}

async function acceptPush(
  opts: GithubHookOptions,
  push: PushPayload,
  delivery: string,
  result: (r: 'accepted' | 'duplicate' | 'ignored') => void,
): Promise<HookResponse> {
  const fullName = push.repository?.full_name ?? '';
  const repo = opts.repos.find((r) => r.name.toLowerCase() === fullName.toLowerCase());
  const ignored = (why: string): HookResponse => {
    result('ignored');
    return { status: 200, body: { ignored: why } };
  };
  if (!repo) return ignored(`repository ${fullName} is not configured`);
  if (push.ref !== `refs/heads/${repo.branch}`)
    return ignored(`ref ${push.ref} is not the configured branch ${repo.branch}`);
  if (push.deleted || ZERO_SHA.test(push.after)) return ignored('branch deletion');
  if (!/^[0-9a-f]{40,64}$/.test(push.after))
    throw errors.badRequest('push payload: after is not a commit id', [{ field: 'after', message: 'not a commit id' }]);
  const outcome = await opts.store.acceptDurably({
    delivery,
    repo: repo.name,
    ref: push.ref,
    after: push.after,
    before: push.before,
    trigger: `push ${delivery}`,
    ...(push.pusher?.name ? { pusher: push.pusher.name } : {}),
    ...(push.head_commit?.message ? { message: push.head_commit.message.split('\n')[0] } : {}),
  });
  if (outcome.outcome === 'duplicate') {
    result('duplicate');
    return { status: 200, body: { duplicate: true, by: outcome.by, eventId: outcome.eventId } };
  }
  result('accepted');
  opts.log.info(
    { delivery, repo: repo.name, after: push.after, eventId: outcome.eventId, coalesced: outcome.coalesced },
    'Push event accepted',
  );
  opts.onAccepted(repo.name);
  return { status: 202, body: { accepted: true, eventId: outcome.eventId, coalesced: outcome.coalesced } };
}

function parsePush(payload: string): PushPayload {
  let push: unknown;
  try {
    push = JSON.parse(payload);
  } catch {
    throw errors.badRequest('push payload is not valid JSON');
  }
  const p = push as Partial<PushPayload> | null;
  if (!p || typeof p.ref !== 'string' || typeof p.after !== 'string' || typeof p.repository?.full_name !== 'string') {
    throw errors.badRequest('push payload: ref, after and repository.full_name are required');
  }
  return p as PushPayload;
}

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}
