/**
 * The federation's record of a Deployment's revisions, as pure code. The federation runs no
 * Deployment controller (each member rolls its own pods out), so without this record
 * `kubectl rollout history` against the federation found nothing and `kubectl rollout undo` had
 * nothing to go back to. kubectl reads a Deployment's history from the ReplicaSets it controls,
 * one per pod template, each with its revision (kube's deployment controller contract); this
 * keeps exactly those ReplicaSets in the federation: a new revision when the template changes,
 * an old one brought back to the newest revision when the template returns to it (an undo),
 * history past `revisionHistoryLimit` dropped. They are never propagated (their label is on the
 * default exclusion list): members write their own. The current one counts the Deployment's
 * updated replicas (its aggregated status); older ones count none.
 */
import isEqual from 'lodash/isEqual.js';
import { isObject, type KubeObject, type OwnerReference } from '../../core/kube.js';
import {
  POD_TEMPLATE_HASH,
  REVISION,
  REVISION_HISTORY,
  inheritedAnnotations,
  nextRevisionHistory,
  revisionOf,
  sameTemplate,
  templateHash,
} from '../../core/deployment-revisions.js';
import { KITFED_PREFIX, REVISION_RECORD_LABEL } from '../constants.js';

export interface HistoryInput {
  deployment: KubeObject;
  /** Every ReplicaSet in the Deployment's namespace (the ones it controls are picked out here). */
  replicaSets: KubeObject[];
}

export interface HistoryPlan {
  /** A ReplicaSet to create: the current template's first revision. */
  create?: KubeObject;
  /** ReplicaSets whose metadata or spec change (the whole object, resourceVersion kept). */
  update: KubeObject[];
  /** ReplicaSets whose status changes (the whole object with the new status). */
  updateStatus: KubeObject[];
  /** Revisions past `revisionHistoryLimit`, oldest first. */
  delete: KubeObject[];
}

type Obj = Record<string, unknown>;
const asObj = (v: unknown): Obj => (isObject(v) ? v : {});
const count = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : 0);

function controlledBy(rs: KubeObject, d: KubeObject): boolean {
  return (rs.metadata.ownerReferences ?? []).some((r) => r.controller === true && r.uid === d.metadata.uid);
}

/** The Deployment's annotations a record keeps (kube's rule), without kitfed's own bookkeeping on the Deployment. */
function inherited(d: KubeObject): Record<string, string> {
  return Object.fromEntries(Object.entries(inheritedAnnotations(d)).filter(([k]) => !k.startsWith(KITFED_PREFIX)));
}

function ownerReference(d: KubeObject): OwnerReference {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    name: d.metadata.name!,
    uid: d.metadata.uid!,
    controller: true,
    blockOwnerDeletion: true,
  };
}

/** A name `<deployment>-<hash>` no other ReplicaSet holds (kube's collision count, in the hash). */
function freeHash(d: KubeObject, taken: Set<string>): string {
  const template = asObj(d.spec).template;
  for (let collisions = 0; ; collisions++) {
    const hash = templateHash(collisions === 0 ? template : [template, collisions]);
    if (!taken.has(`${d.metadata.name}-${hash}`)) return hash;
  }
}

function newRecord(d: KubeObject, hash: string, revision: number, replicas: number): KubeObject {
  const spec = asObj(d.spec);
  const template = structuredClone(asObj(spec.template));
  const meta = asObj(template.metadata);
  const labels = { ...((meta.labels as Record<string, string> | undefined) ?? {}), [POD_TEMPLATE_HASH]: hash };
  template.metadata = { ...meta, labels };
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

export function decide(input: HistoryInput): HistoryPlan {
  const d = input.deployment;
  const plan: HistoryPlan = { update: [], updateStatus: [], delete: [] };
  if (d.metadata.deletionTimestamp || !d.metadata.uid) return plan;
  const spec = asObj(d.spec);
  const replicas = typeof spec.replicas === 'number' ? spec.replicas : 1;
  const owned = input.replicaSets.filter((rs) => controlledBy(rs, d) && !rs.metadata.deletionTimestamp);
  const current = owned.find((rs) => sameTemplate(rs, d));
  const old = owned.filter((rs) => rs !== current).sort((a, b) => revisionOf(a) - revisionOf(b));
  const maxOld = Math.max(0, ...old.map(revisionOf));

  if (!current) {
    // kube makes no new ReplicaSet while a Deployment is paused.
    if (!spec.paused) {
      const taken = new Set(input.replicaSets.map((rs) => rs.metadata.name!));
      plan.create = newRecord(d, freeHash(d, taken), maxOld + 1, replicas);
    }
  } else {
    const annotations: Record<string, string> = {
      ...(current.metadata.annotations ?? {}),
      ...inherited(d),
    };
    if (revisionOf(current) <= maxOld) {
      const history = nextRevisionHistory(current);
      annotations[REVISION] = String(maxOld + 1);
      if (history) annotations[REVISION_HISTORY] = history;
    }
    const next = {
      ...current,
      metadata: { ...current.metadata, annotations },
      spec: { ...asObj(current.spec), replicas },
    };
    if (!isEqual(next.metadata, current.metadata) || !isEqual(next.spec, current.spec)) plan.update.push(next);
    const status = currentStatus(d);
    if (!isEqual(status, asObj(current.status))) plan.updateStatus.push({ ...current, status });
  }

  const limit = typeof spec.revisionHistoryLimit === 'number' ? spec.revisionHistoryLimit : 10;
  plan.delete = old.slice(0, Math.max(0, old.length - limit));
  for (const rs of old.slice(plan.delete.length)) {
    if (count(asObj(rs.spec).replicas) !== 0) plan.update.push({ ...rs, spec: { ...asObj(rs.spec), replicas: 0 } });
    if (!isEqual(asObj(rs.status), { replicas: 0 })) plan.updateStatus.push({ ...rs, status: { replicas: 0 } });
  }
  return plan;
}
