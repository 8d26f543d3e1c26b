import { KitfedError } from './errors.js';
import { cloneJson, isObject, parseApiVersion, type KubeObject } from './kube.js';

/**
 * Conversion between API versions of the built-in kinds, the one implementation used by the
 * API server (the versions it serves beside a kind's storage version: `extensions/v1beta1`
 * in the federation, `autoscaling/v1`, `events.k8s.io/v1`) and by the deployer (manifests in
 * versions a cluster no longer serves, as `kubectl convert` would rewrite them).
 *
 * Each kind has a hub (its current version) and spokes (older or parallel versions) with an
 * `up` conversion to the hub and, for versions that are still served, a `down` from it. An old
 * version's *defaults* are part of its meaning, so `up` applies the ones that differ from the
 * hub's (an extensions/v1beta1 Deployment kept every old ReplicaSet; a v1beta1 DaemonSet
 * updated OnDelete), and the selector those versions defaulted from the template's labels.
 */

export interface GroupVersion {
  group: string;
  version: string;
}

type Obj = Record<string, unknown>;
type Convert = (o: KubeObject) => void;

interface Spoke {
  up: Convert;
  down?: Convert;
}

interface KindConversions {
  kind: string;
  hub: GroupVersion;
  spokes: Record<string, Spoke>;
}

const MAX_INT32 = 2147483647;

const same: Spoke = { up: () => undefined, down: () => undefined };

function gvKey(gv: GroupVersion): string {
  return gv.group ? `${gv.group}/${gv.version}` : gv.version;
}

function child(parent: Obj, key: string): Obj {
  const v = parent[key];
  if (isObject(v)) return v;
  const created: Obj = {};
  parent[key] = created;
  return created;
}

function specOf(o: KubeObject): Obj {
  return child(o, 'spec');
}

// ---- apps ------------------------------------------------------------------------------

/** Old apps versions defaulted `spec.selector` to the pod template's labels; apps/v1 requires it. */
function selectorFromTemplate(o: KubeObject): void {
  const spec = specOf(o);
  if (spec.selector !== undefined) return;
  const template = spec.template;
  const labels = isObject(template) && isObject(template.metadata) ? template.metadata.labels : undefined;
  if (isObject(labels) && Object.keys(labels).length > 0) spec.selector = { matchLabels: { ...labels } };
}

function rollingDefaults(spec: Obj, maxUnavailable: number | string, maxSurge: number | string): void {
  const strategy = child(spec, 'strategy');
  strategy.type ??= 'RollingUpdate';
  if (strategy.type !== 'RollingUpdate') return;
  const ru = child(strategy, 'rollingUpdate');
  ru.maxUnavailable ??= maxUnavailable;
  ru.maxSurge ??= maxSurge;
}

const deploymentExtensions: Spoke = {
  up(o) {
    selectorFromTemplate(o);
    const spec = specOf(o);
    delete spec.rollbackTo;
    spec.revisionHistoryLimit ??= MAX_INT32;
    spec.progressDeadlineSeconds ??= MAX_INT32;
    rollingDefaults(spec, 1, 1);
  },
  down: () => undefined,
};

const deploymentAppsV1beta1: Spoke = {
  up(o) {
    selectorFromTemplate(o);
    const spec = specOf(o);
    delete spec.rollbackTo;
    spec.revisionHistoryLimit ??= 2;
    spec.progressDeadlineSeconds ??= 600;
    rollingDefaults(spec, '25%', '25%');
  },
};

const selectorOnly: Spoke = { up: selectorFromTemplate, down: () => undefined };

const daemonSetExtensions: Spoke = {
  up(o) {
    selectorFromTemplate(o);
    const spec = specOf(o);
    delete spec.templateGeneration;
    const strategy = child(spec, 'updateStrategy');
    strategy.type ??= 'OnDelete';
  },
  down: () => undefined,
};

const statefulSetV1beta1: Spoke = {
  up(o) {
    selectorFromTemplate(o);
    child(specOf(o), 'updateStrategy').type ??= 'OnDelete';
  },
};

// ---- networking ------------------------------------------------------------------------

function backendUp(b: unknown): unknown {
  if (!isObject(b) || b.serviceName === undefined) return b;
  const port = b.servicePort;
  return {
    service: {
      name: b.serviceName,
      port: typeof port === 'number' || /^\d+$/.test(String(port)) ? { number: Number(port) } : { name: port },
    },
  };
}

function backendDown(b: unknown): unknown {
  if (!isObject(b) || !isObject(b.service)) return b;
  const port = isObject(b.service.port) ? (b.service.port.number ?? b.service.port.name) : undefined;
  return { serviceName: b.service.name, servicePort: port };
}

function ingressPaths(spec: Obj, f: (b: unknown) => unknown, defaultPathType: boolean): void {
  for (const rule of Array.isArray(spec.rules) ? spec.rules : []) {
    const http = isObject(rule) ? rule.http : undefined;
    for (const p of isObject(http) && Array.isArray(http.paths) ? http.paths : []) {
      if (!isObject(p)) continue;
      p.backend = f(p.backend);
      if (defaultPathType) p.pathType ??= 'ImplementationSpecific';
    }
  }
}

const ingressV1beta1: Spoke = {
  up(o) {
    const spec = specOf(o);
    if (spec.backend !== undefined) {
      spec.defaultBackend = backendUp(spec.backend);
      delete spec.backend;
    }
    ingressPaths(spec, backendUp, true);
  },
  down(o) {
    const spec = specOf(o);
    if (spec.defaultBackend !== undefined) {
      spec.backend = backendDown(spec.defaultBackend);
      delete spec.defaultBackend;
    }
    ingressPaths(spec, backendDown, false);
  },
};

// ---- autoscaling -----------------------------------------------------------------------

const HPA_METRICS = 'autoscaling.alpha.kubernetes.io/metrics';
const HPA_CURRENT_METRICS = 'autoscaling.alpha.kubernetes.io/current-metrics';
const HPA_CONDITIONS = 'autoscaling.alpha.kubernetes.io/conditions';
const HPA_BEHAVIOR = 'autoscaling.alpha.kubernetes.io/behavior';
const HPA_ANNOTATIONS = [HPA_METRICS, HPA_CURRENT_METRICS, HPA_CONDITIONS, HPA_BEHAVIOR];

/**
 * Where each field of an autoscaling/v2beta1 metric (the form autoscaling/v1 keeps in its
 * annotations) lives in the v2 metric, per metric source type: v2 groups the flat fields into a
 * `metric` identifier and a `target` (spec) or `current` (status) value.
 */
const V2BETA1_METRIC_FIELDS: Record<'spec' | 'status', Record<string, Record<string, string>>> = {
  spec: {
    Object: {
      target: 'describedObject',
      metricName: 'metric.name',
      selector: 'metric.selector',
      targetValue: 'target.value',
      averageValue: 'target.averageValue',
    },
    Pods: { metricName: 'metric.name', selector: 'metric.selector', targetAverageValue: 'target.averageValue' },
    Resource: {
      name: 'name',
      container: 'container',
      targetAverageUtilization: 'target.averageUtilization',
      targetAverageValue: 'target.averageValue',
    },
    External: {
      metricName: 'metric.name',
      metricSelector: 'metric.selector',
      targetValue: 'target.value',
      targetAverageValue: 'target.averageValue',
    },
  },
  status: {
    Object: {
      target: 'describedObject',
      metricName: 'metric.name',
      selector: 'metric.selector',
      currentValue: 'current.value',
      averageValue: 'current.averageValue',
    },
    Pods: { metricName: 'metric.name', selector: 'metric.selector', currentAverageValue: 'current.averageValue' },
    Resource: {
      name: 'name',
      container: 'container',
      currentAverageUtilization: 'current.averageUtilization',
      currentAverageValue: 'current.averageValue',
    },
    External: {
      metricName: 'metric.name',
      metricSelector: 'metric.selector',
      currentValue: 'current.value',
      currentAverageValue: 'current.averageValue',
    },
  },
};

/** The field holding each metric source type's details. */
const METRIC_SOURCES: Record<string, string> = {
  Object: 'object',
  Pods: 'pods',
  Resource: 'resource',
  ContainerResource: 'containerResource',
  External: 'external',
};

/**
 * One metric (`spec.metrics[]` or `status.currentMetrics[]`) between autoscaling/v2beta1 and v2;
 * a type it does not know passes unchanged. Up, the v2 shape's required parts are always there (a
 * `metric` identifier, a `target` with its `type`, a `current`), as in kube's conversion.
 */
function convertMetric(m: Obj, form: 'spec' | 'status', direction: 'up' | 'down'): Obj {
  const type = typeof m.type === 'string' ? m.type : '';
  const key = METRIC_SOURCES[type];
  const fields = V2BETA1_METRIC_FIELDS[form][type === 'ContainerResource' ? 'Resource' : type];
  if (!key || !fields) return m;
  const source = isObject(m[key]) ? m[key] : {};
  const out: Obj = {};
  for (const [flat, path] of Object.entries(fields)) {
    const [outer, inner] = path.split('.') as [string, string | undefined];
    if (direction === 'down') {
      const holder = inner === undefined ? source : source[outer];
      const v = isObject(holder) ? holder[inner ?? outer] : undefined;
      if (v !== undefined) out[flat] = v;
    } else if (inner === undefined) {
      if (source[flat] !== undefined) out[outer] = source[flat];
    } else {
      const holder = child(out, outer);
      if (source[flat] !== undefined) holder[inner] = source[flat];
    }
  }
  if (direction === 'up' && form === 'spec') {
    const target = child(out, 'target');
    target.type =
      target.averageUtilization !== undefined
        ? 'Utilization'
        : target.averageValue !== undefined
          ? 'AverageValue'
          : 'Value';
  }
  return { type, [key]: out };
}

const metricSpecUp = (m: Obj) => convertMetric(m, 'spec', 'up');
const metricSpecDown = (m: Obj) => convertMetric(m, 'spec', 'down');
const metricStatusUp = (m: Obj) => convertMetric(m, 'status', 'up');
const metricStatusDown = (m: Obj) => convertMetric(m, 'status', 'down');

function isCpuUtilization(m: Obj): boolean {
  const r = isObject(m.resource) ? m.resource : undefined;
  return (
    m.type === 'Resource' &&
    r?.name === 'cpu' &&
    isObject(r.target) &&
    r.target.type === 'Utilization' &&
    r.target.averageUtilization !== undefined
  );
}

function objects(v: unknown): Obj[] {
  return Array.isArray(v) ? v.filter(isObject) : [];
}

function takeJsonAnnotation(o: KubeObject, key: string): unknown {
  const raw = o.metadata.annotations?.[key];
  if (raw === undefined) return undefined;
  delete o.metadata.annotations![key];
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    return undefined;
  }
}

function dropEmptyAnnotations(o: KubeObject): void {
  if (o.metadata.annotations && Object.keys(o.metadata.annotations).length === 0) delete o.metadata.annotations;
}

/** autoscaling/v1 ⇄ v2, as kube's conversion: what v1 cannot express travels in annotations. */
const hpaV1: Spoke = {
  up(o) {
    const spec = specOf(o);
    const metrics: Obj[] = objects(takeJsonAnnotation(o, HPA_METRICS)).map(metricSpecUp);
    if (typeof spec.targetCPUUtilizationPercentage === 'number')
      metrics.push({
        type: 'Resource',
        resource: {
          name: 'cpu',
          target: { type: 'Utilization', averageUtilization: spec.targetCPUUtilizationPercentage },
        },
      });
    delete spec.targetCPUUtilizationPercentage;
    if (metrics.length > 0) spec.metrics = metrics;
    const behavior = takeJsonAnnotation(o, HPA_BEHAVIOR);
    if (isObject(behavior)) spec.behavior = behavior;
    const current = objects(takeJsonAnnotation(o, HPA_CURRENT_METRICS)).map(metricStatusUp);
    const conditions = objects(takeJsonAnnotation(o, HPA_CONDITIONS));
    if (isObject(o.status)) {
      const st = o.status;
      if (current.length > 0) st.currentMetrics = current;
      else if (typeof st.currentCPUUtilizationPercentage === 'number')
        st.currentMetrics = [
          {
            type: 'Resource',
            resource: { name: 'cpu', current: { averageUtilization: st.currentCPUUtilizationPercentage } },
          },
        ];
      delete st.currentCPUUtilizationPercentage;
      if (conditions.length > 0) st.conditions = conditions;
    }
    dropEmptyAnnotations(o);
  },
  down(o) {
    const annotations = { ...(o.metadata.annotations ?? {}) };
    for (const k of HPA_ANNOTATIONS) delete annotations[k];
    const spec = specOf(o);
    const metrics = objects(spec.metrics);
    const cpu = metrics.find(isCpuUtilization);
    const others = metrics.filter((m) => !isCpuUtilization(m)).map(metricSpecDown);
    delete spec.metrics;
    if (cpu) spec.targetCPUUtilizationPercentage = ((cpu.resource as Obj).target as Obj).averageUtilization;
    if (others.length > 0) annotations[HPA_METRICS] = JSON.stringify(others);
    if (spec.behavior !== undefined) {
      annotations[HPA_BEHAVIOR] = JSON.stringify(spec.behavior);
      delete spec.behavior;
    }
    if (isObject(o.status)) {
      const st = o.status;
      const current = objects(st.currentMetrics);
      const cpuNow = current.find(
        (m) =>
          m.type === 'Resource' && isObject(m.resource) && m.resource.name === 'cpu' && isObject(m.resource.current),
      );
      const util = cpuNow ? ((cpuNow.resource as Obj).current as Obj).averageUtilization : undefined;
      if (util !== undefined) st.currentCPUUtilizationPercentage = util;
      if (current.length > 0) annotations[HPA_CURRENT_METRICS] = JSON.stringify(current.map(metricStatusDown));
      delete st.currentMetrics;
      if (Array.isArray(st.conditions) && st.conditions.length > 0)
        annotations[HPA_CONDITIONS] = JSON.stringify(st.conditions);
      delete st.conditions;
    }
    o.metadata.annotations = annotations;
    dropEmptyAnnotations(o);
  },
};

/** autoscaling/v2beta1 → v2: the metric targets changed shape. */
const hpaV2beta1: Spoke = {
  up(o) {
    const spec = specOf(o);
    if (Array.isArray(spec.metrics)) spec.metrics = objects(spec.metrics).map(metricSpecUp);
    if (isObject(o.status) && Array.isArray(o.status.currentMetrics))
      o.status.currentMetrics = objects(o.status.currentMetrics).map(metricStatusUp);
  },
};

// ---- policy ----------------------------------------------------------------------------

/** In policy/v1beta1 an empty selector matched no pods; in v1 it matches all: kube keeps the meaning. */
const pdbV1beta1: Spoke = {
  up(o) {
    const spec = specOf(o);
    if (isObject(spec.selector) && Object.keys(spec.selector).length === 0)
      spec.selector = {
        matchExpressions: [{ key: 'pdb.kubernetes.io/deprecated-v1beta1-empty-selector-match', operator: 'Exists' }],
      };
  },
};

// ---- events ----------------------------------------------------------------------------

/** core/v1 Event field ↔ events.k8s.io/v1 Event field. */
const EVENT_FIELDS: Array<[string, string]> = [
  ['involvedObject', 'regarding'],
  ['message', 'note'],
  ['source', 'deprecatedSource'],
  ['firstTimestamp', 'deprecatedFirstTimestamp'],
  ['lastTimestamp', 'deprecatedLastTimestamp'],
  ['count', 'deprecatedCount'],
  ['reportingComponent', 'reportingController'],
];

function renameFields(o: KubeObject, pairs: Array<[string, string]>): void {
  for (const [from, to] of pairs) {
    if (o[from] !== undefined) o[to] = o[from];
    delete o[from];
  }
}

const eventsV1: Spoke = {
  up: (o) =>
    renameFields(
      o,
      EVENT_FIELDS.map(([core, ev]) => [ev, core]),
    ),
  down: (o) => renameFields(o, EVENT_FIELDS),
};

// ---- flow control ----------------------------------------------------------------------

const plcOld: Spoke = {
  up(o) {
    const limited = isObject(o.spec) && isObject(o.spec.limited) ? o.spec.limited : undefined;
    if (limited && limited.assuredConcurrencyShares !== undefined) {
      limited.nominalConcurrencyShares ??= limited.assuredConcurrencyShares;
      delete limited.assuredConcurrencyShares;
    }
  },
};

// ---- discovery -------------------------------------------------------------------------

const endpointSliceV1beta1: Spoke = {
  up(o) {
    for (const e of objects(o.endpoints)) {
      if (!isObject(e.topology)) continue;
      const topology = { ...(e.topology as Record<string, string>) };
      const zone = topology['topology.kubernetes.io/zone'];
      if (zone !== undefined) {
        e.zone ??= zone;
        delete topology['topology.kubernetes.io/zone'];
      }
      if (Object.keys(topology).length > 0) e.deprecatedTopology = topology;
      delete e.topology;
    }
  },
};

// ---- the table -------------------------------------------------------------------------

function kind(kindName: string, hub: string, spokes: Record<string, Spoke>): KindConversions {
  return { kind: kindName, hub: parseApiVersion(hub), spokes };
}

const CONVERSIONS: KindConversions[] = [
  kind('Deployment', 'apps/v1', {
    'extensions/v1beta1': deploymentExtensions,
    'apps/v1beta1': deploymentAppsV1beta1,
    'apps/v1beta2': same,
  }),
  kind('ReplicaSet', 'apps/v1', { 'extensions/v1beta1': selectorOnly, 'apps/v1beta2': same }),
  kind('DaemonSet', 'apps/v1', { 'extensions/v1beta1': daemonSetExtensions, 'apps/v1beta2': same }),
  kind('StatefulSet', 'apps/v1', { 'apps/v1beta1': statefulSetV1beta1, 'apps/v1beta2': same }),
  kind('ControllerRevision', 'apps/v1', { 'apps/v1beta1': same, 'apps/v1beta2': same }),
  kind('Ingress', 'networking.k8s.io/v1', {
    'extensions/v1beta1': ingressV1beta1,
    'networking.k8s.io/v1beta1': ingressV1beta1,
  }),
  kind('IngressClass', 'networking.k8s.io/v1', { 'networking.k8s.io/v1beta1': same }),
  kind('NetworkPolicy', 'networking.k8s.io/v1', { 'extensions/v1beta1': same }),
  kind('HorizontalPodAutoscaler', 'autoscaling/v2', {
    'autoscaling/v1': hpaV1,
    'autoscaling/v2beta1': hpaV2beta1,
    'autoscaling/v2beta2': same,
  }),
  kind('CronJob', 'batch/v1', { 'batch/v1beta1': same, 'batch/v2alpha1': same }),
  kind('PodDisruptionBudget', 'policy/v1', { 'policy/v1beta1': pdbV1beta1 }),
  kind('Event', 'v1', { 'events.k8s.io/v1': eventsV1, 'events.k8s.io/v1beta1': eventsV1 }),
  kind('PriorityClass', 'scheduling.k8s.io/v1', {
    'scheduling.k8s.io/v1beta1': same,
    'scheduling.k8s.io/v1alpha1': same,
  }),
  kind('StorageClass', 'storage.k8s.io/v1', { 'storage.k8s.io/v1beta1': same }),
  kind('CSIDriver', 'storage.k8s.io/v1', { 'storage.k8s.io/v1beta1': same }),
  kind('CSINode', 'storage.k8s.io/v1', { 'storage.k8s.io/v1beta1': same }),
  kind('VolumeAttachment', 'storage.k8s.io/v1', { 'storage.k8s.io/v1beta1': same }),
  kind('CSIStorageCapacity', 'storage.k8s.io/v1', { 'storage.k8s.io/v1beta1': same }),
  kind('RuntimeClass', 'node.k8s.io/v1', { 'node.k8s.io/v1beta1': same }),
  kind('Lease', 'coordination.k8s.io/v1', { 'coordination.k8s.io/v1beta1': same }),
  kind('EndpointSlice', 'discovery.k8s.io/v1', { 'discovery.k8s.io/v1beta1': endpointSliceV1beta1 }),
  kind('FlowSchema', 'flowcontrol.apiserver.k8s.io/v1', {
    'flowcontrol.apiserver.k8s.io/v1beta1': same,
    'flowcontrol.apiserver.k8s.io/v1beta2': same,
    'flowcontrol.apiserver.k8s.io/v1beta3': same,
  }),
  kind('PriorityLevelConfiguration', 'flowcontrol.apiserver.k8s.io/v1', {
    'flowcontrol.apiserver.k8s.io/v1beta1': plcOld,
    'flowcontrol.apiserver.k8s.io/v1beta2': plcOld,
    'flowcontrol.apiserver.k8s.io/v1beta3': same,
  }),
  ...['Role', 'ClusterRole', 'RoleBinding', 'ClusterRoleBinding'].map((k) =>
    kind(k, 'rbac.authorization.k8s.io/v1', {
      'rbac.authorization.k8s.io/v1beta1': same,
      'rbac.authorization.k8s.io/v1alpha1': same,
    }),
  ),
];

const BY_KIND = new Map(CONVERSIONS.map((c) => [c.kind, c]));

function find(kindName: string, gv: GroupVersion): { conv: KindConversions; spoke?: Spoke } | undefined {
  const conv = BY_KIND.get(kindName);
  if (!conv) return undefined;
  if (gvKey(gv) === gvKey(conv.hub)) return { conv };
  const spoke = conv.spokes[gvKey(gv)];
  return spoke ? { conv, spoke } : undefined;
}

/** Every version kitfed converts `kind` between (its hub first), or [] for kinds without conversions. */
export function versionsOf(kindName: string): GroupVersion[] {
  const conv = BY_KIND.get(kindName);
  if (!conv) return [];
  return [conv.hub, ...Object.keys(conv.spokes).map(parseApiVersion)];
}

/** True when an object of `kind` in `from` can be converted to `to`. */
export function canConvert(kindName: string, from: GroupVersion, to: GroupVersion): boolean {
  if (gvKey(from) === gvKey(to)) return true;
  const a = find(kindName, from);
  const b = find(kindName, to);
  if (!a || !b) return false;
  return b.spoke === undefined || b.spoke.down !== undefined;
}

/**
 * `obj` (in its own apiVersion) converted to `to`: up to the kind's hub, then down to `to`.
 * Returns a copy; throws a 400 KitfedError naming the kind and both versions when there is no
 * conversion.
 */
export function convertObject(obj: KubeObject, to: GroupVersion): KubeObject {
  const from = parseApiVersion(obj.apiVersion);
  if (gvKey(from) === gvKey(to)) return obj;
  const a = find(obj.kind, from);
  const b = find(obj.kind, to);
  if (!a || !b || (b.spoke && !b.spoke.down)) {
    throw new KitfedError(
      `${obj.kind} "${obj.metadata?.name ?? ''}" cannot be converted from ${gvKey(from)} to ${gvKey(to)}`,
      400,
      'BadRequest',
    );
  }
  const out = cloneJson(obj);
  if (!isObject(out.metadata)) out.metadata = {};
  a.spoke?.up(out);
  b.spoke?.down?.(out);
  out.apiVersion = gvKey(to);
  return out;
}

/**
 * The versions an object of `kind` in `from` can be converted to, newest first (the kind's hub,
 * then the others): the deployer applies it in the first one the target cluster serves.
 */
export function conversionTargets(kindName: string, from: GroupVersion): GroupVersion[] {
  return versionsOf(kindName).filter((gv) => gvKey(gv) !== gvKey(from) && canConvert(kindName, from, gv));
}

export { gvKey as groupVersionString };
