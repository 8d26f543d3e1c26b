/**
 * Prune: objects in the cluster's inventory that are no longer in the folder are deleted, in
 * reverse apply order, but only while they still carry kitfed's label (an object someone took
 * over by removing the label is kept and forgotten). Objects already gone are forgotten. Namespaces
 * and CRDs are never deleted (their deletion would take objects kitfed did not apply with them).
 */
import { hasCode, messageOf } from '../core/errors.js';
import type { KubeObject } from '../core/kube.js';
import type { ClusterConn } from './conn.js';
import { MANAGED_LABEL, MANAGED_VALUE, refKey, type Inventory } from './inventory.js';
import { kindRank } from './order.js';
import type { ObjectRef, ObjectReport } from './types.js';

export interface PruneResult {
  /** Objects that stay in the inventory (deletion failed). */
  remaining: ObjectRef[];
  reports: ObjectReport[];
}

export function pruneCandidates(inv: Inventory | undefined, desiredKeys: Set<string>): ObjectRef[] {
  return (inv?.objects ?? [])
    .filter((r) => !desiredKeys.has(refKey(r)))
    .sort((a, b) => kindRank(b.kind) - kindRank(a.kind));
}

async function liveOf(conn: ClusterConn, r: ObjectRef): Promise<KubeObject | undefined> {
  try {
    return await conn.call((c) => c.tryGet(r.apiVersion, r.kind, r.namespace, r.name));
  } catch (err) {
    if (hasCode(err, 404)) return undefined; // the kind is not served any more
    throw err;
  }
}

/** Deleting these deletes everything in them (objects kitfed never applied): they are left to people. */
const CASCADING = new Set(['Namespace', 'CustomResourceDefinition']);

/** Deletes one candidate; the report says what happened. */
async function pruneOne(conn: ClusterConn, r: ObjectRef, dryRun: boolean): Promise<ObjectReport> {
  const live = await liveOf(conn, r);
  if (!live) return { ...r, file: '', action: 'pruned', message: 'already gone' };
  if (CASCADING.has(r.kind))
    return {
      ...r,
      file: '',
      action: 'kept',
      message: `not deleted: deleting a ${r.kind} deletes everything in it; delete it by hand if it is empty`,
    };
  if (live.metadata.labels?.[MANAGED_LABEL] !== MANAGED_VALUE)
    return {
      ...r,
      file: '',
      action: 'kept',
      message: `not deleted: no longer labelled ${MANAGED_LABEL}=${MANAGED_VALUE}`,
    };
  try {
    await conn.call(
      (c) =>
        c.delete(r.apiVersion, r.kind, r.namespace, r.name, {
          propagationPolicy: 'Background',
          dryRun,
          preconditions: { uid: live.metadata.uid },
        }),
      { write: true },
    );
    return { ...r, file: '', action: 'pruned' };
  } catch (err) {
    if (hasCode(err, 404)) return { ...r, file: '', action: 'pruned', message: 'already gone' };
    return { ...r, file: '', action: 'failed', message: `prune: ${messageOf(err)}` };
  }
}

/** Prunes in reverse kind order, one wave at a time. */
export async function prune(
  conn: ClusterConn,
  candidates: ObjectRef[],
  opts: { dryRun: boolean; onObject: (r: ObjectReport) => void },
): Promise<PruneResult> {
  const reports: ObjectReport[] = [];
  const ranks = [...new Set(candidates.map((c) => kindRank(c.kind)))].sort((a, b) => b - a);
  for (const rank of ranks) {
    const wave = await Promise.all(
      candidates.filter((c) => kindRank(c.kind) === rank).map((c) => pruneOne(conn, c, opts.dryRun)),
    );
    for (const r of wave) {
      reports.push(r);
      opts.onObject(r);
    }
  }
  const failed = new Set(reports.filter((r) => r.action === 'failed').map(refKey));
  return { remaining: candidates.filter((c) => failed.has(refKey(c))), reports };
}
