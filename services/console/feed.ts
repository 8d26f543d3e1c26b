/**
 * One feed per bearer token: the federation kinds the console shows, list+watched with that token
 * (so the API server's authorization decides what the user sees), the webhook service's runs (with
 * that token) and the sandbox's cluster states, each followed with a long poll
 * (services/core/long-poll.ts) while a browser is connected. Every browser tab of the same user
 * shares the feed; it stops a little after its last subscriber leaves.
 */
import { createHash } from 'node:crypto';
import { hasCode, KitfedError, messageOf } from '../core/errors.js';
import type { KubeObject } from '../core/kube.js';
import { ALL_NAMESPACES, KubeClient } from '../core/kube-client.js';
import { buildKubeconfig } from '../core/kubeconfig.js';
import { CLUSTER_API_VERSION, type ClusterObject } from '../core/cluster.js';
import { Informer, dropManagedFields, keyOf } from '../core/controller/index.js';
import { podsInFleet } from '../core/pods.js';
import { federationOnly, kindFromCrd } from '../controllers/index.js';
import { GitopsClient } from '../gitops/index.js';
import type { Logger } from '../core/log.js';
import { follow, type Follower, type LongPollAnswer } from '../core/long-poll.js';
import type {
  MemberPods,
  ObjectChange,
  SandboxClusterView,
  SessionInfo,
  StreamMessage,
  WatchedResource,
} from './api.js';

export interface FeedSource {
  /** The federation API server and the CA that signed its certificate. */
  federation: { server: string; caCert?: string };
  /** The webhook service (runs); absent: no runs. */
  webhooksUrl?: string;
  /** The sandbox admin endpoint (faults, pods of sandbox clusters); absent: none. */
  sandboxAdminUrl?: string;
  /** How long the webhook service and the sandbox may hold a long poll, in seconds. @default 30 */
  waitSeconds?: number;
  /** How long a feed outlives its last subscriber (a reload reuses it). @default 10000 */
  lingerMs?: number;
  /** Changes are sent in batches at most this often. @default 25 */
  batchMs?: number;
}

/**
 * The kinds the console shows: the federation's Clusters, Events, Namespaces, and the built-in kinds
 * people federate most (every kind is watched by each signed-in user: the common ones, not all 50).
 */
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
  { apiVersion: 'v1', kind: 'PersistentVolumeClaim', role: 'federated' },
  { apiVersion: 'v1', kind: 'ResourceQuota', role: 'federated' },
  { apiVersion: 'v1', kind: 'LimitRange', role: 'federated' },
  { apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler', role: 'federated' },
  { apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', role: 'federated' },
  { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', role: 'federated' },
  { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', role: 'federated' },
  { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', role: 'federated' },
];

/** Custom resources are shown too: one federated kind per CRD Established in the federation. */
const CRD = { apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition' } as const;

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
  /** Not shown yet: its informer (once created) is listing; closing the feed stops it too. */
  | { phase: 'pending'; informer?: Informer }
  | { phase: 'live'; informer: Informer; shown: (o: KubeObject) => boolean }
  | { phase: 'denied'; code: number; message: string };

/** The informer a state holds, listing or live: what stopping a resource must stop. */
function informerOf(state: ResourceState | undefined): Informer | undefined {
  return state && state.phase !== 'denied' ? state.informer : undefined;
}

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
  private lingerTimer: NodeJS.Timeout | undefined;
  /** The long polls under way while a browser is connected (runs, sandbox). */
  private readonly follows = new Map<'runs' | 'sandbox', Follower>();
  private runs: StreamMessage | undefined;
  private readonly gitops: GitopsClient | undefined;
  private sandbox: { text: string; msg: StreamMessage } | undefined;
  private opening: Promise<SessionInfo> | undefined;
  private closed = false;
  /** The CRDs' informer, and each CRD's shown resource (CRD name → resource key). */
  private crds: Informer | undefined;
  private readonly custom = new Map<string, string>();

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
      void this.followCustomResources();
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
    // Held as pending at once: a feed closed before the first list succeeds (its client closed, the
    // informer retrying with backoff, `synced` never resolving) must still stop it.
    if (this.states.get(r.key)?.phase !== 'pending') return;
    this.states.set(r.key, { phase: 'pending', informer });
    informer.start();
    await informer.synced;
    if (this.closed || !this.resources.includes(r)) return void informer.stop();
    this.states.set(r.key, { phase: 'live', informer, shown });
    this.broadcast({ type: 'reset', resource: r.key, items: informer.list().filter(shown) });
    if (r.role === 'clusters' && this.subscribers.size > 0) this.startFollows();
  }

  /**
   * Every custom resource kind, as the propagation engine federates them: a CRD Established in the
   * federation adds its kind (storage version) to the shown resources, its deletion removes it, and
   * each change reaches the browsers as a fresh `hello`. A user who may not list CRDs sees the
   * built-in kinds only.
   */
  private async followCustomResources(): Promise<void> {
    const client = this.client!;
    try {
      await client.list(CRD.apiVersion, CRD.kind, ALL_NAMESPACES, { limit: 1 });
    } catch (err) {
      if (hasCode(err, 401, 403, 404)) return;
    }
    if (this.closed) return;
    const informer = new Informer(client, { ...CRD, name: 'console:customresourcedefinitions' });
    const changed = (crd: KubeObject, gone = false) => {
      const name = crd.metadata.name ?? '';
      const info = gone ? undefined : kindFromCrd(crd);
      const key = info ? resourceKey(info.apiVersion, info.plural) : undefined;
      const was = this.custom.get(name);
      if (was === key) return;
      if (was !== undefined) this.unwatch(was);
      if (info && key) {
        const r: WatchedResource = {
          key,
          apiVersion: info.apiVersion,
          kind: info.kind,
          plural: info.plural,
          namespaced: info.namespaced,
          role: 'federated',
        };
        this.custom.set(name, key);
        this.resources.push(r);
        this.states.set(key, { phase: 'pending' });
        void this.watch(r);
      } else this.custom.delete(name);
      this.broadcast({ type: 'hello', session: this.session!, resources: this.resources });
    };
    informer
      .onAdd((crd) => changed(crd))
      .onUpdate((_old, crd) => changed(crd))
      .onDelete((crd) => changed(crd, true));
    this.crds = informer;
    informer.start();
  }

  /** Stops showing a resource (its CRD went away). */
  private unwatch(key: string): void {
    const state = this.states.get(key);
    void informerOf(state)?.stop();
    this.states.delete(key);
    this.resources = this.resources.filter((r) => r.key !== key);
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

  /** The pods `selector` matches in `namespace` of every Ready member, read through clusters/proxy with this token. */
  async memberPods(namespace: string, selector: string): Promise<MemberPods> {
    const client = this.client!;
    const clusters = (await client.list<ClusterObject>(CLUSTER_API_VERSION, 'Cluster')).items;
    return {
      clusters: await podsInFleet(
        client,
        clusters,
        async (member) => (await member.list('v1', 'Pod', namespace, { labelSelector: selector })).items,
      ),
    };
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
    if (this.runs) send(this.runs);
    if (this.sandbox) send(this.sandbox.msg);
    this.startFollows();
    return () => {
      this.subscribers.delete(send);
      if (this.subscribers.size > 0) return;
      void this.stopFollows();
      this.lingerTimer = setTimeout(() => this.onIdle(this), this.source.lingerMs ?? 10_000);
      this.lingerTimer.unref();
    };
  }

  /**
   * Follows the runs and the sandbox states while a browser is connected: each a long poll that
   * the other side answers when something changed (or after `waitSeconds` with a 304).
   */
  private startFollows(): void {
    if (this.closed) return;
    const opts = { ...(this.source.waitSeconds !== undefined ? { waitSeconds: this.source.waitSeconds } : {}) };
    if (this.gitops && !this.follows.has('runs')) {
      const gitops = this.gitops;
      this.follows.set(
        'runs',
        follow({
          ...opts,
          get: async (etag, waitSeconds, signal) => {
            const r = await gitops.listRunsIfChanged(etag, 100, { waitSeconds, signal });
            return r.unchanged ? r : { unchanged: false, etag: r.etag, value: r.runs };
          },
          onChange: (runs) => {
            this.runs = { type: 'runs', runs };
            this.broadcast(this.runs);
          },
          onError: (err) => {
            const code = err instanceof KitfedError ? err.code : 503;
            const message = messageOf(err);
            if (this.runs?.type === 'runs-error' && this.runs.message === message) return;
            this.runs = { type: 'runs-error', code, message };
            this.broadcast(this.runs);
          },
        }),
      );
    }
    // The sandbox admin endpoint has no authentication of its own: only users who may read the
    // federation's Clusters see the sandbox's view of them (followed once that watch is live).
    const clusters = this.states.get(this.resources.find((r) => r.role === 'clusters')?.key ?? '');
    if (this.source.sandboxAdminUrl && clusters?.phase === 'live' && !this.follows.has('sandbox')) {
      const url = this.source.sandboxAdminUrl.replace(/\/+$/, '');
      this.follows.set(
        'sandbox',
        follow({
          ...opts,
          get: (etag, waitSeconds, signal) => sandboxStates(url, etag, waitSeconds, signal),
          onChange: (clusters) => {
            const text = JSON.stringify(clusters);
            if (this.sandbox?.text === text) return;
            this.sandbox = { text, msg: { type: 'sandbox', clusters } };
            this.broadcast(this.sandbox.msg);
          },
          onError: (err) => this.log.debug({ err: messageOf(err) }, 'sandbox admin endpoint not reachable'),
        }),
      );
    }
  }

  /** Aborts the long polls under way (the servers drop the held requests) and their backoff timers. */
  private async stopFollows(): Promise<void> {
    const stopping = [...this.follows.values()].map((f) => f.stop());
    this.follows.clear();
    await Promise.all(stopping);
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.stopFollows();
    clearTimeout(this.flushTimer);
    clearTimeout(this.lingerTimer);
    this.subscribers.clear();
    await Promise.all([...this.states.values()].map((s) => informerOf(s)?.stop() ?? Promise.resolve()));
    await this.crds?.stop();
    this.client?.close();
  }
}

/** The sandbox admin's `GET /clusters?view=state` as a long poll. */
async function sandboxStates(
  url: string,
  etag: string | undefined,
  waitSeconds: number,
  signal: AbortSignal,
): Promise<LongPollAnswer<SandboxClusterView[]>> {
  const res = await fetch(`${url}/clusters?view=state&wait=${waitSeconds}`, {
    headers: etag ? { 'if-none-match': etag } : {},
    signal: AbortSignal.any([signal, AbortSignal.timeout(waitSeconds * 1000 + 10_000)]),
  });
  if (res.status === 304) {
    await res.body?.cancel();
    return { unchanged: true };
  }
  const text = await res.text();
  if (!res.ok)
    throw new KitfedError(`sandbox admin GET /clusters: ${res.status} ${text.slice(0, 200)}`, 502, 'BadGateway');
  const body = JSON.parse(text) as { clusters: SandboxClusterView[] };
  return { unchanged: false, etag: res.headers.get('etag') ?? undefined, value: body.clusters };
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
