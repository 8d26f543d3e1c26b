import { KitfedError } from '../core/errors.js';
import type { KubeObject } from '../core/kube.js';
import type { AdmissionPlugin } from '../apiserver/index.js';
import { formatQuantity, milliValue, resourceList, type Quantity, type ResourceList } from '../core/quantity.js';
import type { SimContext } from './context.js';
import { containersOf, podResources, setResource, type Container } from './podresources.js';
import { asObj, specOf, type Obj } from './util.js';

/**
 * kube's LimitRanger admission plugin: a new pod's containers get the namespace's LimitRange
 * defaults (`default` limits, `defaultRequest` requests; the `kubernetes.io/limit-ranger`
 * annotation says what was set), then pods and PersistentVolumeClaims are checked against
 * `min`, `max` and `maxLimitRequestRatio` per Container, Pod and PersistentVolumeClaim; a
 * violation is kube's 403 (`pods "x" is forbidden: maximum cpu usage per Container is 1, but
 * limit is 2`, several in brackets).
 */

const ANNOTATION = 'kubernetes.io/limit-ranger';

interface LimitItem {
  type?: string;
  min?: Record<string, unknown>;
  max?: Record<string, unknown>;
  default?: Record<string, unknown>;
  defaultRequest?: Record<string, unknown>;
  maxLimitRequestRatio?: Record<string, unknown>;
}

function itemsOf(lr: KubeObject): LimitItem[] {
  return (specOf(lr).limits as LimitItem[] | undefined) ?? [];
}

/** Milli-units when they fit, as kube's requestLimitEnforcedValues compares. */
const value = (q: Quantity) => milliValue(q);
const text = (q: Quantity) => formatQuantity(q);

function minConstraint(
  type: string,
  name: string,
  enforced: Quantity,
  req: ResourceList,
  lim: ResourceList,
): string | undefined {
  const r = req[name];
  const l = lim[name];
  if (!r) return `minimum ${name} usage per ${type} is ${text(enforced)}.  No request is specified`;
  if (value(r) < value(enforced))
    return `minimum ${name} usage per ${type} is ${text(enforced)}, but request is ${text(r)}`;
  if (l && value(l) < value(enforced))
    return `minimum ${name} usage per ${type} is ${text(enforced)}, but limit is ${text(l)}`;
  return undefined;
}

function maxConstraint(
  type: string,
  name: string,
  enforced: Quantity,
  req: ResourceList,
  lim: ResourceList,
): string | undefined {
  const r = req[name];
  const l = lim[name];
  if (!l) return `maximum ${name} usage per ${type} is ${text(enforced)}.  No limit is specified`;
  if (value(l) > value(enforced))
    return `maximum ${name} usage per ${type} is ${text(enforced)}, but limit is ${text(l)}`;
  if (r && value(r) > value(enforced))
    return `maximum ${name} usage per ${type} is ${text(enforced)}, but request is ${text(r)}`;
  return undefined;
}

function maxRequestConstraint(type: string, name: string, enforced: Quantity, req: ResourceList): string | undefined {
  const r = req[name];
  if (!r) return `maximum ${name} usage per ${type} is ${text(enforced)}.  No request is specified`;
  if (value(r) > value(enforced))
    return `maximum ${name} usage per ${type} is ${text(enforced)}, but request is ${text(r)}`;
  return undefined;
}

const ratioOf = (name: string, type: string, enforced: Quantity) =>
  `${name} max limit to request ratio per ${type} is ${text(enforced)}`;

function ratioConstraint(
  type: string,
  name: string,
  enforced: Quantity,
  req: ResourceList,
  lim: ResourceList,
): string | undefined {
  const r = req[name];
  const l = lim[name];
  if (!r || value(r) === 0) return `${ratioOf(name, type, enforced)}, but no request is specified or request is 0`;
  if (!l || value(l) === 0) return `${ratioOf(name, type, enforced)}, but no limit is specified or limit is 0`;
  const ratio = value(l) / value(r);
  if (ratio * 1000 > value(enforced))
    return `${ratioOf(name, type, enforced)}, but provided ratio is ${ratio.toFixed(6)}`;
  return undefined;
}

const sorted = (list: Record<string, unknown> | undefined) =>
  Object.entries(resourceList(list)).sort(([a], [b]) => a.localeCompare(b));

function check(type: string, item: LimitItem, req: ResourceList, lim: ResourceList, errs: string[]): void {
  for (const [k, v] of sorted(item.min)) {
    const e = minConstraint(type, k, v, req, lim);
    if (e) errs.push(e);
  }
  for (const [k, v] of sorted(item.max)) {
    const e = maxConstraint(type, k, v, req, lim);
    if (e) errs.push(e);
  }
  for (const [k, v] of sorted(item.maxLimitRequestRatio)) {
    const e = ratioConstraint(type, k, v, req, lim);
    if (e) errs.push(e);
  }
}

/** Applies the defaults of one LimitRange to a pod (kube's mergePodResourceRequirements). */
export function applyLimitDefaults(pod: KubeObject, lr: KubeObject): void {
  const requests: Record<string, string> = {};
  const limits: Record<string, string> = {};
  for (const item of itemsOf(lr)) {
    if (item.type !== 'Container') continue;
    for (const [k, v] of Object.entries(item.defaultRequest ?? {})) requests[k] = String(v);
    for (const [k, v] of Object.entries(item.default ?? {})) limits[k] = String(v);
  }
  const notes: string[] = [];
  const merge = (c: Container, kind: string) => {
    const set: Record<'requests' | 'limits', string[]> = { requests: [], limits: [] };
    for (const [which, defaults] of [
      ['limits', limits],
      ['requests', requests],
    ] as const) {
      const current = asObj(asObj(c.resources)[which]);
      for (const [k, v] of Object.entries(defaults)) {
        if (current[k] !== undefined) continue;
        setResource(c as Obj, which, k, v);
        set[which].push(k);
      }
    }
    if (set.requests.length) notes.push(`${set.requests.sort().join(', ')} request for ${kind} ${c.name ?? ''}`);
    if (set.limits.length) notes.push(`${set.limits.sort().join(', ')} limit for ${kind} ${c.name ?? ''}`);
  };
  for (const c of containersOf(pod)) merge(c, 'container');
  for (const c of containersOf(pod, true)) merge(c, 'init container');
  if (notes.length > 0)
    pod.metadata.annotations = {
      ...(pod.metadata.annotations ?? {}),
      [ANNOTATION]: `LimitRanger plugin set: ${notes.join('; ')}`,
    };
}

/** The violations of a pod or claim against one LimitRange. */
export function limitViolations(kind: 'Pod' | 'PersistentVolumeClaim', o: KubeObject, lr: KubeObject): string[] {
  const errs: string[] = [];
  for (const item of itemsOf(lr)) {
    if (kind === 'Pod' && item.type === 'Container') {
      for (const c of containersOf(o)) {
        const r = asObj(c.resources);
        check('Container', item, resourceList(r.requests), resourceList(r.limits), errs);
      }
    } else if (kind === 'Pod' && item.type === 'Pod') {
      check('Pod', item, podResources(o, 'requests'), podResources(o, 'limits'), errs);
    } else if (kind === 'PersistentVolumeClaim' && item.type === 'PersistentVolumeClaim') {
      const req = resourceList(asObj(specOf(o).resources).requests);
      for (const [k, v] of sorted(item.min)) {
        const e = minConstraint('PersistentVolumeClaim', k, v, req, {});
        if (e) errs.push(e);
      }
      for (const [k, v] of sorted(item.max)) {
        const e = maxRequestConstraint('PersistentVolumeClaim', k, v, req);
        if (e) errs.push(e);
      }
    }
  }
  return errs;
}

export function limitRangerPlugin(context: () => SimContext | undefined): AdmissionPlugin {
  return {
    name: 'LimitRanger',
    kinds: ['Pod', 'PersistentVolumeClaim'],
    admit(op, t, obj) {
      const ctx = context();
      const ns = obj.metadata.namespace;
      if (!ctx || !ns || t.group !== '') return;
      const kind = t.kind as 'Pod' | 'PersistentVolumeClaim';
      if (kind === 'Pod' && op !== 'CREATE') return;
      if (op !== 'CREATE' && op !== 'UPDATE') return;
      const ranges = ctx.cache
        .inNamespace('LimitRange', ns)
        .filter((lr) => !lr.metadata.deletionTimestamp)
        .sort((a, b) => (a.metadata.name ?? '').localeCompare(b.metadata.name ?? ''));
      if (ranges.length === 0) return;
      const errs: string[] = [];
      for (const lr of ranges) {
        if (kind === 'Pod') applyLimitDefaults(obj, lr);
        errs.push(...limitViolations(kind, obj, lr));
      }
      if (errs.length === 0) return;
      const message = errs.length === 1 ? errs[0]! : `[${errs.join(', ')}]`;
      throw new KitfedError(`${t.plural} "${obj.metadata.name ?? ''}" is forbidden: ${message}`, 403, 'Forbidden', {
        name: obj.metadata.name ?? '',
        group: '',
        kind: t.plural,
      });
    },
  };
}
