import type { KubeObject } from '../core/kube.js';
import type { SimContext } from './context.js';
import { keyOf } from './informer.js';
import { asObj, condition, isPodActive, setCondition, specOf, statusOf, type Obj } from './util.js';
import { SELECTED_NODE } from './volumes.js';

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

  /** @param onCounts called when the number of bound or unschedulable pods changes. */
  constructor(
    private readonly ctx: SimContext,
    private readonly onCounts: () => void = () => {},
  ) {}

  /** Calls `onCounts` when `fn` changed the number of bound or waiting pods. */
  private counted(fn: () => void): void {
    const bound = this.bound.size;
    const waiting = this.waiting.size;
    fn();
    if (this.bound.size !== bound || this.waiting.size !== waiting) this.onCounts();
  }

  /** Keeps the bookkeeping in step with every pod change. */
  observe(type: 'ADDED' | 'MODIFIED' | 'DELETED', pod: KubeObject): void {
    this.counted(() => this.track(type, pod));
  }

  private track(type: 'ADDED' | 'MODIFIED' | 'DELETED', pod: KubeObject): void {
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
    const volumes = this.volumes(pod);
    if (volumes.blocked) return this.unschedulable(pod, nodes.length, 0, 0, volumes.blocked);
    const load = this.load();
    const selector = asObj(specOf(pod).nodeSelector) as Record<string, string>;
    let mismatched = 0;
    let full = 0;
    let best: KubeObject | undefined;
    for (const n of nodes) {
      const labels = n.metadata.labels ?? {};
      if (
        Object.entries(selector).some(([k, v]) => labels[k] !== v) ||
        (volumes.hosts && !volumes.hosts.includes(labels['kubernetes.io/hostname'] ?? ''))
      ) {
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
    this.counted(() => {
      this.bound.set(key, nodeName);
      this.waiting.delete(key);
    });
    this.ctx.events.emit(
      pod,
      'Normal',
      'Scheduled',
      `Successfully assigned ${key} to ${nodeName}`,
      'default-scheduler',
    );
    // WaitForFirstConsumer claims learn their node now: the provisioner creates their volume there.
    for (const claim of volumes.waiting) {
      await this.ctx.registry.mutate(
        this.ctx.types.PersistentVolumeClaim,
        claim.metadata.namespace,
        claim.metadata.name!,
        (o) => {
          if (o.metadata.annotations?.[SELECTED_NODE]) return undefined;
          o.metadata.annotations = { ...(o.metadata.annotations ?? {}), [SELECTED_NODE]: nodeName };
          return o;
        },
      );
    }
  }

  /**
   * The pod's PersistentVolumeClaims as kube's volume binding plugin sees them: a missing or
   * unbound Immediate claim keeps the pod Pending; bound volumes with node affinity pin it to
   * their node; unbound WaitForFirstConsumer claims are provisioned after binding.
   */
  private volumes(pod: KubeObject): { blocked?: string; hosts?: string[]; waiting: KubeObject[] } {
    const out: { blocked?: string; hosts?: string[]; waiting: KubeObject[] } = { waiting: [] };
    for (const v of (specOf(pod).volumes as Obj[] | undefined) ?? []) {
      const name = asObj(v.persistentVolumeClaim).claimName;
      if (typeof name !== 'string') continue;
      const pvc = this.ctx.cache.get('PersistentVolumeClaim', `${pod.metadata.namespace}/${name}`);
      if (!pvc) return { ...out, blocked: `persistentvolumeclaim "${name}" not found` };
      if (pvc.metadata.deletionTimestamp)
        return { ...out, blocked: `persistentvolumeclaim "${name}" is being deleted` };
      const volumeName = specOf(pvc).volumeName as string | undefined;
      if (!volumeName || statusOf(pvc).phase !== 'Bound') {
        const sc = this.ctx.cache.get('StorageClass', String(specOf(pvc).storageClassName ?? ''));
        if ((sc as { volumeBindingMode?: string } | undefined)?.volumeBindingMode === 'WaitForFirstConsumer') {
          out.waiting.push(pvc);
          continue;
        }
        return { ...out, blocked: 'pod has unbound immediate PersistentVolumeClaims' };
      }
      const pv = this.ctx.cache.get('PersistentVolume', volumeName);
      const terms = asObj(asObj(asObj(pv?.spec).nodeAffinity).required).nodeSelectorTerms as
        Array<{ matchExpressions?: Array<{ key: string; operator: string; values?: string[] }> }> | undefined;
      for (const term of terms ?? [])
        for (const e of term.matchExpressions ?? [])
          if (e.key === 'kubernetes.io/hostname' && e.operator === 'In') out.hosts = e.values ?? [];
    }
    return out;
  }

  private async unschedulable(
    pod: KubeObject,
    nodes: number,
    mismatched: number,
    full: number,
    blocked?: string,
  ): Promise<void> {
    const key = keyOf(pod);
    this.counted(() => this.waiting.add(key));
    const reasons = [
      full ? `${full} Too many pods` : '',
      mismatched ? `${mismatched} node(s) didn't match Pod's node affinity/selector` : '',
    ]
      .filter(Boolean)
      .join(', ');
    const message = blocked
      ? `0/${nodes} nodes are available: ${blocked}. preemption: 0/${nodes} nodes are available: ` +
        `${nodes} Preemption is not helpful for scheduling.`
      : `0/${nodes} nodes are available: ${reasons || 'no nodes'}. preemption: 0/${nodes} nodes are available: ` +
        `${nodes} No preemption victims found for incoming pod.`;
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
