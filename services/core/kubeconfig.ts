import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import jsyaml from 'js-yaml';
import { errors } from './errors.js';

/** One context of a kubeconfig: a cluster (server, optional CA) and its user (optional bearer token). */
export interface KubeconfigEntry {
  /** Context, cluster and user name. */
  name: string;
  server: string;
  /** PEM of the CA that signed the server's certificate. */
  caCert?: string;
  token?: string;
  /** PEM client certificate and key (signed by the API server's CA) instead of a token. */
  clientCert?: string;
  clientKey?: string;
  namespace?: string;
}

/**
 * js-yaml (as client-node and the deployer read YAML): several times faster than `yaml` on kubeconfigs,
 * whose base64 certificates are long scalars.
 */
function dump(doc: object): string {
  return jsyaml.dump(doc, { lineWidth: -1, noRefs: true });
}

interface KubeconfigDoc {
  clusters?: unknown[];
  users?: unknown[];
  contexts?: unknown[];
  'current-context'?: string;
}

/** The one kubeconfig writer: a context per entry, the first (or `current`) current. */
export function buildKubeconfig(entries: readonly KubeconfigEntry[], current = entries[0]?.name ?? ''): string {
  return dump({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: entries.map((e) => ({
      name: e.name,
      cluster: {
        server: e.server,
        ...(e.caCert ? { 'certificate-authority-data': Buffer.from(e.caCert).toString('base64') } : {}),
      },
    })),
    users: entries.map((e) => ({
      name: e.name,
      user: {
        ...(e.token ? { token: e.token } : {}),
        ...(e.clientCert && e.clientKey
          ? {
              'client-certificate-data': Buffer.from(e.clientCert).toString('base64'),
              'client-key-data': Buffer.from(e.clientKey).toString('base64'),
            }
          : {}),
      },
    })),
    contexts: entries.map((e) => ({
      name: e.name,
      context: { cluster: e.name, user: e.name, ...(e.namespace ? { namespace: e.namespace } : {}) },
    })),
    'current-context': current,
  });
}

/** Concatenates kubeconfigs (names must not collide); the first one's current-context wins. */
export function mergeKubeconfigs(texts: readonly string[]): string {
  const docs = texts.map((t) => (jsyaml.load(t) ?? {}) as KubeconfigDoc);
  return dump({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: docs.flatMap((d) => d.clusters ?? []),
    users: docs.flatMap((d) => d.users ?? []),
    contexts: docs.flatMap((d) => d.contexts ?? []),
    'current-context': docs[0]?.['current-context'] ?? '',
  });
}

/** One context of a kubeconfig with its cluster and user, file references resolved and read. */
export interface ResolvedContext {
  context: string;
  server: string;
  namespace?: string;
  /** For node:https: CA, client certificate and key, `insecure-skip-tls-verify`, `tls-server-name`. */
  tls: { ca?: Buffer; cert?: Buffer; key?: Buffer; rejectUnauthorized?: false; servername?: string };
  /** Authorization (a bearer token or basic auth) and Impersonate-User. */
  headers: Record<string, string>;
  /** The user's credentials come from a plugin (`exec` or `auth-provider`), which only client-node runs. */
  plugin: boolean;
}

type Entry = Record<string, unknown>;

let lastParsed: { text: string; doc: unknown } | undefined;

/**
 * The one kubeconfig reader: contexts, clusters and users of a kubeconfig file or text, as
 * kubectl reads them (relative file paths are relative to the kubeconfig's directory). Plain YAML,
 * so that reading a kubeconfig does not load @kubernetes/client-node (hundreds of modules); only
 * plugin credentials (`exec`, `auth-provider`) need it (`KubeClient.fromKubeconfig` loads it then).
 */
export class Kubeconfig {
  readonly currentContext: string;
  private constructor(
    private readonly source: string,
    private readonly dir: string | undefined,
    private readonly clusters: Map<string, Entry>,
    private readonly users: Map<string, Entry>,
    private readonly contextMap: Map<string, Entry>,
    currentContext: string,
  ) {
    this.currentContext = currentContext;
  }

  static read(source: { file: string } | { text: string }): Kubeconfig {
    const name = 'file' in source ? source.file : 'text';
    const fail = (message: string): never => {
      throw errors.badRequest(`kubeconfig ${name}: ${message}`);
    };
    let text: string;
    if ('file' in source) {
      try {
        text = readFileSync(source.file, 'utf8');
      } catch (err) {
        return fail((err as NodeJS.ErrnoException).code ?? (err as Error).message);
      }
    } else text = source.text;
    let doc: unknown;
    try {
      // A deploy opens every cluster of one kubeconfig: the same text is parsed once.
      doc = lastParsed?.text === text ? lastParsed.doc : jsyaml.load(text);
      lastParsed = { text, doc };
    } catch (err) {
      // Only the first line: the parser goes on with an excerpt of the file, which may hold credentials.
      return fail((err as Error).message.split('\n')[0] ?? 'not YAML');
    }
    if (doc !== null && doc !== undefined && !isEntry(doc)) return fail('not a kubeconfig (expected a mapping)');
    const d: Entry = doc ?? {};
    const named = (list: string, field: string, required: string[]): Map<string, Entry> => {
      const items = d[list] ?? [];
      if (!Array.isArray(items)) return fail(`${list} must be a list`);
      const map = new Map<string, Entry>();
      items.forEach((item: unknown, i) => {
        if (!isEntry(item) || typeof item.name !== 'string' || !item.name) return fail(`${list}[${i}].name is missing`);
        const value = item[field] ?? (required.length === 0 ? {} : undefined);
        if (!isEntry(value)) return fail(`${list}[${i}].${field} is missing`);
        for (const r of required)
          if (typeof value[r] !== 'string' || !value[r]) return fail(`${list}[${i}].${field}.${r} is missing`);
        map.set(item.name, value);
      });
      return map;
    };
    return new Kubeconfig(
      name,
      'file' in source ? dirname(source.file) : undefined,
      named('clusters', 'cluster', ['server']),
      named('users', 'user', []),
      named('contexts', 'context', ['cluster']),
      typeof d['current-context'] === 'string' ? d['current-context'] : '',
    );
  }

  /** Context names, in file order. */
  get contexts(): string[] {
    return [...this.contextMap.keys()];
  }

  hasContext(name: string): boolean {
    return this.contextMap.has(name);
  }

  /** The server and namespace of a context, without reading any credential. */
  target(context = this.currentContext): { context: string; server: string; namespace?: string } {
    const ctx = this.contextMap.get(context);
    if (!ctx)
      throw errors.badRequest(
        context
          ? `kubeconfig has no context ${JSON.stringify(context)} (has: ${this.contexts.join(', ') || 'none'})`
          : `kubeconfig ${this.source} has no current-context`,
      );
    const cluster = this.clusters.get(String(ctx.cluster));
    if (!cluster)
      throw errors.badRequest(
        `kubeconfig context ${JSON.stringify(context)}: no cluster ${JSON.stringify(ctx.cluster)}`,
      );
    const namespace = typeof ctx.namespace === 'string' && ctx.namespace ? ctx.namespace : undefined;
    return { context, server: String(cluster.server).replace(/\/+$/, ''), ...(namespace ? { namespace } : {}) };
  }

  /** Everything needed to talk to a context's server with its user's static credentials. */
  resolve(context = this.currentContext): ResolvedContext {
    const target = this.target(context);
    const ctx = this.contextMap.get(target.context)!;
    const cluster = this.clusters.get(String(ctx.cluster))!;
    const user = typeof ctx.user === 'string' ? this.users.get(ctx.user) : undefined;
    if (typeof ctx.user === 'string' && ctx.user && !user)
      throw errors.badRequest(`kubeconfig context ${JSON.stringify(context)}: no user ${JSON.stringify(ctx.user)}`);
    const u: Entry = user ?? {};
    const tls: ResolvedContext['tls'] = {};
    const ca = this.data(cluster, 'certificate-authority');
    if (ca) tls.ca = ca;
    if (cluster['insecure-skip-tls-verify'] === true) tls.rejectUnauthorized = false;
    if (typeof cluster['tls-server-name'] === 'string') tls.servername = cluster['tls-server-name'];
    const cert = this.data(u, 'client-certificate');
    if (cert) tls.cert = cert;
    const key = this.data(u, 'client-key');
    if (key) tls.key = key;
    const headers: Record<string, string> = {};
    const tokenFile = [u.tokenFile, u['token-file']].find((f): f is string => typeof f === 'string' && f !== '');
    const token =
      typeof u.token === 'string' && u.token ? u.token : tokenFile ? this.readFile(tokenFile).toString().trim() : '';
    if (token) headers.Authorization = `Bearer ${token}`;
    else if (typeof u.username === 'string' && u.username)
      headers.Authorization = `Basic ${Buffer.from(`${u.username}:${String(u.password ?? '')}`).toString('base64')}`;
    if (typeof u.as === 'string' && u.as) headers['Impersonate-User'] = u.as;
    return { ...target, tls, headers, plugin: isEntry(u.exec) || isEntry(u['auth-provider']) };
  }

  /** `<field>-data` (base64) or the file `<field>` names. */
  private data(entry: Entry, field: string): Buffer | undefined {
    const inline = entry[`${field}-data`];
    if (typeof inline === 'string' && inline) return Buffer.from(inline, 'base64');
    const file = entry[field];
    return typeof file === 'string' && file ? this.readFile(file) : undefined;
  }

  private readFile(file: string): Buffer {
    const path = this.dir && !isAbsolute(file) ? join(this.dir, file) : file;
    try {
      return readFileSync(path);
    } catch (err) {
      throw errors.badRequest(
        `kubeconfig ${this.source}: ${path}: ${(err as NodeJS.ErrnoException).code ?? 'unreadable'}`,
      );
    }
  }
}

function isEntry(v: unknown): v is Entry {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
