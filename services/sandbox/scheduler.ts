import type { KubeObject } from '../core/kube.js';
import type { SimContext } from './context.js';
import { keyOf } from './informer.js';
import { asObj, condition, isPodActive, setCondition, specOf, statusOf, type Obj } from './util.js';

/**
 * The simulated kube-scheduler: binds each unbound pod to the least loaded Ready node that
 * matches its nodeSelector and has a free pod slot (node `allocatable.pods`); otherwise the
 * pod stays Pending with `PodScheduled=False, reason=Unschedulable` until a slot frees up.
 */
export class Scheduler {
  /** Active pods bound to a node: pod key → node name. */
  private readonly bound = new Map<string, string>();
  /** Pending pods that found no node, in arrival order. */
  private readonly waiting = new Set<string>();

  constructor(private readonly ctx: SimContext) {}

  /** Keeps the bookkeeping in step with every pod change. */
  observe(type: 'ADDED' | 'MODIFIED' | 'DELETED', pod: KubeObject): void {
    const key = keyOf(pod);
    const node = specOf(pod).nodeName as string | undefined;
    const wasBound = this.bound.has(key);
    if (type === 'DELETED' || !isPodActive(pod)) {
      this.bound.delete(key);
      this.waiting.delete(key);
    } else if (node) {
      this.bound.set(key, node);
      this.waiting.delete(key);
    }
    if (wasBound && !this.bound.has(key)) this.retryWaiting();
  }

  get boundCount(): number {
    return this.bound.size;
  }

  get waitingCount(): number {
    return this.waiting.size;
  }

  /** Re-queues waiting pods (after capacity was freed or raised). */
  retryWaiting(): void {
    let free = this.freeSlots();
    for (const key of this.waiting) {
      if (free-- <= 0) break;
      this.ctx.enqueue('Pod', key);
    }
  }

  private nodes(): KubeObject[] {
    return this.ctx.cache
      .list('Node')
      .filter((n) => !specOf(n).unschedulable && condition(n, 'Ready')?.status === 'True')
      .sort((a, b) => (a.metadata.name ?? '').localeCompare(b.metadata.name ?? ''));
  }

  private slots(node: KubeObject): number {
    return Number(asObj(statusOf(node).allocatable).pods ?? 0);
  }

  private load(): Map<string, number> {
    const load = new Map<string, number>();
    for (const n of this.bound.values()) load.set(n, (load.get(n) ?? 0) + 1);
    return load;
  }

  private freeSlots(): number {
    const load = this.load();
    return this.nodes().reduce((sum, n) => sum + Math.max(0, this.slots(n) - (load.get(n.metadata.name!) ?? 0)), 0);
  }

  async schedule(pod: KubeObject): Promise<void> {
    if (specOf(pod).nodeName || !isPodActive(pod)) return;
    if (specOf(pod).schedulerName !== undefined && specOf(pod).schedulerName !== 'default-scheduler') return;
    const nodes = this.nodes();
    const load = this.load();
    const selector = asObj(specOf(pod).nodeSelector) as Record<string, string>;
    let mismatched = 0;
    let full = 0;
    let best: KubeObject | undefined;
    for (const n of nodes) {
      const labels = n.metadata.labels ?? {};
      if (Object.entries(selector).some(([k, v]) => labels[k] !== v)) {
        mismatched++;
        continue;
      }
      const used = load.get(n.metadata.name!) ?? 0;
      if (used >= this.slots(n)) {
        full++;
        continue;
      }
      if (!best || used < (load.get(best.metadata.name!) ?? 0)) best = n;
    }
    if (!best) return this.unschedulable(pod, nodes.length, mismatched, full);
    const nodeName = best.metadata.name!;
    const key = keyOf(pod);
    const bound = await this.ctx.registry.mutate(
      this.ctx.types.Pod,
      pod.metadata.namespace,
      pod.metadata.name!,
      (o) => {
        if (asObj(o.spec).nodeName) return undefined;
        (o.spec as Obj).nodeName = nodeName;
        return o;
      },
    );
    if (!bound) return;
    this.bound.set(key, nodeName);
    this.waiting.delete(key);
    this.ctx.events.emit(
      pod,
      'Normal',
      'Scheduled',
      `Successfully assigned ${key} to ${nodeName}`,
      'default-scheduler',
    );
  }

  private async unschedulable(pod: KubeObject, nodes: number, mismatched: number, full: number): Promise<void> {
    const key = keyOf(pod);
    this.waiting.add(key);
    const reasons = [
      full ? `${full} Too many pods` : '',
      mismatched ? `${mismatched} node(s) didn't match Pod's node affinity/selector` : '',
    ]
      .filter(Boolean)
      .join(', ');
    const message = `0/${nodes} nodes are available: ${reasons || 'no nodes'}. preemption: 0/${nodes} nodes are available: ${nodes} No preemption victims found for incoming pod.`;
    const cur = condition(pod, 'PodScheduled');
    if (cur?.status === 'False' && cur.reason === 'Unschedulable' && cur.message === message) return;
    await this.ctx.registry.mutate(
      this.ctx.types.Pod,
      pod.metadata.namespace,
      pod.metadata.name!,
      (o) => {
        const status = asObj(o.status);
        status.phase ??= 'Pending';
        status.conditions = setCondition((status.conditions as never) ?? [], {
          type: 'PodScheduled',
          status: 'False',
          reason: 'Unschedulable',
          message,
        });
        o.status = status;
        return o;
      },
      'status',
    );
    if (cur?.reason !== 'Unschedulable')
      this.ctx.events.emit(pod, 'Warning', 'FailedScheduling', message, 'default-scheduler');
  }
}
