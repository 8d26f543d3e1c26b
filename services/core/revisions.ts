import { isObject, type KubeObject } from './kube.js';

/**
 * How kube records a workload's revisions, shared by the sandbox's controllers (which roll pods
 * out in a member) and the federation's rollout history (which lets `kubectl rollout history` and
 * `undo` work against the federation API). A Deployment: one ReplicaSet per pod template, named
 * `<deployment>-<pod-template-hash>`, its revision in an annotation. A DaemonSet or StatefulSet: one
 * ControllerRevision per pod template, `data` the strategic merge patch that restores it.
 */

export const POD_TEMPLATE_HASH = 'pod-template-hash';
export const REVISION = 'deployment.kubernetes.io/revision';
export const REVISION_HISTORY = 'deployment.kubernetes.io/revision-history';
/** kube-controller-manager's limit of the `revision-history` annotation, in characters. */
const REVISION_HISTORY_CHARS = 2000;

type Obj = Record<string, unknown>;
const asObj = (v: unknown): Obj => (isObject(v) ? v : {});

/** JSON with sorted keys and without null fields: equal objects give equal text whatever their key order. */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (typeof v === 'object' && v !== null) {
    return `{${Object.keys(v)
      .sort()
      .filter((k) => (v as Obj)[k] !== undefined && (v as Obj)[k] !== null)
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((v as Obj)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}

const SAFE = 'bcdfghjklmnpqrstvwxz2456789';

/** kube's pod-template-hash: fnv32a of the template, its decimal digits safe-encoded. */
export function templateHash(template: unknown): string {
  let h = 0x811c9dc5;
  const text = canonicalJson(template);
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return [...String(h)].map((c) => SAFE[c.charCodeAt(0) % SAFE.length]).join('');
}

/** kube's EqualIgnoreHash: the ReplicaSet's pod template is the Deployment's, but for the hash label. */
export function sameTemplate(rs: KubeObject, deployment: KubeObject): boolean {
  const template = asObj(asObj(rs.spec).template);
  const labels = { ...((asObj(template.metadata).labels as Record<string, string> | undefined) ?? {}) };
  delete labels[POD_TEMPLATE_HASH];
  return (
    canonicalJson({ ...template, metadata: { ...asObj(template.metadata), labels } }) ===
    canonicalJson(asObj(deployment.spec).template)
  );
}

/** The revision a ReplicaSet (or Deployment) records; 0 without one. */
export function revisionOf(o: KubeObject): number {
  return Number(o.metadata.annotations?.[REVISION] ?? 0) || 0;
}

/** Annotations a ReplicaSet inherits from its Deployment (kube skips kubectl's and the controller's bookkeeping). */
export function inheritedAnnotations(deployment: KubeObject): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(deployment.metadata.annotations ?? {})) {
    if (k === 'kubectl.kubernetes.io/last-applied-configuration' || k.startsWith('deployment.kubernetes.io/')) continue;
    out[k] = v;
  }
  return out;
}

/**
 * kube's SetNewReplicaSetAnnotations for a reused ReplicaSet taking a newer revision: its previous
 * revision is appended to `revision-history` (oldest entries dropped past the character limit).
 */
export function nextRevisionHistory(rs: KubeObject): string | undefined {
  const previous = rs.metadata.annotations?.[REVISION];
  if (!previous) return rs.metadata.annotations?.[REVISION_HISTORY];
  const history = rs.metadata.annotations?.[REVISION_HISTORY] ?? '';
  if (!history) return previous;
  const entries = history.split(',');
  let total = history.length + previous.length + 1;
  while (total > REVISION_HISTORY_CHARS && entries.length > 0) total -= entries.shift()!.length + 1;
  return [...entries, previous].join(',');
}

/** The label a DaemonSet's ControllerRevisions (and pods) carry their hash in. */
export const CONTROLLER_REVISION_HASH = 'controller-revision-hash';

/** A ControllerRevision's `data` for a StatefulSet or DaemonSet: its pod template, applied with `$patch: replace`. */
export function templateRevisionData(owner: KubeObject): Record<string, unknown> {
  const template = structuredClone(asObj(asObj(owner.spec).template));
  return { spec: { template: { ...template, $patch: 'replace' } } };
}

/** The pod template a ControllerRevision's data holds. */
export function templateOf(data: unknown): Record<string, unknown> {
  const { $patch: _directive, ...template } = asObj(asObj(asObj(data).spec).template);
  void _directive;
  return template;
}

/**
 * The hash in the name `<owner>-<hash>` of a ControllerRevision, as kube names them: a DaemonSet's
 * from its template (also its `controller-revision-hash` label), a StatefulSet's from the data.
 */
export function controllerRevisionHash(owner: KubeObject, collisions: number): string {
  const of = owner.kind === 'DaemonSet' ? asObj(owner.spec).template : templateRevisionData(owner);
  return templateHash(collisions ? [of, collisions] : of);
}
