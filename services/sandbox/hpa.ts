import type { Condition, KubeObject } from '../core/kube.js';
import { formatQuantity, parseQuantity, resourceList, toNumber, type Quantity } from '../core/quantity.js';
import type { SimContext, SimulatedKind, SimulatedMetrics } from './context.js';
import { keyOf } from './informer.js';
import { writeStatus } from './replicasets.js';
import { asObj, num, setCondition, specOf, statusOf, type Obj } from './util.js';
import { kubeTime } from '../core/time.js';

/**
 * kube's horizontal pod autoscaler on a simulated metric. No container runs, so there is no
 * metrics server: the utilisation of a workload's pods (percent of their requests) is what the
 * scale target's annotation `sandbox.kitfed.io/cpu-utilization` (or `memory-utilization`) says,
 * else the cluster's simulated metrics (admin endpoint, `cluster.setMetrics`), else unknown —
 * then the HPA reports `ScalingActive=False/FailedGetResourceMetric` as on a cluster without a
 * metrics server. The figure is the utilisation at the replicas the target had when it was set:
 * a fixed load that more pods share (see loadedUtilization). From that figure the HPA computes
 * replicas as kube does (tolerance 0.1, min/max, `behavior` stabilization windows and scaling
 * policies, on the simulator's clock), scales the target and writes status (currentReplicas,
 * desiredReplicas, currentMetrics, lastScaleTime, conditions AbleToScale/ScalingActive/ScalingLimited).
 */

export const UTILIZATION_ANNOTATION = (resource: string) => `sandbox.kitfed.io/${resource}-utilization`;
const TOLERANCE = 0.1;
const SYNC_PERIOD_MS = 15_000;

interface Policy {
  type: 'Pods' | 'Percent';
  value: number;
  periodSeconds: number;
}
interface Rules {
  stabilizationWindowSeconds: number;
  selectPolicy: string;
  policies: Policy[];
}

/** The rules kube fills in for a missing `behavior` (autoscaling/v2 defaults). */
function rulesOf(hpa: KubeObject, direction: 'scaleUp' | 'scaleDown'): Rules {
  const r = asObj(asObj(specOf(hpa).behavior)[direction]);
  const up = direction === 'scaleUp';
  return {
    stabilizationWindowSeconds: num(r.stabilizationWindowSeconds, up ? 0 : 300),
    selectPolicy: String(r.selectPolicy ?? 'Max'),
    policies:
      (r.policies as Policy[] | undefined) ??
      (up
        ? [
            { type: 'Pods', value: 4, periodSeconds: 15 },
            { type: 'Percent', value: 100, periodSeconds: 15 },
          ]
        : [{ type: 'Percent', value: 100, periodSeconds: 15 }]),
  };
}

export interface HpaMemory {
  recommendations: Array<{ at: number; replicas: number }>;
  scaleUps: Array<{ at: number; change: number }>;
  scaleDowns: Array<{ at: number; change: number }>;
  /** Per resource: the simulated figure last seen and the replicas the target had then (the load it stands for). */
  loads?: Record<string, { figure: number; replicas: number }>;
}

interface MetricSpec {
  type: string;
  resource?: { name: string; target: { type: string; averageUtilization?: number; averageValue?: string } };
  containerResource?: {
    name: string;
    container: string;
    target: { type: string; averageUtilization?: number; averageValue?: string };
  };
  pods?: { metric?: { name?: string } };
  object?: { metric?: { name?: string } };
  external?: { metric?: { name?: string } };
}

export interface HpaInput {
  hpa: KubeObject;
  target: KubeObject | undefined;
  /** `deployments.apps "web"`, for messages. */
  targetName: string;
  metrics: SimulatedMetrics;
  now: number;
  memory: HpaMemory;
  /** A pod of the target (for kube's "missing request" message). */
  podName: string | undefined;
}

export interface HpaDecision {
  status: Obj;
  scaleTo?: number;
  events: Array<{ type: 'Normal' | 'Warning'; reason: string; message: string }>;
  /** Look again then (a stabilization window or a rate limit holds a change back). */
  recheck: boolean;
}

function utilizationFor(resource: string, target: KubeObject, metrics: SimulatedMetrics): number | undefined {
  const a = target.metadata.annotations?.[UTILIZATION_ANNOTATION(resource)];
  if (a !== undefined && a.trim() !== '' && Number.isFinite(Number(a))) return Number(a);
  if (resource === 'cpu') return metrics.cpuUtilization;
  if (resource === 'memory') return metrics.memoryUtilization;
  return undefined;
}

/**
 * The simulated figure is the utilisation of the pods at the replica count they had when it was set:
 * a fixed load, so more pods share it (half the utilisation at twice the pods) and the HPA settles
 * as it would on a real cluster instead of scaling on and on to maxReplicas.
 */
function loadedUtilization(
  memory: HpaMemory,
  resource: string,
  figure: number | undefined,
  replicas: number,
): number | undefined {
  const loads = (memory.loads ??= {});
  if (figure === undefined) {
    delete loads[resource];
    return undefined;
  }
  const load = loads[resource]?.figure === figure ? loads[resource] : (loads[resource] = { figure, replicas });
  return replicas > 0 ? (figure * load.replicas) / replicas : figure;
}

/** The per-pod request of `resource` in the target's pod template (undefined: a container asks for none). */
function requestFor(target: KubeObject, resource: string, container?: string): { total?: Quantity; missing?: string } {
  const containers =
    (asObj(asObj(specOf(target).template).spec).containers as
      Array<{ name?: string; resources?: { requests?: Record<string, unknown> } }> | undefined) ?? [];
  let total: Quantity | undefined;
  for (const c of containers) {
    if (container !== undefined && c.name !== container) continue;
    const q = resourceList(c.resources?.requests)[resource];
    if (!q) return { missing: c.name ?? '' };
    total = total ? { nano: total.nano + q.nano, format: total.format } : q;
  }
  return total ? { total } : { missing: container ?? '' };
}

const within = <T extends { at: number }>(list: T[], since: number) => list.filter((x) => x.at > since);

function changeIn(list: Array<{ at: number; change: number }>, periodSeconds: number, now: number): number {
  return within(list, now - periodSeconds * 1000).reduce((n, e) => n + e.change, 0);
}

/** One pass of kube's reconcileAutoscaler over a simulated metric, as pure code (it updates `memory`). */
export function decideHpa(input: HpaInput): HpaDecision {
  const { hpa, target, metrics, now, memory } = input;
  const spec = specOf(hpa);
  const events: HpaDecision['events'] = [];
  const minReplicas = num(spec.minReplicas, 1);
  const maxReplicas = num(spec.maxReplicas, 1);
  let conditions = (statusOf(hpa).conditions as Condition[] | undefined) ?? [];
  const cond = (type: string, status: 'True' | 'False', reason: string, message: string) => {
    conditions = setCondition(conditions, { type, status, reason, message });
  };
  const prev = statusOf(hpa);
  const base: Obj = {
    observedGeneration: hpa.metadata.generation ?? 1,
    ...(prev.lastScaleTime ? { lastScaleTime: prev.lastScaleTime } : {}),
  };
  if (!target) {
    const message = `the HPA controller was unable to get the target's current scale: ${input.targetName} not found`;
    cond('AbleToScale', 'False', 'FailedGetScale', message);
    events.push({ type: 'Warning', reason: 'FailedGetScale', message: `${input.targetName} not found` });
    return {
      status: {
        ...base,
        currentReplicas: num(prev.currentReplicas),
        desiredReplicas: num(prev.desiredReplicas),
        conditions,
      },
      events,
      recheck: false,
    };
  }
  const current = num(specOf(target).replicas, 1);
  let desired = current;
  let reason = '';
  const currentMetrics: Obj[] = [];
  let computed = false;
  if (current === 0 && minReplicas !== 0) {
    cond(
      'ScalingActive',
      'False',
      'ScalingDisabled',
      'scaling is disabled since the replica count of the target is zero',
    );
    desired = 0;
  } else if (current > maxReplicas) {
    desired = maxReplicas;
    reason = 'Current number of replicas above Spec.MaxReplicas';
  } else if (current < minReplicas) {
    desired = minReplicas;
    reason = 'Current number of replicas below Spec.MinReplicas';
  } else {
    let proposal = 0;
    let proposalName = '';
    let firstError: { reason: string; message: string } | undefined;
    for (const m of (spec.metrics as MetricSpec[] | undefined) ?? []) {
      const r = m.type === 'Resource' ? m.resource : m.type === 'ContainerResource' ? m.containerResource : undefined;
      if (!r) {
        const kind = m.type === 'Pods' ? 'pods' : m.type === 'Object' ? 'object' : 'external';
        const name = asObj(asObj(m[kind as 'pods']).metric).name ?? '';
        const apiName = m.type === 'External' ? 'external' : 'custom';
        firstError ??= {
          reason: `FailedGet${m.type}Metric`,
          message: `unable to get metric ${String(name)}: no metrics returned from ${apiName} metrics API`,
        };
        currentMetrics.push({ type: m.type });
        continue;
      }
      const container = m.type === 'ContainerResource' ? m.containerResource?.container : undefined;
      const util = loadedUtilization(memory, r.name, utilizationFor(r.name, target, metrics), current);
      const utilizationTarget = r.target.type === 'Utilization';
      const label =
        `${r.name} ${m.type === 'ContainerResource' ? 'container ' : ''}resource` +
        (utilizationTarget ? ' utilization (percentage of request)' : '');
      const reasonName =
        m.type === 'ContainerResource' ? 'FailedGetContainerResourceMetric' : 'FailedGetResourceMetric';
      if (util === undefined) {
        firstError ??= {
          reason: reasonName,
          message:
            `failed to get ${r.name} utilization: unable to get metrics for resource ${r.name}: ` +
            'no metrics returned from resource metrics API',
        };
        currentMetrics.push({ type: m.type });
        continue;
      }
      const req = requestFor(target, r.name, container);
      if (!req.total) {
        firstError ??= {
          reason: reasonName,
          message:
            `failed to get ${r.name} utilization: missing request for ${r.name} in container ` +
            `${req.missing ?? ''} of Pod ${input.podName ?? target.metadata.name}`,
        };
        currentMetrics.push({ type: m.type });
        continue;
      }
      const perPod = (toNumber(req.total) * util) / 100;
      const averageValue = formatQuantity(parseQuantity(`${Math.round(perPod * 1000)}m`));
      let ratio: number;
      if (utilizationTarget) ratio = util / num(r.target.averageUtilization, 80);
      else ratio = perPod / toNumber(parseQuantity(r.target.averageValue ?? '1'));
      const replicas = Math.abs(ratio - 1) <= TOLERANCE ? current : Math.ceil(ratio * current);
      const key = m.type === 'ContainerResource' ? 'containerResource' : 'resource';
      currentMetrics.push({
        type: m.type,
        [key]: {
          name: r.name,
          ...(container ? { container } : {}),
          current: { ...(utilizationTarget ? { averageUtilization: Math.round(util) } : {}), averageValue },
        },
      });
      if (replicas > proposal || proposalName === '') {
        proposal = replicas;
        proposalName = label;
      }
    }
    if (proposalName === '') {
      const err = firstError ?? { reason: 'InvalidMetricSourceType', message: 'no metrics are defined' };
      const count = ((spec.metrics as unknown[] | undefined) ?? []).length;
      cond('ScalingActive', 'False', err.reason, `the HPA was unable to compute the replica count: ${err.message}`);
      events.push({ type: 'Warning', reason: err.reason, message: err.message });
      events.push({
        type: 'Warning',
        reason: 'FailedComputeMetricsReplicas',
        message: `invalid metrics (${count} invalid out of ${count}), first error is: ${err.message}`,
      });
    } else {
      cond(
        'ScalingActive',
        'True',
        'ValidMetricFound',
        `the HPA was able to successfully calculate a replica count from ${proposalName}`,
      );
      desired = proposal;
      reason = desired > current ? `${proposalName} above target` : 'All metrics below target';
      computed = true;
    }
  }
  let recheck = false;
  if (computed) {
    const raw = desired;
    // Stabilization (kube's stabilizeRecommendationWithBehaviors).
    const up = rulesOf(hpa, 'scaleUp');
    const down = rulesOf(hpa, 'scaleDown');
    const upCut = now - up.stabilizationWindowSeconds * 1000;
    const downCut = now - down.stabilizationWindowSeconds * 1000;
    let upRec = raw;
    let downRec = raw;
    for (const r of memory.recommendations) {
      if (r.at > upCut) upRec = Math.min(upRec, r.replicas);
      if (r.at > downCut) downRec = Math.max(downRec, r.replicas);
    }
    memory.recommendations = [
      ...memory.recommendations.filter((r) => r.at > Math.min(upCut, downCut)),
      { at: now, replicas: raw },
    ];
    let stabilized = current;
    if (stabilized < upRec) stabilized = upRec;
    if (stabilized > downRec) stabilized = downRec;
    if (stabilized === raw) cond('AbleToScale', 'True', 'ReadyForNewScale', 'recommended size matches current size');
    else if (raw >= current)
      cond(
        'AbleToScale',
        'True',
        'ScaleUpStabilized',
        'recent recommendations were lower than current one, applying the lowest recent recommendation',
      );
    else
      cond(
        'AbleToScale',
        'True',
        'ScaleDownStabilized',
        'recent recommendations were higher than current one, applying the highest recent recommendation',
      );
    // Rate limits (kube's convertDesiredReplicasWithBehaviorRate).
    let final = stabilized;
    let limitReason = 'DesiredWithinRange';
    let limitMessage = 'the desired count is within the acceptable range';
    const periodStart = (p: Policy) =>
      current - changeIn(memory.scaleUps, p.periodSeconds, now) + changeIn(memory.scaleDowns, p.periodSeconds, now);
    if (stabilized > current) {
      let limit = up.selectPolicy === 'Disabled' ? current : up.selectPolicy === 'Min' ? Infinity : -Infinity;
      if (up.selectPolicy !== 'Disabled')
        for (const p of up.policies) {
          const start = periodStart(p);
          const proposed = p.type === 'Pods' ? start + p.value : Math.ceil(start * (1 + p.value / 100));
          limit = up.selectPolicy === 'Min' ? Math.min(limit, proposed) : Math.max(limit, proposed);
        }
      limit = Math.max(limit, current);
      let allowed = maxReplicas;
      if (allowed > limit) {
        allowed = limit;
        limitReason = 'ScaleUpLimit';
        limitMessage = 'the desired replica count is increasing faster than the maximum scale rate';
      } else {
        limitReason = 'TooManyReplicas';
        limitMessage = 'the desired replica count is more than the maximum replica count';
      }
      if (stabilized > allowed) final = allowed;
    } else if (stabilized < current) {
      let limit = down.selectPolicy === 'Disabled' ? current : down.selectPolicy === 'Min' ? -Infinity : Infinity;
      if (down.selectPolicy !== 'Disabled')
        for (const p of down.policies) {
          const start = periodStart(p);
          const proposed = p.type === 'Pods' ? start - p.value : Math.floor(start * (1 - p.value / 100));
          limit = down.selectPolicy === 'Min' ? Math.max(limit, proposed) : Math.min(limit, proposed);
        }
      limit = Math.min(limit, current);
      let allowed = minReplicas;
      if (allowed < limit) {
        allowed = limit;
        limitReason = 'ScaleDownLimit';
        limitMessage = 'the desired replica count is decreasing faster than the maximum scale rate';
      } else {
        limitReason = 'TooFewReplicas';
        limitMessage = 'the desired replica count is less than the minimum replica count';
      }
      if (stabilized < allowed) final = allowed;
    }
    if (final === stabilized) {
      limitReason = 'DesiredWithinRange';
      limitMessage = 'the desired count is within the acceptable range';
    }
    cond('ScalingLimited', final === stabilized ? 'False' : 'True', limitReason, limitMessage);
    recheck = final !== raw;
    desired = final;
  } else if (reason) {
    cond('AbleToScale', 'True', 'ReadyForNewScale', 'recommended size matches current size');
    cond(
      'ScalingLimited',
      'True',
      desired > current ? 'TooFewReplicas' : 'TooManyReplicas',
      desired > current
        ? 'the desired replica count is less than the minimum replica count'
        : 'the desired replica count is more than the maximum replica count',
    );
  }
  const status: Obj = { ...base, currentReplicas: current, desiredReplicas: desired };
  if (currentMetrics.length > 0 && currentMetrics.some((m) => Object.keys(m).length > 1))
    status.currentMetrics = currentMetrics;
  const decision: HpaDecision = { status, events, recheck };
  if (desired !== current && reason) {
    decision.scaleTo = desired;
    cond(
      'AbleToScale',
      'True',
      'SucceededRescale',
      `the HPA controller was able to update the target scale to ${desired}`,
    );
    events.push({ type: 'Normal', reason: 'SuccessfulRescale', message: `New size: ${desired}; reason: ${reason}` });
    status.lastScaleTime = kubeTime(new Date(now));
    if (desired > current) memory.scaleUps.push({ at: now, change: desired - current });
    else memory.scaleDowns.push({ at: now, change: current - desired });
    const keep = now - 3600_000;
    memory.scaleUps = within(memory.scaleUps, keep);
    memory.scaleDowns = within(memory.scaleDowns, keep);
  }
  const order = ['AbleToScale', 'ScalingActive', 'ScalingLimited'];
  status.conditions = [...conditions].sort((a, b) => order.indexOf(a.type) - order.indexOf(b.type));
  return decision;
}

const TARGET_KINDS: Record<string, SimulatedKind> = {
  Deployment: 'Deployment',
  ReplicaSet: 'ReplicaSet',
  StatefulSet: 'StatefulSet',
};

/** The HPA controller of one cluster: memory per HPA, a 15 s recheck only while a change is held back. */
export class Autoscalers {
  private readonly memory = new Map<string, HpaMemory>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly warned = new Map<string, string>();

  constructor(private readonly ctx: SimContext) {}

  forget(key: string): void {
    this.ctx.queue.cancel(this.timers.get(key));
    this.timers.delete(key);
    this.memory.delete(key);
    this.warned.delete(key);
  }

  resyncAll(): void {
    for (const h of this.ctx.cache.list('HorizontalPodAutoscaler'))
      this.ctx.enqueue('HorizontalPodAutoscaler', keyOf(h));
  }

  /** A workload changed: the HPAs scaling it look again. */
  targetChanged(target: KubeObject): void {
    for (const h of this.ctx.cache.inNamespace('HorizontalPodAutoscaler', target.metadata.namespace)) {
      const ref = asObj(specOf(h).scaleTargetRef);
      if (ref.kind === target.kind && ref.name === target.metadata.name)
        this.ctx.enqueue('HorizontalPodAutoscaler', keyOf(h));
    }
  }

  async sync(hpa: KubeObject): Promise<void> {
    const ctx = this.ctx;
    const key = keyOf(hpa);
    if (hpa.metadata.deletionTimestamp) return;
    const ref = asObj(specOf(hpa).scaleTargetRef);
    const kind = TARGET_KINDS[String(ref.kind)];
    const ns = hpa.metadata.namespace;
    const target = kind ? ctx.cache.get(kind, `${ns}/${String(ref.name)}`) : undefined;
    const type = kind ? ctx.types[kind] : undefined;
    const targetName = type
      ? `${type.group ? `${type.plural}.${type.group}` : type.plural} "${String(ref.name)}"`
      : `${String(ref.kind).toLowerCase()} "${String(ref.name)}"`;
    const memory = this.memory.get(key) ?? { recommendations: [], scaleUps: [], scaleDowns: [] };
    this.memory.set(key, memory);
    const pod = target
      ? ctx.cache.owned(target.metadata.uid, kind === 'Deployment' ? 'ReplicaSet' : 'Pod')[0]
      : undefined;
    const podName =
      pod?.kind === 'Pod'
        ? pod.metadata.name
        : pod
          ? ctx.cache.owned(pod.metadata.uid, 'Pod')[0]?.metadata.name
          : undefined;
    const d = decideHpa({ hpa, target, targetName, metrics: ctx.metrics, now: ctx.clock.now(), memory, podName });
    for (const e of d.events) {
      if (e.type === 'Warning') {
        if (this.warned.get(key) === `${e.reason}:${e.message}`) continue;
        this.warned.set(key, `${e.reason}:${e.message}`);
      } else this.warned.delete(key);
      ctx.events.emit(hpa, e.type, e.reason, e.message, 'horizontal-pod-autoscaler');
    }
    if (d.scaleTo !== undefined && target && kind) {
      await ctx.registry.mutate(ctx.types[kind], ns, target.metadata.name!, (o) => {
        if (o.metadata.uid !== target.metadata.uid) return undefined;
        (o.spec as Obj).replicas = d.scaleTo;
        return o;
      });
    }
    await writeStatus(ctx, 'HorizontalPodAutoscaler', hpa, d.status);
    ctx.queue.cancel(this.timers.get(key));
    this.timers.delete(key);
    if (d.recheck) {
      const timer = ctx.queue.after(SYNC_PERIOD_MS, `HorizontalPodAutoscaler-timer:${key}`, async () => {
        this.timers.delete(key);
        ctx.enqueue('HorizontalPodAutoscaler', key);
      });
      if (timer) this.timers.set(key, timer);
    }
  }
}
