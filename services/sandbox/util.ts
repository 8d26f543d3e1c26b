import type { Condition, KubeObject, OwnerReference } from '../core/kube.js';
import { kubeTime } from '../core/time.js';

/** Small helpers shared by the simulated controllers. */

export type Obj = Record<string, unknown>;

export function nowIso(): string {
  return kubeTime();
}

export function asObj(v: unknown): Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Obj) : {};
}

export function specOf(o: KubeObject): Obj {
  return asObj(o.spec);
}

export function statusOf(o: KubeObject): Obj {
  return asObj(o.status);
}

export function num(v: unknown, fallback = 0): number {
  return typeof v === 'number' && Number.isFinite(v) ? v : fallback;
}

export { canonicalJson, templateHash } from '../core/revisions.js';

/** Resolves an int-or-percent against `total` (percentages round up or down). */
export function intOrPercent(v: unknown, total: number, roundUp: boolean, fallback: number): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string') {
    const m = /^(\d+)%$/.exec(v);
    if (m) {
      const x = (Number(m[1]) * total) / 100;
      return roundUp ? Math.ceil(x) : Math.floor(x);
    }
    if (/^\d+$/.test(v)) return Number(v);
  }
  return fallback;
}

export function controllerOf(o: KubeObject): OwnerReference | undefined {
  return o.metadata.ownerReferences?.find((r) => r.controller === true);
}

export function ownerRef(owner: KubeObject): OwnerReference {
  return {
    apiVersion: owner.apiVersion,
    kind: owner.kind,
    name: owner.metadata.name!,
    uid: owner.metadata.uid!,
    controller: true,
    blockOwnerDeletion: true,
  };
}

export function conditions(o: KubeObject): Condition[] {
  return (statusOf(o).conditions as Condition[] | undefined) ?? [];
}

export function condition(o: KubeObject, type: string): Condition | undefined {
  return conditions(o).find((c) => c.type === type);
}

/**
 * Sets a condition in a list, keeping `lastTransitionTime` when the status is unchanged
 * (and `lastUpdateTime` too unless `touch`).
 */
export function setCondition(list: Condition[], next: Condition, touch = false): Condition[] {
  const now = nowIso();
  const cur = list.find((c) => c.type === next.type);
  const merged: Condition = { ...next };
  if ('lastUpdateTime' in next || cur?.lastUpdateTime) {
    merged.lastUpdateTime =
      cur && cur.status === next.status && cur.reason === next.reason && cur.message === next.message && !touch
        ? cur.lastUpdateTime
        : now;
  }
  merged.lastTransitionTime = cur && cur.status === next.status ? cur.lastTransitionTime : now;
  const out = list.filter((c) => c.type !== next.type);
  const idx = list.findIndex((c) => c.type === next.type);
  out.splice(idx < 0 ? out.length : idx, 0, merged);
  return out;
}

export function isPodReady(p: KubeObject): boolean {
  return condition(p, 'Ready')?.status === 'True';
}

export function podPhase(p: KubeObject): string {
  return String(statusOf(p).phase ?? 'Pending');
}

/** Not terminal and not being deleted: what a controller counts as an existing replica. */
export function isPodActive(p: KubeObject): boolean {
  const phase = podPhase(p);
  return !p.metadata.deletionTimestamp && phase !== 'Succeeded' && phase !== 'Failed';
}

export function byCreation(a: KubeObject, b: KubeObject): number {
  return (
    (a.metadata.creationTimestamp ?? '').localeCompare(b.metadata.creationTimestamp ?? '') ||
    (a.metadata.name ?? '').localeCompare(b.metadata.name ?? '')
  );
}

/** Drops zero and undefined counters, as kube's `omitempty` status fields serialise. */
export function omitZero(o: Obj, keep: string[] = []): Obj {
  const out: Obj = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined && (v !== 0 || keep.includes(k))) out[k] = v;
  return out;
}
