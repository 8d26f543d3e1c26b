/**
 * `kitfed webhooks --config FILE`: the YAML configuration of the webhook service, validated with
 * ajv (every problem named by its key), secrets resolved from env or files and never logged.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { Ajv, type ErrorObject } from 'ajv';
import { parse } from 'yaml';
import { ConfigError } from './config-error.js';

export { ConfigError };

export type SecretRef = { env: string } | { file: string };

export interface RepoConfig {
  /** Any URL simple-git can fetch and push, local paths included. */
  url: string;
  branch: string;
  /** Matched against the push payload's `repository.full_name`. */
  name: string;
}

export interface WebhooksConfig {
  listen: { host: string; port: number };
  dataDir: string;
  /** Secrets for `/hooks/github`, the first one current, the others accepted during rotation. Empty: endpoint off. */
  githubSecrets: string[];
  /** Secrets for `/hooks/image`. Empty: endpoint off. */
  imageSecrets: string[];
  image: {
    /** The `repos[].name` image bumps are written to. */
    repo: string | undefined;
    committer: { name: string; email: string };
    /** Service branch assumed for GitHub `package` events whose tag does not say it. */
    packageBranch: string;
    maxAttempts: number;
  };
  repos: RepoConfig[];
  deploy:
    | { kubeconfig?: string; target?: 'clusters' | 'federation'; context?: string; folder?: string; prune?: boolean }
    | undefined;
  /** Where runs and rollout stages are reported (signed webhook, Slack, GitHub commit statuses). */
  notify:
    | {
        /** Signed JSON webhook (with `secret`). */
        url?: string;
        secret?: string;
        /** Slack-compatible incoming webhook (the URL is the credential). */
        slack?: { url: string };
        /** GitHub commit statuses. */
        github?: { token: string; apiUrl: string; context: string; targetUrl?: string };
      }
    | undefined;
  /**
   * Bearer tokens of the read and control API (`/runs`, `/metrics`, rollout control, `/rollbacks`);
   * the first is the one clients use. Empty: the service uses (and creates) `<dataDir>/api-token`.
   */
  apiTokens: string[];
  /** Credentials for rollout metric gates, sent to URLs starting with `url`. */
  metricSources: Array<{ url: string; token: string }>;
  /** Polling backstop interval; 0 = off. */
  pollMs: number;
  timeouts: { fetchMs: number; renderMs: number; deployMs: number };
}

const secretRef = {
  oneOf: [
    {
      type: 'object',
      properties: { env: { type: 'string', minLength: 1 } },
      required: ['env'],
      additionalProperties: false,
    },
    {
      type: 'object',
      properties: { file: { type: 'string', minLength: 1 } },
      required: ['file'],
      additionalProperties: false,
    },
  ],
};
const secretSpec = { anyOf: [secretRef, { type: 'array', items: secretRef, minItems: 1 }] };

const schema = {
  type: 'object',
  additionalProperties: false,
  required: ['listen', 'dataDir', 'repos'],
  properties: {
    listen: { type: 'string', pattern: '^[^:]*:[0-9]{1,5}$' },
    dataDir: { type: 'string', minLength: 1 },
    github: { type: 'object', additionalProperties: false, required: ['secret'], properties: { secret: secretSpec } },
    image: {
      type: 'object',
      additionalProperties: false,
      required: ['secret'],
      properties: {
        secret: secretSpec,
        repo: { type: 'string', minLength: 1 },
        committer: {
          type: 'object',
          additionalProperties: false,
          required: ['name', 'email'],
          properties: { name: { type: 'string', minLength: 1 }, email: { type: 'string', minLength: 1 } },
        },
        packageBranch: { type: 'string', minLength: 1 },
        maxAttempts: { type: 'integer', minimum: 1, maximum: 20 },
      },
    },
    repos: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['url', 'branch', 'name'],
        properties: {
          url: { type: 'string', minLength: 1 },
          branch: { type: 'string', minLength: 1 },
          name: { type: 'string', pattern: '^[^/\\s]+/[^/\\s]+$' },
        },
      },
    },
    deploy: {
      type: 'object',
      additionalProperties: false,
      required: ['kubeconfig'],
      properties: {
        kubeconfig: { type: 'string', minLength: 1 },
        target: { enum: ['clusters', 'federation'] },
        context: { type: 'string', minLength: 1 },
        folder: { type: 'string', minLength: 1 },
        prune: { type: 'boolean' },
      },
    },
    pollSeconds: { type: 'number', minimum: 0 },
    notify: {
      type: 'object',
      additionalProperties: false,
      dependencies: { url: ['secret'], secret: ['url'] },
      properties: {
        url: { type: 'string', pattern: '^https?://' },
        secret: secretSpec,
        slack: {
          type: 'object',
          additionalProperties: false,
          required: ['url'],
          properties: { url: secretRef },
        },
        github: {
          type: 'object',
          additionalProperties: false,
          required: ['token'],
          properties: {
            token: secretRef,
            apiUrl: { type: 'string', pattern: '^https?://' },
            context: { type: 'string', minLength: 1 },
            targetUrl: { type: 'string', pattern: '^https?://' },
          },
        },
      },
    },
    api: {
      type: 'object',
      additionalProperties: false,
      required: ['token'],
      properties: { token: secretSpec },
    },
    metrics: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['url', 'token'],
        properties: { url: { type: 'string', pattern: '^https?://' }, token: secretRef },
      },
    },
    timeouts: {
      type: 'object',
      additionalProperties: false,
      properties: {
        fetchSeconds: { type: 'number', exclusiveMinimum: 0 },
        renderSeconds: { type: 'number', exclusiveMinimum: 0 },
        deploySeconds: { type: 'number', exclusiveMinimum: 0 },
      },
    },
  },
} as const;

interface RawConfig {
  listen: string;
  dataDir: string;
  github?: { secret: SecretRef | SecretRef[] };
  image?: {
    secret: SecretRef | SecretRef[];
    repo?: string;
    committer?: { name: string; email: string };
    packageBranch?: string;
    maxAttempts?: number;
  };
  repos: RepoConfig[];
  deploy?: {
    kubeconfig?: string;
    target?: 'clusters' | 'federation';
    context?: string;
    folder?: string;
    prune?: boolean;
  };
  notify?: {
    url?: string;
    secret?: SecretRef | SecretRef[];
    slack?: { url: SecretRef };
    github?: { token: SecretRef; apiUrl?: string; context?: string; targetUrl?: string };
  };
  api?: { token: SecretRef | SecretRef[] };
  metrics?: Array<{ url: string; token: SecretRef }>;
  pollSeconds?: number;
  timeouts?: { fetchSeconds?: number; renderSeconds?: number; deploySeconds?: number };
}

const ajv = new Ajv({ allErrors: true });
const validate = ajv.compile<RawConfig>(schema);

/** `/repos/0/url` → `repos[0].url`, the way users read their YAML. */
function keyOf(err: ErrorObject): string {
  const parts = err.instancePath.split('/').slice(1);
  let key = '';
  for (const p of parts) key += /^\d+$/.test(p) ? `[${p}]` : key ? `.${p}` : p;
  if (err.keyword === 'required') {
    const missing = (err.params as { missingProperty: string }).missingProperty;
    return key ? `${key}.${missing}` : missing;
  }
  if (err.keyword === 'additionalProperties') {
    const extra = (err.params as { additionalProperty: string }).additionalProperty;
    return key ? `${key}.${extra}` : extra;
  }
  return key || '(root)';
}

function describe(errs: ErrorObject[]): string[] {
  const out = new Set<string>();
  for (const e of errs) {
    // oneOf/anyOf branches repeat themselves; one line per key is enough.
    if (e.keyword === 'oneOf' || e.keyword === 'anyOf') continue;
    const key = keyOf(e);
    const why =
      e.keyword === 'additionalProperties'
        ? 'unknown key'
        : e.keyword === 'required'
          ? 'required'
          : (e.message ?? 'invalid');
    out.add(`${key}: ${why}`);
  }
  return [...out];
}

function readSecret(ref: SecretRef, key: string, baseDir: string, env: NodeJS.ProcessEnv): string {
  if ('env' in ref) {
    const v = env[ref.env];
    if (!v) throw new Error(`${key}: environment variable ${ref.env} is not set`);
    return v;
  }
  try {
    const v = readFileSync(resolve(baseDir, ref.file), 'utf8').trim();
    if (!v) throw new Error('empty');
    return v;
  } catch (err) {
    throw new Error(`${key}: cannot read secret file ${ref.file} (${(err as NodeJS.ErrnoException).code ?? 'empty'})`);
  }
}

function readSecrets(
  spec: SecretRef | SecretRef[] | undefined,
  key: string,
  baseDir: string,
  env: NodeJS.ProcessEnv,
  problems: string[],
): string[] {
  if (!spec) return [];
  const refs = Array.isArray(spec) ? spec : [spec];
  const out: string[] = [];
  refs.forEach((ref, i) => {
    try {
      out.push(readSecret(ref, Array.isArray(spec) ? `${key}[${i}]` : key, baseDir, env));
    } catch (err) {
      problems.push((err as Error).message);
    }
  });
  return out;
}

/**
 * Validates a parsed config. Relative `file:` secrets and kubeconfig paths are resolved against
 * `baseDir` (the config file's folder); `dataDir` and repo URLs are used as written (relative to cwd).
 */
export function parseConfig(
  raw: unknown,
  file = '<config>',
  baseDir = process.cwd(),
  env: NodeJS.ProcessEnv = process.env,
): WebhooksConfig {
  if (!validate(raw)) throw new ConfigError(file, describe(validate.errors ?? []));
  const problems: string[] = [];
  const githubSecrets = readSecrets(raw.github?.secret, 'github.secret', baseDir, env, problems);
  const imageSecrets = readSecrets(raw.image?.secret, 'image.secret', baseDir, env, problems);
  const notifySecret = readSecrets(raw.notify?.secret, 'notify.secret', baseDir, env, problems)[0];
  const slackUrl = readSecrets(raw.notify?.slack?.url, 'notify.slack.url', baseDir, env, problems)[0];
  if (slackUrl !== undefined && !/^https?:\/\//.test(slackUrl))
    problems.push('notify.slack.url: the referenced value is not an http(s) URL');
  const githubToken = readSecrets(raw.notify?.github?.token, 'notify.github.token', baseDir, env, problems)[0];
  const apiTokens = readSecrets(raw.api?.token, 'api.token', baseDir, env, problems);
  const metricSources = (raw.metrics ?? []).flatMap((m, i) =>
    readSecrets(m.token, `metrics[${i}].token`, baseDir, env, problems).map((token) => ({ url: m.url, token })),
  );
  const names = raw.repos.map((r) => r.name);
  names.forEach((n, i) => {
    if (names.indexOf(n) !== i) problems.push(`repos[${i}].name: duplicate repo name ${n}`);
  });
  if (raw.image?.repo && !names.includes(raw.image.repo))
    problems.push(`image.repo: ${raw.image.repo} is not one of repos[].name`);
  if (problems.length > 0) throw new ConfigError(file, problems);
  const sep = raw.listen.lastIndexOf(':');
  const t = raw.timeouts ?? {};
  return {
    listen: { host: raw.listen.slice(0, sep) || '127.0.0.1', port: Number(raw.listen.slice(sep + 1)) },
    dataDir: raw.dataDir,
    githubSecrets,
    imageSecrets,
    image: {
      repo: raw.image?.repo ?? raw.repos[0]?.name,
      committer: raw.image?.committer ?? { name: 'kitfed image-deployer', email: 'image-deployer@kitfed.local' },
      packageBranch: raw.image?.packageBranch ?? 'master',
      maxAttempts: raw.image?.maxAttempts ?? 5,
    },
    repos: raw.repos,
    deploy: raw.deploy
      ? { ...raw.deploy, ...(raw.deploy.kubeconfig ? { kubeconfig: resolve(baseDir, raw.deploy.kubeconfig) } : {}) }
      : undefined,
    notify: raw.notify
      ? {
          ...(raw.notify.url && notifySecret ? { url: raw.notify.url, secret: notifySecret } : {}),
          ...(slackUrl ? { slack: { url: slackUrl } } : {}),
          ...(raw.notify.github && githubToken
            ? {
                github: {
                  token: githubToken,
                  apiUrl: (raw.notify.github.apiUrl ?? 'https://api.github.com').replace(/\/+$/, ''),
                  context: raw.notify.github.context ?? 'kitfed',
                  ...(raw.notify.github.targetUrl ? { targetUrl: raw.notify.github.targetUrl } : {}),
                },
              }
            : {}),
        }
      : undefined,
    apiTokens,
    metricSources,
    pollMs: (raw.pollSeconds ?? 0) * 1000,
    timeouts: {
      fetchMs: (t.fetchSeconds ?? 120) * 1000,
      renderMs: (t.renderSeconds ?? 120) * 1000,
      deployMs: (t.deploySeconds ?? 600) * 1000,
    },
  };
}

export function loadConfig(file: string, env: NodeJS.ProcessEnv = process.env): WebhooksConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(file, [`cannot read file (${(err as NodeJS.ErrnoException).code ?? 'error'})`]);
  }
  let raw: unknown;
  try {
    raw = parse(text);
  } catch (err) {
    throw new ConfigError(file, [`not valid YAML: ${(err as Error).message.split('\n')[0]}`]);
  }
  return parseConfig(raw, file, dirname(resolve(file)), env);
}
