import { createLogger } from '../core/log.js';
import type { KubeObject } from '../core/kube.js';
import type { Registry } from '../apiserver/registry.js';
import { SIMULATED_KINDS, type SimContext, type SimulatedKind, type SimulatorConfig } from './context.js';
import { syncDaemonSet } from './daemonsets.js';
import { syncDeployment } from './deployments.js';
import { EventRecorder } from './events.js';
import { keyOf, ObjectCache, type ChangeType } from './informer.js';
import { syncJob } from './jobs.js';
import { Kubelet } from './kubelet.js';
import { LoadBalancers } from './loadbalancers.js';
import { ensureNodes, planNodes } from './nodes.js';
import { syncReplicaSet } from './replicasets.js';
import { Scheduler } from './scheduler.js';
import { WorkQueue } from './queue.js';
import { controllerOf, isPodActive, specOf } from './util.js';

/**
 * The workload simulator of one sandbox cluster: kube-controller-manager, kube-scheduler,
 * the kubelets and a cloud load balancer controller in miniature, driven by the registry's
 * watch (in process). Idle clusters cost nothing: no polling, timers only for pending steps.
 */
export class Simulator {
  readonly ctx: SimContext;
  private readonly scheduler: Scheduler;
  private readonly kubelet: Kubelet;
  private readonly lbs: LoadBalancers;
  private readonly deadlines = new Map<string, NodeJS.Timeout>();

  constructor(
    registry: Registry,
    private config: SimulatorConfig,
  ) {
    const log = createLogger('sandbox', { cluster: config.name });
    const types = Object.fromEntries(
      SIMULATED_KINDS.map((k) => [k, registry.catalog.all.find((t) => t.kind === k)!]),
    ) as SimContext['types'];
    const cache = new ObjectCache(registry, Object.values(types));
    const queue = new WorkQueue(log);
    const eventType = registry.catalog.byKind('', 'v1', 'Event')!;
    const current = () => this.config;
    this.ctx = {
      get config() {
        return current();
      },
      registry,
      types,
      cache,
      queue,
      log,
      events: new EventRecorder(registry, eventType, log, config.maxEvents),
      enqueue: (kind, key) => queue.add(`${kind}:${key}`, () => this.reconcile(kind, key)),
    };
    this.scheduler = new Scheduler(this.ctx);
    this.kubelet = new Kubelet(this.ctx);
    this.lbs = new LoadBalancers(this.ctx);
  }

  async start(): Promise<void> {
    await ensureNodes(this.ctx, planNodes(this.config));
    await this.ctx.cache.start((type, kind, obj) => this.onChange(type, kind as SimulatedKind, obj));
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

  private onChange(type: ChangeType, kind: SimulatedKind, obj: KubeObject): void {
    const key = keyOf(obj);
    switch (kind) {
      case 'Pod':
        this.scheduler.observe(type, obj);
        if (type === 'DELETED' || !isPodActive(obj)) this.kubelet.forget(obj);
        if (type !== 'DELETED') this.ctx.enqueue('Pod', key);
        this.enqueueOwner(obj);
        return;
      case 'ReplicaSet':
        if (type !== 'DELETED') this.ctx.enqueue('ReplicaSet', key);
        this.enqueueOwner(obj);
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
      case 'Ingress':
        this.lbs.observe(type, obj);
        if (type !== 'DELETED') this.ctx.enqueue(kind, key);
        return;
      default:
        if (type !== 'DELETED') this.ctx.enqueue(kind, key);
    }
  }

  private enqueueOwner(obj: KubeObject): void {
    const owner = controllerOf(obj);
    if (!owner || !obj.metadata.namespace) return;
    const kind = owner.kind as SimulatedKind;
    if (kind === 'ReplicaSet' || kind === 'Deployment' || kind === 'DaemonSet' || kind === 'Job')
      this.ctx.enqueue(kind, `${obj.metadata.namespace}/${owner.name}`);
  }

  private async reconcile(kind: SimulatedKind, key: string): Promise<void> {
    const obj = this.ctx.cache.get(kind, key);
    if (!obj) return;
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
      case 'Job':
        return syncJob(this.ctx, obj);
      case 'Service':
      case 'Ingress':
        return this.lbs.sync(obj);
      default:
        return;
    }
  }
}
