import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/**
 * The controller manager's Prometheus metrics, on one registry per manager so several
 * managers (tests, benchmarks) can live in one process.
 */
export class ControllerMetrics {
  readonly registry: Registry;
  readonly queueDepth: Gauge<'controller'>;
  readonly reconcileSeconds: Histogram<'controller'>;
  readonly reconcileErrors: Counter<'controller' | 'kind'>;
  readonly memberRequestSeconds: Histogram<'cluster'>;
  readonly memberRequestErrors: Counter<'cluster'>;
  readonly propagationSeconds: Histogram<'kind'>;
  readonly eventsDropped: Counter<string>;
  private readonly depthSources = new Map<string, () => number>();

  constructor(registry = new Registry()) {
    this.registry = registry;
    const sources = this.depthSources;
    this.queueDepth = new Gauge({
      name: 'kitfed_workqueue_depth',
      help: 'Keys waiting in a controller work queue',
      labelNames: ['controller'],
      registers: [registry],
      collect() {
        for (const [name, fn] of sources) this.set({ controller: name }, fn());
      },
    });
    this.reconcileSeconds = new Histogram({
      name: 'kitfed_reconcile_duration_seconds',
      help: 'Time of one reconcile',
      labelNames: ['controller'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    });
    this.reconcileErrors = new Counter({
      name: 'kitfed_reconcile_errors_total',
      help: 'Failed reconciles (kind: retry or terminal)',
      labelNames: ['controller', 'kind'],
      registers: [registry],
    });
    this.memberRequestSeconds = new Histogram({
      name: 'kitfed_member_request_duration_seconds',
      help: 'Time of calls to a member cluster, queueing included',
      labelNames: ['cluster'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    });
    this.memberRequestErrors = new Counter({
      name: 'kitfed_member_request_errors_total',
      help: 'Failed calls to a member cluster',
      labelNames: ['cluster'],
      registers: [registry],
    });
    this.propagationSeconds = new Histogram({
      name: 'kitfed_propagation_lag_seconds',
      help: 'From the federated change being observed to the member write completing',
      labelNames: ['kind'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers: [registry],
    });
    this.eventsDropped = new Counter({
      name: 'kitfed_events_dropped_total',
      help: 'Events not recorded (backlog full or write failed)',
      registers: [registry],
    });
  }

  /** Reports `fn()` as the queue depth of `controller` at every scrape. */
  watchQueue(controller: string, fn: () => number): void {
    this.depthSources.set(controller, fn);
  }
}
