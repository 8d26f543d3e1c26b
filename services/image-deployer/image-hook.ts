/**
 * `POST /hooks/image`: a CI "image built" notification signed with HMAC-SHA256 of the raw body in
 * `X-Kitfed-Signature-256: sha256=<hex>` (or a GitHub `package` event signed as GitHub signs).
 * Answers once the bump is committed and pushed: 200 with the manifests commit.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { errors, KitfedError } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import { bumpFromPackageEvent, parseImageBody, type ImageBump } from './image-bump.js';
import type { BumpResult, RepoWriter } from './repo-writer.js';
import { PermanentWriteError, WriteRetriesExhaustedError } from '../core/write-errors.js';

export const IMAGE_SIGNATURE_HEADER = 'x-kitfed-signature-256';

/** `sha256=<hex>` of the raw body, as CI must send it. */
export function signImageBody(secret: string, body: Buffer | string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/** Constant-time check of a `sha256=<hex>` header against each accepted secret. */
export function verifyImageSignature(secrets: readonly string[], body: Buffer, header: string | undefined): boolean {
  if (!header || !/^sha256=[0-9a-f]{64}$/i.test(header)) return false;
  const given = Buffer.from(header.toLowerCase());
  let ok = false;
  for (const s of secrets) {
    const want = Buffer.from(signImageBody(s, body));
    if (want.length === given.length && timingSafeEqual(want, given)) ok = true;
  }
  return ok;
}

export interface HookResponse {
  status: number;
  body: unknown;
}

export interface ImageHookOptions {
  readonly secrets: readonly string[];
  /** Verifies a GitHub-signed delivery (`X-Hub-Signature-256`), for `package` events. */
  readonly verifyGithub: (payload: string, signature: string) => Promise<boolean>;
  readonly writer: RepoWriter;
  readonly packageBranch: string;
  readonly log: Logger;
  readonly onResult?: (result: 'committed' | 'unchanged' | 'ignored' | 'failed' | 'rejected') => void;
}

export function createImageHook(
  opts: ImageHookOptions,
): (raw: Buffer, headers: IncomingHttpHeaders) => Promise<HookResponse> {
  return async (raw, headers) => {
    const githubEvent = header(headers, 'x-github-event');
    let bump: ImageBump;
    if (githubEvent) {
      const sig = header(headers, 'x-hub-signature-256');
      if (!sig || !(await opts.verifyGithub(raw.toString('utf8'), sig).catch(() => false))) {
        opts.onResult?.('rejected');
        throw errors.unauthorized('image webhook: missing or invalid X-Hub-Signature-256');
      }
      if (githubEvent === 'ping') return { status: 200, body: { ok: true, ping: true } };
      if (githubEvent !== 'package' && githubEvent !== 'registry_package') {
        opts.onResult?.('ignored');
        return { status: 202, body: { ignored: `event ${githubEvent}` } };
      }
      const outcome = bumpFromPackageEvent(parseJson(raw), opts.packageBranch);
      if ('ignored' in outcome) {
        opts.onResult?.('ignored');
        return { status: 202, body: { ignored: outcome.ignored } };
      }
      bump = outcome.bump;
    } else {
      if (!verifyImageSignature(opts.secrets, raw, header(headers, IMAGE_SIGNATURE_HEADER))) {
        opts.onResult?.('rejected');
        throw errors.unauthorized('image webhook: missing or invalid X-Kitfed-Signature-256');
      }
      bump = parseImageBody(raw.toString('utf8'));
    }
    return respond(await submit(opts, bump), opts);
  };
}

async function submit(opts: ImageHookOptions, bump: ImageBump): Promise<BumpResult> {
  try {
    return await opts.writer.submit(bump);
  } catch (err) {
    opts.onResult?.('failed');
    opts.log.error(
      { repository: bump.repository, branch: bump.branch, err: (err as Error).message },
      'Image bump failed',
    );
    if (err instanceof PermanentWriteError)
      throw new KitfedError(`image bump failed (not retried): ${err.message}`, 502, 'BadGateway');
    if (err instanceof WriteRetriesExhaustedError) throw errors.unavailable(err.message);
    throw errors.internal(`image bump failed: ${(err as Error).message}`);
  }
}

function respond(result: BumpResult, opts: ImageHookOptions): HookResponse {
  opts.onResult?.(result.status);
  return { status: 200, body: result };
}

function parseJson(raw: Buffer): Record<string, never> {
  try {
    return JSON.parse(raw.toString('utf8')) as Record<string, never>;
  } catch {
    throw errors.badRequest('image webhook: body is not valid JSON');
  }
}

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}
