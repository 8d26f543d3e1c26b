/**
 * A typed client of the webhook service's API (`api.ts`), with its bearer token: what
 * `kitfed runs|rollout|rollback` use and what the web console can use. Errors are KitfedErrors
 * carrying the service's Status (code, reason, message).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { KitfedError } from '../core/errors.js';
import {
  API,
  type HealthAnswer,
  type RollbackRequest,
  type RollbackResponse,
  type RolloutAction,
  type RolloutActionRequest,
  type RolloutStatus,
  type RunList,
  type RunRecord,
} from './api.js';
import type { WebhooksConfig } from './config.js';

/** File `kitfed up` writes the token of its webhook service to, next to its kubeconfig. */
export const EMBEDDED_TOKEN_FILE = '.kitfed/webhooks-token';
/** File the service generates in its data dir when its config names no `api.token`. */
export const API_TOKEN_FILE = 'api-token';

export class GitopsClient {
  readonly url: string;

  /**
   * @param authHint appended to a 401's message: how the caller's user gives the service a token
   *   (the CLI names its flags; the console says the signed-in token is not accepted).
   */
  constructor(
    url: string,
    private readonly token: string,
    private readonly timeoutMs = 30_000,
    private readonly authHint = 'give the service token: --token, --token-file, or --config with api.token',
  ) {
    this.url = url.replace(/\/+$/, '');
  }

  private async call<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
    return (await this.exchange<T>(method, path, body)).body as T;
  }

  /**
   * One request; a 304 (only asked for with `ifNoneMatch`) comes back with no body. `waitMs`: how
   * long the service may hold it (a long poll), added to the timeout; `signal` aborts it.
   */
  private async exchange<T>(
    method: 'GET' | 'POST',
    path: string,
    body?: unknown,
    o: { ifNoneMatch?: string | undefined; waitMs?: number; signal?: AbortSignal | undefined } = {},
  ): Promise<{ status: number; etag: string | undefined; body: T | undefined }> {
    const { ifNoneMatch, waitMs = 0 } = o;
    const timeout = AbortSignal.timeout(this.timeoutMs + waitMs);
    let res: Response;
    try {
      res = await fetch(`${this.url}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${this.token}`,
          accept: 'application/json',
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
          ...(ifNoneMatch !== undefined ? { 'if-none-match': ifNoneMatch } : {}),
        },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        signal: o.signal ? AbortSignal.any([o.signal, timeout]) : timeout,
      });
    } catch (err) {
      throw new KitfedError(
        `cannot reach the webhook service at ${this.url}: ${(err as Error).message}`,
        503,
        'ServiceUnavailable',
      );
    }
    const etag = res.headers.get('etag') ?? undefined;
    const text = await res.text();
    if (res.status === 304) return { status: 304, etag, body: undefined };
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    if (!res.ok) {
      const st = json as { message?: string; reason?: string } | undefined;
      const hint = res.status === 401 ? ` (${this.authHint})` : '';
      throw new KitfedError(
        `${method} ${path}: ${res.status} ${st?.message ?? text.slice(0, 200)}${hint}`,
        res.status,
        st?.reason ?? 'Unknown',
      );
    }
    return { status: res.status, etag, body: json as T };
  }

  async listRuns(limit = 100): Promise<RunRecord[]> {
    return (await this.call<RunList>('GET', `${API.runs}?limit=${limit}`)).runs;
  }

  /**
   * Conditional `GET /runs`: `unchanged` when the service still has the runs of `etag` (it answers
   * 304 without listing them), else the runs and their new ETag. With `waitSeconds` it is a long
   * poll (services/core/long-poll.ts): the service holds the request until a run changes or the
   * wait ends (then `unchanged`).
   */
  async listRunsIfChanged(
    etag: string | undefined,
    limit = 100,
    opts: { waitSeconds?: number; signal?: AbortSignal } = {},
  ): Promise<{ unchanged: true } | { unchanged: false; etag: string | undefined; runs: RunRecord[] }> {
    const wait = opts.waitSeconds ? `&wait=${opts.waitSeconds}` : '';
    const r = await this.exchange<RunList>('GET', `${API.runs}?limit=${limit}${wait}`, undefined, {
      ifNoneMatch: etag,
      waitMs: (opts.waitSeconds ?? 0) * 1000,
      signal: opts.signal,
    });
    if (r.status === 304) return { unchanged: true };
    return { unchanged: false, etag: r.etag, runs: r.body?.runs ?? [] };
  }

  getRun(id: number): Promise<RunRecord> {
    return this.call('GET', API.run(id));
  }

  rollout(id: number): Promise<RolloutStatus> {
    return this.call('GET', API.rollout(id));
  }

  /** pause | resume | promote | abort; answers the run with its updated rollout. */
  act(id: number, action: RolloutAction, body: RolloutActionRequest = {}): Promise<RunRecord> {
    return this.call('POST', API.rolloutAction(id, action), body);
  }

  rollback(req: RollbackRequest): Promise<RollbackResponse> {
    return this.call('POST', API.rollbacks, req);
  }

  healthz(): Promise<HealthAnswer> {
    return this.call('GET', API.healthz);
  }
}

function fileToken(file: string): string | undefined {
  if (!existsSync(file)) return undefined;
  const t = readFileSync(file, 'utf8').trim();
  return t || undefined;
}

/**
 * The token a client uses: `--token`, else `--token-file`, else `KITFED_WEBHOOKS_TOKEN`, else the
 * config's `api.token` (or the token the service generated in its data dir), else the one
 * `kitfed up` wrote (`.kitfed/webhooks-token`). Undefined when there is none.
 */
export function resolveToken(o: {
  token?: string | undefined;
  tokenFile?: string | undefined;
  config?: WebhooksConfig | undefined;
  env?: NodeJS.ProcessEnv;
}): string | undefined {
  if (o.token) return o.token;
  if (o.tokenFile) {
    const t = fileToken(o.tokenFile);
    if (!t) throw new KitfedError(`--token-file ${o.tokenFile}: missing or empty`, 400, 'BadRequest');
    return t;
  }
  const env = (o.env ?? process.env).KITFED_WEBHOOKS_TOKEN;
  if (env) return env;
  if (o.config) return o.config.apiTokens[0] ?? fileToken(join(o.config.dataDir, API_TOKEN_FILE));
  return fileToken(EMBEDDED_TOKEN_FILE);
}

/**
 * The webhook service's URL: `url` if given, else the config's listen address (a wildcard host
 * means loopback), else the default.
 */
export function serviceUrl(config: WebhooksConfig | undefined, url: string | undefined): string {
  if (url) return url.replace(/\/+$/, '');
  if (!config) return 'http://127.0.0.1:8090';
  const host = config.listen.host === '0.0.0.0' || config.listen.host === '::' ? '127.0.0.1' : config.listen.host;
  return `http://${host.includes(':') ? `[${host}]` : host}:${config.listen.port}`;
}
