/** Prometheus metrics of the webhook service, on a registry of its own (one per server). */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

export interface WebhookMetrics {
  readonly registry: Registry;
  readonly deliveries: Counter<'hook' | 'result'>;
  readonly acceptSeconds: Histogram<'hook'>;
  readonly imageCommits: Counter;
  readonly imageBumps: Counter<'result'>;
  readonly runs: Counter<'status'>;
  readonly runSeconds: Histogram<'status'>;
  readonly queueDepth: Gauge;
}

export function createMetrics(queueDepth: () => number, defaults = false): WebhookMetrics {
  const registry = new Registry();
  if (defaults) collectDefaultMetrics({ register: registry, prefix: 'kitfed_webhooks_' });
  return {
    registry,
    deliveries: new Counter({
      name: 'kitfed_webhook_deliveries_total',
      help: 'Webhook deliveries by endpoint and outcome (accepted, duplicate, ignored, rejected, committed, unchanged, failed)',
      labelNames: ['hook', 'result'] as const,
      registers: [registry],
    }),
    acceptSeconds: new Histogram({
      name: 'kitfed_webhook_response_seconds',
      help: 'Time from request to response per endpoint',
      labelNames: ['hook'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    imageCommits: new Counter({
      name: 'kitfed_image_commits_total',
      help: 'Image bump commits pushed to manifests repos',
      registers: [registry],
    }),
    imageBumps: new Counter({
      name: 'kitfed_image_bumps_total',
      help: 'Image bumps by result',
      labelNames: ['result'] as const,
      registers: [registry],
    }),
    runs: new Counter({
      name: 'kitfed_pipeline_runs_total',
      help: 'Pipeline runs by final status',
      labelNames: ['status'] as const,
      registers: [registry],
    }),
    runSeconds: new Histogram({
      name: 'kitfed_pipeline_run_seconds',
      help: 'Pipeline run duration (fetch + render + deploy)',
      labelNames: ['status'] as const,
      buckets: [0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300],
      registers: [registry],
    }),
    queueDepth: new Gauge({
      name: 'kitfed_pipeline_queue_depth',
      help: 'Accepted push events not yet finished',
      registers: [registry],
      collect() {
        this.set(queueDepth());
      },
    }),
  };
}
