/**
 * `clusters/NAME/proxy/PATH`: a request to a member cluster's API through the federation, as
 * Karmada's cluster proxy. The caller needs RBAC on the `clusters/proxy` subresource in the
 * federation (the verb of the method, as for any subresource); the federation then calls the
 * member with the Cluster's own credentials (its Secret in `kitfed-system`) **impersonating the
 * caller** (`Impersonate-User`, `-Group`, `-Uid`, `-Extra-*`), so the member's RBAC decides what
 * the caller may do there: the federation's credential needs the `impersonate` verb in the
 * member (cluster-admin has it). Nothing of the caller's own credentials reaches the member.
 *
 * A kubeconfig whose server is the proxy URL points kubectl at a member with one's federation
 * identity (`kubectl --server https://FED/apis/federation.kitfed.io/v1beta1/clusters/us-east/proxy
 * logs deploy/web`); `kitfed logs` reads every member's pod logs that way.
 *
 * Bodies stream both ways (watches, `logs -f`); only the wait for the member's response head is
 * bounded. Upgrades (exec, attach, port-forward) are not forwarded.
 */
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { FEDERATION_NAMESPACE, isClusterReady, memberClient, type ClusterObject } from '../core/controller/index.js';
import { errors, hasCode } from '../core/errors.js';
import type { KubeClient } from '../core/kube-client.js';
import { createLogger } from '../core/log.js';
import { ALL_AUTHENTICATED, type UserInfo } from './auth/user.js';
import type { Registry } from './registry.js';
import type { ResourceType } from './resources.js';

const log = createLogger('apiserver');

const PROXY_PATH = /^\/apis\/federation\.kitfed\.io\/v1beta1\/clusters\/([^/]+)\/proxy(\/.*)?$/;

/** How long a member may take to start answering. */
const HEADERS_TIMEOUT_MS = 30_000;

/** Request headers passed on to the member; everything else (credentials, cookies, hop-by-hop) stays here. */
const FORWARDED_REQUEST_HEADERS = [
  'accept',
  'accept-encoding',
  'accept-language',
  'content-encoding',
  'content-length',
  'content-type',
  'if-match',
  'if-none-match',
  'user-agent',
];

/** Response headers not passed back: hop-by-hop, and cookies. */
const DROPPED_RESPONSE_HEADERS = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-connection',
  'set-cookie',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

/** The cluster and member path of a proxy request's path, or undefined when it is no proxy request. */
export function clusterProxyTarget(pathname: string): { cluster: string; path: string } | undefined {
  const m = PROXY_PATH.exec(pathname);
  if (!m) return undefined;
  try {
    return { cluster: decodeURIComponent(m[1]!), path: m[2] ?? '/' };
  } catch {
    return undefined; // a malformed escape: no cluster has that name (the router answers 404)
  }
}

/** The impersonation headers that make the member see `user`. */
export function impersonationHeaders(user: UserInfo): OutgoingHttpHeaders {
  const headers: OutgoingHttpHeaders = { 'Impersonate-User': user.name };
  const groups = user.groups.filter((g) => g !== ALL_AUTHENTICATED);
  if (groups.length > 0) headers['Impersonate-Group'] = groups;
  if (user.uid) headers['Impersonate-Uid'] = user.uid;
  for (const [key, values] of Object.entries(user.extra ?? {}))
    if (values.length > 0) headers[`Impersonate-Extra-${encodeURIComponent(key)}`] = [...values];
  return headers;
}

interface CachedClient {
  source: string;
  client: Promise<KubeClient>;
}

export class ClusterProxy {
  private readonly clients = new Map<string, CachedClient>();
  /** Responses being relayed (watches, `logs -f`): ended when the server stops. */
  private readonly streams = new Set<IncomingMessage>();

  constructor(
    private readonly registry: Registry,
    private readonly clusterType: ResourceType,
    private readonly secretType: ResourceType,
  ) {}

  /** Serves one proxy request; resolves once the response has been sent (or the caller went away). */
  async serve(
    req: IncomingMessage,
    res: ServerResponse,
    user: UserInfo,
    cluster: string,
    path: string,
    search: string,
  ) {
    if (req.headers.upgrade)
      throw errors.badRequest(
        `the cluster proxy does not forward upgrades (exec, attach, port-forward): ` +
          `use the member cluster's own kubeconfig for ${cluster}`,
      );
    const client = await this.client(cluster);
    const headers: OutgoingHttpHeaders = impersonationHeaders(user);
    for (const h of FORWARDED_REQUEST_HEADERS) if (req.headers[h] !== undefined) headers[h] = req.headers[h];
    // HTTP/2 requests need not say their length: anything but GET and HEAD passes its body on.
    const hasBody = req.method !== 'GET' && req.method !== 'HEAD';
    const aborted = new AbortController();
    res.once('close', () => aborted.abort());
    let upstream: IncomingMessage;
    try {
      upstream = await client.stream(req.method ?? 'GET', path + search, {
        headers,
        ...(hasBody ? { body: req } : {}),
        headersTimeoutMs: HEADERS_TIMEOUT_MS,
        signal: aborted.signal,
      });
    } catch (err) {
      if (aborted.signal.aborted) return;
      const reason = err instanceof Error ? err.message : String(err);
      log.warn({ cluster, method: req.method, path, err: reason }, 'cluster proxy: member did not answer');
      throw errors.unavailable(`cluster "${cluster}" did not answer: ${reason}`);
    }
    const out: OutgoingHttpHeaders = {};
    for (const [k, v] of Object.entries(upstream.headers))
      if (v !== undefined && !DROPPED_RESPONSE_HEADERS.has(k)) out[k] = v;
    res.writeHead(upstream.statusCode ?? 502, out);
    log.debug({ cluster, user: user.name, method: req.method, path, status: upstream.statusCode }, 'cluster proxy');
    this.streams.add(upstream);
    await new Promise<void>((resolve) => {
      upstream.pipe(res);
      upstream.once('error', () => res.destroy());
      res.once('close', () => {
        this.streams.delete(upstream);
        upstream.destroy();
        resolve();
      });
    });
  }

  /** Ends every relayed response (the server is stopping: a proxied watch must not hold it). */
  endStreams(): void {
    for (const s of this.streams) s.destroy();
  }

  close(): void {
    this.endStreams();
    for (const c of this.clients.values())
      void c.client.then(
        (k) => k.close(),
        () => undefined,
      );
    this.clients.clear();
  }

  /** The member's client, built again when its server or credential Secret changed. */
  private async client(name: string): Promise<KubeClient> {
    const cluster = (await this.registry.get(this.clusterType, undefined, name)) as ClusterObject;
    if (!isClusterReady(cluster)) {
      const ready = cluster.status?.conditions?.find((c) => c.type === 'Ready');
      throw errors.unavailable(`cluster "${name}" is not Ready${ready?.message ? `: ${ready.message}` : ''}`);
    }
    const secretName = cluster.spec?.secretRef?.name;
    let secret;
    if (secretName) {
      try {
        secret = await this.registry.get(this.secretType, FEDERATION_NAMESPACE, secretName);
      } catch (err) {
        if (!hasCode(err, 404)) throw err;
        throw errors.unavailable(
          `cluster "${name}": its credentials Secret ${FEDERATION_NAMESPACE}/${secretName} is missing`,
        );
      }
    }
    const server = cluster.spec?.serverAddressByClientCIDRs?.[0]?.serverAddress;
    // Not the Cluster's resourceVersion: its status changes with every health probe.
    const source = `${server ?? ''} ${secret?.metadata.resourceVersion ?? ''}`;
    const cached = this.clients.get(name);
    if (cached?.source === source) return cached.client;
    if (cached)
      void cached.client.then(
        (k) => k.close(),
        () => undefined,
      );
    const client = memberClient(server, secret);
    this.clients.set(name, { source, client });
    try {
      return await client;
    } catch (err) {
      this.clients.delete(name);
      throw errors.unavailable(`cluster "${name}": no client: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
}
