/**
 * The federation's record of a workload's revisions, as pure code. The federation runs no
 * Deployment, DaemonSet or StatefulSet controller (each member rolls its own pods out), so without
 * this record `kubectl rollout history` against the federation found nothing and `kubectl rollout
 * undo` had nothing to go back to. kubectl reads the history from the objects the workload
 * controls, one per pod template, numbered (kube's controllers' contract): ReplicaSets for a
 * Deployment, ControllerRevisions for a DaemonSet or StatefulSet. This keeps exactly those in the
 * federation: a new revision when the template changes, an old one brought to the newest number
 * when the template returns to it (an undo), history past `revisionHistoryLimit` dropped. They
 * are never propagated (the default exclusion list): members write their own.
 */
import isEqual from 'lodash/isEqual.js';
import { isObject, type KubeObject, type OwnerReference } from '../../core/kube.js';
import {
  CONTROLLER_REVISION_HASH,
  POD_TEMPLATE_HASH,
  REVISION,
  REVISION_HISTORY,
  canonicalJson,
  controllerRevisionHash,
  inheritedAnnotations,
  nextRevisionHistory,
  revisionOf,
  sameTemplate,
  templateHash,
  templateRevisionData,
} from '../../core/revisions.js';
import { KITFED_PREFIX, REVISION_RECORD_LABEL } from '../constants.js';

/** The kind of record each workload kind keeps its revisions in. */
export const RECORD_KINDS: Record<string, 'ReplicaSet' | 'ControllerRevision'> = {
  Deployment: 'ReplicaSet',
  DaemonSet: 'ControllerRevision',
  StatefulSet: 'ControllerRevision',
};

export interface HistoryInput {
  /** A Deployment, DaemonSet or StatefulSet (`apps/v1`). */
  owner: KubeObject;
  /** Every record of its kind in the owner's namespace (the ones it controls are picked out here). */
  records: KubeObject[];
}

/** A merge patch of a record (of its `status` subresource when `status`). */
export interface RecordPatch {
  name: string;
  body: Record<string, unknown>;
  status?: boolean;
}

export interface HistoryPlan {
  /** A record to create: the current template's first revision. */
  create?: KubeObject;
  patch: RecordPatch[];
  /** Revisions past `revisionHistoryLimit`, oldest first. */
  delete: KubeObject[];
}

type Obj = Record<string, unknown>;
const asObj = (v: unknown): Obj => (isObject(v) ? v : {});
const count = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
/** A ControllerRevision's number (a field of its own, not an annotation). */
const numberOf = (cr: KubeObject) => count((cr as { revision?: unknown }).revision);

function controlledBy(record: KubeObject, owner: KubeObject): boolean {
  return (record.metadata.ownerReferences ?? []).some((r) => r.controller === true && r.uid === owner.metadata.uid);
}

function ownerReference(owner: KubeObject): OwnerReference {
  return {
    apiVersion: 'apps/v1',
    kind: owner.kind,
    name: owner.metadata.name!,
    uid: owner.metadata.uid!,
    controller: true,
    blockOwnerDeletion: true,
  };
}

/** The owner's annotations a record keeps (kube's rule), without kitfed's own bookkeeping on the owner. */
function inherited(owner: KubeObject): Record<string, string> {
  const kept = owner.kind === 'Deployment' ? inheritedAnnotations(owner) : (owner.metadata.annotations ?? {});
  return Object.fromEntries(Object.entries(kept).filter(([k]) => !k.startsWith(KITFED_PREFIX)));
}

/** The first hash whose name `<owner>-<hash>` no other record holds (kube's collision count). */
function freeHash(owner: KubeObject, taken: Set<string>, hash: (collisions: number) => string): string {
  for (let collisions = 0; ; collisions++) {
    const h = hash(collisions);
    if (!taken.has(`${owner.metadata.name}-${h}`)) return h;
  }
}

function templateLabels(owner: KubeObject): Record<string, string> {
  return (asObj(asObj(asObj(owner.spec).template).metadata).labels as Record<string, string> | undefined) ?? {};
}

export function decide(input: HistoryInput): HistoryPlan {
  const { owner } = input;
  if (owner.metadata.deletionTimestamp || !owner.metadata.uid || !RECORD_KINDS[owner.kind])
    return { patch: [], delete: [] };
  const owned = input.records.filter((r) => controlledBy(r, owner) && !r.metadata.deletionTimestamp);
  const taken = new Set(input.records.map((r) => r.metadata.name!));
  return owner.kind === 'Deployment' ? replicaSets(owner, owned, taken) : controllerRevisions(owner, owned, taken);
}

/** The records past the owner's `revisionHistoryLimit` (default 10), oldest first, of `old` sorted oldest first. */
function pastLimit(owner: KubeObject, old: KubeObject[]): KubeObject[] {
  const limit = asObj(owner.spec).revisionHistoryLimit;
  return old.slice(0, Math.max(0, old.length - (typeof limit === 'number' ? limit : 10)));
}

// ---- Deployments: ReplicaSets -------------------------------------------------------------

/** The current revision's status: the Deployment's updated replicas (zero counts left out, as kube does). */
function currentStatus(d: KubeObject): Obj {
  const s = asObj(d.status);
  const updated = count(s.updatedReplicas);
  const status: Obj = { replicas: updated };
  const more: Obj = {
    fullyLabeledReplicas: updated,
    readyReplicas: Math.min(count(s.readyReplicas), updated),
    availableReplicas: Math.min(count(s.availableReplicas), updated),
  };
  for (const [k, v] of Object.entries(more)) if (v !== 0) status[k] = v;
  return status;
}

/** A status merge patch: `next`, and null for what `before` has and `next` has not. */
function statusPatch(name: string, before: unknown, next: Obj): RecordPatch | undefined {
  if (isEqual(asObj(before), next)) return undefined;
  const removed = Object.keys(asObj(before)).filter((k) => !(k in next));
  return { name, status: true, body: { status: { ...Object.fromEntries(removed.map((k) => [k, null])), ...next } } };
}

function newReplicaSet(d: KubeObject, hash: string, revision: number, replicas: number): KubeObject {
  const spec = asObj(d.spec);
  const template = structuredClone(asObj(spec.template));
  const labels = { ...templateLabels(d), [POD_TEMPLATE_HASH]: hash };
  template.metadata = { ...asObj(template.metadata), labels };
  const selector = structuredClone(asObj(spec.selector));
  selector.matchLabels = { ...asObj(selector.matchLabels), [POD_TEMPLATE_HASH]: hash };
  return {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: {
      name: `${d.metadata.name}-${hash}`,
      namespace: d.metadata.namespace,
      labels: { ...labels, [REVISION_RECORD_LABEL]: 'true' },
      annotations: { ...inherited(d), [REVISION]: String(revision) },
      ownerReferences: [ownerReference(d)],
    },
    spec: { replicas, minReadySeconds: spec.minReadySeconds ?? 0, selector, template },
  };
}

/**
 * A Deployment's ReplicaSets. The current one has the Deployment's `spec.replicas` and counts its
 * updated replicas (its aggregated status); older ones count none. No new one while paused (kube).
 */
function replicaSets(d: KubeObject, owned: KubeObject[], taken: Set<string>): HistoryPlan {
  const plan: HistoryPlan = { patch: [], delete: [] };
  const spec = asObj(d.spec);
  const replicas = typeof spec.replicas === 'number' ? spec.replicas : 1;
  const current = owned.find((rs) => sameTemplate(rs, d));
  const old = owned.filter((rs) => rs !== current).sort((a, b) => revisionOf(a) - revisionOf(b));
  const maxOld = Math.max(0, ...old.map(revisionOf));

  if (!current) {
    if (!spec.paused) {
      const template = spec.template;
      const hash = freeHash(d, taken, (n) => templateHash(n === 0 ? template : [template, n]));
      plan.create = newReplicaSet(d, hash, maxOld + 1, replicas);
    }
  } else {
    const name = current.metadata.name!;
    const annotations: Record<string, string> = { ...(current.metadata.annotations ?? {}), ...inherited(d) };
    if (revisionOf(current) <= maxOld) {
      const history = nextRevisionHistory(current);
      annotations[REVISION] = String(maxOld + 1);
      if (history) annotations[REVISION_HISTORY] = history;
    }
    if (!isEqual(annotations, current.metadata.annotations ?? {}) || asObj(current.spec).replicas !== replicas)
      plan.patch.push({ name, body: { metadata: { annotations }, spec: { replicas } } });
    const status = statusPatch(name, current.status, currentStatus(d));
    if (status) plan.patch.push(status);
  }

  plan.delete = pastLimit(d, old);
  for (const rs of old.slice(plan.delete.length)) {
    const name = rs.metadata.name!;
    if (count(asObj(rs.spec).replicas) !== 0) plan.patch.push({ name, body: { spec: { replicas: 0 } } });
    const status = statusPatch(name, rs.status, { replicas: 0 });
    if (status) plan.patch.push(status);
  }
  return plan;
}

// ---- DaemonSets and StatefulSets: ControllerRevisions ------------------------------------

/** A DaemonSet's or StatefulSet's ControllerRevisions: `data` restores the pod template. */
function controllerRevisions(owner: KubeObject, owned: KubeObject[], taken: Set<string>): HistoryPlan {
  const plan: HistoryPlan = { patch: [], delete: [] };
  const data = templateRevisionData(owner);
  const text = canonicalJson(data);
  const sorted = [...owned].sort((a, b) => numberOf(a) - numberOf(b));
  const max = Math.max(0, ...sorted.map(numberOf));
  const current = sorted.filter((cr) => canonicalJson(cr.data) === text).at(-1);
  if (!current) {
    const hash = freeHash(owner, taken, (n) => controllerRevisionHash(owner, n));
    const labels: Record<string, string> = { ...templateLabels(owner), [REVISION_RECORD_LABEL]: 'true' };
    if (owner.kind === 'DaemonSet') labels[CONTROLLER_REVISION_HASH] = hash;
    const annotations = inherited(owner);
    plan.create = {
      apiVersion: 'apps/v1',
      kind: 'ControllerRevision',
      metadata: {
        name: `${owner.metadata.name}-${hash}`,
        namespace: owner.metadata.namespace,
        labels,
        ...(Object.keys(annotations).length > 0 ? { annotations } : {}),
        ownerReferences: [ownerReference(owner)],
      },
      data,
      revision: max + 1,
    };
  } else if (numberOf(current) < max) {
    plan.patch.push({ name: current.metadata.name!, body: { revision: max + 1 } });
  }
  plan.delete = pastLimit(
    owner,
    sorted.filter((cr) => cr !== current),
  );
  return plan;
}
