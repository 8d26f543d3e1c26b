import isEqual from 'lodash/isEqual.js';
import { isObject, type KubeObject } from '../core/kube.js';
import { KITFED_PREFIX } from './constants.js';

/**
 * What the sync controller needs to know about one kind: what of the federated object goes
 * to members, when a member copy already matches, and what status comes back up.
 */
export interface SyncKind {
  apiVersion: string;
  kind: string;
  namespaced: boolean;
  /** The member copy (no ownership markers yet): name, namespace, labels, annotations + the kind's fields. */
  desired(fed: KubeObject): KubeObject;
  /** True when the member object `local` matches `desired` (markers included). */
  equivalent(desired: KubeObject, local: KubeObject): boolean;
  /** The object to PUT to the member: `desired` on top of `local` (keeps what the member assigns). */
  merge(desired: KubeObject, local: KubeObject): KubeObject;
  /** The federated object's new status from the members' copies, or undefined to leave it. */
  aggregateStatus?(fed: KubeObject, locals: KubeObject[]): Record<string, unknown> | undefined;
}

type Obj = Record<string, unknown>;

/** Labels/annotations without kitfed's own bookkeeping keys. */
export function userMap(m: Record<string, string> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(m ?? {})) if (!k.startsWith(KITFED_PREFIX)) out[k] = v;
  return out;
}

function sameMap(a: Record<string, string> | undefined, b: Record<string, string> | undefined): boolean {
  return isEqual(a ?? {}, b ?? {});
}

/** Every field of `want` is in `have` with the same value (member defaults are tolerated). */
export function isSubset(want: unknown, have: unknown): boolean {
  if (Array.isArray(want))
    return Array.isArray(have) && want.length === have.length && want.every((w, i) => isSubset(w, have[i]));
  if (isObject(want)) {
    if (!isObject(have)) return false;
    return Object.entries(want).every(([k, v]) => v === undefined || isSubset(v, (have as Obj)[k]));
  }
  return want === have;
}

interface Fields {
  /** Compared exactly (empty and absent are equal). */
  exact: string[];
  /** Compared as "desired ⊆ member". */
  subset: string[];
}

function genericKind(
  apiVersion: string,
  kind: string,
  namespaced: boolean,
  fields: Fields,
  hooks: Partial<Pick<SyncKind, 'aggregateStatus'>> & {
    strip?: (spec: Obj) => Obj;
    restore?: (spec: Obj, local: Obj) => Obj;
  } = {},
): SyncKind {
  const all = [...fields.exact, ...fields.subset];
  return {
    apiVersion,
    kind,
    namespaced,
    desired(fed) {
      const m = fed.metadata;
      const out: KubeObject = {
        apiVersion,
        kind,
        metadata: {
          name: m.name,
          ...(namespaced ? { namespace: m.namespace } : {}),
          labels: userMap(m.labels),
          annotations: userMap(m.annotations),
        },
      };
      for (const f of all) {
        let v = fed[f];
        if (v === undefined) continue;
        if (f === 'spec' && hooks.strip && isObject(v)) v = hooks.strip(structuredClone(v));
        out[f] = structuredClone(v);
      }
      return out;
    },
    equivalent(desired, local) {
      if (
        !sameMap(desired.metadata.labels, local.metadata.labels) ||
        !sameMap(desired.metadata.annotations, local.metadata.annotations)
      )
        return false;
      for (const f of fields.exact) {
        const a = desired[f];
        const b = local[f];
        const empty = (x: unknown) => x === undefined || x === null || (isObject(x) && Object.keys(x).length === 0);
        if (!(empty(a) && empty(b)) && !isEqual(a, b)) return false;
      }
      for (const f of fields.subset) if (desired[f] !== undefined && !isSubset(desired[f], local[f])) return false;
      return true;
    },
    merge(desired, local) {
      const out: KubeObject = {
        ...local,
        apiVersion,
        kind,
        metadata: { ...local.metadata, labels: desired.metadata.labels, annotations: desired.metadata.annotations },
      };
      for (const f of all) {
        if (desired[f] === undefined) delete out[f];
        else
          out[f] =
            f === 'spec' && hooks.restore && isObject(desired[f]) && isObject(local[f])
              ? hooks.restore(structuredClone(desired[f] as Obj), local[f] as Obj)
              : desired[f];
      }
      delete out.status;
      return out;
    },
    ...(hooks.aggregateStatus ? { aggregateStatus: hooks.aggregateStatus } : {}),
  };
}

const SERVICE_ASSIGNED = ['clusterIP', 'clusterIPs', 'healthCheckNodePort', 'ipFamilies', 'ipFamilyPolicy'];

function stripService(spec: Obj): Obj {
  for (const k of SERVICE_ASSIGNED) delete spec[k];
  if (Array.isArray(spec.ports)) spec.ports = (spec.ports as Obj[]).map(({ nodePort: _n, ...p }) => p);
  return spec;
}

function restoreService(spec: Obj, local: Obj): Obj {
  for (const k of SERVICE_ASSIGNED) if (local[k] !== undefined) spec[k] = local[k];
  const localPorts = (Array.isArray(local.ports) ? local.ports : []) as Obj[];
  if (Array.isArray(spec.ports)) {
    spec.ports = (spec.ports as Obj[]).map((p) => {
      const l = localPorts.find((x) => x.port === p.port && (x.protocol ?? 'TCP') === (p.protocol ?? 'TCP'));
      return l?.nodePort !== undefined ? { ...p, nodePort: l.nodePort } : p;
    });
  }
  return spec;
}

/** Service/Ingress: the union of the members' load-balancer ingress points. */
function aggregateLoadBalancer(fed: KubeObject, locals: KubeObject[]): Record<string, unknown> | undefined {
  const seen = new Map<string, Obj>();
  for (const l of locals) {
    const ing = ((l.status as Obj | undefined)?.loadBalancer as Obj | undefined)?.ingress;
    if (!Array.isArray(ing)) continue;
    for (const i of ing as Obj[]) seen.set(JSON.stringify([i.ip ?? '', i.hostname ?? '']), i);
  }
  const ingress = [...seen.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, v]) => v);
  const status = isObject(fed.status) ? (fed.status as Obj) : {};
  const current = ((status.loadBalancer as Obj | undefined)?.ingress as Obj[] | undefined) ?? [];
  if (isEqual(current, ingress)) return undefined;
  return { ...status, loadBalancer: ingress.length ? { ingress } : {} };
}

/** The kinds synced by default (ReplicaSet/Deployment have their own scheduling controller). */
export const BUILTIN_KINDS: SyncKind[] = [
  genericKind('v1', 'Namespace', false, { exact: [], subset: [] }),
  genericKind('v1', 'Secret', true, { exact: ['data', 'type'], subset: [] }),
  genericKind('v1', 'ConfigMap', true, { exact: ['data', 'binaryData'], subset: [] }),
  genericKind(
    'v1',
    'Service',
    true,
    { exact: [], subset: ['spec'] },
    { strip: stripService, restore: restoreService, aggregateStatus: aggregateLoadBalancer },
  ),
  genericKind(
    'networking.k8s.io/v1',
    'Ingress',
    true,
    { exact: [], subset: ['spec'] },
    { aggregateStatus: aggregateLoadBalancer },
  ),
];

/** A kind named in config: everything but metadata and status is propagated (spec-like fields compared as subsets). */
export function configuredKind(apiVersion: string, kind: string, namespaced: boolean): SyncKind {
  return genericKind(apiVersion, kind, namespaced, { exact: ['data'], subset: ['spec'] });
}
