import { hasCode } from '../core/errors.js';
import type { KubeObject } from '../core/kube.js';
import { CONTROLLER_MANAGER, type SimContext } from './context.js';
import { controllerRevisionHash, templateRevisionData } from '../core/revisions.js';
import { canonicalJson, num, ownerRef } from './util.js';

export { templateOf } from '../core/revisions.js';

/**
 * ControllerRevisions as kube's controller history keeps them (pkg/controller/history): one per
 * distinct pod template of an owner (StatefulSet, DaemonSet), named `<owner>-<hash>`,
 * labelled with the template's labels so `kubectl rollout history` finds them by the owner's
 * selector, numbered by `revision`; a template equal to an older revision reuses it with the
 * next number (rollback). `data` is the strategic merge patch kubectl's `rollout undo` applies.
 */

export interface Revision {
  name: string;
  revision: number;
  data: unknown;
  object?: KubeObject;
}

/** How an owner labels its revisions (the DaemonSet: its `controller-revision-hash`). */
export interface RevisionNaming {
  /** A label carrying the hash on the revision. */
  hashLabel?: string;
}

function toRevision(o: KubeObject): Revision {
  return { name: o.metadata.name!, revision: num((o as { revision?: unknown }).revision), data: o.data, object: o };
}

/** The owner's revisions, oldest first. */
export function revisionsOf(ctx: SimContext, owner: KubeObject): Revision[] {
  return ctx.cache
    .owned(owner.metadata.uid, 'ControllerRevision')
    .filter((r) => !r.metadata.deletionTimestamp)
    .map(toRevision)
    .sort((a, b) => a.revision - b.revision || a.name.localeCompare(b.name));
}

/**
 * The revision for the owner's current template: an existing one with equal data (moved to the
 * newest number if it is not the newest: a rollback), or a new one. Returns it and the history.
 */
export async function ensureRevision(
  ctx: SimContext,
  owner: KubeObject,
  collisionCount: number,
  naming: RevisionNaming = {},
): Promise<{ update: Revision; history: Revision[]; collisionCount: number }> {
  const data = templateRevisionData(owner);
  const text = canonicalJson(data);
  let history = revisionsOf(ctx, owner);
  const max = history.reduce((n, r) => Math.max(n, r.revision), 0);
  const found = history.filter((r) => canonicalJson(r.data) === text).at(-1);
  if (found) {
    if (found.revision === max) return { update: found, history, collisionCount };
    const bumped = await ctx.registry.mutate(
      ctx.types.ControllerRevision,
      owner.metadata.namespace,
      found.name,
      (o) => {
        (o as { revision?: number }).revision = max + 1;
        return o;
      },
    );
    const update = bumped ? toRevision(bumped) : { ...found, revision: max + 1 };
    history = history.map((r) => (r.name === found.name ? update : r));
    return { update, history, collisionCount };
  }
  const template = (data.spec as { template: { metadata?: { labels?: Record<string, string> } } }).template;
  const annotations = { ...(owner.metadata.annotations ?? {}) };
  for (let collisions = collisionCount; ; collisions++) {
    const hash = controllerRevisionHash(owner, collisions);
    const revision: KubeObject = {
      apiVersion: 'apps/v1',
      kind: 'ControllerRevision',
      metadata: {
        name: `${owner.metadata.name}-${hash}`,
        namespace: owner.metadata.namespace,
        labels: { ...(template.metadata?.labels ?? {}), ...(naming.hashLabel ? { [naming.hashLabel]: hash } : {}) },
        ...(Object.keys(annotations).length > 0 ? { annotations } : {}),
        ownerReferences: [ownerRef(owner)],
      },
      data,
      revision: max + 1,
    };
    try {
      const created = await ctx.registry.create(ctx.types.ControllerRevision, owner.metadata.namespace, revision, {
        fieldManager: CONTROLLER_MANAGER,
      });
      const update = toRevision(created);
      return { update, history: [...history, update], collisionCount: collisions };
    } catch (err) {
      // A revision of that name exists: ours (not yet in the cache) or another template's (a hash collision).
      if (!hasCode(err, 409) || collisions > collisionCount + 5) throw err;
      const existing = await ctx.registry.tryGet(
        ctx.types.ControllerRevision,
        owner.metadata.namespace,
        revision.metadata.name!,
      );
      if (
        existing &&
        canonicalJson(existing.data) === text &&
        existing.metadata.ownerReferences?.[0]?.uid === owner.metadata.uid
      )
        return { update: toRevision(existing), history, collisionCount: collisions };
    }
  }
}

/** Deletes the oldest revisions beyond `limit` that no pod and no status refers to. */
export async function truncateHistory(
  ctx: SimContext,
  owner: KubeObject,
  history: Revision[],
  live: Set<string>,
  limit: number,
): Promise<void> {
  const dead = history.filter((r) => !live.has(r.name));
  for (const r of dead.slice(0, Math.max(0, dead.length - limit))) {
    await ctx.registry
      .delete(ctx.types.ControllerRevision, owner.metadata.namespace, r.name, {
        preconditions: r.object?.metadata.uid ? { uid: r.object.metadata.uid } : undefined,
      })
      .catch((err: unknown) => {
        if (!hasCode(err, 404) && !hasCode(err, 409)) throw err;
      });
  }
}
