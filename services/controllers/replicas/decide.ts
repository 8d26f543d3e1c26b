/**
 * One reconcile of a federated ReplicaSet/Deployment as pure code: from the federated object,
 * the Ready clusters and what the controller sees in them, decide the member writes and the
 * federated status (reference §3.3–3.4 and §1.5, with the differences documented in
 * docs/federation.md "ReplicaSets and Deployments").
 */
import isEqual from 'lodash/isEqual.js';
import { KitfedError } from '../../core/errors.js';
import { cloneJson, isObject, objectKey, type Condition, type KubeObject } from '../../core/kube.js';
import { CLUSTER_SELECTOR_ANNOTATION } from '../constants.js';
import { matchesSelector, parseClusterSelector } from '../selector.js';
import {
  ADOPT_ANNOTATION,
  KITFED_PREFIX,
  MANAGED_BY_LABEL,
  MANAGED_BY_VALUE,
  ORIGIN_UID_ANNOTATION,
  adoptionAllowed,
  ownedBy,
} from './ownership.js';
import { schedule, workloadKind, type MemberState, type Schedule, type WorkloadKind } from './schedule.js';
import {
  PROPAGATED_CONDITION,
  SCHEDULED_CONDITION,
  aggregateStatus,
  statusDiffers,
  type MemberContribution,
} from './status.js';

/** Deployment revision annotation: set by each member's deployment controller, never propagated or compared. */
export const DEPLOYMENT_REVISION_ANNOTATION = 'deployment.kubernetes.io/revision';

export interface ClusterInfo {
  name: string;
  labels?: Record<string, string> | undefined;
}

export interface DecideInput {
  federated: KubeObject;
  /** Clusters whose `Ready` condition is True; the others are neither read nor written. */
  readyClusters: readonly ClusterInfo[];
  /** Per Ready cluster: its object of the same name (owned or not) and its pods. */
  members: Readonly<Record<string, MemberState>>;
  now?: number;
}

export type Operation =
  | { type: 'create'; cluster: string; object: KubeObject; replicas: number }
  | { type: 'update'; cluster: string; object: KubeObject; replicas: number; previousReplicas: number }
  | { type: 'delete'; cluster: string; object: KubeObject };

export interface Decision {
  key: string;
  kind: WorkloadKind;
  selected: string[];
  unselected: string[];
  schedule?: Schedule;
  /** Why nothing was scheduled (bad selector or preferences); no member is written then. */
  error?: { reason: 'InvalidClusterSelector' | 'InvalidPreferences'; message: string };
  operations: Operation[];
  /** Selected clusters holding a same-named object kitfed did not create (left alone). */
  notOwned: string[];
  /** The federated object's new status, and whether it differs from the current one. */
  status: Record<string, unknown>;
  statusChanged: boolean;
  /** Reconcile again at this time (ms since epoch), e.g. when a pending pod turns unschedulable. */
  recheckAt?: number;
}

/** The member copy kitfed wants in a cluster: name, namespace, labels, annotations and spec with the planned replicas. */
export function desiredMember(federated: KubeObject, replicas: number): KubeObject {
  const kind = workloadKind(federated);
  const annotations: Record<string, string> = {};
  for (const [k, v] of Object.entries(federated.metadata.annotations ?? {}))
    if (!k.startsWith(KITFED_PREFIX)) annotations[k] = v;
  if (kind === 'Deployment') delete annotations[DEPLOYMENT_REVISION_ANNOTATION];
  annotations[ORIGIN_UID_ANNOTATION] = federated.metadata.uid ?? '';
  const spec = isObject(federated.spec) ? cloneJson(federated.spec) : {};
  spec.replicas = replicas;
  const metadata: KubeObject['metadata'] = {
    name: federated.metadata.name!,
    labels: { ...(federated.metadata.labels ?? {}), [MANAGED_BY_LABEL]: MANAGED_BY_VALUE },
    annotations,
  };
  if (federated.metadata.namespace) metadata.namespace = federated.metadata.namespace;
  return { apiVersion: federated.apiVersion, kind, metadata, spec };
}

function comparableAnnotations(kind: WorkloadKind, a: Record<string, string> | undefined): Record<string, string> {
  const out = { ...(a ?? {}) };
  if (kind === 'Deployment') delete out[DEPLOYMENT_REVISION_ANNOTATION];
  return out;
}

/** v1's `Equivalent`: labels, annotations (Deployment revision ignored) and spec deep-equal. */
export function equivalent(desired: KubeObject, actual: KubeObject): boolean {
  const kind = workloadKind(desired);
  return (
    isEqual(desired.metadata.labels ?? {}, actual.metadata.labels ?? {}) &&
    isEqual(
      comparableAnnotations(kind, desired.metadata.annotations),
      comparableAnnotations(kind, actual.metadata.annotations),
    ) &&
    isEqual(desired.spec ?? {}, actual.spec ?? {})
  );
}

/** The update to send: the member's object with kitfed's labels, annotations and spec (its revision annotation kept). */
function updatedMember(desired: KubeObject, actual: KubeObject): KubeObject {
  const next = cloneJson(actual);
  const annotations = { ...(desired.metadata.annotations ?? {}) };
  const revision = actual.metadata.annotations?.[DEPLOYMENT_REVISION_ANNOTATION];
  if (desired.kind === 'Deployment' && revision !== undefined) annotations[DEPLOYMENT_REVISION_ANNOTATION] = revision;
  next.metadata.labels = { ...(desired.metadata.labels ?? {}) };
  next.metadata.annotations = annotations;
  next.spec = cloneJson(desired.spec);
  delete next.status;
  delete next.metadata.managedFields;
  return next;
}

const replicasOf = (o: KubeObject): number =>
  isObject(o.spec) && typeof o.spec.replicas === 'number' ? o.spec.replicas : 1;

/** Every owned member copy counts in the status when nothing could be scheduled. */
function ownedContributions(
  clusters: readonly string[],
  mine: (c: string) => KubeObject | undefined,
): MemberContribution[] {
  return clusters.flatMap((c) => {
    const o = mine(c);
    return o ? [{ cluster: c, object: o, upToDate: false }] : [];
  });
}

function scheduledCondition(sched: Schedule, selected: number): Omit<Condition, 'lastTransitionTime'> {
  const message = JSON.stringify({ plan: sched.plan, overflow: sched.overflow, unplaced: sched.unplaced });
  if (selected === 0) return { type: SCHEDULED_CONDITION, status: 'False', reason: 'NoClusters', message };
  if (sched.unplaced > 0) return { type: SCHEDULED_CONDITION, status: 'False', reason: 'ReplicasUnplaced', message };
  return {
    type: SCHEDULED_CONDITION,
    status: 'True',
    reason: Object.keys(sched.overflow).length > 0 ? 'Overflow' : 'Planned',
    message,
  };
}

/** Creates/updates for the selected clusters; records not-owned clusters and the copies that count in the status. */
function planMembers(
  federated: KubeObject,
  sched: Schedule,
  selected: readonly string[],
  member: (c: string) => KubeObject | undefined,
  decision: Decision,
): MemberContribution[] {
  const contributions: MemberContribution[] = [];
  const adopt = adoptionAllowed(federated);
  for (const c of selected) {
    const replicas = sched.replicas[c] ?? 0;
    const existing = member(c);
    const owned = existing !== undefined && ownedBy(existing, federated);
    if (existing && !owned && !adopt) {
      decision.notOwned.push(c);
      continue;
    }
    if (existing && owned && existing.metadata.deletionTimestamp) continue; // being deleted: recreated once gone
    const desired = desiredMember(federated, replicas);
    if (!existing) {
      // Era A: a cluster planned 0 gets no new object; an existing one is scaled to 0 and kept.
      if (replicas > 0) decision.operations.push({ type: 'create', cluster: c, object: desired, replicas });
      continue;
    }
    const upToDate = owned && equivalent(desired, existing);
    if (!upToDate)
      decision.operations.push({
        type: 'update',
        cluster: c,
        object: updatedMember(desired, existing),
        replicas,
        previousReplicas: replicasOf(existing),
      });
    if (owned) contributions.push({ cluster: c, object: existing, upToDate });
  }
  return contributions;
}

function propagatedCondition(decision: Decision, matching: number): Omit<Condition, 'lastTransitionTime'> {
  if (decision.notOwned.length > 0) {
    return {
      type: PROPAGATED_CONDITION,
      status: 'False',
      reason: 'NotOwned',
      message: `a ${decision.kind} of the same name that kitfed did not create exists in: ${decision.notOwned.join(', ')} (left alone; annotate ${ADOPT_ANNOTATION}="true" to adopt it)`,
    };
  }
  if (decision.error)
    return {
      type: PROPAGATED_CONDITION,
      status: 'False',
      reason: decision.error.reason,
      message: decision.error.message,
    };
  if (decision.operations.length > 0) {
    const clusters = [...new Set(decision.operations.map((o) => o.cluster))];
    return {
      type: PROPAGATED_CONDITION,
      status: 'False',
      reason: 'Pending',
      message: `writing to ${clusters.join(', ')}`,
    };
  }
  return {
    type: PROPAGATED_CONDITION,
    status: 'True',
    reason: 'InSync',
    message: `${matching} member object(s) match`,
  };
}

/**
 * One reconcile as pure code: cluster selection, the schedule, the member writes (creates and
 * updates in selected clusters, deletes of kitfed's copies in unselected ones) and the new status.
 * A bad selector or undecodable preferences write nothing and are reported in the status.
 */
export function decide(input: DecideInput): Decision {
  const { federated } = input;
  const now = input.now ?? Date.now();
  const kind = workloadKind(federated);
  const ready = input.readyClusters.map((c) => c.name).sort();
  const labels = new Map(input.readyClusters.map((c) => [c.name, c.labels]));
  const decision: Decision = {
    key: objectKey(federated),
    kind,
    selected: [],
    unselected: [],
    operations: [],
    notOwned: [],
    status: {},
    statusChanged: false,
  };
  const member = (c: string): KubeObject | undefined => input.members[c]?.object ?? undefined;
  const mine = (c: string): KubeObject | undefined => {
    const o = member(c);
    return o && ownedBy(o, federated) ? o : undefined;
  };
  const conditions: Array<Omit<Condition, 'lastTransitionTime'>> = [];
  let contributions: MemberContribution[] = [];

  try {
    const requirements = parseClusterSelector(federated.metadata.annotations?.[CLUSTER_SELECTOR_ANNOTATION]);
    for (const c of ready)
      (matchesSelector(requirements, labels.get(c)) ? decision.selected : decision.unselected).push(c);
  } catch (err) {
    const message = `invalid cluster selector: ${err instanceof Error ? err.message : String(err)}`;
    decision.error = { reason: 'InvalidClusterSelector', message };
    conditions.push({ type: SCHEDULED_CONDITION, status: 'False', reason: 'InvalidClusterSelector', message });
    contributions = ownedContributions(ready, mine);
  }

  if (!decision.error) {
    const planningMembers: Record<string, MemberState> = {};
    const adopt = adoptionAllowed(federated);
    for (const c of decision.selected)
      planningMembers[c] = { object: mine(c) ?? (adopt ? member(c) : undefined), pods: input.members[c]?.pods };
    try {
      const sched = schedule(federated, decision.selected, planningMembers, now);
      decision.schedule = sched;
      if (sched.recheckAt !== undefined) decision.recheckAt = sched.recheckAt;
      conditions.push(scheduledCondition(sched, decision.selected.length));
      contributions = planMembers(federated, sched, decision.selected, member, decision);
      for (const c of decision.unselected) {
        const o = mine(c);
        if (o) decision.operations.push({ type: 'delete', cluster: c, object: o });
      }
    } catch (err) {
      if (!(err instanceof KitfedError)) throw err;
      decision.error = { reason: 'InvalidPreferences', message: err.message };
      conditions.push({
        type: SCHEDULED_CONDITION,
        status: 'False',
        reason: 'InvalidPreferences',
        message: err.message,
      });
      contributions = ownedContributions(decision.selected, mine);
    }
  }
  conditions.push(propagatedCondition(decision, contributions.length));

  decision.status = aggregateStatus({
    kind,
    federated,
    members: contributions,
    allWritten: decision.error === undefined && decision.operations.length === 0 && decision.notOwned.length === 0,
    conditions,
    now: new Date(now),
  });
  decision.statusChanged = statusDiffers(federated, decision.status);
  return decision;
}
