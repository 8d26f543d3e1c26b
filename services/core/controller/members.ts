import PQueue from 'p-queue';
import isEqual from 'lodash/isEqual.js';
import { createLogger } from '../log.js';
import { errors, messageOf } from '../errors.js';
import type { KubeObject } from '../kube.js';
import { KubeClient } from '../kube-client.js';
import { buildKubeconfig } from '../kubeconfig.js';
import { CLUSTER_API_VERSION, FEDERATION_NAMESPACE, isClusterReady, type ClusterObject } from '../cluster.js';
import { Informer } from './informer.js';
import { ControllerMetrics } from './metrics.js';

export {
  CLUSTER_API_VERSION,
  FEDERATION_NAMESPACE,
  isClusterReady,
  type ClusterCondition,
  type ClusterObject,
} from '../cluster.js';

export interface MemberClustersOptions {
  federation: KubeClient;
  /** Concurrent calls per member. @default 32 */
  concurrency?: number;
  /** Timeout of each call made through `run`. @default 10000 */
  timeoutMs?: number;
  metrics?: ControllerMetrics;
}

export interface ReadyChange {
  ready: string[];
  added: string[];
  removed: string[];
}

interface Member {
  name: string;
  cluster: ClusterObject;
  client?: KubeClient;
  /** What the client was built from; a change rebuilds it. */
  source?: unknown;
  queue: PQueue;
  error?: string;
  wasReady?: boolean;
}

const log = createLogger('member-clusters');

/**
 * The member clusters as the controllers see them: watches `Cluster` objects and their
 * credential Secrets (namespace kitfed-system), keeps one KubeClient and one request queue
 * per member (bounded concurrency, per-call timeout), so a slow or dead member only ever
 * delays its own queue. Emits the Ready set when it changes.
 */
export class MemberClusters {
  readonly clusters: Informer<ClusterObject>;
  readonly secrets: Informer;
  private readonly members = new Map<string, Member>();
  private readySet = new Set<string>();
  private readonly listeners: Array<(c: ReadyChange) => void> = [];
  private readonly clusterListeners: Array<(name: string, c: ClusterObject | undefined) => void> = [];
  private readonly metrics: ControllerMetrics;
  private readonly concurrency: number;
  private readonly timeoutMs: number;
  private refreshing = Promise.resolve();

  constructor(options: MemberClustersOptions) {
    this.metrics = options.metrics ?? new ControllerMetrics();
    this.concurrency = options.concurrency ?? 32;
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.clusters = new Informer<ClusterObject>(options.federation, {
      apiVersion: CLUSTER_API_VERSION,
      kind: 'Cluster',
      name: 'clusters',
    });
    this.secrets = new Informer(options.federation, {
      apiVersion: 'v1',
      kind: 'Secret',
      namespace: FEDERATION_NAMESPACE,
      name: 'cluster-secrets',
    });
    const refresh = () => this.scheduleRefresh();
    this.clusters.onAdd(refresh).onUpdate(refresh).onDelete(refresh);
    this.secrets.onAdd(refresh).onUpdate(refresh).onDelete(refresh);
  }

  async start(): Promise<void> {
    this.clusters.start();
    this.secrets.start();
    await Promise.all([this.clusters.synced, this.secrets.synced]);
    await this.scheduleRefresh();
  }

  async stop(): Promise<void> {
    await Promise.all([this.clusters.stop(), this.secrets.stop()]);
    for (const m of this.members.values()) {
      m.queue.clear();
      m.client?.close();
    }
    this.members.clear();
  }

  /** Called with the Ready set whenever it changes. */
  onReadyChange(fn: (c: ReadyChange) => void): void {
    this.listeners.push(fn);
  }

  /** Called whenever a Cluster object (or its client) changes; undefined when it is gone. */
  onClusterChange(fn: (name: string, c: ClusterObject | undefined) => void): void {
    this.clusterListeners.push(fn);
  }

  /** Names of every registered cluster. */
  names(): string[] {
    return [...this.members.keys()].sort();
  }

  /** Names of the Ready clusters that have a client. */
  ready(): string[] {
    return [...this.readySet].sort();
  }

  isReady(name: string): boolean {
    return this.readySet.has(name);
  }

  cluster(name: string): ClusterObject | undefined {
    return this.members.get(name)?.cluster;
  }

  /** The member's client; throws when it has none (no credentials yet, bad kubeconfig). */
  client(name: string): KubeClient {
    const m = this.members.get(name);
    if (!m?.client)
      throw errors.unavailable(
        `cluster ${name}: ${m?.error ?? 'no client (unknown cluster or credentials not found)'}`,
      );
    return m.client;
  }

  /** Why the member has no client, if it has none. */
  clientError(name: string): string | undefined {
    return this.members.get(name)?.error;
  }

  /** Runs `fn` through the member's queue (bounded concurrency, per-call timeout, metrics). */
  async run<R>(name: string, fn: (client: KubeClient) => Promise<R>, opts: { timeoutMs?: number } = {}): Promise<R> {
    const m = this.members.get(name);
    if (!m) throw errors.notFound({ group: 'federation.kitfed.io', plural: 'clusters', name });
    const client = this.client(name);
    const timeoutMs = opts.timeoutMs ?? this.timeoutMs;
    const end = this.metrics.memberRequestSeconds.startTimer({ cluster: name });
    try {
      return await m.queue.add(
        () =>
          new Promise<R>((resolve, reject) => {
            const t = setTimeout(
              () => reject(errors.timeout(`cluster ${name}: no answer within ${timeoutMs} ms`)),
              timeoutMs,
            );
            fn(client).then(
              (v) => {
                clearTimeout(t);
                resolve(v);
              },
              (e: unknown) => {
                clearTimeout(t);
                reject(e instanceof Error ? e : new Error(String(e)));
              },
            );
          }),
      );
    } catch (err) {
      this.metrics.memberRequestErrors.inc({ cluster: name });
      throw err;
    } finally {
      end();
    }
  }

  /** Calls waiting or running in the member's queue. */
  pending(name: string): number {
    const q = this.members.get(name)?.queue;
    return q ? q.size + q.pending : 0;
  }

  private scheduleRefresh(): Promise<void> {
    this.refreshing = this.refreshing
      .then(() => this.refresh())
      .catch((err: unknown) => log.error({ err: messageOf(err) }, 'refresh failed'));
    return this.refreshing;
  }

  private async refresh(): Promise<void> {
    const seen = new Set<string>();
    const changedNames: string[] = [];
    for (const c of this.clusters.list()) {
      const name = c.metadata.name!;
      seen.add(name);
      let m = this.members.get(name);
      const changed = !m || m.cluster.metadata.resourceVersion !== c.metadata.resourceVersion;
      if (!m) {
        m = { name, cluster: c, queue: new PQueue({ concurrency: this.concurrency }) };
        this.members.set(name, m);
      }
      m.cluster = c;
      const secretName = c.spec?.secretRef?.name;
      const secret = secretName ? this.secrets.get(`${FEDERATION_NAMESPACE}/${secretName}`) : undefined;
      const server = c.spec?.serverAddressByClientCIDRs?.[0]?.serverAddress;
      const source = { server, secretName, secretRv: secret?.metadata.resourceVersion };
      // A member coming back gets a fresh client: keep-alive sockets from before the outage are dead.
      const back = isClusterReady(c) && !this.readySet.has(name) && m.client !== undefined && m.wasReady === false;
      m.wasReady = isClusterReady(c);
      if (back || !isEqual(source, m.source)) {
        m.source = source;
        m.client?.close();
        m.client = undefined;
        m.error = undefined;
        try {
          m.client = await memberClient(server, secret);
        } catch (err) {
          m.error = messageOf(err);
          log.warn({ cluster: name, err: m.error }, 'no client for cluster');
        }
      }
      if (changed) changedNames.push(name);
    }
    for (const [name, m] of this.members) {
      if (seen.has(name)) continue;
      m.queue.clear();
      m.client?.close();
      this.members.delete(name);
      changedNames.push(name);
    }
    const next = new Set(
      [...this.members.values()].filter((m) => m.client && isClusterReady(m.cluster)).map((m) => m.name),
    );
    const added = [...next].filter((n) => !this.readySet.has(n));
    const removed = [...this.readySet].filter((n) => !next.has(n));
    this.readySet = next;
    for (const name of changedNames) for (const fn of this.clusterListeners) fn(name, this.members.get(name)?.cluster);
    if (added.length === 0 && removed.length === 0) return;
    log.info({ ready: [...next].sort(), added, removed }, 'ready clusters changed');
    for (const fn of this.listeners) fn({ ready: this.ready(), added, removed });
  }
}

/**
 * A member cluster's client, from its credential Secret's `kubeconfig` (or `token`/`ca.crt`) and
 * the Cluster's server: the controllers' way in, and the federation API server's for
 * `clusters/proxy`.
 */
export async function memberClient(server: string | undefined, secret: KubeObject | undefined): Promise<KubeClient> {
  const data = (secret?.data ?? {}) as Record<string, string>;
  const decode = (k: string) => (data[k] ? Buffer.from(data[k], 'base64').toString('utf8') : undefined);
  const kubeconfig = decode('kubeconfig');
  if (kubeconfig) {
    const client = await KubeClient.fromKubeconfig({ text: kubeconfig }, undefined, { timeoutMs: 10_000 });
    return client;
  }
  if (!server)
    throw new Error('the Cluster has no spec.serverAddressByClientCIDRs[0].serverAddress and no credentials');
  const token = decode('token');
  const ca = decode('ca.crt');
  const text = buildKubeconfig([
    { name: 'member', server, ...(ca ? { caCert: ca } : {}), ...(token ? { token } : {}) },
  ]);
  return KubeClient.fromKubeconfig({ text }, undefined, { timeoutMs: 10_000 });
}
