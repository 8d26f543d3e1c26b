import type { KubeObject } from '../core/kube.js';
import type { Logger } from '../core/log.js';
import type { Registry, ResourceType } from '../apiserver/index.js';
import { nowIso } from './util.js';

let sequence = 0;

/** kube names Events `<object>.<hex timestamp>`; a sequence keeps names unique within a nanosecond. */
function eventName(object: string): string {
  sequence = (sequence + 1) % 4096;
  return `${object}.${(process.hrtime.bigint() * 4096n + BigInt(sequence)).toString(16)}`;
}

/**
 * core/v1 Events as kube's event recorders write them (involvedObject, reason, source),
 * so `kubectl describe` and `kubectl get events` show what the simulator did.
 * Events the simulator wrote are kept up to `maxEvents` per cluster; older ones are deleted
 * (kube expires Events after an hour; a count bound keeps a long-running sandbox's memory flat).
 */
export class EventRecorder {
  private readonly written: Array<[string, string]> = [];
  private head = 0;

  constructor(
    private readonly registry: Registry,
    private readonly eventType: ResourceType,
    private readonly log: Logger,
    private readonly maxEvents = 2000,
  ) {}

  private remember(namespace: string, name: string): void {
    this.written.push([namespace, name]);
    if (this.written.length - this.head <= this.maxEvents) return;
    const [ns, old] = this.written[this.head++]!;
    if (this.head > 4096) {
      this.written.splice(0, this.head);
      this.head = 0;
    }
    this.registry.delete(this.eventType, ns, old).catch(() => undefined);
  }

  emit(
    involved: KubeObject,
    type: 'Normal' | 'Warning',
    reason: string,
    message: string,
    component: string,
    host?: string,
    fieldPath?: string,
  ): void {
    const now = nowIso();
    const namespace = involved.metadata.namespace ?? 'default';
    const event = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name: eventName(involved.metadata.name ?? 'unknown'), namespace },
      involvedObject: {
        apiVersion: involved.apiVersion,
        kind: involved.kind,
        name: involved.metadata.name,
        namespace: involved.metadata.namespace,
        uid: involved.metadata.uid,
        resourceVersion: involved.metadata.resourceVersion,
        ...(fieldPath ? { fieldPath } : {}),
      },
      reason,
      message,
      source: host ? { component, host } : { component },
      firstTimestamp: now,
      lastTimestamp: now,
      count: 1,
      type,
      reportingComponent: component,
      reportingInstance: host ?? '',
    };
    this.registry.create(this.eventType, namespace, event, { fieldManager: component }).then(
      () => this.remember(namespace, event.metadata.name),
      (err: unknown) => {
        this.log.debug({ err: err instanceof Error ? err.message : String(err), reason }, 'event not recorded');
      },
    );
  }
}
