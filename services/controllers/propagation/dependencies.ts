/**
 * Dependencies follow the workload: the ConfigMaps, Secrets, ServiceAccounts and
 * PersistentVolumeClaims a pod template references, a namespaced object's Namespace and a
 * custom resource's CRD are propagated to every cluster the object lands in, whatever their own
 * placement says, and leave when nothing there needs them (docs/federation.md "Dependencies").
 */
import { isObject, type KubeObject } from '../../core/kube.js';
import { CRD_KIND_ID, type KindInfo } from './catalog.js';
import { podSpecs } from './kinds.js';

type Obj = Record<string, unknown>;

/** Queue key of a federated object: `<kind id>|<namespace>/<name>` (or `<kind id>|<name>`). */
export function queueKey(kindId: string, objKey: string): string {
  return `${kindId}|${objKey}`;
}

export function parseQueueKey(key: string): { kindId: string; objKey: string } {
  const i = key.indexOf('|');
  return { kindId: key.slice(0, i), objKey: key.slice(i + 1) };
}

const list = (v: unknown): Obj[] => (Array.isArray(v) ? v.filter(isObject) : []);
const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/** Names a pod spec references, by kind id. */
function podSpecRefs(spec: Obj, out: Map<string, Set<string>>): void {
  const add = (kind: string, name: string | undefined) => {
    if (!name) return;
    let s = out.get(kind);
    if (!s) out.set(kind, (s = new Set()));
    s.add(name);
  };
  for (const v of list(spec.volumes)) {
    if (isObject(v.configMap)) add('ConfigMap', str(v.configMap.name));
    if (isObject(v.secret)) add('Secret', str(v.secret.secretName));
    if (isObject(v.persistentVolumeClaim)) add('PersistentVolumeClaim', str(v.persistentVolumeClaim.claimName));
    if (isObject(v.projected))
      for (const s of list(v.projected.sources)) {
        if (isObject(s.configMap)) add('ConfigMap', str(s.configMap.name));
        if (isObject(s.secret)) add('Secret', str(s.secret.name));
      }
  }
  for (const c of [...list(spec.containers), ...list(spec.initContainers), ...list(spec.ephemeralContainers)]) {
    for (const e of list(c.env)) {
      const from = isObject(e.valueFrom) ? e.valueFrom : undefined;
      if (from && isObject(from.configMapKeyRef)) add('ConfigMap', str(from.configMapKeyRef.name));
      if (from && isObject(from.secretKeyRef)) add('Secret', str(from.secretKeyRef.name));
    }
    for (const e of list(c.envFrom)) {
      if (isObject(e.configMapRef)) add('ConfigMap', str(e.configMapRef.name));
      if (isObject(e.secretRef)) add('Secret', str(e.secretRef.name));
    }
  }
  for (const s of list(spec.imagePullSecrets)) add('Secret', str(s.name));
  const sa = str(spec.serviceAccountName) ?? str(spec.serviceAccount);
  if (sa && sa !== 'default') add('ServiceAccount', sa);
}

/**
 * Queue keys of the federated objects `obj` needs wherever it lands: its Namespace, its CRD (a
 * custom resource), and what its pod templates reference (same namespace).
 */
export function dependenciesOf(kind: KindInfo, obj: KubeObject): string[] {
  const out: string[] = [];
  const ns = obj.metadata.namespace;
  if (kind.namespaced && ns) out.push(queueKey('Namespace', ns));
  if (kind.crd) out.push(queueKey(CRD_KIND_ID, kind.crd));
  if (ns) {
    const refs = new Map<string, Set<string>>();
    for (const spec of podSpecs(obj)) podSpecRefs(spec, refs);
    for (const [k, names] of [...refs.entries()].sort(([a], [b]) => (a < b ? -1 : 1)))
      for (const name of [...names].sort()) out.push(queueKey(k, `${ns}/${name}`));
  }
  return out;
}

/**
 * Where each dependency is needed: per workload, what it references and the clusters it lands
 * in; per dependency, how many workloads need it in each cluster.
 */
export class DependencyIndex {
  private readonly workloads = new Map<string, { deps: readonly string[]; clusters: readonly string[] }>();
  private readonly need = new Map<string, Map<string, number>>();

  /** Records where `key` lands and what it needs; returns the dependencies whose clusters changed. */
  update(key: string, deps: readonly string[], clusters: readonly string[]): string[] {
    const before = this.workloads.get(key);
    if (before && sameList(before.deps, deps) && sameList(before.clusters, clusters)) return [];
    if (!before && (deps.length === 0 || clusters.length === 0)) return [];
    const delta = new Map<string, Map<string, number>>();
    const add = (d: string, c: string, by: number) => {
      let m = delta.get(d);
      if (!m) delta.set(d, (m = new Map()));
      m.set(c, (m.get(c) ?? 0) + by);
    };
    if (before) for (const d of before.deps) for (const c of before.clusters) add(d, c, -1);
    for (const d of deps) for (const c of clusters) add(d, c, +1);
    if (deps.length === 0 || clusters.length === 0) this.workloads.delete(key);
    else this.workloads.set(key, { deps: [...deps], clusters: [...clusters] });
    const changed: string[] = [];
    for (const [d, m] of delta) {
      let flipped = false;
      for (const [c, by] of m) if (by !== 0 && this.bump(d, c, by)) flipped = true;
      if (flipped && d !== key) changed.push(d);
    }
    return changed;
  }

  remove(key: string): string[] {
    return this.update(key, [], []);
  }

  /** Clusters where some workload needs `dep`, sorted. */
  requiredIn(dep: string): string[] {
    const m = this.need.get(dep);
    return m ? [...m.keys()].sort() : [];
  }

  /** Adds `by` to the count of `dep` in `cluster`; true when it started or stopped being needed there. */
  private bump(dep: string, cluster: string, by: number): boolean {
    let m = this.need.get(dep);
    if (!m) this.need.set(dep, (m = new Map()));
    const was = m.has(cluster);
    const n = (m.get(cluster) ?? 0) + by;
    if (n > 0) m.set(cluster, n);
    else m.delete(cluster);
    if (m.size === 0) this.need.delete(dep);
    return was !== n > 0;
  }
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
