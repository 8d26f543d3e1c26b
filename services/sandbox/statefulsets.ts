import { hasCode } from '../core/errors.js';
import { cloneJson, type KubeObject, type OwnerReference } from '../core/kube.js';
import { CONTROLLER_REVISION_HASH } from '../core/revisions.js';
import type { SimContext } from './context.js';
import { keyOf } from './informer.js';
import { createRefusable, writeStatus } from './replicasets.js';
import { ensureRevision, templateOf, truncateHistory, type Revision } from './revisions.js';
import { asObj, isPodReady, num, ownerRef, podPhase, specOf, statusOf, type Obj } from './util.js';

/**
 * The StatefulSet controller, after kube's (pkg/controller/statefulset): pods named
 * `<set>-<ordinal>` with a stable hostname, one PersistentVolumeClaim per volumeClaimTemplate and
 * ordinal (`<template>-<set>-<ordinal>`), created in ordinal order and each Running and Ready
 * before the next (OrderedReady) or all at once (Parallel), removed from the highest ordinal
 * down; rolling updates from the highest ordinal down to the partition, one pod at a time, each
 * recreated from the update revision (a ControllerRevision); OnDelete; the PVC retention policy
 * (ownerReferences to the set or to a scaled-down pod, so the garbage collector deletes them).
 */

export const REVISION_LABEL = CONTROLLER_REVISION_HASH;
export const POD_NAME_LABEL = 'statefulset.kubernetes.io/pod-name';
export const POD_INDEX_LABEL = 'apps.kubernetes.io/pod-index';

export interface StatefulSetInput {
  set: KubeObject;
  /** Pods whose controller is the set. */
  pods: KubeObject[];
  /** PVCs of the set's namespace by name. */
  claims: ReadonlyMap<string, KubeObject>;
  current: Revision;
  update: Revision;
}

export type StatefulSetAction =
  | { type: 'create'; ordinal: number; pod: KubeObject; claims: KubeObject[] }
  | { type: 'delete'; pod: KubeObject; reason: 'condemned' | 'update' | 'failed' }
  | { type: 'claimOwners'; claim: KubeObject; ownerReferences: OwnerReference[] };

export interface StatefulSetDecision {
  actions: StatefulSetAction[];
  status: Obj;
}

const setPrefix = (set: KubeObject) => `${set.metadata.name}-`;

export function ordinalOf(set: KubeObject, pod: KubeObject): number {
  const name = pod.metadata.name ?? '';
  const prefix = setPrefix(set);
  if (!name.startsWith(prefix)) return -1;
  const rest = name.slice(prefix.length);
  return /^(0|[1-9]\d*)$/.test(rest) ? Number(rest) : -1;
}

const terminating = (p: KubeObject) => p.metadata.deletionTimestamp !== undefined;
const runningAndReady = (p: KubeObject) => podPhase(p) === 'Running' && isPodReady(p);
const healthy = (p: KubeObject) => runningAndReady(p) && !terminating(p);
const revisionOf = (p: KubeObject) => p.metadata.labels?.[REVISION_LABEL] ?? '';

interface ClaimTemplate {
  metadata?: { name?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: Obj;
}

function claimTemplates(set: KubeObject): ClaimTemplate[] {
  return (specOf(set).volumeClaimTemplates as ClaimTemplate[] | undefined) ?? [];
}

export function claimName(template: ClaimTemplate, set: KubeObject, ordinal: number): string {
  return `${template.metadata?.name ?? ''}-${set.metadata.name}-${ordinal}`;
}

function retention(set: KubeObject): { whenDeleted: string; whenScaled: string } {
  const p = asObj(specOf(set).persistentVolumeClaimRetentionPolicy);
  return { whenDeleted: String(p.whenDeleted ?? 'Retain'), whenScaled: String(p.whenScaled ?? 'Retain') };
}

function plainRef(owner: KubeObject): OwnerReference {
  return { apiVersion: owner.apiVersion, kind: owner.kind, name: owner.metadata.name!, uid: owner.metadata.uid! };
}

/** The ownerReferences a claim should carry under the retention policy (kube's updateClaimOwnerRefForSetAndPod). */
function claimOwners(
  set: KubeObject,
  claim: KubeObject,
  pod: KubeObject | undefined,
  condemned: boolean,
): OwnerReference[] {
  const { whenDeleted, whenScaled } = retention(set);
  const others = (claim.metadata.ownerReferences ?? []).filter(
    (r) => r.uid !== set.metadata.uid && (!pod || r.uid !== pod.metadata.uid),
  );
  const refs = [...others];
  const scaledDown = condemned && whenScaled === 'Delete';
  if (whenDeleted === 'Delete' && !scaledDown) refs.push(plainRef(set));
  if (scaledDown && pod) refs.push(plainRef(pod));
  return refs;
}

function sameRefs(a: OwnerReference[] | undefined, b: OwnerReference[]): boolean {
  const key = (l: OwnerReference[]) =>
    l
      .map((r) => r.uid)
      .sort()
      .join(',');
  return key(a ?? []) === key(b);
}

/** The pod for `ordinal` from `revision`'s template (kube's newVersionedStatefulSetPod). */
export function podFor(set: KubeObject, revision: Revision, ordinal: number): KubeObject {
  const template = templateOf(revision.data);
  const meta = asObj(template.metadata);
  const spec = cloneJson(asObj(template.spec));
  const name = `${set.metadata.name}-${ordinal}`;
  spec.hostname = name;
  const serviceName = specOf(set).serviceName;
  if (typeof serviceName === 'string' && serviceName) spec.subdomain = serviceName;
  const volumes = ((spec.volumes as Obj[] | undefined) ?? []).filter(
    (v) => !claimTemplates(set).some((t) => t.metadata?.name === v.name),
  );
  for (const t of claimTemplates(set))
    volumes.push({ name: t.metadata?.name, persistentVolumeClaim: { claimName: claimName(t, set, ordinal) } });
  if (volumes.length > 0) spec.volumes = volumes;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: set.metadata.namespace,
      labels: {
        ...((meta.labels as Record<string, string> | undefined) ?? {}),
        [REVISION_LABEL]: revision.name,
        [POD_NAME_LABEL]: name,
        [POD_INDEX_LABEL]: String(ordinal),
      },
      ...(meta.annotations ? { annotations: cloneJson(meta.annotations as Record<string, string>) } : {}),
      ownerReferences: [ownerRef(set)],
    },
    spec,
  };
}

function claimFor(set: KubeObject, template: ClaimTemplate, ordinal: number): KubeObject {
  const selector = asObj(specOf(set).selector).matchLabels as Record<string, string> | undefined;
  const claim: KubeObject = {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: {
      name: claimName(template, set, ordinal),
      namespace: set.metadata.namespace,
      labels: { ...(template.metadata?.labels ?? {}), ...(selector ?? {}) },
      ...(template.metadata?.annotations ? { annotations: { ...template.metadata.annotations } } : {}),
    },
    spec: cloneJson(template.spec ?? {}),
  };
  const refs = claimOwners(set, claim, undefined, false);
  if (refs.length > 0) claim.metadata.ownerReferences = refs;
  return claim;
}

/** One pass of kube's StatefulSet control loop over the set's pods, as pure code. */
export function decideStatefulSet(input: StatefulSetInput): StatefulSetDecision {
  const { set, pods, claims, current, update } = input;
  const spec = specOf(set);
  const replicas = num(spec.replicas, 1);
  const start = num(asObj(spec.ordinals).start, 0);
  const monotonic = spec.podManagementPolicy !== 'Parallel';
  const strategy = asObj(spec.updateStrategy);
  const rolling = (strategy.type ?? 'RollingUpdate') === 'RollingUpdate';
  const partition = rolling ? num(asObj(strategy.rollingUpdate).partition, 0) : 0;

  const slots: Array<KubeObject | undefined> = Array.from({ length: replicas });
  const condemned: KubeObject[] = [];
  for (const p of pods) {
    const ord = ordinalOf(set, p);
    if (ord < 0) continue;
    if (ord >= start && ord < start + replicas) slots[ord - start] = p;
    else condemned.push(p);
  }
  condemned.sort((a, b) => ordinalOf(set, b) - ordinalOf(set, a));

  const status = statusFrom(set, pods, current, update);
  const actions: StatefulSetAction[] = [];
  const decision = { actions, status };
  if (set.metadata.deletionTimestamp) return decision;

  let firstUnhealthy: KubeObject | undefined;
  for (const p of slots) if (p && !healthy(p)) firstUnhealthy ??= p;
  for (let i = condemned.length - 1; i >= 0; i--) if (!healthy(condemned[i]!)) firstUnhealthy ??= condemned[i];
  const missingClaims = (ordinal: number) =>
    claimTemplates(set)
      .map((t) => claimFor(set, t, ordinal))
      .filter((c) => !claims.has(c.metadata.name!));
  const claimsOf = (ordinal: number) =>
    claimTemplates(set)
      .map((t) => claims.get(claimName(t, set, ordinal)))
      .filter((c): c is KubeObject => c !== undefined);

  for (let i = 0; i < slots.length; i++) {
    const ordinal = start + i;
    const pod = slots[i];
    if (!pod) {
      const revision = rolling && ordinal < start + partition ? current : update;
      actions.push({ type: 'create', ordinal, pod: podFor(set, revision, ordinal), claims: missingClaims(ordinal) });
      if (monotonic) return decision;
      continue;
    }
    if (podPhase(pod) === 'Failed' && !terminating(pod)) {
      actions.push({ type: 'delete', pod, reason: 'failed' });
      if (monotonic) return decision;
      continue;
    }
    if (terminating(pod) && monotonic) return decision;
    if (!runningAndReady(pod) && monotonic) return decision;
    for (const claim of claimsOf(ordinal)) {
      const refs = claimOwners(set, claim, pod, false);
      if (!sameRefs(claim.metadata.ownerReferences, refs))
        actions.push({ type: 'claimOwners', claim, ownerReferences: refs });
    }
  }

  for (const pod of condemned) {
    if (terminating(pod)) {
      if (monotonic) return decision;
      continue;
    }
    if (!runningAndReady(pod) && monotonic && pod !== firstUnhealthy) return decision;
    for (const claim of claimsOf(ordinalOf(set, pod))) {
      const refs = claimOwners(set, claim, pod, true);
      if (!sameRefs(claim.metadata.ownerReferences, refs))
        actions.push({ type: 'claimOwners', claim, ownerReferences: refs });
    }
    actions.push({ type: 'delete', pod, reason: 'condemned' });
    if (monotonic) return decision;
  }

  if (!rolling) return decision;
  for (let i = slots.length - 1; i >= Math.max(0, partition); i--) {
    const pod = slots[i];
    if (!pod) return decision;
    if (revisionOf(pod) !== update.name && !terminating(pod)) {
      actions.push({ type: 'delete', pod, reason: 'update' });
      return decision;
    }
    if (!healthy(pod)) return decision;
  }
  return decision;
}

function statusFrom(set: KubeObject, pods: KubeObject[], current: Revision, update: Revision): Obj {
  let replicas = 0;
  let ready = 0;
  let currentReplicas = 0;
  let updated = 0;
  for (const p of pods) {
    if (ordinalOf(set, p) < 0) continue;
    replicas++;
    if (runningAndReady(p)) ready++;
    if (!terminating(p)) {
      if (revisionOf(p) === current.name) currentReplicas++;
      if (revisionOf(p) === update.name) updated++;
    }
  }
  let currentRevision = current.name;
  const rolling = (asObj(specOf(set).updateStrategy).type ?? 'RollingUpdate') === 'RollingUpdate';
  // kube's completeRollingUpdate: every pod is at the update revision and ready.
  if (rolling && updated === replicas && ready === replicas) {
    currentReplicas = updated;
    currentRevision = update.name;
  }
  const status: Obj = {
    observedGeneration: set.metadata.generation ?? 1,
    replicas,
    ...(ready ? { readyReplicas: ready } : {}),
    ...(currentReplicas ? { currentReplicas } : {}),
    ...(updated ? { updatedReplicas: updated } : {}),
    currentRevision,
    updateRevision: update.name,
    collisionCount: num(statusOf(set).collisionCount, 0),
    availableReplicas: ready,
  };
  const conditions = statusOf(set).conditions;
  if (conditions) status.conditions = conditions;
  return status;
}

/** The thin shell: revisions from the cache, one decision, its writes, status once. */
export async function syncStatefulSet(ctx: SimContext, set: KubeObject): Promise<void> {
  if (set.metadata.deletionTimestamp) return;
  const ns = set.metadata.namespace;
  const collisionCount = num(statusOf(set).collisionCount, 0);
  const ensured = await ensureRevision(ctx, set, collisionCount);
  const { update, history } = ensured;
  const currentName = statusOf(set).currentRevision as string | undefined;
  const current = history.find((r) => r.name === currentName) ?? update;
  const pods = ctx.cache.owned(set.metadata.uid, 'Pod');
  const claims = new Map(ctx.cache.inNamespace('PersistentVolumeClaim', ns).map((c) => [c.metadata.name!, c]));
  const { actions, status } = decideStatefulSet({ set, pods, claims, current, update });
  status.collisionCount = ensured.collisionCount;
  const what = `StatefulSet ${set.metadata.name}`;
  for (const a of actions) {
    if (a.type === 'create') {
      let failed = false;
      for (const claim of a.claims) {
        const created = await createRefusable(
          ctx,
          set,
          ctx.types.PersistentVolumeClaim,
          claim,
          (err) =>
            `create Claim ${claim.metadata.name} for Pod ${a.pod.metadata.name} in ${what} failed error: ` +
            err.message,
        ).catch((err: unknown) => {
          if (hasCode(err, 409)) return claim; // created meanwhile
          throw err;
        });
        if (!created) {
          failed = true;
          break;
        }
        ctx.events.emit(
          set,
          'Normal',
          'SuccessfulCreate',
          `create Claim ${claim.metadata.name} Pod ${a.pod.metadata.name} in ${what} success`,
          'statefulset-controller',
        );
      }
      if (failed) break;
      const pod = await createRefusable(
        ctx,
        set,
        ctx.types.Pod,
        a.pod,
        (err) => `create Pod ${a.pod.metadata.name} in ${what} failed error: ${err.message}`,
      ).catch((err: unknown) => {
        if (hasCode(err, 409)) return undefined; // the previous pod of that name is still going away
        throw err;
      });
      if (!pod) break;
      ctx.events.emit(
        set,
        'Normal',
        'SuccessfulCreate',
        `create Pod ${pod.metadata.name} in ${what} successful`,
        'statefulset-controller',
      );
    } else if (a.type === 'delete') {
      try {
        await ctx.registry.delete(ctx.types.Pod, ns, a.pod.metadata.name!, {
          preconditions: { uid: a.pod.metadata.uid },
        });
      } catch (err) {
        if (!hasCode(err, 404) && !hasCode(err, 409)) throw err;
        continue;
      }
      if (a.reason === 'failed')
        ctx.events.emit(
          set,
          'Warning',
          'RecreatingFailedPod',
          `StatefulSet ${keyOf(set)} is recreating failed Pod ${a.pod.metadata.name}`,
          'statefulset-controller',
        );
      ctx.events.emit(
        set,
        'Normal',
        'SuccessfulDelete',
        `delete Pod ${a.pod.metadata.name} in ${what} successful`,
        'statefulset-controller',
      );
    } else {
      await ctx.registry.mutate(ctx.types.PersistentVolumeClaim, ns, a.claim.metadata.name!, (o) => {
        if (o.metadata.uid !== a.claim.metadata.uid) return undefined;
        if (a.ownerReferences.length > 0) o.metadata.ownerReferences = a.ownerReferences;
        else delete o.metadata.ownerReferences;
        return o;
      });
    }
  }
  const live = new Set([current.name, update.name, ...pods.map(revisionOf)]);
  await truncateHistory(ctx, set, history, live, num(specOf(set).revisionHistoryLimit, 10));
  await writeStatus(ctx, 'StatefulSet', set, status);
}
