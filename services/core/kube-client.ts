import { createHash } from 'node:crypto';
import http from 'node:http';
import type { ClientHttp2Session, ClientHttp2Stream, OutgoingHttpHeaders } from 'node:http2';
import https from 'node:https';
import { isIP } from 'node:net';
import tls from 'node:tls';
import { errors, hasCode, KitfedError } from './errors.js';
import { defaultCa } from './extra-ca.js';
import { Kubeconfig } from './kubeconfig.js';
import { isObject, parseApiVersion, type KubeList, type KubeObject, type Status } from './kube.js';

/**
 * A small Kubernetes client for kitfed's controllers, deployer and CLI. Credentials and TLS
 * come from the kubeconfig (every auth method of @kubernetes/client-node's KubeConfig); requests
 * go over one keep-alive agent per client with a timeout on every call, and failures are
 * KitfedErrors carrying the server's Status code and reason.
 */

export interface ResourceInfo {
  group: string;
  version: string;
  kind: string;
  plural: string;
  namespaced: boolean;
}

export interface KubeClientOptions {
  /** Per-request timeout. @default 30000 */
  timeoutMs?: number;
  /** @default 'kitfed' */
  userAgent?: string;
  /** Keep-alive sockets per client. @default 32 */
  maxSockets?: number;
  /**
   * Send requests over one HTTP/2 connection when an HTTPS server offers it (ALPN), as kubectl does;
   * otherwise (plain HTTP, a server without HTTP/2) over the keep-alive HTTP/1.1 pool. For bursts from a
   * fresh client (a deploy): one TLS handshake per server instead of one per request in flight, which is
   * most of a short process's cost. Long-lived clients keep HTTP/1.1: Node's HTTP/2 client spends ~5 %
   * more CPU per request. Watches always use HTTP/1.1. @default false
   */
  http2?: boolean;
}

export interface RequestOptions {
  body?: unknown;
  contentType?: string;
  query?: Record<string, string | number | boolean | undefined>;
  timeoutMs?: number;
  accept?: string;
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';

export interface WatchHandle {
  stop(): void;
  /** Resolves when the stream ends (stopped, timed out or broken); rejects never. */
  done: Promise<KitfedError | undefined>;
}

export type PatchKind = 'merge' | 'strategic' | 'json';

const PATCH_TYPES: Record<PatchKind, string> = {
  merge: 'application/merge-patch+json',
  strategic: 'application/strategic-merge-patch+json',
  json: 'application/json-patch+json',
};

export class KubeClient {
  readonly server: string;
  private readonly agent: http.Agent;
  /** Watches hold a connection each for as long as they run: never out of the requests' pool. */
  private readonly watchAgent: http.Agent;
  private readonly baseOptions: https.RequestOptions;
  private readonly tlsOptions: https.AgentOptions;
  /** The HTTP/2 connection: unset until first used or once closed; resolves undefined when the server has no HTTP/2. */
  private h2: Promise<ClientHttp2Session | undefined> | undefined;
  private h2Unsupported: boolean;
  private readonly timeoutMs: number;
  private readonly userAgent: string;
  private readonly discovery = new Map<string, Promise<Map<string, ResourceInfo>>>();
  private readonly discoveredAt = new Map<string, number>();
  private readonly assumed = new Map<string, ResourceInfo>();

  private constructor(
    server: string,
    private readonly given: https.RequestOptions,
    private readonly options: KubeClientOptions,
  ) {
    const baseOptions = given;
    this.server = server.replace(/\/+$/, '');
    const { ca, cert, key, pfx, passphrase, ...rest } = baseOptions;
    this.baseOptions = rest;
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.userAgent = options.userAgent ?? 'kitfed';
    const agentOptions = { keepAlive: true, maxSockets: options.maxSockets ?? 32 };
    // One TLS context per CA and credentials, not one per connection (parsing them is most of a handshake's CPU).
    const secure = this.server.startsWith('https:');
    const tlsOptions: https.AgentOptions = {
      secureContext: secure
        ? secureContext({ ca, cert, key, pfx, passphrase }, rest.rejectUnauthorized !== false)
        : undefined,
      rejectUnauthorized: rest.rejectUnauthorized,
      servername: rest.servername,
    };
    this.tlsOptions = tlsOptions;
    this.h2Unsupported = !options.http2 || !secure;
    this.agent = secure ? new https.Agent({ ...agentOptions, ...tlsOptions }) : new http.Agent(agentOptions);
    this.watchAgent = secure
      ? new https.Agent({ keepAlive: true, ...tlsOptions })
      : new http.Agent({ keepAlive: true });
  }

  /**
   * A client for `context` (default: current-context) of a kubeconfig file or text. Static
   * credentials (tokens, client certificates, basic auth) are read by kitfed's own kubeconfig reader;
   * plugin credentials (`exec`, `auth-provider`) are run by @kubernetes/client-node, loaded only then.
   */
  static async fromKubeconfig(
    source: { file: string } | { text: string },
    context?: string,
    options: KubeClientOptions = {},
  ): Promise<KubeClient> {
    const kc = Kubeconfig.read(source);
    const resolved = kc.resolve(context ?? kc.currentContext);
    if (!resolved.plugin) {
      const opts: https.RequestOptions = { headers: resolved.headers };
      // Plain HTTP (loopback sandboxes) carries at most a bearer token.
      if (resolved.server.startsWith('https:')) Object.assign(opts, resolved.tls);
      return new KubeClient(resolved.server, opts, options);
    }
    const { KubeConfig } = await import('@kubernetes/client-node');
    const plugin = new KubeConfig();
    if ('file' in source) plugin.loadFromFile(source.file);
    else plugin.loadFromString(source.text);
    plugin.setCurrentContext(resolved.context);
    const opts: https.RequestOptions = {};
    if (resolved.server.startsWith('https:')) await plugin.applyToHTTPSOptions(opts);
    else {
      // client-node refuses plain HTTP; loopback sandboxes use it, with at most a bearer token.
      const token = plugin.getCurrentUser()?.token;
      if (token) opts.headers = { Authorization: `Bearer ${token}` };
    }
    return new KubeClient(resolved.server, opts, options);
  }

  /**
   * A client with the same credentials for the API under `prefix` of this server, e.g. a member
   * cluster through the federation's proxy (`/apis/federation.kitfed.io/v1beta1/clusters/NAME/proxy`).
   */
  at(prefix: string): KubeClient {
    return new KubeClient(this.server + prefix.replace(/\/+$/, ''), this.given, this.options);
  }

  /** Context names of a kubeconfig, in file order. */
  static contexts(source: { file: string } | { text: string }): string[] {
    return Kubeconfig.read(source).contexts;
  }

  close(): void {
    this.agent.destroy();
    this.watchAgent.destroy();
    // Torn down on a timer that does not hold the process (the session is unref'd too): a long-lived
    // process frees it a moment later, a CLI exits without spending ~1 ms of teardown per connection.
    void this.h2?.then(
      (session) => session && setTimeout(() => session.destroy(), 0).unref(),
      () => undefined,
    );
    this.h2 = undefined;
  }

  /** One HTTP request; JSON in and out; non-2xx → KitfedError from the Status body. */
  async request<T = unknown>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    const res = await this.raw(method, path, opts);
    const text = res.body;
    if (res.status >= 200 && res.status < 300) {
      if (!text) return undefined as T;
      return (res.contentType.includes('json') ? JSON.parse(text) : text) as T;
    }
    throw statusError(res.status, text, `${method} ${path}`);
  }

  private async raw(method: string, path: string, opts: RequestOptions): Promise<RawResponse> {
    const url = new URL(this.server + path);
    for (const [k, v] of Object.entries(opts.query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    const payload =
      opts.body === undefined ? undefined : typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body);
    const timeout = opts.timeoutMs ?? this.timeoutMs;
    const out: Outgoing = { method, url, payload, opts, timeout, what: `${method} ${this.server}${path}` };
    if (!this.h2Unsupported) {
      // A connection the server closed (GOAWAY, restart) since the last request is opened again, once.
      for (let attempt = 0; attempt < 2; attempt++) {
        const session = await this.http2Session(timeout);
        if (!session) break;
        const sent = this.rawHttp2(session, out);
        if (sent) return sent;
        this.h2 = undefined;
      }
    }
    return this.rawHttp1(out);
  }

  private headers(opts: RequestOptions, payload: string | undefined): Record<string, string | number> {
    return {
      ...(this.baseOptions.headers as Record<string, string> | undefined),
      Accept: opts.accept ?? 'application/json',
      'User-Agent': this.userAgent,
      ...(payload !== undefined
        ? { 'Content-Type': opts.contentType ?? 'application/json', 'Content-Length': Buffer.byteLength(payload) }
        : {}),
    };
  }

  /** The client's HTTP/2 connection, opened on first use; undefined when the server does not offer HTTP/2. */
  private http2Session(timeoutMs: number): Promise<ClientHttp2Session | undefined> {
    this.h2 ??= this.connectHttp2(timeoutMs).then(
      (session) => {
        if (!session) this.h2Unsupported = true;
        const forget = () => {
          if (this.h2 === current) this.h2 = undefined;
        };
        session?.once('close', forget).once('goaway', forget);
        return session;
      },
      (err: unknown) => {
        if (this.h2 === current) this.h2 = undefined;
        throw err;
      },
    );
    const current = this.h2;
    return current;
  }

  private async connectHttp2(timeoutMs: number): Promise<ClientHttp2Session | undefined> {
    const http2 = await import('node:http2'); // ~7 ms of a cold start: only for clients that use it
    const url = new URL(this.server);
    const host = url.hostname.replace(/^\[|\]$/g, '');
    const socket = await new Promise<tls.TLSSocket>((resolve, reject) => {
      const s = tls.connect({
        host,
        port: Number(url.port || 443),
        // As https.Agent: no SNI for an IP address.
        servername: this.tlsOptions.servername || (isIP(host) ? undefined : host),
        secureContext: this.tlsOptions.secureContext,
        rejectUnauthorized: this.tlsOptions.rejectUnauthorized,
        ALPNProtocols: ['h2', 'http/1.1'],
      });
      const timer = setTimeout(
        () => s.destroy(errors.timeout(`${this.server}: no TLS connection within ${timeoutMs} ms`)),
        timeoutMs,
      );
      s.once('secureConnect', () => {
        clearTimeout(timer);
        resolve(s);
      });
      s.once('error', (err) => {
        clearTimeout(timer);
        reject(err instanceof KitfedError ? err : errors.unavailable(`${this.server}: ${err.message}`, err));
      });
    });
    if (socket.alpnProtocol !== 'h2') {
      socket.destroy();
      return undefined;
    }
    const session = http2.connect(this.server, {
      createConnection: () => socket,
      // Large lists stream without waiting on window updates (Go's client uses 4 MiB per stream too).
      settings: { enablePush: false, initialWindowSize: 4 << 20 },
    });
    session.setLocalWindowSize(16 << 20);
    session.on('error', () => undefined); // surfaces on the streams in flight; the next request reconnects
    // Idle, the connection does not keep the process alive; every request holds a timer that does.
    session.unref();
    return session;
  }

  /** One request on the HTTP/2 connection; undefined when the connection can take no more (closing). */
  private rawHttp2(
    session: ClientHttp2Session,
    { method, url, payload, opts, timeout, what }: Outgoing,
  ): Promise<RawResponse> | undefined {
    if (session.closed || session.destroyed) return undefined;
    const headers: OutgoingHttpHeaders = { ':method': method, ':path': url.pathname + url.search };
    for (const [k, v] of Object.entries(this.headers(opts, payload))) headers[k.toLowerCase()] = v;
    let stream: ClientHttp2Stream;
    try {
      stream = session.request(headers, { endStream: payload === undefined });
    } catch {
      return undefined; // the server sent GOAWAY: no new streams on this connection
    }
    return new Promise((resolve, reject) => {
      let status = 0;
      let contentType = '';
      const chunks: Buffer[] = [];
      const timer = setTimeout(() => {
        stream.close();
        reject(errors.timeout(`${what}: no answer within ${timeout} ms`));
      }, timeout);
      stream.on('response', (h) => {
        status = Number(h[':status'] ?? 0);
        contentType = String(h['content-type'] ?? '');
      });
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        clearTimeout(timer);
        resolve({ status, body: Buffer.concat(chunks).toString('utf8'), contentType });
      });
      stream.on('error', (err) => {
        clearTimeout(timer);
        reject(errors.unavailable(`${this.server}: ${err.message}`, err));
      });
      if (payload !== undefined) stream.end(payload);
    });
  }

  private rawHttp1({ method, url, payload, opts, timeout, what }: Outgoing): Promise<RawResponse> {
    const mod = url.protocol === 'https:' ? https : http;
    return new Promise((resolve, reject) => {
      const req = mod.request(
        url,
        {
          ...this.baseOptions,
          method,
          agent: this.agent,
          headers: this.headers(opts, payload),
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            clearTimeout(timer);
            resolve({
              status: res.statusCode ?? 0,
              body: Buffer.concat(chunks).toString('utf8'),
              contentType: String(res.headers['content-type'] ?? ''),
            });
          });
          res.on('error', (err) => {
            clearTimeout(timer);
            reject(errors.unavailable(`${this.server}: ${err.message}`, err));
          });
        },
      );
      const timer = setTimeout(() => {
        req.destroy();
        reject(errors.timeout(`${what}: no answer within ${timeout} ms`));
      }, timeout);
      req.on('error', (err) => {
        clearTimeout(timer);
        reject(errors.unavailable(`${this.server}: ${err.message}`, err));
      });
      if (payload !== undefined) req.write(payload);
      req.end();
    });
  }

  /**
   * One request whose response is read as it arrives (logs, watches, a proxied request): over
   * HTTP/1.1 on the watch pool, with this client's credentials, `body` piped as the request body.
   * Only the wait for the response's head is bounded (`headersTimeoutMs`, default the client's
   * timeout); the caller reads or destroys the response. A connection failure rejects with a 503.
   */
  stream(
    method: string,
    path: string,
    opts: {
      headers?: http.OutgoingHttpHeaders;
      body?: NodeJS.ReadableStream;
      headersTimeoutMs?: number;
      signal?: AbortSignal;
    } = {},
  ): Promise<http.IncomingMessage> {
    const url = new URL(this.server + path);
    const mod = url.protocol === 'https:' ? https : http;
    const timeout = opts.headersTimeoutMs ?? this.timeoutMs;
    return new Promise((resolve, reject) => {
      const req = mod.request(url, {
        ...this.baseOptions,
        method,
        agent: this.watchAgent,
        headers: {
          'User-Agent': this.userAgent,
          ...opts.headers,
          ...(this.baseOptions.headers as Record<string, string> | undefined),
        },
        ...(opts.signal ? { signal: opts.signal } : {}),
      });
      const timer = setTimeout(() => {
        req.destroy();
        reject(errors.timeout(`${method} ${this.server}${url.pathname}: no answer within ${timeout} ms`));
      }, timeout);
      req.on('response', (res) => {
        clearTimeout(timer);
        resolve(res);
      });
      req.on('error', (err) => {
        clearTimeout(timer);
        reject(err instanceof KitfedError ? err : errors.unavailable(`${this.server}: ${err.message}`, err));
      });
      if (opts.body) opts.body.pipe(req);
      else req.end();
    });
  }

  /** True when `/readyz` (or `/healthz` where readyz is absent) answers ok within the timeout. */
  async healthy(timeoutMs = 5000): Promise<{ ok: boolean; reason: string }> {
    for (const path of ['/readyz', '/healthz']) {
      try {
        const res = await this.raw('GET', path, { timeoutMs, accept: 'text/plain' });
        if (res.status === 404 && path === '/readyz') continue;
        return res.status === 200
          ? { ok: true, reason: 'ok' }
          : { ok: false, reason: `${path} returned ${res.status}` };
      } catch (err) {
        return { ok: false, reason: err instanceof Error ? err.message : String(err) };
      }
    }
    return { ok: false, reason: 'no health endpoint' };
  }

  // ---- discovery ---------------------------------------------------------------------

  /**
   * Resources the caller already knows the server serves (kitfed's CLI: its API server's own table), so
   * requests for them skip the discovery round trip; kinds not given here still go through discovery.
   */
  assume(resources: Iterable<ResourceInfo>): this {
    for (const r of resources) this.assumed.set(`${r.group}/${r.version}/${r.kind}`, r);
    return this;
  }

  /** Resolves apiVersion+kind to its REST resource through discovery (cached per group/version). */
  async resource(apiVersion: string, kind: string): Promise<ResourceInfo> {
    if (this.assumed.size > 0) {
      const { group, version } = parseApiVersion(apiVersion);
      const known = this.assumed.get(`${group}/${version}/${kind}`);
      if (known) return known;
    }
    const info = await this.lookup(apiVersion, kind);
    if (info) return info;
    // A kind can appear at run time (a CRD became Established): look again once, at most every 500 ms.
    const { group, version } = parseApiVersion(apiVersion);
    const gv = group ? `${group}/${version}` : version;
    if (Date.now() - (this.discoveredAt.get(gv) ?? 0) >= 500) {
      this.discovery.delete(gv);
      const again = await this.lookup(apiVersion, kind);
      if (again) return again;
    }
    throw new KitfedError(`the server ${this.server} does not serve ${kind} in ${gv}`, 404, 'NotFound', { kind });
  }

  private async lookup(apiVersion: string, kind: string): Promise<ResourceInfo | undefined> {
    const { group, version } = parseApiVersion(apiVersion);
    const gv = group ? `${group}/${version}` : version;
    let entry = this.discovery.get(gv);
    if (!entry) {
      this.discoveredAt.set(gv, Date.now());
      entry = this.request<{ resources: Array<{ name: string; kind: string; namespaced: boolean }> }>(
        'GET',
        group ? `/apis/${gv}` : `/api/${version}`,
      ).then((list) => {
        const byKind = new Map<string, ResourceInfo>();
        for (const r of list.resources)
          if (!r.name.includes('/'))
            byKind.set(r.kind, { group, version, kind: r.kind, plural: r.name, namespaced: r.namespaced });
        return byKind;
      });
      entry.catch(() => this.discovery.delete(gv));
      this.discovery.set(gv, entry);
    }
    try {
      return (await entry).get(kind);
    } catch (err) {
      if (hasCode(err, 404)) return undefined;
      throw err;
    }
  }

  /** The REST path of a collection (no name) or object. */
  async path(apiVersion: string, kind: string, namespace?: string, name?: string): Promise<string> {
    const r = await this.resource(apiVersion, kind);
    return resourcePath(r, namespace, name);
  }

  // ---- verbs -------------------------------------------------------------------------

  async get<T extends KubeObject = KubeObject>(
    apiVersion: string,
    kind: string,
    namespace: string | undefined,
    name: string,
  ): Promise<T> {
    return this.request<T>('GET', await this.path(apiVersion, kind, namespace, name));
  }

  async tryGet<T extends KubeObject = KubeObject>(
    apiVersion: string,
    kind: string,
    namespace: string | undefined,
    name: string,
  ): Promise<T | undefined> {
    try {
      return await this.get<T>(apiVersion, kind, namespace, name);
    } catch (err) {
      if (hasCode(err, 404)) return undefined;
      throw err;
    }
  }

  async list<T extends KubeObject = KubeObject>(
    apiVersion: string,
    kind: string,
    namespace?: string,
    query: {
      labelSelector?: string;
      fieldSelector?: string;
      limit?: number;
      continue?: string;
      resourceVersion?: string;
    } = {},
  ): Promise<KubeList<T>> {
    return this.request<KubeList<T>>('GET', await this.path(apiVersion, kind, namespace), { query });
  }

  async create<T extends KubeObject = KubeObject>(
    obj: KubeObject,
    opts: { dryRun?: boolean; fieldManager?: string } = {},
  ): Promise<T> {
    return this.request<T>('POST', await this.path(obj.apiVersion, obj.kind, obj.metadata.namespace), {
      body: obj,
      query: writeQuery(opts),
    });
  }

  async update<T extends KubeObject = KubeObject>(
    obj: KubeObject,
    opts: { dryRun?: boolean; fieldManager?: string; subresource?: 'status' } = {},
  ): Promise<T> {
    const p = await this.path(obj.apiVersion, obj.kind, obj.metadata.namespace, obj.metadata.name);
    return this.request<T>('PUT', opts.subresource ? `${p}/${opts.subresource}` : p, {
      body: obj,
      query: writeQuery(opts),
    });
  }

  async patch<T extends KubeObject = KubeObject>(
    apiVersion: string,
    kind: string,
    namespace: string | undefined,
    name: string,
    patch: unknown,
    type: PatchKind = 'merge',
    opts: { dryRun?: boolean; fieldManager?: string; subresource?: 'status' } = {},
  ): Promise<T> {
    const p = await this.path(apiVersion, kind, namespace, name);
    return this.request<T>('PATCH', opts.subresource ? `${p}/${opts.subresource}` : p, {
      body: patch,
      contentType: PATCH_TYPES[type],
      query: writeQuery(opts),
    });
  }

  /** Server-side apply of a (partial) object. */
  async apply<T extends KubeObject = KubeObject>(
    obj: KubeObject,
    opts: { fieldManager: string; force?: boolean; dryRun?: boolean; subresource?: 'status' },
  ): Promise<T> {
    const p = await this.path(obj.apiVersion, obj.kind, obj.metadata.namespace, obj.metadata.name);
    return this.request<T>('PATCH', opts.subresource ? `${p}/${opts.subresource}` : p, {
      body: obj,
      contentType: 'application/apply-patch+yaml',
      query: { ...writeQuery(opts), force: opts.force ? true : undefined },
    });
  }

  async delete(
    apiVersion: string,
    kind: string,
    namespace: string | undefined,
    name: string,
    opts: {
      propagationPolicy?: 'Orphan' | 'Background' | 'Foreground';
      preconditions?: { uid?: string; resourceVersion?: string };
      dryRun?: boolean;
    } = {},
  ): Promise<KubeObject | Status> {
    const body = {
      apiVersion: 'v1',
      kind: 'DeleteOptions',
      propagationPolicy: opts.propagationPolicy,
      preconditions: opts.preconditions,
      dryRun: opts.dryRun ? ['All'] : undefined,
    };
    return this.request('DELETE', await this.path(apiVersion, kind, namespace, name), { body });
  }

  /**
   * Streams watch events of a collection. `onEvent` gets every event (ERROR included: a 410
   * means re-list). The handle's `done` resolves when the stream ends.
   */
  async watch(
    apiVersion: string,
    kind: string,
    namespace: string | undefined,
    query: {
      resourceVersion?: string;
      labelSelector?: string;
      fieldSelector?: string;
      allowWatchBookmarks?: boolean;
      timeoutSeconds?: number;
    },
    onEvent: (type: WatchEventType, obj: KubeObject) => void,
  ): Promise<WatchHandle> {
    const url = new URL(this.server + (await this.path(apiVersion, kind, namespace)));
    url.searchParams.set('watch', 'true');
    for (const [k, v] of Object.entries(query)) if (v !== undefined) url.searchParams.set(k, String(v));
    const mod = url.protocol === 'https:' ? https : http;
    let stopRequested = false;
    let resolveDone!: (e: KitfedError | undefined) => void;
    const done = new Promise<KitfedError | undefined>((r) => (resolveDone = r));
    const req = mod.request(url, {
      ...this.baseOptions,
      method: 'GET',
      agent: this.watchAgent,
      headers: {
        ...(this.baseOptions.headers as Record<string, string> | undefined),
        Accept: 'application/json',
        'User-Agent': this.userAgent,
      },
    });
    const connectTimer = setTimeout(
      () => req.destroy(errors.timeout(`watch ${url.pathname}: no answer within ${this.timeoutMs} ms`)),
      this.timeoutMs,
    );
    req.on('response', (res) => {
      clearTimeout(connectTimer);
      if (res.statusCode !== 200) {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolveDone(
            statusError(res.statusCode ?? 0, Buffer.concat(chunks).toString('utf8'), `watch ${url.pathname}`),
          ),
        );
        return;
      }
      let buf = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buf += chunk;
        let nl: number;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, nl).trim();
          buf = buf.slice(nl + 1);
          if (!line) continue;
          try {
            const e = JSON.parse(line) as { type: WatchEventType; object: KubeObject };
            onEvent(e.type, e.object);
          } catch {
            // A malformed line ends the stream; the caller re-lists.
            req.destroy();
          }
        }
      });
      res.on('end', () => resolveDone(undefined));
      res.on('error', () => resolveDone(stopRequested ? undefined : errors.unavailable(`watch ${url.pathname} broke`)));
    });
    req.on('error', (err) => {
      clearTimeout(connectTimer);
      resolveDone(
        stopRequested
          ? undefined
          : err instanceof KitfedError
            ? err
            : errors.unavailable(`${this.server}: ${err.message}`, err),
      );
    });
    req.end();
    return {
      stop: () => {
        stopRequested = true;
        req.destroy();
        resolveDone(undefined);
      },
      done,
    };
  }
}

/** As client-go's metav1.NamespaceAll: list/watch a namespaced kind across every namespace. */
export const ALL_NAMESPACES = '';

/** The REST path; a namespaced kind with no namespace means `default`, with ALL_NAMESPACES ('') every namespace. */
export function resourcePath(r: ResourceInfo, namespace?: string, name?: string): string {
  const base = r.group ? `/apis/${r.group}/${r.version}` : `/api/${r.version}`;
  const ns =
    r.namespaced && (namespace !== ALL_NAMESPACES || name !== undefined)
      ? `/namespaces/${encodeURIComponent(namespace || 'default')}`
      : '';
  return `${base}${ns}/${r.plural}${name !== undefined ? `/${encodeURIComponent(name)}` : ''}`;
}

function writeQuery(opts: { dryRun?: boolean; fieldManager?: string }): Record<string, string | undefined> {
  return { dryRun: opts.dryRun ? 'All' : undefined, fieldManager: opts.fieldManager };
}

const contexts = new Map<string, tls.SecureContext>();

/**
 * One TLS context per distinct CA and client credentials in the process: creating one costs a few
 * milliseconds of CPU (more on a cold process), and a deploy to many members of one CA needs just one.
 */
function secureContext(o: tls.SecureContextOptions, verifies: boolean): tls.SecureContext {
  // No CA of its own: Node's default store, or what it would hold had NODE_EXTRA_CA_CERTS not been deferred.
  const ca = o.ca ?? (verifies ? defaultCa() : undefined);
  const hash = createHash('sha256');
  for (const v of [o.ca, o.cert, o.key, o.pfx, o.passphrase]) hash.update(`${JSON.stringify(v ?? null)}\0`);
  hash.update(ca === o.ca ? '' : 'default-ca');
  const key = hash.digest('hex');
  let ctx = contexts.get(key);
  if (!ctx) {
    if (contexts.size >= 256) contexts.delete(contexts.keys().next().value!);
    ctx = tls.createSecureContext({ ...o, ca });
    contexts.set(key, ctx);
  }
  return ctx;
}

/** One request as both transports send it. */
interface Outgoing {
  method: string;
  url: URL;
  payload: string | undefined;
  opts: RequestOptions;
  timeout: number;
  /** `METHOD server/path`, for error messages */
  what: string;
}

interface RawResponse {
  status: number;
  body: string;
  contentType: string;
}

function statusError(code: number, body: string, what: string): KitfedError {
  try {
    const s = JSON.parse(body) as Partial<Status>;
    if (isObject(s) && s.kind === 'Status')
      return new KitfedError(
        s.message ?? `${what}: HTTP ${code}`,
        s.code ?? code,
        s.reason ?? 'Unknown',
        s.details ?? {},
      );
  } catch {
    // not a Status
  }
  return new KitfedError(
    `${what}: HTTP ${code}${body ? `: ${body.slice(0, 200)}` : ''}`,
    code,
    code >= 500 ? 'InternalError' : 'Unknown',
  );
}
