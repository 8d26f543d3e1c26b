import isEqual from 'lodash/isEqual.js';
import { messageOf } from '../core/errors.js';
import type { KubeObject } from '../core/kube.js';
import { CLUSTER_API_VERSION, type ClusterCondition } from '../core/controller/index.js';
import { Reasons } from './constants.js';
import type { ControllerContext, StartedController } from './registry.js';

export interface ClusterHealthOptions {
  /** Probe period. @default 10000 */
  periodMs?: number;
  /** Probe timeout. @default min(5000, max(period, 1000)) */
  probeTimeoutMs?: number;
  /** Rewrite an unchanged status at most this often (refreshes lastProbeTime). @default max(30000, 3 periods) */
  refreshMs?: number;
  /** Consecutive failed probes before a Ready cluster is marked not Ready. @default 2 */
  failureThreshold?: number;
}

const ZONE_LABELS = ['topology.kubernetes.io/zone', 'failure-domain.beta.kubernetes.io/zone'];
const REGION_LABELS = ['topology.kubernetes.io/region', 'failure-domain.beta.kubernetes.io/region'];

function now(): string {
  return new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** The conditions of one probe (as v1 §4.2, plus Ready=False when unreachable so kubectl shows it). */
export function probeConditions(result: { reachable: boolean; ok: boolean; detail: string }): ClusterCondition[] {
  if (!result.reachable) {
    return [
      {
        type: 'Ready',
        status: 'False',
        reason: Reasons.ClusterNotReachable,
        message: `cluster is not reachable: ${result.detail}`,
      },
      { type: 'Offline', status: 'True', reason: Reasons.ClusterNotReachable, message: 'cluster is not reachable' },
    ];
  }
  if (!result.ok) {
    return [
      {
        type: 'Ready',
        status: 'False',
        reason: Reasons.ClusterNotReady,
        message: `health check failed: ${result.detail}`,
      },
      { type: 'Offline', status: 'False', reason: 'ClusterReachable', message: 'cluster is reachable' },
    ];
  }
  return [
    { type: 'Ready', status: 'True', reason: Reasons.ClusterReady, message: '/readyz responded with ok' },
    { type: 'Offline', status: 'False', reason: 'ClusterReachable', message: 'cluster is reachable' },
  ];
}

/** Carries lastTransitionTime over for conditions whose status did not change. */
export function mergeConditions(
  previous: ClusterCondition[] | undefined,
  next: ClusterCondition[],
  probeTime: string,
): ClusterCondition[] {
  return next.map((c) => {
    const prev = previous?.find((p) => p.type === c.type);
    return {
      ...c,
      lastProbeTime: probeTime,
      lastTransitionTime:
        prev && prev.status === c.status && prev.lastTransitionTime ? prev.lastTransitionTime : probeTime,
    };
  });
}

async function topology(
  ctx: ControllerContext,
  name: string,
  timeoutMs: number,
): Promise<{ zones?: string[]; region?: string }> {
  try {
    const nodes = await ctx.members
      .client(name)
      .request<{ items: KubeObject[] }>('GET', '/api/v1/nodes', { timeoutMs });
    const zones = new Set<string>();
    let region: string | undefined;
    for (const n of nodes.items ?? []) {
      const l = n.metadata.labels ?? {};
      const z = ZONE_LABELS.map((k) => l[k]).find(Boolean);
      const r = REGION_LABELS.map((k) => l[k]).find(Boolean);
      if (z) zones.add(z);
      if (r && region === undefined) region = r;
    }
    return { ...(zones.size ? { zones: [...zones].sort() } : {}), ...(region ? { region } : {}) };
  } catch {
    // Members without a Nodes resource (or any failure): no topology.
    return {};
  }
}

/**
 * The cluster health controller: every period probes each member's /readyz (fallback
 * /healthz) in parallel, sets Ready/Offline conditions and region/zones from Node labels.
 * Status is written when it changes (and refreshed every `refreshMs`).
 */
export function startClusterHealth(ctx: ControllerContext, options: ClusterHealthOptions = {}): StartedController {
  const periodMs = options.periodMs ?? 10_000;
  const probeTimeoutMs = options.probeTimeoutMs ?? Math.min(5000, Math.max(periodMs, 1000));
  const refreshMs = options.refreshMs ?? Math.max(30_000, 3 * periodMs);
  const lastWrite = new Map<string, number>();
  const failures = new Map<string, number>();
  const failureThreshold = options.failureThreshold ?? 2;
  const probing = new Set<string>();
  let stopped = false;

  const probe = async (name: string): Promise<void> => {
    const cluster = ctx.members.cluster(name);
    if (!cluster) return;
    let result: { reachable: boolean; ok: boolean; detail: string };
    let topo: { zones?: string[]; region?: string } = {};
    let client;
    try {
      client = ctx.members.client(name);
    } catch (err) {
      client = undefined;
      result = { reachable: false, ok: false, detail: messageOf(err) };
    }
    if (client) {
      const h = await client.healthy(probeTimeoutMs);
      const unreachable = !h.ok && !/returned \d+/.test(h.reason);
      result = { reachable: !unreachable, ok: h.ok, detail: h.reason };
      if (h.ok) topo = await topology(ctx, name, probeTimeoutMs);
    }
    if (stopped) return;
    const previous = cluster.status?.conditions;
    // One failed probe of a Ready cluster is forgiven (a busy member or a lost packet must not
    // reshuffle the federation); the second in a row counts.
    const wasReadyNow = previous?.some((c) => c.type === 'Ready' && c.status === 'True');
    if (!result!.ok && wasReadyNow) {
      const n = (failures.get(name) ?? 0) + 1;
      failures.set(name, n);
      if (n < failureThreshold) return;
    }
    if (result!.ok) failures.delete(name);
    const probeTime = now();
    const conditions = mergeConditions(previous, probeConditions(result!), probeTime);
    const same = (a: ClusterCondition[] | undefined, b: ClusterCondition[]) =>
      isEqual(
        (a ?? []).map(({ lastProbeTime: _p, ...c }) => c),
        b.map(({ lastProbeTime: _p, ...c }) => c),
      );
    const status = {
      ...(cluster.status ?? {}),
      conditions,
      ...(result!.ok ? { zones: topo.zones, region: topo.region } : {}),
    };
    if (!status.zones) delete status.zones;
    if (!status.region) delete status.region;
    const changed =
      !same(previous, conditions) ||
      (result!.ok && (!isEqual(cluster.status?.zones, status.zones) || cluster.status?.region !== status.region));
    if (!changed && Date.now() - (lastWrite.get(name) ?? 0) < refreshMs) return;
    const wasReady = previous?.find((c) => c.type === 'Ready');
    const ready = conditions.find((c) => c.type === 'Ready')!;
    await ctx.federation.update(
      { ...cluster, apiVersion: CLUSTER_API_VERSION, kind: 'Cluster', status },
      { subresource: 'status' },
    );
    lastWrite.set(name, Date.now());
    if (wasReady?.status !== ready.status || wasReady?.reason !== ready.reason) {
      ctx.events.record(
        cluster,
        ready.status === 'True' ? 'Normal' : 'Warning',
        ready.reason ?? 'ClusterNotReady',
        `Cluster ${name}: ${ready.message}`,
      );
      ctx.log.info({ cluster: name, ready: ready.status, reason: ready.reason }, 'cluster health changed');
    }
  };

  const tick = (): void => {
    for (const name of ctx.members.names()) {
      if (probing.has(name)) continue;
      probing.add(name);
      void probe(name)
        .catch((err: unknown) => ctx.log.warn({ cluster: name, err: messageOf(err) }, 'cluster status update failed'))
        .finally(() => probing.delete(name));
    }
  };
  tick();
  const timer = setInterval(tick, periodMs);
  // A newly joined cluster is probed at once, not a period later.
  ctx.members.onClusterChange((name, c) => {
    if (!stopped && c && !c.status?.conditions && !probing.has(name)) {
      probing.add(name);
      void probe(name)
        .catch(() => undefined)
        .finally(() => probing.delete(name));
    }
  });
  return {
    async stop() {
      stopped = true;
      clearInterval(timer);
    },
  };
}
