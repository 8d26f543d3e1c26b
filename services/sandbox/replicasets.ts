import type { KitfedError } from '../core/errors.js';
import { hasCode } from '../core/errors.js';
import type { ResourceType } from '../apiserver/index.js';
import { keyOf } from './informer.js';
import { cloneJson, type KubeObject } from '../core/kube.js';
import { CONTROLLER_MANAGER, type SimContext, type SimulatedKind } from './context.js';
import {
  asObj,
  byCreation,
  isPodActive,
  isPodReady,
  num,
  omitZero,
  ownerRef,
  podPhase,
  specOf,
  statusOf,
  type Obj,
} from './util.js';

/** The ReplicaSet controller: keeps `spec.replicas` pods and reports their counts in status. */

const BURST = 500;

/** kube's deletion ranking: unbound < pending < not ready < ready, newest first. */
function deletionRank(p: KubeObject): number {
  if (!specOf(p).nodeName) return 0;
  if (podPhase(p) === 'Pending') return 1;
  if (!isPodReady(p)) return 2;
  return 3;
}

export function podFromTemplate(
  owner: KubeObject,
  extraLabels: Record<string, string> = {},
  nodeName?: string,
): KubeObject {
  const template = asObj(specOf(owner).template);
  const meta = asObj(template.metadata);
  const spec = cloneJson(asObj(template.spec));
  if (nodeName) spec.nodeName = nodeName;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      generateName: `${owner.metadata.name}-`,
      namespace: owner.metadata.namespace,
      labels: { ...((meta.labels as Record<string, string> | undefined) ?? {}), ...extraLabels },
      ...(meta.annotations ? { annotations: cloneJson(meta.annotations as Record<string, string>) } : {}),
      ownerReferences: [ownerRef(owner)],
    },
    spec,
  };
}

export async function createPods(
  ctx: SimContext,
  owner: KubeObject,
  count: number,
  make: () => KubeObject,
): Promise<KubeObject[]> {
  const created: KubeObject[] = [];
  for (let i = 0; i < Math.min(count, BURST); i++) {
    const pod = await createRefusable(ctx, owner, ctx.types.Pod, make());
    if (!pod) break;
    created.push(pod);
    ctx.events.emit(
      owner,
      'Normal',
      'SuccessfulCreate',
      `Created pod: ${pod.metadata.name}`,
      `${owner.kind.toLowerCase()}-controller`,
    );
  }
  return created;
}

/**
 * Creates an object for `owner`; when admission refuses it (403: quota, limits) the owner gets
 * kube's `FailedCreate` Warning and is queued again once its namespace's quotas or limits change.
 */
export async function createRefusable(
  ctx: SimContext,
  owner: KubeObject,
  type: ResourceType,
  obj: KubeObject,
  failedMessage: (err: KitfedError) => string = (err) => `Error creating: ${err.message}`,
): Promise<KubeObject | undefined> {
  try {
    return await ctx.registry.create(type, owner.metadata.namespace, obj, { fieldManager: CONTROLLER_MANAGER });
  } catch (err) {
    if (!hasCode(err, 403)) throw err;
    ctx.events.emit(owner, 'Warning', 'FailedCreate', failedMessage(err), `${owner.kind.toLowerCase()}-controller`);
    ctx.blocked(owner.metadata.namespace ?? '', owner.kind as SimulatedKind, keyOf(owner));
    return undefined;
  }
}

export async function deletePods(ctx: SimContext, owner: KubeObject, pods: KubeObject[]): Promise<void> {
  for (const p of pods) {
    try {
      await ctx.registry.delete(ctx.types.Pod, p.metadata.namespace, p.metadata.name!, {
        preconditions: { uid: p.metadata.uid },
      });
      ctx.events.emit(
        owner,
        'Normal',
        'SuccessfulDelete',
        `Deleted pod: ${p.metadata.name}`,
        `${owner.kind.toLowerCase()}-controller`,
      );
    } catch (err) {
      // Already gone, or replaced by a pod of the same name: nothing to delete.
      if (!hasCode(err, 404, 409)) throw err;
    }
  }
}

/**
 * Writes a status the controller computed from `obj`. `ifUnchanged`: only while the stored object
 * is still that version (a status others write too, as evictions do a budget's: a status computed
 * from an older copy would undo theirs; the newer version's event syncs the object again).
 */
export async function writeStatus(
  ctx: SimContext,
  kind: SimulatedKind,
  obj: KubeObject,
  status: Obj,
  ifUnchanged = false,
): Promise<void> {
  if (JSON.stringify(statusOf(obj)) === JSON.stringify(status)) return;
  await ctx.registry.mutate(
    ctx.types[kind],
    obj.metadata.namespace,
    obj.metadata.name!,
    (o) =>
      o.metadata.uid === obj.metadata.uid &&
      (!ifUnchanged || o.metadata.resourceVersion === obj.metadata.resourceVersion)
        ? { ...o, status }
        : undefined,
    'status',
  );
}

export async function syncReplicaSet(ctx: SimContext, rs: KubeObject): Promise<void> {
  if (rs.metadata.deletionTimestamp) return;
  const wanted = num(specOf(rs).replicas, 1);
  let active = ctx.cache.owned(rs.metadata.uid, 'Pod').filter(isPodActive);
  const diff = wanted - active.length;
  if (diff > 0) {
    active = [...active, ...(await createPods(ctx, rs, diff, () => podFromTemplate(rs)))];
  } else if (diff < 0) {
    const victims = [...active].sort((a, b) => deletionRank(a) - deletionRank(b) || byCreation(b, a)).slice(0, -diff);
    await deletePods(ctx, rs, victims);
    active = active.filter((p) => !victims.includes(p));
  }
  const ready = active.filter(isPodReady).length;
  const status = omitZero(
    {
      replicas: active.length,
      fullyLabeledReplicas: active.length,
      readyReplicas: ready,
      availableReplicas: ready,
      observedGeneration: rs.metadata.generation ?? 1,
    },
    ['replicas'],
  );
  const conditions = statusOf(rs).conditions;
  if (conditions) status.conditions = conditions;
  await writeStatus(ctx, 'ReplicaSet', rs, status);
}
