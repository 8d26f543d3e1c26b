/**
 * The controller manager: leader election, cluster health, the propagation engine, the rollout
 * history and the registered controllers.
 */
import { hasCode, messageOf } from '../core/errors.js';
import { createLogger } from '../core/log.js';
import { KubeClient } from '../core/kube-client.js';
import { ControllerMetrics, FEDERATION_NAMESPACE, LeaderElector, MemberClusters } from '../core/controller/index.js';
import { PendingCleanups } from './cleanups.js';
import { startClusterHealth } from './cluster-health.js';
import { EventRecorder } from './events.js';
import { exclusionList, type ExclusionRule } from './propagation/catalog.js';
import { startPropagation, type PropagationEngine } from './propagation/engine.js';
import { startJobTtl } from './job-ttl/index.js';
import { startRolloutHistory } from './rollout-history/index.js';
import {
  controllers as registered,
  type ControllerContext,
  type ControllerRegistration,
  type StartedController,
} from './registry.js';

export interface ControllersOptions {
  /** The federation API: a client, or a kubeconfig and context. */
  federation?: KubeClient;
  kubeconfig?: { file: string } | { text: string };
  context?: string;
  /** Campaign for the Lease kitfed-system/kitfed-controllers and act only while leading. @default true */
  leaderElect?: boolean;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  identity?: string;
  /** @default 10000 */
  clusterMonitorPeriodMs?: number;
  /** What is never propagated. @default the documented default list (`DEFAULT_EXCLUSIONS`) */
  exclusions?: readonly ExclusionRule[];
  /** Controllers started with the built-in ones. @default the `controllers` registry */
  controllers?: ControllerRegistration[];
  /** Concurrent reconciles of the propagation engine. @default 16 */
  workers?: number;
  /** Concurrent calls per member cluster. @default 32 */
  memberConcurrency?: number;
  /** Timeout of each member call. @default 10000 */
  memberTimeoutMs?: number;
  metrics?: ControllerMetrics;
}

export interface RunningControllers {
  readonly metrics: ControllerMetrics;
  readonly identity: string;
  isLeader(): boolean;
  /** The running context while leading (tests and `kitfed up`). */
  context(): ControllerContext | undefined;
  /** The propagation engine while leading. */
  propagation(): PropagationEngine | undefined;
  stop(): Promise<void>;
}

const log = createLogger('controller-manager');

async function ensureNamespace(client: KubeClient, name: string): Promise<void> {
  // Read first: the controller manager's role may read namespaces but not create them (the
  // federation API server bootstraps kitfed-system).
  if (await client.tryGet('v1', 'Namespace', undefined, name)) return;
  try {
    await client.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  } catch (err) {
    if (!hasCode(err, 409)) throw err;
  }
}

/**
 * The controller manager: cluster health, the propagation engine (every federated kind) and
 * every registered controller, started when this instance leads (or at once without leader
 * election) and stopped when it stops leading.
 */
export async function startControllers(options: ControllersOptions): Promise<RunningControllers> {
  const federation =
    options.federation ??
    (options.kubeconfig
      ? await KubeClient.fromKubeconfig(options.kubeconfig, options.context, { timeoutMs: 15_000, maxSockets: 64 })
      : undefined);
  if (!federation) throw new Error('startControllers needs `federation` or `kubeconfig`');
  const metrics = options.metrics ?? new ControllerMetrics();
  const exclusions = options.exclusions ?? exclusionList();
  const extra = options.controllers ?? registered;
  await ensureNamespace(federation, FEDERATION_NAMESPACE);

  let running: { ctx: ControllerContext; parts: StartedController[]; engine: PropagationEngine } | undefined;
  let transition = Promise.resolve();

  const lead = async (): Promise<void> => {
    const members = new MemberClusters({
      federation,
      metrics,
      concurrency: options.memberConcurrency,
      timeoutMs: options.memberTimeoutMs,
    });
    const events = new EventRecorder(federation, 'kitfed-controller-manager', metrics);
    const ctx: ControllerContext = {
      federation,
      members,
      events,
      metrics,
      cleanups: new PendingCleanups(federation),
      log,
    };
    const parts: StartedController[] = [];
    await members.start();
    parts.push(startClusterHealth(ctx, { periodMs: options.clusterMonitorPeriodMs }));
    const engine = await startPropagation(ctx, { exclusions, workers: options.workers });
    parts.push(engine);
    parts.push(await startRolloutHistory(ctx));
    parts.push(await startJobTtl(ctx));
    for (const c of extra) {
      try {
        parts.push(await c.start(ctx));
      } catch (err) {
        log.error({ controller: c.name, err: messageOf(err) }, 'controller failed to start');
      }
    }
    parts.push({ stop: () => members.stop() }, { stop: () => events.close() });
    running = { ctx, parts, engine };
    log.info({ kinds: engine.kindInfos().length, controllers: extra.map((c) => c.name) }, 'controllers started');
  };
  const unlead = async (): Promise<void> => {
    const r = running;
    running = undefined;
    if (!r) return;
    for (const p of r.parts) {
      try {
        await p.stop();
      } catch (err) {
        log.warn({ err: messageOf(err) }, 'stopping a controller failed');
      }
    }
    log.info('controllers stopped');
  };
  const serialize = (fn: () => Promise<void>) =>
    (transition = transition
      .then(fn)
      .catch((err: unknown) => log.error({ err: messageOf(err) }, 'controller manager transition failed')));

  let elector: LeaderElector | undefined;
  if (options.leaderElect ?? true) {
    elector = new LeaderElector({
      client: federation,
      namespace: FEDERATION_NAMESPACE,
      name: 'kitfed-controllers',
      identity: options.identity,
      leaseDurationMs: options.leaseDurationMs,
      renewDeadlineMs: options.renewDeadlineMs,
      retryPeriodMs: options.retryPeriodMs,
      onStartedLeading: () => serialize(lead),
      onStoppedLeading: () => serialize(unlead),
    });
    elector.start();
  } else {
    await serialize(lead);
  }
  const identity = elector?.identity ?? options.identity ?? 'standalone';
  return {
    metrics,
    identity,
    isLeader: () => running !== undefined,
    context: () => running?.ctx,
    propagation: () => running?.engine,
    async stop() {
      if (elector) await elector.stop();
      await serialize(unlead);
      await transition;
      if (!options.federation) federation.close();
    },
  };
}
