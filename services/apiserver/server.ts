import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import http2 from 'node:http2';
import type { AddressInfo, Socket } from 'node:net';
import YAML from 'yaml';
import { errors, KitfedError, hasCode } from '../core/errors.js';
import { createLogger } from '../core/log.js';
import { isObject, type KubeObject } from '../core/kube.js';
import { kitfedVersion } from '../core/version.js';
import { AccessControl, type Authenticator, type AuthorizationMode, type ServiceAccountKeys } from './auth/index.js';
import { CLUSTER_KIND } from './builtin/kitfed.js';
import { ClusterProxy, clusterProxyTarget } from './cluster-proxy.js';
import { apiGroup, apiGroupList, apiResourceList, apiVersions } from './discovery.js';
import { CrdController } from './crd/controller.js';
import { crdAdmission } from './crd/definition.js';
import { csrAdmission } from './csr.js';
import { serveExtra, type ExtraResponse } from './extras.js';
import { Housekeeper } from './housekeeping.js';
import { ApiServerMetrics } from './metrics.js';
import { openApiV2, OPENAPI_V2_PROTOBUF_SUBTYPE } from './openapi/v2.js';
import { openApiV3Doc, openApiV3Index } from './openapi.js';
import {
  Registry,
  type AdmissionPlugin,
  type DeleteOptions,
  type FieldValidation,
  type PatchType,
  type Propagation,
  type WatchEvent,
  type WriteOptions,
} from './registry.js';
import { RESOURCES } from './builtin/index.js';
import { ResourceCatalog, type ResourceType } from './resources.js';
import { decodeKubeProtobuf, PROTOBUF_MEDIA_TYPE } from './protobuf.js';
import { convertForServing, listJson, servedJson } from './serving.js';
import { MemoryStore } from './storage/memory.js';
import type { Store } from './storage/types.js';
import { tableRow, toTable, type IncludeObject } from './table.js';

const log = createLogger('apiserver');

/** Subresources whose writes change part of the stored object (the registry keeps the rest). */
const SUBRESOURCE_WRITES = new Set(['status', 'scale', 'ephemeralcontainers', 'approval']);

export type { Authenticator } from './auth/index.js';

export interface ApiServerOptions {
  /** @default a new MemoryStore */
  store?: Store;
  /** @default the federation's resource table */
  resources?: readonly ResourceType[];
  admission?: AdmissionPlugin[];
  host?: string;
  /** @default 0 (a free port) */
  port?: number;
  /** @default 3 MiB */
  maxBodyBytes?: number;
  /** Non-watch requests fail with 504 after this. @default 60000 */
  requestTimeoutMs?: number;
  /** Interval of BOOKMARK events for watches that allow them. @default 10000 */
  bookmarkIntervalMs?: number;
  /** Events kept in the watch cache for clients resuming a watch (older → 410). @default 20000 */
  watchCacheSize?: number;
  /** Most concurrent watches one client (user or address) may hold. @default 500 */
  maxWatchesPerClient?: number;
  tls?: { key: string | Buffer; cert: string | Buffer; ca?: string | Buffer };
  authenticator?: Authenticator;
  /** @default 'RBAC' with an authenticator; 'AlwaysAllow' without one (nobody to tell apart) */
  authorization?: AuthorizationMode;
  /** ServiceAccount token signing and verification keys. @default generated in memory on the first TokenRequest */
  serviceAccountKeys?: ServiceAccountKeys;
  /** CA published as `kube-root-ca.crt` in every namespace. @default `tls.ca` */
  caCert?: string;
  /** Bootstrap RBAC objects beyond kube's own (the federation's controller and deployer roles). */
  policy?: readonly KubeObject[];
  /** Intercepts every request first (fault injection in sandboxes); return true when handled. */
  intercept?: (req: IncomingMessage, res: ServerResponse) => boolean | Promise<boolean>;
  /** Counts requests by verb (sandbox statistics). */
  onRequest?: (verb: string, path: string) => void;
}

export interface ApiServer {
  readonly url: string;
  readonly port: number;
  readonly registry: Registry;
  readonly catalog: ResourceCatalog;
  /** Authentication and authorization (RBAC), ServiceAccounts and tokens. */
  readonly access: AccessControl;
  /** Stops listening and drops every connection, keeping all state (a sandbox cluster going down). */
  pause(): Promise<void>;
  /** Listens again on the same port after `pause`. */
  resume(): Promise<void>;
  /** Ends every open watch stream (clients reconnect); used on shutdown and to test client resumption. */
  dropWatches(): void;
  close(): Promise<void>;
}

interface Route {
  group: string;
  version: string;
  type: ResourceType;
  namespace?: string;
  name?: string;
  subresource?: string;
}

export async function startApiServer(options: ApiServerOptions = {}): Promise<ApiServer> {
  const store = options.store ?? new MemoryStore();
  const catalog = new ResourceCatalog(options.resources ?? RESOURCES);
  const admission = [...(options.admission ?? []), crdAdmission, csrAdmission];
  const registry = new Registry(store, catalog, { admission, watchCacheSize: options.watchCacheSize });
  const access = new AccessControl(registry, {
    ...(options.authenticator ? { authenticator: options.authenticator } : {}),
    ...(options.authorization ? { authorization: options.authorization } : {}),
    ...(options.serviceAccountKeys ? { serviceAccountKeys: options.serviceAccountKeys } : {}),
    ...(options.policy ? { policy: options.policy } : {}),
    caCert: options.caCert ?? (options.tls?.ca ? String(options.tls.ca) : undefined),
  });
  admission.push(access.admission);
  await registry.start();
  // CRDs before the garbage collector: it indexes the objects of every type, custom ones too.
  const crds = new CrdController(registry);
  await crds.start();
  const housekeeper = new Housekeeper(registry);
  await housekeeper.start();
  await access.start();
  const handler = new Handler(registry, catalog, options, access);
  // Watches on a type that stops being served (its CRD was deleted) end, as in kube.
  catalog.onChange((c) => {
    if (c.removed.length > 0) handler.endWatches(c.removed);
  });
  const listener = (req: IncomingMessage, res: ServerResponse) => void handler.handle(req, res);
  // Over TLS, HTTP/2 and HTTP/1.1 (ALPN), as kube-apiserver: kubectl and kitfed's deployer multiplex
  // their parallel requests over one connection (one TLS handshake per client instead of one per
  // request in flight); clients that offer only HTTP/1.1 get it. HTTP/2's compatibility request and
  // response carry everything the handler uses (method, url, headers, body events, writeHead/write/end,
  // socket.getPeerCertificate), hence the one cast.
  const server = options.tls
    ? http2.createSecureServer(
        {
          key: options.tls.key,
          cert: options.tls.cert,
          ca: options.tls.ca,
          requestCert: !!options.tls.ca,
          rejectUnauthorized: false,
          allowHTTP1: true,
          // kube-apiserver's --http2-max-streams-per-connection default
          settings: { maxConcurrentStreams: 1000 },
        },
        listener as unknown as (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => void,
      )
    : http.createServer(listener);
  // HTTP/1.1 keep-alive, for both kinds of server (the HTTP/2 one applies them to its HTTP/1.1 connections).
  Object.assign(server, { keepAliveTimeout: 65_000, headersTimeout: 66_000, requestTimeout: 0 });
  // Every connection, HTTP/1.1 or HTTP/2, so that `pause` and `close` can end them.
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on('session', (session: http2.ServerHttp2Session) => {
    sessions.add(session);
    session.once('close', () => sessions.delete(session));
  });
  const dropAll = () => {
    for (const s of sockets) s.destroy();
  };
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const host = options.host ?? '127.0.0.1';
  const url = `${options.tls ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${port}`;
  handler.address = `${host}:${port}`;
  let paused = false;
  return {
    url,
    port,
    registry,
    catalog,
    access,
    dropWatches: () => handler.endWatches(),
    async pause() {
      if (paused) return;
      paused = true;
      handler.endWatches();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        dropAll();
      });
    },
    async resume() {
      if (!paused) return;
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          resolve();
        });
      });
      paused = false;
    },
    async close() {
      handler.closing = true;
      housekeeper.stop();
      crds.stop();
      access.stop();
      handler.endWatches();
      handler.proxy?.endStreams();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        // HTTP/2 sessions finish their streams and go away; idle HTTP/1.1 connections close now.
        for (const s of sessions) s.close();
        // Node's HTTP/2 server has it too (for its HTTP/1.1 connections); @types/node omits it there.
        (server as Pick<http.Server, 'closeIdleConnections'>).closeIdleConnections();
        setTimeout(dropAll, 5000).unref();
      });
      handler.proxy?.close();
      registry.close();
      await store.close();
    },
  };
}

/** kube's isPrettyPrint: `?pretty=` when given, else clients a person reads (curl, Wget, browsers). */
function prettyPrint(req: IncomingMessage, url: URL): boolean {
  const asked = url.searchParams.get('pretty');
  if (asked) return ['1', 't', 'T', 'true', 'TRUE', 'True'].includes(asked);
  return /^(curl|Wget|Mozilla\/5\.0)/.test(req.headers['user-agent'] ?? '');
}

function mediaTypes(accept: string | undefined): Array<{ type: string; params: Record<string, string> }> {
  return (accept ?? 'application/json')
    .split(',')
    .map((part) => {
      const [type, ...rest] = part.split(';').map((s) => s.trim());
      const params: Record<string, string> = {};
      for (const p of rest) {
        const eq = p.indexOf('=');
        if (eq > 0) params[p.slice(0, eq)] = p.slice(eq + 1);
      }
      return { type: (type ?? '').toLowerCase(), params };
    })
    .filter((m) => m.type);
}

type Output = 'json' | 'yaml' | 'table';

function negotiate(accept: string | undefined, allowTable: boolean): Output {
  for (const m of mediaTypes(accept)) {
    if (m.type === 'application/json' && m.params.as === 'Table') {
      if (allowTable && m.params.g === 'meta.k8s.io') return 'table';
      continue;
    }
    if (m.params.as) continue;
    if (m.type === 'application/json' || m.type === '*/*' || m.type === 'application/*') return 'json';
    if (m.type === 'application/yaml') return 'yaml';
  }
  if (mediaTypes(accept).some((m) => m.type === 'application/vnd.kubernetes.protobuf')) return 'json';
  throw errors.notAcceptable(
    `only the following media types are accepted: application/json, application/yaml, application/json;as=Table;v=v1;g=meta.k8s.io`,
  );
}

class Handler {
  address = '127.0.0.1';
  closing = false;
  /** Open watches: their end function and the group/version/resource watched. */
  private readonly watches = new Map<() => void, string>();
  private readonly watchesByClient = new Map<string, number>();
  private readonly maxBody: number;
  private readonly timeoutMs: number;
  readonly metrics = new ApiServerMetrics();
  /** Responses to indent (`?pretty=true`, or curl, Wget and browsers asking). */
  private readonly pretty = new WeakSet<ServerResponse>();
  /** `clusters/NAME/proxy/…` (a federation: a server that serves Clusters). */
  readonly proxy: ClusterProxy | undefined;

  constructor(
    private readonly registry: Registry,
    private readonly catalog: ResourceCatalog,
    private readonly options: ApiServerOptions,
    private readonly access: AccessControl,
  ) {
    this.maxBody = options.maxBodyBytes ?? 3 * 1024 * 1024;
    this.timeoutMs = options.requestTimeoutMs ?? 60_000;
    const clusters = catalog.byKind(CLUSTER_KIND.group, CLUSTER_KIND.version, CLUSTER_KIND.kind);
    const secrets = catalog.byKind('', 'v1', 'Secret');
    if (clusters && secrets) this.proxy = new ClusterProxy(registry, clusters, secrets);
  }

  /** Ends every open watch, or those on `types`. */
  endWatches(types?: readonly ResourceType[]): void {
    const gvrs = types?.flatMap((t) =>
      [{ group: t.group, version: t.version }, ...(t.aliases ?? [])].map(
        (gv) => `${gv.group}/${gv.version}/${t.plural}`,
      ),
    );
    for (const [end, gvr] of [...this.watches]) if (!gvrs || gvrs.includes(gvr)) end();
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = process.hrtime.bigint();
    const url = new URL(req.url ?? '/', 'http://x');
    if (prettyPrint(req, url)) this.pretty.add(res);
    try {
      if (this.options.intercept && (await this.options.intercept(req, res))) return;
      const user = this.access.authenticate(req, url.pathname);
      this.access.authorize(user, req.method ?? 'GET', url);
      const proxied = this.proxy && clusterProxyTarget(url.pathname);
      if (proxied) await this.proxy.serve(req, res, user, proxied.cluster, proxied.path, url.search);
      else await this.route(req, res, url);
    } catch (err) {
      this.fail(res, err, req);
    } finally {
      this.metrics.observe(
        req.method ?? 'GET',
        url.pathname,
        url.searchParams,
        (req.headers['content-type'] ?? '').startsWith('application/apply-patch'),
        res.statusCode,
        Number(process.hrtime.bigint() - started) / 1e9,
      );
      if (log.isLevelEnabled('debug')) {
        log.debug(
          {
            method: req.method,
            path: url.pathname,
            status: res.statusCode,
            ms: Number(process.hrtime.bigint() - started) / 1e6,
          },
          'request',
        );
      }
    }
  }

  private fail(res: ServerResponse, err: unknown, req?: IncomingMessage): void {
    const e = err instanceof KitfedError ? err : errors.internal(err instanceof Error ? err.message : String(err), err);
    if (e.code >= 500)
      log.error({ method: req?.method, path: req?.url?.split('?')[0], code: e.code, err: e.message }, 'request failed');
    if (res.headersSent) {
      res.end();
      return;
    }
    if (e.code === 503 || e.code === 429) res.setHeader('Retry-After', String(e.details.retryAfterSeconds ?? 1));
    this.send(res, e.code, e.toStatus(), 'json');
  }

  private send(res: ServerResponse, code: number, body: unknown, output: Output, warnings?: string[]): void {
    if (warnings && warnings.length > 0)
      res.setHeader(
        'Warning',
        warnings.map((w) => `299 - ${JSON.stringify(w)}`),
      );
    if (output === 'yaml') {
      res.writeHead(code, { 'Content-Type': 'application/yaml' });
      res.end(YAML.stringify(body));
      return;
    }
    this.sendJson(res, code, JSON.stringify(body));
  }

  /** A JSON body already serialized. */
  private sendJson(res: ServerResponse, code: number, text: string): void {
    if (this.pretty.has(res)) text = JSON.stringify(JSON.parse(text), null, 2);
    res.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
    res.end(text);
  }

  private text(res: ServerResponse, code: number, body: string): void {
    res.writeHead(code, { 'Content-Type': 'text/plain; charset=utf-8', 'X-Content-Type-Options': 'nosniff' });
    res.end(body);
  }

  private async route(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const p = url.pathname.replace(/\/+$/, '') || '/';
    const method = req.method ?? 'GET';
    switch (p) {
      case '/healthz':
      case '/livez':
      case '/readyz':
        if (this.closing) return this.text(res, 503, 'shutting down');
        return this.text(
          res,
          200,
          url.searchParams.has('verbose') ? `[+]ping ok\n[+]etcd ok\n${p.slice(1)} check passed\n` : 'ok',
        );
      case '/metrics': {
        const text = this.metrics.text();
        res.writeHead(200, { 'Content-Type': this.metrics.contentType });
        res.end(text);
        return;
      }
      case '/version': {
        // Kubernetes' version.Info (the API level kitfed serves), with kitfed's own version and build.
        const kitfed = kitfedVersion();
        return this.send(
          res,
          200,
          {
            major: '1',
            minor: '32',
            gitVersion: `v1.32.0+kitfed.${kitfed.version}`,
            gitCommit: kitfed.commit,
            gitTreeState: kitfed.treeState,
            buildDate: kitfed.buildDate,
            goVersion: `node${process.versions.node}`,
            compiler: kitfed.compiler,
            platform: `${process.platform}/${process.arch}`,
            kitfedVersion: kitfed.version,
          },
          'json',
        );
      }
      case '/api':
        return this.send(res, 200, apiVersions(this.address), 'json');
      case '/apis':
        return this.send(res, 200, apiGroupList(this.catalog), 'json');
      case '/openapi/v3':
        return this.send(res, 200, openApiV3Index(this.catalog), 'json');
      case '/openapi/v2': {
        const doc = openApiV2(this.catalog);
        // As kube-openapi: the protobuf encoding goes out as application/octet-stream (the
        // requested media type has an '@' that Go's mime parser refuses in a Content-Type).
        const proto = OPENAPI_V2_PROTOBUF_SUBTYPE.test(req.headers.accept ?? '');
        res.writeHead(200, {
          'Content-Type': proto ? 'application/octet-stream' : 'application/json',
          Etag: `"${doc.etag}"`,
        });
        res.end(proto ? doc.proto : doc.json);
        return;
      }
      default:
        break;
    }
    if (p.startsWith('/openapi/v3/')) {
      const rest = p.slice('/openapi/v3/'.length).split('/');
      const [group, version] = rest[0] === 'api' ? ['', rest[1] ?? ''] : [rest[1] ?? '', rest[2] ?? ''];
      const doc = openApiV3Doc(this.catalog, group, version);
      if (!doc) throw errors.notFound({ group: '', plural: 'openapi', name: p });
      res.writeHead(200, {
        'Content-Type': 'application/json',
        'Cache-Control': url.searchParams.has('hash') ? 'public, immutable' : 'no-cache',
        Etag: `"${doc.hash}"`,
      });
      res.end(doc.json);
      return;
    }
    const segs = p.split('/').filter(Boolean);
    let group: string;
    let version: string;
    let rest: string[];
    if (segs[0] === 'api' && segs.length >= 2) {
      group = '';
      version = segs[1]!;
      rest = segs.slice(2);
    } else if (segs[0] === 'apis' && segs.length >= 2) {
      group = segs[1]!;
      if (segs.length === 2) {
        const g = apiGroup(this.catalog, group);
        if (!g) throw errors.notFound({ group: '', plural: 'groups', name: group });
        return this.send(res, 200, g, 'json');
      }
      version = segs[2]!;
      rest = segs.slice(3);
    } else {
      throw new KitfedError('the server could not find the requested resource', 404, 'NotFound', {});
    }
    if (rest.length === 0) {
      const list = apiResourceList(this.catalog, group, version);
      if (!list) throw new KitfedError('the server could not find the requested resource', 404, 'NotFound', {});
      return this.send(res, 200, list, 'json');
    }
    const route = this.resolve(group, version, rest);
    this.options.onRequest?.(method, p);
    await this.dispatch(req, res, url, method, route);
  }

  private resolve(group: string, version: string, rest: string[]): Route {
    let namespace: string | undefined;
    let parts = rest;
    if (rest[0] === 'namespaces' && rest.length >= 3) {
      const t = this.catalog.byResource(group, version, rest[2]!);
      if (t?.namespaced) {
        namespace = rest[1];
        parts = rest.slice(2);
      }
    }
    const t = this.catalog.byResource(group, version, parts[0]!);
    if (!t || parts.length > 3)
      throw new KitfedError('the server could not find the requested resource', 404, 'NotFound', {});
    const route: Route = { group, version, type: t, namespace, name: parts[1], subresource: parts[2] };
    if (
      route.subresource &&
      !(t.subresources as string[] | undefined)?.includes(route.subresource) &&
      !(t.kind === 'Namespace' && route.subresource === 'finalize')
    ) {
      throw new KitfedError('the server could not find the requested resource', 404, 'NotFound', {});
    }
    return route;
  }

  private async readBody(req: IncomingMessage): Promise<Buffer> {
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > this.maxBody) {
      req.resume();
      throw errors.tooLarge(`the request is too large: limit is ${this.maxBody} bytes`);
    }
    if (req.readableEnded) return Promise.resolve(Buffer.alloc(0));
    // Plain events, not `for await`: an async iterator per request was ≈ 2 % of a create's CPU.
    return new Promise<Buffer>((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      const done = (err?: Error) => {
        req.off('data', data);
        req.off('end', end);
        req.off('error', done);
        req.off('close', closed);
        if (err) reject(err);
      };
      const data = (chunk: Buffer) => {
        size += chunk.length;
        if (size > this.maxBody) {
          done(errors.tooLarge(`the request is too large: limit is ${this.maxBody} bytes`));
          req.resume();
          return;
        }
        chunks.push(chunk);
      };
      const end = () => {
        done();
        resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks));
      };
      const closed = () => done(new Error('the client closed the connection before sending the whole body'));
      req.on('data', data);
      req.on('end', end);
      req.on('error', done);
      req.on('close', closed);
    });
  }

  /** The request body as JSON; an undecodable one is kube's 400 naming the kind it must be. */
  private parseBody(req: IncomingMessage, body: Buffer, kind: string): unknown {
    const ct = (req.headers['content-type'] ?? 'application/json').split(';')[0]!.trim().toLowerCase();
    if (ct === PROTOBUF_MEDIA_TYPE) return body.length === 0 ? undefined : decodeKubeProtobuf(body);
    const text = body.toString('utf8');
    if (text.trim() === '') return undefined;
    try {
      if (ct === 'application/json' || ct === '') return JSON.parse(text);
      if (ct === 'application/yaml' || ct === 'application/x-yaml' || ct === 'text/yaml') return YAML.parse(text);
    } catch (err) {
      const parseError = `json parse error: ${jsonErrorText(text, err)} (${summarizeBody(body)})`;
      throw errors.badRequest(
        `the object provided is unrecognized (must be of type ${kind}): couldn't get version/kind; ${parseError}`,
      );
    }
    throw errors.unsupportedMediaType(ct);
  }

  private writeOptions(url: URL, req: IncomingMessage, route: Route): WriteOptions {
    const q = url.searchParams;
    const dryRun = q.getAll('dryRun');
    if (dryRun.some((d) => d !== 'All'))
      throw errors.badRequest(`invalid dryRun value ${JSON.stringify(dryRun)}: only "All" is supported`);
    const fv = q.get('fieldValidation');
    if (fv && !['Strict', 'Warn', 'Ignore'].includes(fv))
      throw errors.badRequest(`fieldValidation must be one of Strict, Warn, Ignore (got ${JSON.stringify(fv)})`);
    const ua = String(req.headers['user-agent'] ?? 'unknown');
    return {
      dryRun: dryRun.length > 0,
      fieldManager: q.get('fieldManager') ?? (ua.split('/')[0] || 'unknown'),
      fieldValidation: (fv as FieldValidation | null) ?? undefined,
      force: q.get('force') === 'true',
      user: this.access.userOf(req),
      subresource: SUBRESOURCE_WRITES.has(route.subresource ?? '')
        ? (route.subresource as WriteOptions['subresource'])
        : undefined,
      group: route.group,
      version: route.version,
      warnings: [],
    };
  }

  private output(obj: KubeObject, route: Route): KubeObject {
    if (obj.kind === 'Scale') return obj;
    return convertForServing(obj, route.type, route.group, route.version);
  }

  private respondObject(
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    route: Route,
    code: number,
    obj: KubeObject,
    warnings?: string[],
  ): void {
    const out = negotiate(req.headers.accept, obj.kind !== 'Scale');
    const served = this.output(obj, route);
    if (out === 'table') {
      return this.send(
        res,
        code,
        toTable(
          route.type,
          [obj],
          { resourceVersion: served.metadata.resourceVersion },
          includeObject(url),
          true,
          () => served,
        ),
        'json',
        warnings,
      );
    }
    this.send(res, code, served, out, warnings);
  }

  private respondExtra(req: IncomingMessage, res: ServerResponse, url: URL, route: Route, r: ExtraResponse): void {
    if (r.kind === 'text') return this.text(res, r.code, r.text);
    if (r.kind === 'object') return this.respondObject(req, res, url, route, r.code, r.object, r.warnings);
    if (negotiate(req.headers.accept, true) === 'table')
      return this.send(res, 200, toTable(route.type, r.items, {}, includeObject(url)), 'json', r.warnings);
    const list = { apiVersion: 'v1', kind: `${route.type.kind}List`, metadata: {}, items: r.items };
    this.send(res, 200, list, negotiate(req.headers.accept, false), r.warnings);
  }

  /** Requests in flight and their deadlines: one sweep a second at most, not a timer per request. */
  private readonly deadlines = new Set<{ at: number; fail: () => void }>();
  private sweeper: NodeJS.Timeout | undefined;

  private withTimeout<T>(p: Promise<T>, what: string): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const entry = {
        at: Date.now() + this.timeoutMs,
        fail: () => reject(errors.timeout(`the request did not complete within ${this.timeoutMs / 1000}s (${what})`)),
      };
      this.deadlines.add(entry);
      if (!this.sweeper) {
        // A tenth of the timeout (10 ms to 1 s): a request fails at most that much after its deadline.
        const every = Math.min(1000, Math.max(10, Math.floor(this.timeoutMs / 10)));
        this.sweeper = setInterval(() => this.sweep(), every);
        this.sweeper.unref();
      }
      p.then(
        (value) => {
          this.deadlines.delete(entry);
          resolve(value);
        },
        (err: unknown) => {
          this.deadlines.delete(entry);
          reject(err);
        },
      );
    });
  }

  private sweep(): void {
    const now = Date.now();
    for (const d of this.deadlines) {
      if (d.at > now) continue;
      this.deadlines.delete(d);
      d.fail();
    }
    if (this.deadlines.size === 0) {
      clearInterval(this.sweeper);
      this.sweeper = undefined;
    }
  }

  private async dispatch(
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    method: string,
    route: Route,
  ): Promise<void> {
    const { type: t, namespace, name } = route;
    const q = url.searchParams;
    if (this.access.handles(route)) {
      const opts = this.writeOptions(url, req, route);
      const kind = route.subresource === 'token' ? 'TokenRequest' : t.kind;
      const body = method === 'POST' ? this.parseBody(req, await this.readBody(req), kind) : undefined;
      const answer = await this.access.serve(route, method, body, opts, this.access.userOf(req)!);
      return this.respondObject(req, res, url, route, 201, answer, opts.warnings);
    }
    if (t.namespaced && !namespace && name)
      throw new KitfedError('the server could not find the requested resource', 404, 'NotFound', {});
    if (t.verbs || route.subresource || t.virtual) {
      const extra = await serveExtra(
        this.registry,
        route,
        method,
        url,
        async () => this.parseBody(req, await this.readBody(req), route.type.kind),
        req.headers.upgrade !== undefined,
      );
      if (extra) return this.respondExtra(req, res, url, route, extra);
    }
    if (!name) {
      switch (method) {
        case 'GET':
          if (q.get('watch') === 'true' || q.get('watch') === '1') return this.watch(req, res, url, route);
          return this.list(req, res, url, route);
        case 'POST': {
          if (t.namespaced && !namespace) throw errors.methodNotAllowed();
          const opts = this.writeOptions(url, req, route);
          const body = this.parseBody(req, await this.readBody(req), t.kind);
          const created = await this.withTimeout(this.registry.create(t, namespace, body, opts), 'create');
          return this.respondObject(req, res, url, route, 201, created, opts.warnings);
        }
        case 'DELETE': {
          const opts = deleteOptions(url, this.parseBody(req, await this.readBody(req), 'DeleteOptions'));
          const list = await this.withTimeout(
            this.registry.deleteCollection(
              t,
              namespace,
              {
                labelSelector: q.get('labelSelector') ?? undefined,
                fieldSelector: q.get('fieldSelector') ?? undefined,
              },
              opts,
            ),
            'deletecollection',
          );
          return this.send(
            res,
            200,
            { ...list, items: list.items.map((o) => this.output(o, route)) },
            negotiate(req.headers.accept, false) === 'yaml' ? 'yaml' : 'json',
          );
        }
        default:
          throw errors.methodNotAllowed();
      }
    }
    switch (method) {
      case 'GET': {
        if (q.get('watch') === 'true' || q.get('watch') === '1') {
          url.searchParams.set('fieldSelector', `metadata.name=${name}`);
          return this.watch(req, res, url, { ...route, name: undefined });
        }
        if (route.subresource === 'scale')
          return this.respondObject(req, res, url, route, 200, await this.registry.getScale(t, namespace, name));
        const out = negotiate(req.headers.accept, true);
        const entry = await this.withTimeout(
          this.registry.read(t, namespace, name, { resourceVersion: q.get('resourceVersion') ?? undefined }),
          'get',
        );
        if (out !== 'json') return this.respondObject(req, res, url, route, 200, entry.object);
        return this.sendJson(res, 200, servedJson(entry, t, route.group, route.version));
      }
      case 'PUT': {
        const opts = this.writeOptions(url, req, route);
        const body = this.parseBody(req, await this.readBody(req), t.kind);
        if (route.subresource === 'finalize') {
          const updated = await this.withTimeout(
            this.registry.mutate(t, namespace, name, (cur) => ({
              ...cur,
              spec: isObject(body) ? body.spec : cur.spec,
            })),
            'finalize',
          );
          if (!updated) throw errors.notFound({ group: t.group, plural: t.plural, name });
          return this.respondObject(req, res, url, route, 200, updated);
        }
        // No create-on-update: like kube's built-in kinds (AllowCreateOnUpdate false), a PUT to a
        // missing object is 404, so a client replaying a stale copy cannot resurrect a deleted object.
        const updated = await this.withTimeout(this.registry.update(t, namespace, name, body, opts), 'update');
        return this.respondObject(req, res, url, route, 200, updated, opts.warnings);
      }
      case 'PATCH': {
        const opts = this.writeOptions(url, req, route);
        const ct = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
        const type = patchType(ct);
        const body = (await this.readBody(req)).toString('utf8');
        const existed = type === 'apply' ? (await this.registry.tryGet(t, namespace, name)) !== undefined : true;
        const patched = await this.withTimeout(this.registry.patch(t, namespace, name, type, body, opts), 'patch');
        return this.respondObject(req, res, url, route, existed ? 200 : 201, patched, opts.warnings);
      }
      case 'DELETE': {
        const opts = deleteOptions(url, this.parseBody(req, await this.readBody(req), 'DeleteOptions'));
        const deleted = await this.withTimeout(this.registry.delete(t, namespace, name, opts), 'delete');
        return this.respondObject(req, res, url, route, 200, deleted);
      }
      default:
        throw errors.methodNotAllowed();
    }
  }

  private async list(req: IncomingMessage, res: ServerResponse, url: URL, route: Route): Promise<void> {
    const out = negotiate(req.headers.accept, true);
    const q = url.searchParams;
    const limit = q.get('limit');
    if (limit !== null && !/^\d+$/.test(limit)) throw errors.badRequest(`invalid limit: ${limit}`);
    const { list, items } = await this.withTimeout(
      this.registry.listCached(route.type, route.namespace, {
        labelSelector: q.get('labelSelector') ?? undefined,
        fieldSelector: q.get('fieldSelector') ?? undefined,
        limit: limit ? Number(limit) : undefined,
        continue: q.get('continue') ?? undefined,
        resourceVersion: q.get('resourceVersion') ?? undefined,
        resourceVersionMatch: q.get('resourceVersionMatch') ?? undefined,
      }),
      'list',
    );
    const apiVersion = route.group ? `${route.group}/${route.version}` : route.version;
    if (out === 'json') {
      const texts = items.map((e) => servedJson(e, route.type, route.group, route.version));
      return this.sendJson(res, 200, listJson(apiVersion, list.kind, list.metadata, texts));
    }
    const stored = items.map((e) => e.object);
    if (out === 'table')
      return this.send(
        res,
        200,
        toTable(route.type, stored, list.metadata, includeObject(url), true, (o) => this.output(o, route)),
        'json',
      );
    const served = stored.map((o) => this.output(o, route));
    this.send(res, 200, { apiVersion, kind: list.kind, metadata: list.metadata, items: served }, out);
  }

  private clientId(req: IncomingMessage): string {
    return this.access.userOf(req)?.name ?? req.socket.remoteAddress ?? 'unknown';
  }

  private async watch(req: IncomingMessage, res: ServerResponse, url: URL, route: Route): Promise<void> {
    const out = negotiate(req.headers.accept, true);
    const q = url.searchParams;
    const client = this.clientId(req);
    const max = this.options.maxWatchesPerClient ?? 500;
    const held = this.watchesByClient.get(client) ?? 0;
    if (held >= max) throw errors.tooManyRequests(`too many concurrent watches for this client (limit ${max})`);
    const include = includeObject(url);
    let first = true;
    const encode = (e: WatchEvent | { type: 'BOOKMARK' | 'ERROR'; object: object }): string => {
      if ((e.type === 'ADDED' || e.type === 'MODIFIED' || e.type === 'DELETED') && out === 'table') {
        const served = this.output(e.object, route);
        const table = toTable(route.type, [], { resourceVersion: served.metadata.resourceVersion }, include, first);
        table.rows = [tableRow(route.type, e.object, include, Date.now(), served)];
        first = false;
        return `${JSON.stringify({ type: e.type, object: table })}\n`;
      }
      if (e.type === 'ADDED' || e.type === 'MODIFIED' || e.type === 'DELETED') {
        const object = e.entry
          ? servedJson(e.entry, route.type, route.group, route.version)
          : JSON.stringify(this.output(e.object, route));
        return `{"type":"${e.type}","object":${object}}\n`;
      }
      return `${JSON.stringify(e)}\n`;
    };
    const buffered: string[] = [];
    let started = false;
    const write = (line: string) => {
      if (!started) buffered.push(line);
      else res.write(line);
    };
    let lastRv = '0';
    let stop: (() => void) | undefined;
    try {
      stop = await this.registry.watch(
        route.type,
        route.namespace,
        {
          labelSelector: q.get('labelSelector') ?? undefined,
          fieldSelector: q.get('fieldSelector') ?? undefined,
          resourceVersion: q.get('resourceVersion') ?? undefined,
          sendInitialEvents: q.get('sendInitialEvents') === 'true',
        },
        (e) => {
          if (e.object.kind === 'Status') {
            write(
              `${JSON.stringify({ type: 'ERROR', object: errors.gone('watch cache lost its store watch; re-list').toStatus() })}\n`,
            );
            end();
            return;
          }
          lastRv = e.object.metadata.resourceVersion ?? lastRv;
          write(encode(e));
        },
      );
    } catch (err) {
      if (hasCode(err, 410)) {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(`${JSON.stringify({ type: 'ERROR', object: err.toStatus() })}\n`);
        return;
      }
      throw err;
    }
    this.watchesByClient.set(client, held + 1);
    res.writeHead(200, {
      // No Content-Length: HTTP/1.1 streams it chunked, HTTP/2 in DATA frames.
      'Content-Type': 'application/json',
      'Cache-Control': 'no-cache',
    });
    res.flushHeaders();
    started = true;
    for (const line of buffered) res.write(line);
    const bookmarks = q.get('allowWatchBookmarks') === 'true';
    const kindInfo = {
      apiVersion: route.group ? `${route.group}/${route.version}` : route.version,
      kind: route.type.kind,
    };
    const bookmark = () => {
      const rv = String(Math.max(Number(lastRv), this.registry.cache.revision));
      const metadata = { resourceVersion: rv, annotations: { 'k8s.io/initial-events-end': 'true' } };
      res.write(`${JSON.stringify({ type: 'BOOKMARK', object: { ...kindInfo, metadata } })}\n`);
    };
    if (bookmarks && q.get('sendInitialEvents') === 'true') bookmark();
    const timer = bookmarks ? setInterval(bookmark, this.options.bookmarkIntervalMs ?? 10_000) : undefined;
    const timeoutSeconds = Number(q.get('timeoutSeconds') ?? 1800 + Math.floor(Math.random() * 1800));
    const deadline = setTimeout(() => end(), timeoutSeconds * 1000);
    let ended = false;
    const end = () => {
      if (ended) return;
      ended = true;
      stop?.();
      clearInterval(timer);
      clearTimeout(deadline);
      this.watches.delete(end);
      const n = (this.watchesByClient.get(client) ?? 1) - 1;
      if (n <= 0) this.watchesByClient.delete(client);
      else this.watchesByClient.set(client, n);
      if (!res.writableEnded) res.end();
    };
    this.watches.set(end, `${route.group}/${route.version}/${route.type.plural}`);
    req.on('close', end);
    res.on('close', end);
  }
}

/** Go's encoding/json wording for the first problem in `text`, as kube reports it. */
function jsonErrorText(text: string, err: unknown): string {
  const first = text.trimStart()[0] ?? '';
  if (!'{["-0123456789tfn'.includes(first)) return `invalid character '${first}' looking for beginning of value`;
  return err instanceof Error ? err.message.split('\n')[0]! : String(err);
}

/** kube's summarizeData: the first 30 bytes, as text when JSON-looking, else in hex. */
function summarizeBody(body: Buffer): string {
  if (body.length === 0) return '<empty>';
  const head = body.subarray(0, 30);
  const more = body.length > 30 ? ' ...' : '';
  return body[0] === 0x7b ? `${head.toString('utf8')}${more}` : `${head.toString('hex')}${more}`;
}

function includeObject(url: URL): IncludeObject {
  const v = url.searchParams.get('includeObject');
  return v === 'None' || v === 'Object' ? v : 'Metadata';
}

function patchType(contentType: string): PatchType {
  switch (contentType) {
    case 'application/json-patch+json':
      return 'json';
    case 'application/merge-patch+json':
      return 'merge';
    case 'application/strategic-merge-patch+json':
      return 'strategic';
    case 'application/apply-patch+yaml':
    case 'application/apply-patch+json':
      return 'apply';
    default:
      throw errors.unsupportedMediaType(contentType);
  }
}

function deleteOptions(url: URL, body: unknown): DeleteOptions {
  const q = url.searchParams;
  const b = isObject(body) ? body : {};
  const policy = (q.get('propagationPolicy') ?? b.propagationPolicy) as string | undefined;
  if (policy !== undefined && !['Orphan', 'Background', 'Foreground'].includes(policy)) {
    throw errors.badRequest(
      `propagationPolicy must be one of Orphan, Background, Foreground (got ${JSON.stringify(policy)})`,
    );
  }
  const orphan = q.get('orphanDependents') ?? b.orphanDependents;
  const dryRun = [...q.getAll('dryRun'), ...(Array.isArray(b.dryRun) ? (b.dryRun as string[]) : [])];
  const pre = isObject(b.preconditions) ? (b.preconditions as DeleteOptions['preconditions']) : undefined;
  return {
    propagationPolicy: policy as Propagation | undefined,
    orphanDependents: orphan === true || orphan === 'true' ? true : undefined,
    preconditions: pre,
    dryRun: dryRun.length > 0,
    gracePeriodSeconds: q.get('gracePeriodSeconds') !== null ? Number(q.get('gracePeriodSeconds')) : undefined,
  };
}
