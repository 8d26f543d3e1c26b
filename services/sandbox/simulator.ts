import { createLogger } from '../core/log.js';
import type { KubeObject } from '../core/kube.js';
import { storageKey, type AdmissionPlugin, type Registry } from '../apiserver/index.js';
import { ensureKubernetesService, KUBERNETES_SERVICE_KEY } from './apiserver-service.js';
import { SimClock } from './clock.js';
import {
  SIMULATED_KINDS,
  type SimContext,
  type SimulatedKind,
  type SimulatedMetrics,
  type SimulatorConfig,
} from './context.js';
import { CronJobs } from './cronjobs.js';
import { syncDaemonSet } from './daemonsets.js';
import { syncDeployment } from './deployments.js';
import { DisruptionController } from './disruption.js';
import { EndpointsController } from './endpoints.js';
import { EventRecorder } from './events.js';
import { Autoscalers } from './hpa.js';
import { keyOf, ObjectCache, type ChangeType } from './informer.js';
import { syncJob } from './jobs.js';
import { Kubelet } from './kubelet.js';
import { limitRangerPlugin } from './limits.js';
import { LoadBalancers } from './loadbalancers.js';
import { ensureNodes, planNodes } from './nodes.js';
import { Quotas } from './quota.js';
import { syncReplicaSet } from './replicasets.js';
import { Scheduler } from './scheduler.js';
import { syncStatefulSet } from './statefulsets.js';
import { SimulationQueue } from './queue.js';
import { controllerOf, isPodActive, specOf, statusOf } from './util.js';
import { defaultStorageClassPlugin, ensureStorageClass, VolumeBinder } from './volumes.js';

/** Kinds whose controller (ownerReference) is reconciled when one of their dependents changes. */
const OWNER_KINDS = new Set<string>([
  'ReplicaSet',
  'Deployment',
  'DaemonSet',
  'Job',
  'StatefulSet',
  'CronJob',
  'Service',
]);
/** Workloads whose scale PodDisruptionBudgets and HorizontalPodAutoscalers read. */
const SCALABLE = new Set<string>(['Deployment', 'ReplicaSet', 'StatefulSet']);

/**
 * The admission plugins of a sandbox cluster (kube's DefaultStorageClass, LimitRanger,
 * ResourceQuota), bound to the simulator once it exists: they read its informer cache.
 */
export function sandboxAdmission(simulator: () => Simulator | undefined): AdmissionPlugin[] {
  const ctx = () => simulator()?.ctx;
  const quota: AdmissionPlugin = {
    name: 'ResourceQuota',
    admit: (op, t, obj, old) => simulator()?.quotas.plugin.admit(op, t, obj, old),
  };
  return [defaultStorageClassPlugin(ctx), limitRangerPlugin(ctx), quota];
}

/**
 * The workload simulator of one sandbox cluster: kube-controller-manager, kube-scheduler,
 * the kubelets and a cloud load balancer controller in miniature, driven by the registry's
 * watch (in process). Idle clusters cost nothing: no polling, timers only for pending steps.
 */
export class Simulator {
  readonly ctx: SimContext;
  readonly quotas: Quotas;
  private readonly scheduler: Scheduler;
  private readonly kubelet: Kubelet;
  private readonly lbs: LoadBalancers;
  private readonly volumes: VolumeBinder;
  private readonly cronJobs: CronJobs;
  private readonly endpoints: EndpointsController;
  private readonly disruption: DisruptionController;
  private readonly autoscalers: Autoscalers;
  private readonly deadlines = new Map<string, NodeJS.Timeout>();
  /** Namespace → owners ("Kind|ns/name") an admission refusal held back. */
  private readonly held = new Map<string, Set<string>>();

  /** @param onStats called when `stats` (bound and unschedulable pods) changes. */
  constructor(
    registry: Registry,
    private config: SimulatorConfig,
    onStats: () => void = () => {},
  ) {
    const log = createLogger('sandbox', { cluster: config.name });
    const types = Object.fromEntries(
      SIMULATED_KINDS.map((k) => [k, registry.catalog.all.find((t) => t.kind === k && !t.custom)!]),
    ) as SimContext['types'];
    const cache = new ObjectCache(registry, Object.values(types));
    const queue = new SimulationQueue(log);
    const eventType = registry.catalog.byKind('', 'v1', 'Event')!;
    const current = () => this.config;
    const metrics: SimulatedMetrics = {};
    this.ctx = {
      get config() {
        return current();
      },
      registry,
      types,
      cache,
      queue,
      log,
      clock: new SimClock(),
      metrics,
      events: new EventRecorder(registry, eventType, log, config.maxEvents),
      enqueue: (kind, key) => queue.add(`${kind}:${key}`, () => this.reconcile(kind, key)),
      blocked: (namespace, kind, key) => {
        const set = this.held.get(namespace) ?? new Set<string>();
        set.add(`${kind}|${key}`);
        this.held.set(namespace, set);
      },
    };
    this.scheduler = new Scheduler(this.ctx, onStats);
    this.kubelet = new Kubelet(this.ctx);
    this.lbs = new LoadBalancers(this.ctx);
    this.volumes = new VolumeBinder(this.ctx);
    this.cronJobs = new CronJobs(this.ctx);
    this.endpoints = new EndpointsController(this.ctx);
    this.disruption = new DisruptionController(this.ctx);
    this.autoscalers = new Autoscalers(this.ctx);
    this.quotas = new Quotas(() => this.ctx);
  }

  async start(): Promise<void> {
    await ensureNodes(this.ctx, planNodes(this.config));
    await ensureStorageClass(this.ctx);
    await ensureKubernetesService(this.ctx);
    await this.ctx.cache.start(
      (type, kind, obj, prev) => this.onChange(type, kind as SimulatedKind, obj, prev),
      (key, namespace, rv) => this.onOther(key, namespace, rv),
    );
  }

  stop(): void {
    this.ctx.queue.stop();
    this.ctx.cache.close();
  }

  /** Resolves once no reconcile is queued or running. */
  idle(): Promise<void> {
    return this.ctx.queue.idle();
  }

  get stats(): { boundPods: number; unschedulablePods: number } {
    return { boundPods: this.scheduler.boundCount, unschedulablePods: this.scheduler.waitingCount };
  }

  /** Changes the pod capacity at run time (node `allocatable.pods` is rewritten; waiting pods are retried). */
  async setCapacity(capacity: number): Promise<void> {
    this.config = { ...this.config, capacity };
    await ensureNodes(this.ctx, planNodes(this.config));
    this.scheduler.retryWaiting();
  }

  /** Moves the simulator's clock forward: CronJobs and HPAs look again at once. */
  advanceClock(ms: number): number {
    this.ctx.clock.advance(ms);
    this.cronJobs.resyncAll();
    this.autoscalers.resyncAll();
    return this.ctx.clock.now();
  }

  /** Sets the cluster-wide simulated utilisation (undefined clears one). */
  setMetrics(metrics: SimulatedMetrics): SimulatedMetrics {
    for (const k of ['cpuUtilization', 'memoryUtilization'] as const)
      if (k in metrics) this.ctx.metrics[k] = metrics[k];
    this.autoscalers.resyncAll();
    return { ...this.ctx.metrics };
  }

  private retryHeld(namespace: string | undefined): void {
    if (namespace === undefined) return;
    const set = this.held.get(namespace);
    if (!set) return;
    this.held.delete(namespace);
    for (const entry of set) {
      const [kind, key] = entry.split('|') as [SimulatedKind, string];
      this.ctx.enqueue(kind, key);
    }
  }

  private onOther(key: string, namespace: string | undefined, resourceVersion: string | undefined): void {
    this.quotas.seen(key, resourceVersion);
    this.quotas.touch(namespace);
  }

  private onChange(type: ChangeType, kind: SimulatedKind, obj: KubeObject, prev: KubeObject | undefined): void {
    const key = keyOf(obj);
    const ns = obj.metadata.namespace;
    this.quotas.seen(storageKey(this.ctx.types[kind], ns, obj.metadata.name!), obj.metadata.resourceVersion);
    this.quotas.touch(ns);
    if (SCALABLE.has(kind)) {
      this.disruption.touch(ns);
      if (type !== 'DELETED') this.autoscalers.targetChanged(obj);
    }
    switch (kind) {
      case 'Pod':
        this.scheduler.observe(type, obj);
        if (type === 'DELETED' || !isPodActive(obj)) this.kubelet.forget(obj);
        if (type !== 'DELETED') this.ctx.enqueue('Pod', key);
        this.enqueueOwner(obj);
        this.endpoints.podChanged(type, obj);
        this.disruption.touch(ns);
        return;
      case 'Deployment':
        if (type === 'DELETED') {
          this.ctx.queue.cancel(this.deadlines.get(key));
          this.deadlines.delete(key);
        } else this.ctx.enqueue('Deployment', key);
        return;
      case 'Node':
        for (const ds of this.ctx.cache.list('DaemonSet')) this.ctx.enqueue('DaemonSet', keyOf(ds));
        if (type !== 'DELETED') this.scheduler.retryWaiting();
        return;
      case 'Service':
        this.lbs.observe(type, obj);
        this.ctx.enqueue('Service', key);
        return;
      case 'Ingress':
        this.lbs.observe(type, obj);
        if (type !== 'DELETED') this.ctx.enqueue(kind, key);
        return;
      case 'Endpoints':
        if (this.ctx.cache.get('Service', key) || key === KUBERNETES_SERVICE_KEY) this.ctx.enqueue('Service', key);
        return;
      case 'EndpointSlice':
        if (key === KUBERNETES_SERVICE_KEY) this.ctx.enqueue('Service', key);
        this.enqueueOwner(obj);
        return;
      case 'ControllerRevision':
        this.enqueueOwner(obj);
        return;
      case 'PersistentVolumeClaim':
        if (type === 'DELETED') {
          this.volumes.forget(obj);
          const pv = specOf(obj).volumeName;
          if (typeof pv === 'string') this.ctx.enqueue('PersistentVolume', pv);
        } else this.ctx.enqueue('PersistentVolumeClaim', key);
        if (statusOf(obj).phase === 'Bound' && statusOf(prev ?? obj).phase !== 'Bound') this.scheduler.retryWaiting();
        return;
      case 'PersistentVolume':
        if (type !== 'DELETED') this.ctx.enqueue('PersistentVolume', key);
        for (const c of this.volumes.pendingClaims()) this.ctx.enqueue('PersistentVolumeClaim', keyOf(c));
        return;
      case 'StorageClass':
        for (const c of this.volumes.pendingClaims()) this.ctx.enqueue('PersistentVolumeClaim', keyOf(c));
        return;
      case 'Job':
        if (type !== 'DELETED') this.ctx.enqueue('Job', key);
        this.enqueueOwner(obj);
        return;
      case 'CronJob':
        if (type === 'DELETED') this.cronJobs.forget(key, obj.metadata.uid);
        else this.ctx.enqueue('CronJob', key);
        return;
      case 'PodDisruptionBudget':
        if (type === 'DELETED') this.disruption.forget(obj.metadata.uid);
        else this.ctx.enqueue('PodDisruptionBudget', key);
        return;
      case 'HorizontalPodAutoscaler':
        if (type === 'DELETED') this.autoscalers.forget(key);
        else this.ctx.enqueue('HorizontalPodAutoscaler', key);
        return;
      case 'ResourceQuota':
        if (type === 'DELETED') this.retryHeld(ns);
        else this.ctx.enqueue('ResourceQuota', key);
        return;
      case 'LimitRange':
        this.retryHeld(ns);
        return;
      default:
        if (type !== 'DELETED') this.ctx.enqueue(kind, key);
        this.enqueueOwner(obj);
    }
  }

  private enqueueOwner(obj: KubeObject): void {
    const owner = controllerOf(obj);
    if (!owner || !obj.metadata.namespace || !OWNER_KINDS.has(owner.kind)) return;
    this.ctx.enqueue(owner.kind as SimulatedKind, `${obj.metadata.namespace}/${owner.name}`);
  }

  private async reconcile(kind: SimulatedKind, key: string): Promise<void> {
    const obj = this.ctx.cache.get(kind, key);
    if (!obj) {
      if (kind === 'Service') await this.endpoints.serviceGone(key);
      if (kind === 'Service' && key === KUBERNETES_SERVICE_KEY) await ensureKubernetesService(this.ctx);
      return;
    }
    switch (kind) {
      case 'Pod':
        if (!specOf(obj).nodeName) return this.scheduler.schedule(obj);
        return this.kubelet.sync(obj);
      case 'ReplicaSet':
        return syncReplicaSet(this.ctx, obj);
      case 'Deployment':
        return syncDeployment(this.ctx, obj, this.deadlines);
      case 'DaemonSet':
        return syncDaemonSet(this.ctx, obj);
      case 'StatefulSet':
        return syncStatefulSet(this.ctx, obj);
      case 'Job':
        return syncJob(this.ctx, obj);
      case 'CronJob':
        return this.cronJobs.sync(obj);
      case 'Service':
        if (key === KUBERNETES_SERVICE_KEY) await ensureKubernetesService(this.ctx);
        await this.lbs.sync(obj);
        return this.endpoints.sync(obj);
      case 'Ingress':
        return this.lbs.sync(obj);
      case 'PersistentVolumeClaim':
        return this.volumes.syncClaim(obj);
      case 'PersistentVolume':
        return this.volumes.syncVolume(obj);
      case 'PodDisruptionBudget':
        return this.disruption.sync(obj);
      case 'HorizontalPodAutoscaler':
        return this.autoscalers.sync(obj);
      case 'ResourceQuota':
        return this.quotas.sync(obj, (ns) => this.retryHeld(ns));
      default:
        return;
    }
  }
}
