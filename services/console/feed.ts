/**
 * One feed per bearer token: the federation kinds the console shows, list+watched with that token
 * (so the API server's authorization decides what the user sees), the webhook service's runs and
 * the sandbox's cluster details, polled with it. Every browser tab of the same user shares the
 * feed; it stops a little after its last subscriber leaves.
 */
import { createHash } from 'node:crypto';
import { hasCode, KitfedError, messageOf } from '../core/errors.js';
import type { KubeObject } from '../core/kube.js';
import { ALL_NAMESPACES, KubeClient } from '../core/kube-client.js';
import { buildKubeconfig } from '../core/kubeconfig.js';
import { Informer, dropManagedFields, keyOf } from '../core/controller/index.js';
import { federationOnly } from '../controllers/index.js';
import { GitopsClient } from '../gitops/index.js';
import type { Logger } from '../core/log.js';
import type { SandboxClusterInfo } from '../sandbox/index.js';
import type { ObjectChange, SandboxClusterView, SessionInfo, StreamMessage, WatchedResource } from './api.js';

export interface FeedSource {
  /** The federation API server and the CA that signed its certificate. */
  federation: { server: string; caCert?: string };
  /** The webhook service (runs); absent: no runs. */
  webhooksUrl?: string;
  /** The sandbox admin endpoint (faults, pods of sandbox clusters); absent: none. */
  sandboxAdminUrl?: string;
  /** @default 500 */
  runsPollMs?: number;
  /** @default 1000 */
  sandboxPollMs?: number;
  /** How long a feed outlives its last subscriber (a reload reuses it). @default 10000 */
  lingerMs?: number;
  /** Changes are sent in batches at most this often. @default 25 */
  batchMs?: number;
}

/** The kinds the console shows: the federation's Clusters, Events, Namespaces, and the kinds people federate. */
const CANDIDATES: ReadonlyArray<{ apiVersion: string; kind: string; role: WatchedResource['role'] }> = [
  { apiVersion: 'federation.kitfed.io/v1beta1', kind: 'Cluster', role: 'clusters' },
  { apiVersion: 'v1', kind: 'Event', role: 'events' },
  { apiVersion: 'v1', kind: 'Namespace', role: 'namespaces' },
  { apiVersion: 'apps/v1', kind: 'Deployment', role: 'federated' },
  { apiVersion: 'apps/v1', kind: 'ReplicaSet', role: 'federated' },
  { apiVersion: 'apps/v1', kind: 'StatefulSet', role: 'federated' },
  { apiVersion: 'apps/v1', kind: 'DaemonSet', role: 'federated' },
  { apiVersion: 'batch/v1', kind: 'Job', role: 'federated' },
  { apiVersion: 'batch/v1', kind: 'CronJob', role: 'federated' },
  { apiVersion: 'v1', kind: 'Service', role: 'federated' },
  { apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', role: 'federated' },
  { apiVersion: 'v1', kind: 'ConfigMap', role: 'federated' },
  { apiVersion: 'v1', kind: 'Secret', role: 'federated' },
  { apiVersion: 'v1', kind: 'ServiceAccount', role: 'federated' },
];

const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

/** What reaches the browser: no managedFields, no last-applied copy, never Secret data. */
export function slim(obj: KubeObject): KubeObject {
  let o = dropManagedFields(obj);
  if (o.metadata.annotations?.[LAST_APPLIED] !== undefined) {
    const { [LAST_APPLIED]: _drop, ...annotations } = o.metadata.annotations;
    o = { ...o, metadata: { ...o.metadata, annotations } };
  }
  if (o.kind === 'Secret' && (o.data !== undefined || o.stringData !== undefined)) {
    const { data: _d, stringData: _s, ...rest } = o;
    o = rest;
  }
  return o;
}

function resourceKey(apiVersion: string, plural: string): string {
  return `${apiVersion}/${plural}`;
}

type ResourceState =
  | { phase: 'pending' }
  | { phase: 'live'; informer: Informer; shown: (o: KubeObject) => boolean }
  | { phase: 'denied'; code: number; message: string };

export type Subscriber = (msg: StreamMessage) => void;

export class Feed {
  readonly id: string;
  private client: KubeClient | undefined;
  private session: SessionInfo | undefined;
  private resources: WatchedResource[] = [];
  private readonly states = new Map<string, ResourceState>();
  private readonly subscribers = new Set<Subscriber>();
  private pending = new Map<string, ObjectChange>();
  private flushTimer: NodeJS.Timeout | undefined;
  private runsTimer: NodeJS.Timeout | undefined;
  private sandboxTimer: NodeJS.Timeout | undefined;
  private lingerTimer: NodeJS.Timeout | undefined;
  private runs: { etag: string | undefined; msg: StreamMessage } | undefined;
  private readonly gitops: GitopsClient | undefined;
  private sandbox: { text: string; msg: StreamMessage } | undefined;
  private opening: Promise<SessionInfo> | undefined;
  private closed = false;

  constructor(
    private readonly token: string,
    private readonly source: FeedSource,
    private readonly log: Logger,
    private readonly onIdle: (feed: Feed) => void,
  ) {
    this.id = tokenId(token);
    if (source.webhooksUrl)
      this.gitops = new GitopsClient(
        source.webhooksUrl,
        token,
        5000,
        'the webhook service does not accept the token you signed in with',
      );
  }

  /** Checks the token against the federation API and starts the watches; 401 when the token is not accepted. */
  open(): Promise<SessionInfo> {
    this.opening ??= this.start();
    return this.opening;
  }

  private async start(): Promise<SessionInfo> {
    const text = buildKubeconfig([
      {
        name: 'console',
        server: this.source.federation.server,
        caCert: this.source.federation.caCert,
        token: this.token,
      },
    ]);
    const client = await KubeClient.fromKubeconfig({ text }, 'console', {
      timeoutMs: 15_000,
      userAgent: 'kitfed-console',
      maxSockets: 32,
    });
    this.client = client;
    // The token check and discovery of every candidate kind run side by side: a cold feed is
    // the sign-in latency, and most of the first paint.
    const [session, infos] = await Promise.all([
      whoAmI(client),
      Promise.all(
        CANDIDATES.map((c) =>
          client.resource(c.apiVersion, c.kind).catch((err: unknown) => {
            if (hasCode(err, 404)) return undefined; // not served by this federation
            throw err;
          }),
        ),
      ),
    ]);
    this.session = session;
    for (const [i, c] of CANDIDATES.entries()) {
      const info = infos[i];
      if (!info) continue;
      const r: WatchedResource = {
        key: resourceKey(c.apiVersion, info.plural),
        apiVersion: c.apiVersion,
        kind: c.kind,
        plural: info.plural,
        namespaced: info.namespaced,
        role: c.role,
      };
      this.resources.push(r);
      this.states.set(r.key, { phase: 'pending' });
    }
    // Clusters first (the fleet view paints from them), then every other kind side by side.
    const clusters = this.resources.find((r) => r.role === 'clusters');
    const first = clusters ? this.watch(clusters) : Promise.resolve();
    const rest = () => {
      for (const r of this.resources) if (r !== clusters) void this.watch(r);
    };
    void first.then(rest, rest);
    return this.session;
  }

  /** A first page of one item tells whether this user may read the kind, before an informer retries forever. */
  private async watch(r: WatchedResource): Promise<void> {
    const client = this.client!;
    try {
      await client.list(r.apiVersion, r.kind, ALL_NAMESPACES, { limit: 1 });
    } catch (err) {
      const code = err instanceof KitfedError ? err.code : 503;
      if (code === 401 || code === 403 || code === 404) {
        this.states.set(r.key, { phase: 'denied', code, message: messageOf(err) });
        this.broadcast({ type: 'denied', resource: r.key, code, message: messageOf(err) });
        return;
      }
      // Anything else (the API server restarting): the informer below retries with backoff.
    }
    if (this.closed) return;
    const informer = new Informer(client, {
      apiVersion: r.apiVersion,
      kind: r.kind,
      name: `console:${r.plural}`,
      transform: slim,
      pageSize: 500,
    });
    // The federation's own objects (cluster credentials in kitfed-system, …) are not federated ones.
    const shown = (o: KubeObject) => r.role !== 'federated' || !federationOnly(o);
    const queue = (op: ObjectChange['op'], object: KubeObject) => {
      if (this.states.get(r.key)?.phase !== 'live' || !shown(object)) return;
      this.pending.set(`${r.key} ${keyOf(object)}`, { resource: r.key, op, object });
      this.flushTimer ??= setTimeout(() => this.flush(), this.source.batchMs ?? 25);
    };
    informer
      .onAdd((o) => queue('upsert', o))
      .onUpdate((_old, o) => queue('upsert', o))
      .onDelete((o) => queue('delete', o));
    informer.start();
    await informer.synced;
    if (this.closed) return void informer.stop();
    this.states.set(r.key, { phase: 'live', informer, shown });
    this.broadcast({ type: 'reset', resource: r.key, items: informer.list().filter(shown) });
  }

  private flush(): void {
    this.flushTimer = undefined;
    if (this.pending.size === 0) return;
    const changes = [...this.pending.values()];
    this.pending = new Map();
    this.broadcast({ type: 'changes', changes });
  }

  private broadcast(msg: StreamMessage): void {
    for (const s of this.subscribers) s(msg);
  }

  sessionInfo(): SessionInfo {
    return this.session!;
  }

  /** Adds a browser connection: it gets the whole current state at once, then every change. */
  subscribe(send: Subscriber): () => void {
    if (this.lingerTimer) clearTimeout(this.lingerTimer);
    this.lingerTimer = undefined;
    this.subscribers.add(send);
    send({ type: 'hello', session: this.session!, resources: this.resources });
    for (const r of this.resources) {
      const s = this.states.get(r.key);
      if (s?.phase === 'live') send({ type: 'reset', resource: r.key, items: s.informer.list().filter(s.shown) });
      else if (s?.phase === 'denied') send({ type: 'denied', resource: r.key, code: s.code, message: s.message });
    }
    if (this.runs) send(this.runs.msg);
    if (this.sandbox) send(this.sandbox.msg);
    this.startPolls();
    return () => {
      this.subscribers.delete(send);
      if (this.subscribers.size > 0) return;
      this.stopPolls();
      this.lingerTimer = setTimeout(() => this.onIdle(this), this.source.lingerMs ?? 10_000);
      this.lingerTimer.unref();
    };
  }

  private startPolls(): void {
    if (this.source.webhooksUrl && !this.runsTimer) void this.pollRuns();
    if (this.source.sandboxAdminUrl && !this.sandboxTimer) void this.pollSandbox();
  }

  private stopPolls(): void {
    clearTimeout(this.runsTimer);
    clearTimeout(this.sandboxTimer);
    this.runsTimer = undefined;
    this.sandboxTimer = undefined;
  }

  /**
   * A conditional GET: while nothing changed the webhook service answers 304 without listing a
   * run, so an open console costs it next to nothing between changes.
   */
  private async pollRuns(): Promise<void> {
    this.runsTimer = setTimeout(() => void this.pollRuns(), this.source.runsPollMs ?? 500);
    let msg: StreamMessage;
    try {
      const r = await this.gitops!.listRunsIfChanged(this.runs?.etag, 100);
      if (r.unchanged) return;
      msg = { type: 'runs', runs: r.runs };
      this.runs = { etag: r.etag, msg };
    } catch (err) {
      const code = err instanceof KitfedError ? err.code : 503;
      const message = messageOf(err);
      if (this.runs?.msg.type === 'runs-error' && this.runs.msg.message === message) return;
      msg = { type: 'runs-error', code, message };
      this.runs = { etag: undefined, msg };
    }
    if (this.runsTimer) this.broadcast(msg);
  }

  private async pollSandbox(): Promise<void> {
    this.sandboxTimer = setTimeout(() => void this.pollSandbox(), this.source.sandboxPollMs ?? 1000);
    // The sandbox admin endpoint has no authentication of its own: only users who may read
    // the federation's Clusters see the sandbox's view of them.
    if (this.states.get(this.resources.find((r) => r.role === 'clusters')?.key ?? '')?.phase !== 'live') return;
    try {
      const res = await fetch(`${this.source.sandboxAdminUrl}/clusters`, { signal: AbortSignal.timeout(5000) });
      if (!res.ok) return;
      const body = (await res.json()) as { clusters: SandboxClusterInfo[] };
      // Request counters and clocks stay on the admin endpoint: the console shows faults, capacity and pods.
      const clusters: SandboxClusterView[] = body.clusters.map(({ requests: _r, url: _u, clock: _c, ...c }) => c);
      const text = JSON.stringify(clusters);
      if (this.sandbox?.text === text) return;
      this.sandbox = { text, msg: { type: 'sandbox', clusters } };
      if (this.sandboxTimer) this.broadcast(this.sandbox.msg);
    } catch (err) {
      this.log.debug({ err: messageOf(err) }, 'sandbox admin endpoint not reachable');
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    this.stopPolls();
    clearTimeout(this.flushTimer);
    clearTimeout(this.lingerTimer);
    this.subscribers.clear();
    await Promise.all(
      [...this.states.values()].map((s) => (s.phase === 'live' ? s.informer.stop() : Promise.resolve())),
    );
    this.client?.close();
  }
}

/** A feed's id: a hash, so tokens are never kept as map keys or logged. */
export function tokenId(token: string): string {
  return createHash('sha256').update(token).digest('hex').slice(0, 16);
}

/**
 * Who the token belongs to: a SelfSubjectReview where the API server serves one, else any
 * authenticated read (discovery) proves the token is accepted.
 */
async function whoAmI(client: KubeClient): Promise<SessionInfo> {
  try {
    const review = await client.request<{ status?: { userInfo?: { username?: string; groups?: string[] } } }>(
      'POST',
      '/apis/authentication.k8s.io/v1/selfsubjectreviews',
      { body: { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' } },
    );
    const u = review.status?.userInfo;
    return { user: u?.username ?? 'unknown', groups: u?.groups ?? [] };
  } catch (err) {
    if (!hasCode(err, 404) && !hasCode(err, 405)) throw err;
  }
  await client.request('GET', '/api');
  return { user: 'token user', groups: [] };
}
