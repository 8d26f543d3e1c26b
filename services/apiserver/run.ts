import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import YAML from 'yaml';
import { buildKubeconfig } from '../core/kubeconfig.js';
import { createLogger } from '../core/log.js';
import { runUntilSignal } from '../core/process.js';
import { federationAdmission } from './federation-admission.js';
import { kitfedPolicy, loadServiceAccountKeys } from './auth/index.js';
import { ensurePki, ensureTokenFile, makeAuthenticator, type Pki } from './security.js';
import { startApiServer, type ApiServer } from './server.js';
import { openStore } from './storage/open.js';
import type { Console } from '../console/index.js';

const log = createLogger('apiserver');

export interface FederationApiServerOptions {
  /** `host:port`. */
  listen: string;
  /** State directory: SQLite database, PKI, token file, encryption key. @default .kitfed */
  dataDir?: string;
  /** Storage URL (`sqlite://…`, `etcd://h:p,…`, `memory://`). @default sqlite in the data dir */
  storage?: string;
  /** Serving certificate and key files (otherwise generated in the data dir). */
  tlsCert?: string;
  tlsKey?: string;
  /** kube static token CSV (otherwise `<dataDir>/tokens.csv`, created with an admin token). */
  tokenAuthFile?: string;
  /** EncryptionConfiguration file (otherwise `<dataDir>/encryption-config.yaml`, created with a fresh AES-GCM key). */
  encryptionProviderConfig?: string;
  /** etcd over TLS (`etcds://`): CA, client certificate and key files (kube-apiserver's --etcd-cafile, --etcd-certfile, --etcd-keyfile). */
  etcdCafile?: string;
  etcdCertfile?: string;
  etcdKeyfile?: string;
  /** Plain HTTP without authentication (loopback development only). */
  insecure?: boolean;
  /** `RBAC` (default) or `AlwaysAllow` (every authenticated user may do everything). */
  authorizationMode?: string;
  /** ServiceAccount token signing key (otherwise `<dataDir>/pki/sa.key`, generated). */
  serviceAccountSigningKeyFile?: string;
  /** More public keys that verify ServiceAccount tokens (keys being rotated out). */
  serviceAccountKeyFile?: string[];
  kubeconfigOut?: string;
  /** @default federation */
  contextName?: string;
  /**
   * Serve the web console under `/console/` (docs/console.md); it reads this server over loopback with each user's
   * token.
   */
  console?: boolean;
  /** The webhook service the console shows pipeline runs from. */
  consoleWebhooksUrl?: string;
}

export interface RunningFederationApiServer {
  server: ApiServer;
  /** A kubeconfig (CA data + admin token) for the server. */
  kubeconfig: string;
  /** The CA and serving certificate (undefined with `insecure`): mints users' client certificates. */
  pki?: Pki;
}

export function parseListen(listen: string): { host: string; port: number } {
  const idx = listen.lastIndexOf(':');
  if (idx < 0) throw new Error(`--listen must be host:port (got ${JSON.stringify(listen)})`);
  const port = Number(listen.slice(idx + 1));
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new Error(`--listen port must be 0-65535 (got ${JSON.stringify(listen.slice(idx + 1))})`);
  return { host: listen.slice(0, idx).replace(/^\[|\]$/g, ''), port };
}

/** A kubeconfig with one context pointing at `server` (optionally with CA data and a bearer token). */
export function kubeconfigFor(server: string, context: string, auth: { caCert?: string; token?: string } = {}): string {
  return buildKubeconfig([{ name: context, server, ...auth }]);
}

async function ensureEncryptionConfig(path: string): Promise<string> {
  try {
    await readFile(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    const config = {
      apiVersion: 'apiserver.config.k8s.io/v1',
      kind: 'EncryptionConfiguration',
      resources: [
        {
          resources: ['secrets'],
          providers: [
            { aesgcm: { keys: [{ name: 'key1', secret: randomBytes(32).toString('base64') }] } },
            { identity: {} },
          ],
        },
      ],
    };
    await writeFile(path, YAML.stringify(config), { mode: 0o600 });
    log.info({ file: path }, 'generated an encryption key for Secrets at rest');
  }
  return path;
}

/** Starts the federation API server with durable storage, TLS, authentication and encryption at rest. */
export async function startFederationApiServer(opts: FederationApiServerOptions): Promise<RunningFederationApiServer> {
  const { host, port } = parseListen(opts.listen);
  const dataDir = resolve(opts.dataDir ?? '.kitfed');
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const encryptionConfigFile = await ensureEncryptionConfig(
    opts.encryptionProviderConfig ?? join(dataDir, 'encryption-config.yaml'),
  );
  const etcdTls = opts.etcdCafile
    ? {
        caFile: opts.etcdCafile,
        ...(opts.etcdCertfile ? { certFile: opts.etcdCertfile } : {}),
        ...(opts.etcdKeyfile ? { keyFile: opts.etcdKeyfile } : {}),
      }
    : undefined;
  const store = await openStore(opts.storage ?? `sqlite://${join(dataDir, 'federation.db')}`, {
    baseDir: dataDir,
    encryptionConfigFile,
    ...(etcdTls ? { etcdTls } : {}),
  });
  const context = opts.contextName ?? 'federation';
  const mount = opts.console ? consoleMount() : undefined;
  const mode = opts.authorizationMode ?? 'RBAC';
  if (mode !== 'RBAC' && mode !== 'AlwaysAllow')
    throw new Error(`--authorization-mode must be RBAC or AlwaysAllow (got ${JSON.stringify(mode)})`);
  const serviceAccountKeys = await loadServiceAccountKeys(join(dataDir, 'pki'), {
    ...(opts.serviceAccountSigningKeyFile ? { signingKeyFile: opts.serviceAccountSigningKeyFile } : {}),
    extraPublicKeyFiles: opts.serviceAccountKeyFile ?? [],
  });
  const common = {
    store,
    host,
    port,
    admission: federationAdmission(),
    policy: kitfedPolicy(),
    serviceAccountKeys,
    authorization: mode,
    ...(mount ? { intercept: mount.intercept } : {}),
  } as const;
  if (opts.insecure) {
    const server = await startApiServer(common);
    return {
      server: await withConsole(server, mount, undefined, opts),
      kubeconfig: kubeconfigFor(server.url, context),
    };
  }
  const pki = await ensurePki(dataDir, [host, 'localhost', '127.0.0.1']);
  const tls =
    opts.tlsCert && opts.tlsKey
      ? { cert: await readFile(opts.tlsCert), key: await readFile(opts.tlsKey), ca: pki.caCert }
      : { cert: pki.cert, key: pki.key, ca: pki.caCert };
  const { entries, adminToken } = await ensureTokenFile(opts.tokenAuthFile ?? join(dataDir, 'tokens.csv'));
  const server = await startApiServer({
    ...common,
    tls,
    caCert: pki.caCert,
    authenticator: makeAuthenticator(entries),
  });
  await mount?.start(server, opts.tlsCert ? undefined : pki.caCert, opts.consoleWebhooksUrl);
  return { server, pki, kubeconfig: kubeconfigFor(server.url, context, { caCert: pki.caCert, token: adminToken }) };
}

/**
 * The web console under `/console/` of this server. Its files are public (the API server's
 * authentication comes after this hook); its stream reads this server over loopback with the
 * token each browser sends, so the API server authorizes every read as usual.
 */
function consoleMount() {
  let handler: Console | undefined;
  return {
    intercept: async (req: IncomingMessage, res: ServerResponse): Promise<boolean> => {
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      if (path !== '/console' && !path.startsWith('/console/')) return false;
      if (!handler || path === '/console') {
        res.writeHead(handler ? 308 : 503, handler ? { Location: '/console/' } : {});
        res.end();
        return true;
      }
      await handler.handle(req, res, path.slice('/console'.length));
      return true;
    },
    async start(server: ApiServer, caCert: string | undefined, webhooksUrl: string | undefined) {
      const { createConsole } = await import('../console/index.js');
      const url = new URL(server.url);
      url.hostname = '127.0.0.1';
      handler = await createConsole({
        federation: { server: url.origin, ...(caCert ? { caCert } : {}) },
        ...(webhooksUrl ? { webhooksUrl } : {}),
        log: createLogger('console'),
      });
      log.info({ url: `${server.url}/console/` }, 'web console served');
      return handler;
    },
  };
}

/** The server, with the console started on it (and stopped before it) when asked for. */
async function withConsole(
  server: ApiServer,
  mount: ReturnType<typeof consoleMount> | undefined,
  caCert: string | undefined,
  opts: FederationApiServerOptions,
): Promise<ApiServer> {
  if (!mount) return server;
  const c = await mount.start(server, caCert, opts.consoleWebhooksUrl);
  return {
    ...server,
    async close() {
      await c.close();
      await server.close();
    },
  };
}

/** Runs the federation API server until SIGINT/SIGTERM. */
export async function runApiServer(opts: FederationApiServerOptions): Promise<void> {
  const { server, kubeconfig } = await startFederationApiServer(opts);
  log.info({ url: server.url, storage: server.registry.store.backend }, 'API server listening');
  if (opts.kubeconfigOut) {
    await mkdir(dirname(opts.kubeconfigOut), { recursive: true });
    await writeFile(opts.kubeconfigOut, kubeconfig, { mode: 0o600 });
    log.info({ file: opts.kubeconfigOut }, 'kubeconfig written');
  }
  await runUntilSignal(() => server.close(), log, { message: 'shutting down: draining in-flight requests' });
}
