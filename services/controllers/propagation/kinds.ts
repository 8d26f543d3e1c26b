/**
 * Per-kind rules, the only place where kinds differ: what of a federated object a member
 * gets (everything but metadata and status, minus what each cluster assigns itself), where a
 * scalable kind keeps its replicas, and which status the federation aggregates back. Pure code.
 */
import { createHash } from 'node:crypto';
import { cloneJson, isObject, parseApiVersion, type KubeObject } from '../../core/kube.js';
import { KITFED_PREFIX, MANAGED_BY_LABEL, MANAGED_BY_VALUE, ORIGIN_UID_ANNOTATION } from '../constants.js';
import type { KindInfo } from './catalog.js';

type Obj = Record<string, unknown>;

/** Server-side apply field manager of every member write. */
export const FIELD_MANAGER = 'kitfed-federation';
/** On member copies: hash of the configuration kitfed applied (a field dropped from the template changes it). */
export const APPLIED_HASH_ANNOTATION = 'kitfed.io/applied-hash';

/** Annotations each member's controllers own on their objects (never copied, never compared). */
const MEMBER_OWNED_ANNOTATION_PREFIXES = ['deployment.kubernetes.io/'];

/** Labels kube's Job controller derives from the Job's uid: a member makes its own. */
const JOB_GENERATED_LABELS = [
  'controller-uid',
  'batch.kubernetes.io/controller-uid',
  'job-name',
  'batch.kubernetes.io/job-name',
];

/** Fields a cluster assigns itself, per kind (removed from what members get). */
function stripAssigned(kind: KindInfo, body: Obj): void {
  const spec = isObject(body.spec) ? body.spec : undefined;
  switch (kind.id) {
    case 'Service':
      if (!spec) return;
      if (spec.clusterIP !== 'None') {
        delete spec.clusterIP;
        delete spec.clusterIPs;
      }
      delete spec.ipFamilies;
      delete spec.ipFamilyPolicy;
      delete spec.healthCheckNodePort;
      if (Array.isArray(spec.ports))
        spec.ports = spec.ports.map((p: unknown) => {
          if (!isObject(p)) return p;
          const { nodePort: _n, ...rest } = p;
          void _n;
          return rest;
        });
      return;
    case 'batch/Job': {
      if (!spec) return;
      if (spec.manualSelector !== true) delete spec.selector;
      // The federation ends a finished Job (job-ttl/): a member that deleted its copy itself would
      // see kitfed create it again, and the Job run again.
      delete spec.ttlSecondsAfterFinished;
      const template = isObject(spec.template) ? spec.template : undefined;
      const labels = template && isObject(template.metadata) ? template.metadata.labels : undefined;
      if (isObject(labels)) for (const l of JOB_GENERATED_LABELS) delete labels[l];
      return;
    }
    case 'Pod':
      if (spec) delete spec.nodeName;
      return;
    case 'PersistentVolumeClaim':
      if (spec) delete spec.volumeName;
      return;
    case 'ServiceAccount':
      delete body.secrets;
      return;
    default:
      return;
  }
}

/** Labels or annotations a member gets: without kitfed's own keys and those members' controllers own. */
export function userMap(m: Record<string, string> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(m ?? {}))
    if (!k.startsWith(KITFED_PREFIX) && !MEMBER_OWNED_ANNOTATION_PREFIXES.some((p) => k.startsWith(p))) out[k] = v;
  return out;
}

/** JSON without nulls (kube's "absent"): `creationTimestamp: null` in a template is not a field to own. */
function withoutNulls(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(withoutNulls);
  if (!isObject(v)) return v;
  const out: Obj = {};
  for (const [k, x] of Object.entries(v)) if (x !== null && x !== undefined) out[k] = withoutNulls(x);
  return out;
}

/**
 * What every member gets of `template` before placement, overrides and ownership markers:
 * name, namespace, labels, annotations and every other top-level field except `status`,
 * without what each cluster assigns itself.
 */
export function memberTemplate(kind: KindInfo, template: KubeObject): KubeObject {
  const { apiVersion: _a, kind: _k, metadata, status: _s, ...rest } = template;
  void _a;
  void _k;
  void _s;
  const body = withoutNulls(cloneJson(rest)) as Obj;
  stripAssigned(kind, body);
  const meta: KubeObject['metadata'] = { name: metadata.name };
  if (kind.namespaced) meta.namespace = metadata.namespace;
  const labels = userMap(metadata.labels);
  const annotations = userMap(metadata.annotations);
  if (Object.keys(labels).length > 0) meta.labels = labels;
  if (Object.keys(annotations).length > 0) meta.annotations = annotations;
  return { apiVersion: kind.apiVersion, kind: kind.kind, metadata: meta, ...body };
}

/** `obj` with kitfed's ownership markers for the federated object `uid` and the hash of the result. */
export function withMarkers(obj: KubeObject, uid: string): KubeObject {
  const marked: KubeObject = {
    ...obj,
    metadata: {
      ...obj.metadata,
      labels: { ...(obj.metadata.labels ?? {}), [MANAGED_BY_LABEL]: MANAGED_BY_VALUE },
      annotations: { ...(obj.metadata.annotations ?? {}), [ORIGIN_UID_ANNOTATION]: uid },
    },
  };
  marked.metadata.annotations![APPLIED_HASH_ANNOTATION] = configHash(marked);
  return marked;
}

/** A stable hash of a configuration (keys sorted; kitfed's hash annotation left out). */
export function configHash(obj: unknown): string {
  return createHash('sha256').update(canonical(obj)).digest('hex').slice(0, 20);
}

function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map((x) => canonical(x)).join(',')}]`;
  if (!isObject(v)) return JSON.stringify(v) ?? 'null';
  const keys = Object.keys(v)
    .filter((k) => v[k] !== undefined && k !== APPLIED_HASH_ANNOTATION)
    .sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonical(v[k])}`).join(',')}}`;
}

/**
 * Every field of `want` is in `have` with the same value: what a cluster adds (defaults, its
 * controllers' fields, other managers' labels) is not a difference. Arrays compare item by item
 * and must have the same length; an empty `want` matches an absent field (kube omits empties).
 */
export function isSubset(want: unknown, have: unknown): boolean {
  if (want === null || want === undefined) return have === null || have === undefined;
  if (Array.isArray(want)) {
    if (want.length === 0 && (have === undefined || have === null)) return true;
    return Array.isArray(have) && want.length === have.length && want.every((w, i) => isSubset(w, have[i]));
  }
  if (isObject(want)) {
    if (Object.keys(want).length === 0 && (have === undefined || have === null)) return true;
    if (!isObject(have)) return false;
    for (const [k, w] of Object.entries(want)) if (!isSubset(w, have[k])) return false;
    return true;
  }
  return want === have;
}

// ---- scale --------------------------------------------------------------------------------

function pathParts(path: string): string[] {
  return path.replace(/^\./, '').split('.').filter(Boolean);
}

export function getPath(obj: unknown, path: string): unknown {
  let cur = obj;
  for (const p of pathParts(path)) {
    if (!isObject(cur)) return undefined;
    cur = cur[p];
  }
  return cur;
}

/** A copy of `obj` with `value` at `path` (objects along the path are copied, not shared). */
export function setPath<T extends Obj>(obj: T, path: string, value: unknown): T {
  const parts = pathParts(path);
  const root: Obj = { ...obj };
  let cur = root;
  parts.forEach((p, i) => {
    if (i === parts.length - 1) cur[p] = value;
    else {
      const next: Obj = isObject(cur[p]) ? { ...(cur[p] as Obj) } : {};
      cur[p] = next;
      cur = next;
    }
  });
  return root as T;
}

/** The replicas an object of a scalable kind asks for (kube's default 1). */
export function specReplicas(kind: KindInfo, obj: KubeObject): number {
  const v = getPath(obj, kind.scale?.specReplicasPath ?? '.spec.replicas');
  return typeof v === 'number' ? v : 1;
}

/** Kinds whose member pods are owned by the workload (or its ReplicaSets): current/capacity from pods. */
export const POD_OWNING_KINDS = new Set(['apps/ReplicaSet', 'apps/Deployment', 'apps/StatefulSet']);

/** The preferences annotation of a scalable kind: v1's names for ReplicaSets and Deployments. */
export function preferencesAnnotation(kind: KindInfo): string {
  if (kind.id === 'apps/ReplicaSet' || kind.id === 'extensions/ReplicaSet')
    return 'federation.kubernetes.io/replica-set-preferences';
  if (kind.id === 'apps/Deployment' || kind.id === 'extensions/Deployment')
    return 'federation.kubernetes.io/deployment-preferences';
  return REPLICA_PREFERENCES_ANNOTATION;
}

/** Replica preferences of every scalable kind other than ReplicaSets and Deployments (StatefulSets, CRs). */
export const REPLICA_PREFERENCES_ANNOTATION = 'federation.kubernetes.io/replica-preferences';

// ---- status aggregation ---------------------------------------------------------------------

/**
 * What the federation writes back into a kind's own `status`: the members' counters summed (replicas
 * of scalable kinds, a DaemonSet's scheduled and ready pods, a Job's pods and its completion),
 * load-balancer points, a CronJob's runs, or an autoscaler's replicas and metrics.
 */
export type Aggregation = 'counters' | 'loadBalancer' | 'cronJob' | 'autoscaler' | undefined;

export function aggregationOf(kind: KindInfo): Aggregation {
  if (!kind.statusSubresource) return undefined;
  if (kind.scale || kind.id === 'apps/DaemonSet' || kind.id === 'batch/Job') return 'counters';
  if (kind.id === 'Service' || kind.id === 'networking.k8s.io/Ingress') return 'loadBalancer';
  if (kind.id === 'batch/CronJob') return 'cronJob';
  if (kind.id === HPA_KIND_ID) return 'autoscaler';
  return undefined;
}

/** The members' timestamps at `status.<field>` (RFC 3339, so they sort as text), oldest first. */
export function memberTimes(members: readonly KubeObject[], field: string): string[] {
  return members
    .map((m) => (isObject(m.status) ? m.status[field] : undefined))
    .filter((v): v is string => typeof v === 'string')
    .sort();
}

/**
 * CronJob: each member's CronJob starts its own Jobs, named after the scheduled time, so the same
 * run has the same name everywhere. `active` lists each running Job once (by namespace and name,
 * without the member's uid), `lastScheduleTime` is the latest, and `lastSuccessfulTime` holds only
 * once every copy has succeeded, at the earliest of their times: a run the whole fleet has had.
 */
export function cronJobStatus(previous: unknown, members: readonly KubeObject[]): Obj {
  const statuses = members.map((m) => (isObject(m.status) ? m.status : {}));
  const active = new Map<string, Obj>();
  for (const s of statuses) {
    if (!Array.isArray(s.active)) continue;
    for (const ref of s.active) {
      if (!isObject(ref) || typeof ref.name !== 'string') continue;
      const { uid: _uid, resourceVersion: _rv, ...kept } = ref;
      active.set(`${String(ref.namespace ?? '')}/${ref.name}`, kept);
    }
  }
  const status: Obj = isObject(previous) ? { ...previous } : {};
  delete status.active;
  delete status.lastScheduleTime;
  delete status.lastSuccessfulTime;
  if (active.size > 0) status.active = [...active.keys()].sort().map((k) => active.get(k)!);
  const scheduled = memberTimes(members, 'lastScheduleTime');
  if (scheduled.length > 0) status.lastScheduleTime = scheduled.at(-1);
  const succeeded = memberTimes(members, 'lastSuccessfulTime');
  if (members.length > 0 && succeeded.length === members.length) status.lastSuccessfulTime = succeeded[0];
  return status;
}

/** Service/Ingress: the union of the members' load-balancer ingress points, sorted. */
export function loadBalancerStatus(previous: unknown, members: readonly KubeObject[]): Obj {
  const seen = new Map<string, Obj>();
  for (const l of members) {
    const lb = isObject(l.status) && isObject(l.status.loadBalancer) ? l.status.loadBalancer : undefined;
    if (!lb || !Array.isArray(lb.ingress)) continue;
    for (const i of lb.ingress) if (isObject(i)) seen.set(JSON.stringify([i.ip ?? '', i.hostname ?? '']), i);
  }
  const ingress = [...seen.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, v]) => v);
  const status = isObject(previous) ? { ...previous } : {};
  return { ...status, loadBalancer: ingress.length ? { ingress } : {} };
}

// ---- pod templates --------------------------------------------------------------------------

/** The pod specs a workload runs: `spec.template.spec`, a CronJob's job template, or a Pod's own spec. */
export function podSpecs(obj: KubeObject): Obj[] {
  const spec = isObject(obj.spec) ? obj.spec : undefined;
  if (!spec) return [];
  if (obj.kind === 'Pod') return [spec];
  const out: Obj[] = [];
  const template = isObject(spec.template) ? spec.template : undefined;
  if (template && isObject(template.spec)) out.push(template.spec);
  const jobTemplate = isObject(spec.jobTemplate) && isObject(spec.jobTemplate.spec) ? spec.jobTemplate.spec : undefined;
  const jt = jobTemplate && isObject(jobTemplate.template) ? jobTemplate.template : undefined;
  if (jt && isObject(jt.spec)) out.push(jt.spec);
  return out;
}

// ---- autoscaling ----------------------------------------------------------------------------

/** The HorizontalPodAutoscaler kind: where it points, its copies in the members own the replicas. */
export const HPA_KIND_ID = 'autoscaling/HorizontalPodAutoscaler';

/** What an HPA scales: the group, kind and name of its `scaleTargetRef` (same namespace). */
export function scaleTargetOf(hpa: KubeObject): { group: string; kind: string; name: string } | undefined {
  const ref = isObject(hpa.spec) && isObject(hpa.spec.scaleTargetRef) ? hpa.spec.scaleTargetRef : undefined;
  if (!ref || typeof ref.kind !== 'string' || typeof ref.name !== 'string') return undefined;
  const { group } = parseApiVersion(typeof ref.apiVersion === 'string' ? ref.apiVersion : '');
  return { group, kind: ref.kind, name: ref.name };
}
