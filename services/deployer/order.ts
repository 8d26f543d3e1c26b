/**
 * Apply order within one cluster: Namespaces (and CRDs) first, then configuration, Services,
 * workloads, everything else, Ingresses last; kit's `kit-deployer/dependency-selector` makes an
 * object wait until the objects it selects are applied and healthy. Prune runs in reverse order.
 */
import type { KubeObject } from '../core/kube.js';
import { matches, parseSelector } from './selector.js';

export const DEPENDENCY_ANNOTATION = 'kit-deployer/dependency-selector';

const RANK: Record<string, number> = {
  Namespace: 0,
  CustomResourceDefinition: 0,
  PriorityClass: 1,
  StorageClass: 1,
  ServiceAccount: 1,
  ClusterRole: 1,
  ClusterRoleBinding: 1,
  Role: 1,
  RoleBinding: 1,
  ConfigMap: 1,
  Secret: 1,
  PersistentVolume: 1,
  PersistentVolumeClaim: 1,
  LimitRange: 1,
  ResourceQuota: 1,
  Service: 2,
  Deployment: 3,
  StatefulSet: 3,
  DaemonSet: 3,
  ReplicaSet: 3,
  ReplicationController: 3,
  Pod: 3,
  Job: 3,
  CronJob: 3,
  Ingress: 5,
};

/** Apply wave of a kind: 0 Namespace/CRD, 1 config, 2 Service, 3 workloads, 4 other kinds, 5 Ingress. */
export function kindRank(kind: string): number {
  return RANK[kind] ?? 4;
}

export function dependencySelector(obj: KubeObject): string | undefined {
  return obj.metadata.annotations?.[DEPENDENCY_ANNOTATION];
}

export interface Ordered<T> {
  item: T;
  rank: number;
  /** Indexes (into the same array) of the objects this one waits for: applied and healthy. */
  dependsOn: number[];
}

/**
 * Orders items for apply and resolves dependency selectors among them (same namespace, any kind,
 * the object itself excluded). Throws on a dependency cycle.
 */
export function orderForApply<T>(items: T[], objOf: (t: T) => KubeObject): Array<Ordered<T>> {
  const objs = items.map(objOf);
  const ordered = items.map((item, i) => {
    const sel = dependencySelector(objs[i]!);
    const dependsOn: number[] = [];
    if (sel !== undefined) {
      const reqs = parseSelector(sel);
      objs.forEach((o, j) => {
        if (
          j !== i &&
          (o.metadata.namespace ?? '') === (objs[i]!.metadata.namespace ?? '') &&
          matches(reqs, o.metadata.labels)
        )
          dependsOn.push(j);
      });
    }
    return { item, rank: kindRank(objs[i]!.kind), dependsOn };
  });
  checkAcyclic(ordered, objs);
  return ordered;
}

function checkAcyclic<T>(ordered: Array<Ordered<T>>, objs: KubeObject[]): void {
  const state = new Array<0 | 1 | 2>(ordered.length).fill(0);
  const visit = (i: number, path: number[]): void => {
    if (state[i] === 2) return;
    if (state[i] === 1) {
      const cycle = [...path.slice(path.indexOf(i)), i].map((k) => `${objs[k]!.kind}/${objs[k]!.metadata.name}`);
      throw new Error(`dependency cycle: ${cycle.join(' -> ')}`);
    }
    state[i] = 1;
    for (const d of ordered[i]!.dependsOn) visit(d, [...path, i]);
    state[i] = 2;
  };
  ordered.forEach((_, i) => visit(i, []));
}
