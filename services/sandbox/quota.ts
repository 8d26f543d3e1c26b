import { KitfedError } from '../core/errors.js';
import type { KubeObject } from '../core/kube.js';
import { keyPrefix, storageKey, type AdmissionPlugin, type ResourceType } from '../apiserver/index.js';
import {
  add,
  cmp,
  formatList,
  parseQuantity,
  prettyList,
  resourceList,
  zero,
  type ResourceList,
} from '../core/quantity.js';
import type { SimContext } from './context.js';
import { keyOf } from './informer.js';
import { containersOf, isBestEffort, podResources } from './podresources.js';
import { writeStatus } from './replicasets.js';
import { asObj, podPhase, specOf, statusOf } from './util.js';

/**
 * ResourceQuota as kube enforces it: usage of the namespace's objects against `spec.hard` —
 * object counts (`pods`, `services`, `configmaps`, `count/<resource>.<group>`...), pod compute
 * (`requests.cpu`, `limits.memory`, `cpu`...), services (`services.loadbalancers`,
 * `services.nodeports`), claims (`requests.storage`, per StorageClass) and the pod scopes
 * (Terminating, BestEffort, PriorityClass...). Admission refuses what would exceed a quota with
 * kube's 403 ("exceeded quota: NAME, requested: ..., used: ..., limited: ...", "failed quota:
 * NAME: must specify ..."); the quota controller writes `status.hard`/`status.used`.
 *
 * Admission counts from the API server's watch cache plus what it admitted that the cache has not
 * shown yet, so a burst of creates cannot slip past a quota (kube charges `status.used` in
 * admission for the same reason). A charge for a write that then failed later in the request
 * lapses after 30 s (kube's would stay until the quota's next full recalculation).
 */

const POD_RESOURCES = new Set([
  'pods',
  'count/pods',
  'cpu',
  'memory',
  'ephemeral-storage',
  'requests.cpu',
  'requests.memory',
  'requests.ephemeral-storage',
  'limits.cpu',
  'limits.memory',
  'limits.ephemeral-storage',
]);
const SERVICE_RESOURCES = new Set(['services', 'count/services', 'services.loadbalancers', 'services.nodeports']);
const CLAIM_RESOURCES = new Set(['persistentvolumeclaims', 'count/persistentvolumeclaims', 'requests.storage']);
const CLASS_SUFFIX = '.storageclass.storage.k8s.io/';
const LEGACY_COUNTS: Record<string, string> = {
  configmaps: 'configmaps',
  secrets: 'secrets',
  replicationcontrollers: 'replicationcontrollers',
  resourcequotas: 'resourcequotas',
};
/** The resources kube demands every container state when a quota tracks them. */
const MUST_SPECIFY = new Set(['cpu', 'memory', 'requests.cpu', 'requests.memory', 'limits.cpu', 'limits.memory']);
const CHARGE_TTL_MS = 30_000;

const one = () => parseQuantity('1');
const isNative = (name: string) => !name.includes('/') || name.includes('kubernetes.io/');

/** `count/<resource>[.<group>]` for a type. */
export function countName(t: ResourceType): string {
  return `count/${t.plural}${t.group ? `.${t.group}` : ''}`;
}

/** Whether a hard resource name is measured by `t`'s evaluator. */
export function measures(t: ResourceType, name: string): boolean {
  if (name === countName(t)) return true;
  if (t.group === '' && t.kind === 'Pod')
    return (
      POD_RESOURCES.has(name) ||
      name.startsWith('hugepages-') ||
      name.startsWith('requests.hugepages-') ||
      (name.startsWith('requests.') && !isNative(name.slice('requests.'.length)))
    );
  if (t.group === '' && t.kind === 'Service') return SERVICE_RESOURCES.has(name);
  if (t.group === '' && t.kind === 'PersistentVolumeClaim')
    return CLAIM_RESOURCES.has(name) || name.includes(CLASS_SUFFIX);
  return t.group === '' && LEGACY_COUNTS[name] === t.plural;
}

function isTerminal(pod: KubeObject): boolean {
  const phase = podPhase(pod);
  return phase === 'Succeeded' || phase === 'Failed';
}

/** The usage one object adds to quotas of its namespace (kube's evaluators' Usage). */
export function usageOf(t: ResourceType, o: KubeObject): ResourceList {
  const out: ResourceList = { [countName(t)]: one() };
  if (t.group !== '') return out;
  switch (t.kind) {
    case 'Pod': {
      if (isTerminal(o)) return out;
      out.pods = one();
      const requests = podResources(o, 'requests');
      const limits = podResources(o, 'limits');
      for (const r of ['cpu', 'memory', 'ephemeral-storage']) {
        if (requests[r]) out[r] = out[`requests.${r}`] = requests[r];
        if (limits[r]) out[`limits.${r}`] = limits[r];
      }
      for (const [k, v] of Object.entries(requests)) {
        if (k.startsWith('hugepages-')) out[k] = out[`requests.${k}`] = v;
        else if (!isNative(k)) out[`requests.${k}`] = v;
      }
      return out;
    }
    case 'Service': {
      const spec = specOf(o);
      const ports = ((spec.ports as unknown[] | undefined) ?? []).length;
      out.services = one();
      out['services.loadbalancers'] = zero();
      out['services.nodeports'] = zero();
      if (spec.type === 'NodePort') out['services.nodeports'] = parseQuantity(ports);
      if (spec.type === 'LoadBalancer') {
        out['services.loadbalancers'] = one();
        if (spec.allocateLoadBalancerNodePorts !== false) out['services.nodeports'] = parseQuantity(ports);
      }
      return out;
    }
    case 'PersistentVolumeClaim': {
      out.persistentvolumeclaims = one();
      const storage = resourceList(asObj(specOf(o).resources).requests).storage;
      if (storage) out['requests.storage'] = storage;
      const sc = specOf(o).storageClassName;
      if (typeof sc === 'string' && sc) {
        out[`${sc}${CLASS_SUFFIX}persistentvolumeclaims`] = one();
        if (storage) out[`${sc}${CLASS_SUFFIX}requests.storage`] = storage;
      }
      return out;
    }
    default:
      if (LEGACY_COUNTS[t.plural]) out[t.plural] = one();
      return out;
  }
}

interface ScopeRequirement {
  scopeName: string;
  operator: string;
  values?: string[];
}

function scopesOf(quota: KubeObject): ScopeRequirement[] {
  const spec = specOf(quota);
  const out: ScopeRequirement[] = ((spec.scopes as string[] | undefined) ?? []).map((s) => ({
    scopeName: s,
    operator: 'Exists',
  }));
  out.push(...((asObj(spec.scopeSelector).matchExpressions as ScopeRequirement[] | undefined) ?? []));
  return out;
}

function crossNamespaceAffinity(pod: KubeObject): boolean {
  const affinity = asObj(specOf(pod).affinity);
  for (const kind of ['podAffinity', 'podAntiAffinity']) {
    const a = asObj(affinity[kind]);
    const terms = [
      ...((a.requiredDuringSchedulingIgnoredDuringExecution as Array<Record<string, unknown>> | undefined) ?? []),
      ...(
        (a.preferredDuringSchedulingIgnoredDuringExecution as
          Array<{ podAffinityTerm?: Record<string, unknown> }> | undefined) ?? []
      ).map((w) => w.podAffinityTerm ?? {}),
    ];
    if (
      terms.some((t) => (Array.isArray(t.namespaces) && t.namespaces.length > 0) || t.namespaceSelector !== undefined)
    )
      return true;
  }
  return false;
}

function podMatchesScope(pod: KubeObject, s: ScopeRequirement): boolean {
  const deadline = specOf(pod).activeDeadlineSeconds;
  switch (s.scopeName) {
    case 'Terminating':
      return typeof deadline === 'number' && deadline >= 0;
    case 'NotTerminating':
      return !(typeof deadline === 'number' && deadline >= 0);
    case 'BestEffort':
      return isBestEffort(pod);
    case 'NotBestEffort':
      return !isBestEffort(pod);
    case 'PriorityClass': {
      const pc = specOf(pod).priorityClassName;
      const has = typeof pc === 'string' && pc !== '';
      if (s.operator === 'Exists') return has;
      if (s.operator === 'DoesNotExist') return !has;
      if (s.operator === 'In') return has && (s.values ?? []).includes(pc);
      if (s.operator === 'NotIn') return !has || !(s.values ?? []).includes(pc);
      return false;
    }
    case 'CrossNamespacePodAffinity':
      return s.operator === 'DoesNotExist' ? !crossNamespaceAffinity(pod) : crossNamespaceAffinity(pod);
    default:
      return false;
  }
}

/** Whether the quota covers this object: scopes only ever match pods (kube's generic.Matches). */
function quotaMatches(quota: KubeObject, t: ResourceType, o: KubeObject): boolean {
  const scopes = scopesOf(quota);
  if (scopes.length === 0) return true;
  if (!(t.group === '' && t.kind === 'Pod')) return false;
  return scopes.every((s) => podMatchesScope(o, s));
}

function hardOf(quota: KubeObject): ResourceList {
  return resourceList(specOf(quota).hard);
}

function mask(list: ResourceList, names: Iterable<string>): ResourceList {
  const out: ResourceList = {};
  for (const n of names) if (list[n]) out[n] = list[n];
  return out;
}

interface Charge {
  quotaUid: string;
  key: string;
  /** The resourceVersion the object had when charged (undefined: a create). */
  since: string | undefined;
  usage: ResourceList;
  at: number;
}

/** The ResourceQuota admission plugin and controller of one cluster. */
export class Quotas {
  private charges: Charge[] = [];
  private readonly typeCache = new Map<string, ResourceType | null>();

  constructor(private readonly context: () => SimContext | undefined) {}

  private get ctx(): SimContext | undefined {
    return this.context();
  }

  /** The type a hard resource name counts (undefined: none served). */
  private typeFor(ctx: SimContext, name: string): ResourceType | undefined {
    let cached = this.typeCache.get(name);
    if (cached !== undefined) return cached ?? undefined;
    const all = ctx.registry.catalog.all;
    const find = (plural: string, group: string) => all.find((t) => t.plural === plural && t.group === group);
    let t: ResourceType | undefined;
    if (name.startsWith('count/')) {
      const rest = name.slice('count/'.length);
      const dot = rest.indexOf('.');
      t = dot < 0 ? find(rest, '') : find(rest.slice(0, dot), rest.slice(dot + 1));
    } else if (LEGACY_COUNTS[name]) t = find(LEGACY_COUNTS[name], '');
    else if (SERVICE_RESOURCES.has(name)) t = find('services', '');
    else if (CLAIM_RESOURCES.has(name) || name.includes(CLASS_SUFFIX)) t = find('persistentvolumeclaims', '');
    else if (measures(find('pods', '') ?? ctx.types.Pod, name)) t = find('pods', '');
    cached = t ?? null;
    this.typeCache.set(name, cached);
    return t;
  }

  /** What the quota's namespace uses now, per hard resource, from the watch cache. */
  private observed(ctx: SimContext, quota: KubeObject): ResourceList {
    const hard = Object.keys(hardOf(quota));
    const ns = quota.metadata.namespace!;
    const byType = new Map<ResourceType, string[]>();
    for (const name of hard) {
      const t = this.typeFor(ctx, name);
      if (t) byType.set(t, [...(byType.get(t) ?? []), name]);
    }
    const used: ResourceList = {};
    for (const name of hard) used[name] = zero();
    for (const [t, names] of byType) {
      for (const e of ctx.registry.cache.list(`${keyPrefix(t)}${ns}/`).items) {
        if (e.object.metadata.deletionTimestamp && t.kind !== 'Pod') continue;
        if (!quotaMatches(quota, t, e.object)) continue;
        const u = usageOf(t, e.object);
        for (const n of names) if (u[n]) used[n] = add(used[n]!, u[n]);
      }
    }
    return used;
  }

  /** Admitted writes the cache does not show yet, for one quota (expired charges are dropped). */
  private pending(quotaUid: string): ResourceList {
    const now = Date.now();
    if (this.charges.some((c) => now - c.at > CHARGE_TTL_MS))
      this.charges = this.charges.filter((c) => now - c.at <= CHARGE_TTL_MS);
    const out: ResourceList = {};
    for (const c of this.charges) {
      if (c.quotaUid !== quotaUid) continue;
      for (const [k, v] of Object.entries(c.usage)) out[k] = out[k] ? add(out[k], v) : v;
    }
    return out;
  }

  /** The watch cache shows a change of `key` at `resourceVersion`: charges it covers are settled. */
  seen(key: string, resourceVersion: string | undefined): void {
    if (this.charges.length === 0) return;
    this.charges = this.charges.filter((c) => c.key !== key || (c.since !== undefined && c.since === resourceVersion));
  }

  readonly plugin: AdmissionPlugin = {
    name: 'ResourceQuota',
    admit: (op, t, obj, old) => {
      const ctx = this.ctx;
      const ns = obj.metadata.namespace;
      if (!ctx || !ns || !t.namespaced) return;
      const quotas = ctx.cache.inNamespace('ResourceQuota', ns).filter((q) => !q.metadata.deletionTimestamp);
      if (quotas.length === 0) return;
      const isPod = t.group === '' && t.kind === 'Pod';
      const updatable = t.group === '' && (t.kind === 'Service' || t.kind === 'PersistentVolumeClaim');
      if (op === 'UPDATE' && !updatable) return;
      if (op !== 'CREATE' && op !== 'UPDATE') return;
      const what = `${t.group ? `${t.plural}.${t.group}` : t.plural} "${obj.metadata.name ?? ''}"`;
      const forbidden = (message: string) =>
        new KitfedError(`${what} is forbidden: ${message}`, 403, 'Forbidden', {
          name: obj.metadata.name ?? '',
          group: t.group,
          kind: t.plural,
        });
      let delta = usageOf(t, obj);
      if (op === 'UPDATE' && old) {
        const before = usageOf(t, old);
        const d: ResourceList = {};
        for (const k of new Set([...Object.keys(delta), ...Object.keys(before)]))
          d[k] = { nano: (delta[k]?.nano ?? 0n) - (before[k]?.nano ?? 0n), format: (delta[k] ?? before[k])!.format };
        delta = d;
      }
      const charges: Charge[] = [];
      for (const quota of quotas.sort((a, b) => (a.metadata.name ?? '').localeCompare(b.metadata.name ?? ''))) {
        if (!quotaMatches(quota, t, obj)) continue;
        const hard = hardOf(quota);
        const tracked = Object.keys(hard).filter((n) => measures(t, n));
        if (tracked.length === 0) continue;
        if (isPod) {
          const missing = mustSpecify(obj, tracked);
          if (missing) throw forbidden(`failed quota: ${quota.metadata.name}: must specify ${missing}`);
        }
        const requested = mask(delta, tracked);
        if (Object.values(requested).every((q) => q.nano === 0n)) continue;
        const observed = this.observed(ctx, quota);
        const inflight = this.pending(quota.metadata.uid ?? '');
        const used: ResourceList = {};
        for (const n of tracked)
          used[n] = inflight[n] ? add(observed[n] ?? zero(), inflight[n]) : (observed[n] ?? zero());
        const exceeded = Object.keys(requested).filter((n) => cmp(add(used[n]!, requested[n]!), hard[n]!) > 0);
        if (exceeded.length > 0 && Object.values(requested).some((q) => q.nano > 0n)) {
          const requestedText = prettyList(mask(requested, exceeded));
          const usedText = prettyList(mask(used, exceeded));
          const hardText = prettyList(mask(hard, exceeded));
          throw forbidden(
            `exceeded quota: ${quota.metadata.name}, requested: ${requestedText}, ` +
              `used: ${usedText}, limited: ${hardText}`,
          );
        }
        charges.push({
          quotaUid: quota.metadata.uid ?? '',
          key: storageKey(t, ns, obj.metadata.name ?? ''),
          since: op === 'UPDATE' ? old?.metadata.resourceVersion : undefined,
          usage: requested,
          at: Date.now(),
        });
      }
      this.charges.push(...charges);
      for (const c of charges) {
        const q = quotas.find((x) => x.metadata.uid === c.quotaUid);
        if (q) ctx.enqueue('ResourceQuota', keyOf(q));
      }
    },
  };

  /** Queues the namespace's quotas (an object in it changed). */
  touch(namespace: string | undefined): void {
    const ctx = this.ctx;
    if (!ctx || !namespace) return;
    for (const q of ctx.cache.inNamespace('ResourceQuota', namespace)) ctx.enqueue('ResourceQuota', keyOf(q));
  }

  /** The quota controller: `status.hard` and `status.used`; owners it held back are retried when room appears. */
  async sync(quota: KubeObject, retry: (namespace: string) => void): Promise<void> {
    const ctx = this.ctx;
    if (!ctx || quota.metadata.deletionTimestamp) return;
    const hard = hardOf(quota);
    const used = this.observed(ctx, quota);
    const status = { hard: formatList(hard), used: formatList(mask(used, Object.keys(hard))) };
    const before = statusOf(quota) as { hard?: Record<string, string>; used?: Record<string, string> };
    const roomer =
      !before.used ||
      Object.entries(status.used).some(([k, v]) => {
        const prev = before.used?.[k];
        return prev !== undefined && cmp(parseQuantity(v), parseQuantity(prev)) < 0;
      }) ||
      Object.entries(status.hard).some(([k, v]) => {
        const prev = before.hard?.[k];
        return prev === undefined || cmp(parseQuantity(v), parseQuantity(prev)) > 0;
      });
    await writeStatus(ctx, 'ResourceQuota', quota, status);
    if (roomer) retry(quota.metadata.namespace!);
  }
}

/** kube's podEvaluator.Constraints: every container must state what a quota tracks of cpu/memory. */
function mustSpecify(pod: KubeObject, tracked: string[]): string | undefined {
  const required = tracked.filter((n) => MUST_SPECIFY.has(n));
  if (required.length === 0) return undefined;
  const missing = new Map<string, Set<string>>();
  for (const c of [...containersOf(pod), ...containersOf(pod, true)]) {
    const requests = asObj(asObj(c.resources).requests);
    const limits = asObj(asObj(c.resources).limits);
    const has = new Set<string>();
    for (const r of ['cpu', 'memory']) {
      if (requests[r] !== undefined) has.add(r).add(`requests.${r}`);
      if (limits[r] !== undefined) has.add(`limits.${r}`);
    }
    for (const r of required) {
      if (has.has(r)) continue;
      const set = missing.get(r) ?? new Set<string>();
      set.add(c.name ?? '');
      missing.set(r, set);
    }
  }
  if (missing.size === 0) return undefined;
  return [...missing.keys()]
    .sort()
    .map((r) => `${r} for: ${[...missing.get(r)!].sort().join(',')}`)
    .join('; ');
}
