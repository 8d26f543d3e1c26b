import { randomBytes } from 'node:crypto';
import PQueue from 'p-queue';
import { messageOf } from '../core/errors.js';
import { createLogger } from '../core/log.js';
import type { KubeObject } from '../core/kube.js';
import type { KubeClient } from '../core/kube-client.js';
import type { ControllerMetrics } from '../core/controller/index.js';

export type EventType = 'Normal' | 'Warning';

interface Pending {
  obj: KubeObject;
  type: EventType;
  reason: string;
  message: string;
  clusters: Set<string>;
}

const log = createLogger('events');

/**
 * Records core/v1 Events in the federation API only (never in members), attached to the
 * federated object. Events of one object with the same reason and message within `windowMs` are
 * coalesced into one naming every cluster ("... in clusters a, b"), so a create in 100
 * members is one Event, not 100. Best effort: a full backlog drops (and counts) events.
 */
export class EventRecorder {
  private readonly pending = new Map<string, Pending>();
  private readonly queue = new PQueue({ concurrency: 8 });
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly client: KubeClient,
    private readonly component: string,
    private readonly metrics?: ControllerMetrics,
    private readonly windowMs = 100,
    private readonly maxBacklog = 5000,
  ) {}

  /** An event about `obj`; `cluster` (if any) is merged with same-reason events of other clusters. */
  record(obj: KubeObject, type: EventType, reason: string, message: string, cluster?: string): void {
    if (this.stopped) return;
    // Only identical messages merge: "replicas 3 → 2" in one cluster and "3 → 4" in another stay two events.
    const key = `${obj.metadata.uid ?? obj.metadata.name}|${reason}|${message}`;
    let p = this.pending.get(key);
    if (!p) {
      if (this.pending.size + this.queue.size >= this.maxBacklog) {
        this.metrics?.eventsDropped.inc();
        return;
      }
      p = { obj, type, reason, message, clusters: new Set() };
      this.pending.set(key, p);
    }
    if (cluster) p.clusters.add(cluster);
    if (!this.timer) {
      this.timer = setTimeout(() => this.flush(), this.windowMs);
      this.timer.unref?.();
    }
  }

  private flush(): void {
    this.timer = undefined;
    const batch = [...this.pending.values()];
    this.pending.clear();
    for (const p of batch) void this.queue.add(() => this.write(p));
  }

  private async write(p: Pending): Promise<void> {
    const { obj } = p;
    const clusters = [...p.clusters].sort();
    const where =
      clusters.length === 0
        ? ''
        : clusters.length === 1
          ? ` in cluster ${clusters[0]}`
          : ` in clusters ${clusters.join(', ')}`;
    const now = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
    const namespace = obj.metadata.namespace ?? 'default';
    try {
      await this.client.create({
        apiVersion: 'v1',
        kind: 'Event',
        metadata: {
          name: `${obj.metadata.name}.${Date.now().toString(16)}${randomBytes(3).toString('hex')}`,
          namespace,
        },
        involvedObject: {
          apiVersion: obj.apiVersion,
          kind: obj.kind,
          name: obj.metadata.name,
          namespace: obj.metadata.namespace,
          uid: obj.metadata.uid,
          resourceVersion: obj.metadata.resourceVersion,
        },
        reason: p.reason,
        message: `${p.message}${where}`,
        type: p.type,
        source: { component: this.component },
        reportingComponent: this.component,
        firstTimestamp: now,
        lastTimestamp: now,
        count: 1,
      });
    } catch (err) {
      this.metrics?.eventsDropped.inc();
      log.debug({ reason: p.reason, err: messageOf(err) }, 'event not recorded');
    }
  }

  /** Writes what is pending and stops. */
  async close(): Promise<void> {
    clearTimeout(this.timer);
    this.flush();
    this.stopped = true;
    await this.queue.onIdle();
  }
}
