import { startApiServer, type ApiServer, type Registry, type Store } from '../apiserver/index.js';
import type { SimulatorConfig } from './context.js';
import { FaultInjector, type FaultAction, type FaultState } from './faults.js';
import { MEMBER_RESOURCES } from './resources.js';
import { sandboxAdmission, Simulator } from './simulator.js';
import type { SimulatedMetrics } from './context.js';
import type { ClusterIdentity } from './tls.js';

export type Verb = 'get' | 'create' | 'update' | 'patch' | 'delete';

const VERBS: Record<string, Verb> = { GET: 'get', POST: 'create', PUT: 'update', PATCH: 'patch', DELETE: 'delete' };

/** API requests served, by verb (reads include list and watch). Discovery and health are not counted. */
export interface RequestCounts {
  get: number;
  create: number;
  update: number;
  patch: number;
  delete: number;
  /** create + update + patch + delete */
  writes: number;
  /** The last writes (method and path), newest last, at most 100. */
  recentWrites: string[];
}

/**
 * What changes only when the cluster's state does (a fault, capacity, simulated metrics, pods
 * bound or unschedulable): the admin endpoint's `GET /clusters?view=state`, which the console
 * follows with a long poll. Not the request counters nor the clock, which move on every request
 * and every second.
 */
export interface SandboxClusterState {
  name: string;
  region: string;
  zones: string[];
  capacity: number;
  faults: FaultState;
  pods: { bound: number; unschedulable: number };
  /** Cluster-wide simulated utilisation HPAs see (absent: none, as without a metrics server). */
  metrics: SimulatedMetrics;
}

export interface SandboxClusterInfo extends SandboxClusterState {
  url: string;
  requests: RequestCounts;
  /** The simulated clock (RFC 3339) and how far it runs ahead of wall time. */
  clock: { now: string; aheadSeconds: number };
}

function zeroCounts(): RequestCounts {
  return { get: 0, create: 0, update: 0, patch: 0, delete: 0, writes: 0, recentWrites: [] };
}

/** One simulated member cluster: its own API server (own port and store) and workload simulator. */
export class SandboxCluster {
  private counts = zeroCounts();
  private readonly simulator: Simulator;
  private readonly listeners = new Set<() => void>();

  private constructor(
    private config: SimulatorConfig,
    private readonly server: ApiServer,
    private readonly faults: FaultInjector,
    private readonly identity: ClusterIdentity | undefined,
  ) {
    this.simulator = new Simulator(server.registry, config, () => this.stateChanged());
  }

  /** Calls `fn` whenever `state()` may have changed; returns the function that stops it. */
  onStateChange(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  private stateChanged(): void {
    for (const fn of this.listeners) fn();
  }

  /** Moves the cluster's simulated clock forward by `ms` (CronJob schedules, HPA windows); returns its time. */
  advanceClock(ms: number): Date {
    return new Date(this.simulator.advanceClock(ms));
  }

  /** The cluster's simulated clock (wall time plus what advanceClock added). */
  get clock(): Date {
    return new Date(this.simulator.ctx.clock.now());
  }

  /** Sets the cluster-wide simulated pod utilisation (percent of requests) HPAs see; undefined clears. */
  setMetrics(metrics: SimulatedMetrics): SimulatedMetrics {
    for (const [k, v] of Object.entries(metrics))
      if (v !== undefined && (typeof v !== 'number' || !Number.isFinite(v) || v < 0))
        throw new RangeError(`${k} must be a non-negative number of percent`);
    const set = this.simulator.setMetrics(metrics);
    this.stateChanged();
    return set;
  }

  get metrics(): SimulatedMetrics {
    return { ...this.simulator.ctx.metrics };
  }

  static async start(
    config: SimulatorConfig,
    options: { host?: string; port?: number; identity?: ClusterIdentity; store?: Store | undefined } = {},
  ): Promise<SandboxCluster> {
    const holder: { self?: SandboxCluster } = {};
    const faults = new FaultInjector();
    const server = await startApiServer({
      resources: MEMBER_RESOURCES,
      ...(options.store ? { store: options.store } : {}),
      host: options.host ?? '127.0.0.1',
      port: options.port ?? 0,
      admission: sandboxAdmission(() => holder.self?.simulator),
      intercept: faults.intercept,
      // Members are watched by few clients (controllers, deployer) that resume quickly: a smaller
      // history keeps 100 clusters light.
      watchCacheSize: 5000,
      onRequest: (method, path) => holder.self?.count(method, path),
      ...(options.identity
        ? {
            tls: { cert: options.identity.cert, key: options.identity.key },
            authenticator: options.identity.authenticator,
            caCert: options.identity.caCert,
          }
        : {}),
    });
    const self = new SandboxCluster(config, server, faults, options.identity);
    holder.self = self;
    try {
      await self.simulator.start();
    } catch (err) {
      await server.close();
      throw err;
    }
    return self;
  }

  get name(): string {
    return this.config.name;
  }

  get url(): string {
    return this.server.url;
  }

  /** With TLS: the bearer token this cluster accepts (also in the sandbox kubeconfig). */
  get token(): string | undefined {
    return this.identity?.token;
  }

  /** With TLS: the CA certificate (PEM) that signed this cluster's serving certificate. */
  get caCert(): string | undefined {
    return this.identity?.caCert;
  }

  get port(): number {
    return this.server.port;
  }

  get region(): string {
    return this.config.region;
  }

  get zones(): string[] {
    return this.config.zones;
  }

  /** The in-process registry (no HTTP, not counted, not subject to faults). */
  get registry(): Registry {
    return this.server.registry;
  }

  get requests(): RequestCounts {
    return { ...this.counts, recentWrites: [...this.counts.recentWrites] };
  }

  resetRequests(): void {
    this.counts = zeroCounts();
  }

  private count(method: string, path: string): void {
    const verb = VERBS[method];
    if (!verb) return;
    this.counts[verb]++;
    if (verb === 'get') return;
    this.counts.writes++;
    this.counts.recentWrites.push(`${method} ${path}`);
    if (this.counts.recentWrites.length > 100) this.counts.recentWrites.shift();
  }

  get faultState(): FaultState {
    return { ...this.faults.state };
  }

  /**
   * Injects or clears a fault: `down`, `up` (clears everything), `hang`, `latency MS`,
   * `errors RATE`, `unhealthy`, `healthy`.
   */
  async fault(action: FaultAction, value?: number): Promise<FaultState> {
    if (
      (action === 'latency' || action === 'errors') &&
      (value === undefined || !Number.isFinite(value) || value < 0)
    ) {
      throw new RangeError(`fault ${action} needs a non-negative number`);
    }
    if (action === 'errors' && value! > 1) throw new RangeError('fault errors RATE must be between 0 and 1');
    this.faults.apply(action, value);
    this.stateChanged();
    if (action === 'down') await this.server.pause();
    if (action === 'up') await this.server.resume();
    return this.faultState;
  }

  /** Stops listening (connection refused), keeping every object. */
  async stop(): Promise<void> {
    await this.fault('down');
  }

  /** Listens again on the same port and clears faults. */
  async start(): Promise<void> {
    await this.fault('up');
  }

  /** Changes the pod capacity at run time. */
  async setCapacity(capacity: number): Promise<void> {
    this.config = { ...this.config, capacity };
    this.stateChanged();
    await this.simulator.setCapacity(capacity);
  }

  /** Resolves when the simulator has nothing queued (readiness timers may still be armed). */
  idle(): Promise<void> {
    return this.simulator.idle();
  }

  state(): SandboxClusterState {
    const s = this.simulator.stats;
    return {
      name: this.name,
      region: this.region,
      zones: this.zones,
      capacity: this.config.capacity,
      faults: this.faultState,
      pods: { bound: s.boundPods, unschedulable: s.unschedulablePods },
      metrics: this.metrics,
    };
  }

  info(): SandboxClusterInfo {
    const { name, ...state } = this.state();
    return {
      name,
      url: this.url,
      ...state,
      requests: this.requests,
      clock: { now: this.clock.toISOString(), aheadSeconds: Math.round(this.simulator.ctx.clock.offset / 1000) },
    };
  }

  async close(): Promise<void> {
    this.listeners.clear();
    this.simulator.stop();
    this.faults.dropHung();
    this.faults.apply('up');
    await this.server.close();
  }
}
