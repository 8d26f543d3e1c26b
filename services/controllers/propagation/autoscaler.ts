/**
 * A federated HorizontalPodAutoscaler's status, from its copies: each member's copy scales that
 * member's copy of the target (see PlanInput.autoscaled), so the fleet's figures are theirs put
 * together. Pure code.
 *
 * - `currentReplicas`, `desiredReplicas`: summed.
 * - `currentMetrics`, paired with `spec.metrics` by position as kubectl pairs them: averages
 *   (`averageUtilization`, `averageValue`) are the members' figures weighted by their current
 *   replicas (what one pod of the fleet sees), a `value` (Object and External metrics) is the
 *   largest member's (the member nearest to scaling up). A metric no member reads stays without
 *   `current` (`<unknown>` in kubectl).
 * - `lastScaleTime`: the latest; `observedGeneration` once every copy has seen its spec.
 * - conditions: per type, the worst member's (`ScalingLimited` is the bad one when True), its
 *   message naming the clusters, plus kitfed's `Propagated`.
 */
import { isObject } from '../../core/kube.js';
import { formatQuantity, tryQuantity, type Quantity } from '../../core/quantity.js';
import { memberTimes } from './kinds.js';
import { aggregatedStatusBase, mergeMemberConditions, timedConditions, type StatusInput } from './scale.js';

type Obj = Record<string, unknown>;

/** The field of an autoscaling/v2 MetricSpec or MetricStatus that holds a metric of `type`. */
function sourceField(type: string): string {
  return type.charAt(0).toLowerCase() + type.slice(1);
}

/** What identifies a metric: its type and its source without the reading. */
function identity(metric: Obj): string {
  const type = typeof metric.type === 'string' ? metric.type : '';
  const source = metric[sourceField(type)];
  if (!isObject(source)) return type;
  const { current: _current, target: _target, ...id } = source;
  return `${type}:${JSON.stringify(id)}`;
}

function weightedMean(values: ReadonlyArray<{ v: number; w: number }>): number {
  const weight = values.reduce((s, x) => s + x.w, 0);
  return Math.round(values.reduce((s, x) => s + x.v * x.w, 0) / weight);
}

function weightedQuantity(values: ReadonlyArray<{ q: Quantity; w: number }>): string {
  const weight = BigInt(values.reduce((s, x) => s + x.w, 0));
  const total = values.reduce((s, x) => s + x.q.nano * BigInt(x.w), 0n);
  return formatQuantity({ nano: (total + weight / 2n) / weight, format: values[0]!.q.format });
}

/** One fleet reading from the members' readings of the same metric, with their replicas as weights. */
function combine(readings: ReadonlyArray<{ current: Obj; replicas: number }>): Obj {
  const weights = readings.every((r) => r.replicas <= 0)
    ? readings.map(() => 1)
    : readings.map((r) => Math.max(0, r.replicas));
  const out: Obj = {};
  const utilization = readings.flatMap((r, i) =>
    typeof r.current.averageUtilization === 'number' && weights[i]! > 0
      ? [{ v: r.current.averageUtilization, w: weights[i]! }]
      : [],
  );
  if (utilization.length > 0) out.averageUtilization = weightedMean(utilization);
  const averages = readings.flatMap((r, i) => {
    const q = tryQuantity(r.current.averageValue);
    return q && weights[i]! > 0 ? [{ q, w: weights[i]! }] : [];
  });
  if (averages.length > 0) out.averageValue = weightedQuantity(averages);
  const values = readings.flatMap((r) => {
    const q = tryQuantity(r.current.value);
    return q ? [q] : [];
  });
  if (values.length > 0) {
    out.value = formatQuantity(values.reduce((a, b) => (b.nano > a.nano ? b : a)));
  }
  return out;
}

function fleetMetrics(input: StatusInput): Obj[] {
  const specMetrics =
    isObject(input.federated.spec) && Array.isArray(input.federated.spec.metrics)
      ? (input.federated.spec.metrics as unknown[]).filter(isObject)
      : [];
  const members = input.members.map((m) => {
    const status = isObject(m.object.status) ? m.object.status : {};
    return {
      metrics: Array.isArray(status.currentMetrics) ? (status.currentMetrics as unknown[]) : [],
      replicas: typeof status.currentReplicas === 'number' ? status.currentReplicas : 0,
    };
  });
  return specMetrics.map((spec, i) => {
    const type = typeof spec.type === 'string' ? spec.type : '';
    const field = sourceField(type);
    const key = identity(spec);
    const readings: Array<{ current: Obj; replicas: number }> = [];
    let source: Obj | undefined;
    for (const m of members) {
      const status = m.metrics[i];
      if (!isObject(status) || identity(status) !== key) continue;
      const s = status[field];
      if (!isObject(s)) continue;
      source ??= s;
      if (isObject(s.current)) readings.push({ current: s.current, replicas: m.replicas });
    }
    if (!source) return { type };
    const { current: _current, ...rest } = source;
    return { type, [field]: readings.length > 0 ? { ...rest, current: combine(readings) } : rest };
  });
}

/** The federated HorizontalPodAutoscaler's new `status`. */
export function aggregateAutoscaler(input: StatusInput): Obj {
  const { members } = input;
  const status = aggregatedStatusBase(input);
  const scaled = memberTimes(
    members.map((m) => m.object),
    'lastScaleTime',
  );
  if (scaled.length > 0) status.lastScaleTime = scaled.at(-1);
  const statuses = members.map((m) => (isObject(m.object.status) ? m.object.status : {}));
  const sum = (field: string) => statuses.reduce((n, s) => n + (typeof s[field] === 'number' ? s[field] : 0), 0);
  status.currentReplicas = sum('currentReplicas');
  status.desiredReplicas = sum('desiredReplicas');
  const metrics = fleetMetrics(input);
  if (metrics.length > 0) status.currentMetrics = metrics;
  const conditions = timedConditions(input, [...mergeMemberConditions(members), ...input.conditions]);
  if (conditions.length > 0) status.conditions = conditions;
  return status;
}
