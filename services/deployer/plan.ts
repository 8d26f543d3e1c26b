/**
 * The read-only first phase of a cluster: resolve every kind through discovery (an unknown kind
 * fails the cluster before anything is written), build the objects as they will be applied, read
 * the objects kitfed manages (one list per kind and namespace) and the inventory.
 */
import { KitfedError, messageOf } from '../core/errors.js';
import type { KubeObject } from '../core/kube.js';
import type { ClusterConn } from './conn.js';
import { newestRecorded, type Recorded } from './guard.js';
import {
  COMMIT_ANNOTATION,
  COMMIT_TIME_ANNOTATION,
  DIGEST_ANNOTATION,
  MANAGED_LABEL,
  MANAGED_VALUE,
  readInventory,
  refKey,
  refOf,
  type Inventory,
} from './inventory.js';
import type { Manifest } from './manifests.js';
import type { ObjectRef, ObjectReport } from './types.js';

export interface Item {
  manifest: Manifest;
  /** The object as it is applied: namespace defaulted, kitfed's label and annotations added. */
  obj: KubeObject;
  ref: ObjectRef;
  key: string;
  namespaced: boolean;
  /** The live object when kitfed manages it already. */
  live?: KubeObject;
  report: ObjectReport;
}

export interface Plan {
  items: Item[];
  inventory?: Inventory;
  recorded?: Recorded;
}

export interface PlanOptions {
  commit?: string;
  commitTime?: string;
  /** Diff mode reads every object (managed or not) with a GET instead of the managed lists. */
  getEach: boolean;
  inventoryNamespace: string;
}

/** The object as applied: metadata copied and extended; the rest shared with the (never mutated) manifest. */
function desired(m: Manifest, namespaced: boolean, defaultNs: string, commit: Recorded | undefined): KubeObject {
  const { namespace, ...meta } = m.obj.metadata;
  const ann: Record<string, string> = { ...(meta.annotations ?? {}), [DIGEST_ANNOTATION]: m.digest };
  if (commit?.commit) ann[COMMIT_ANNOTATION] = commit.commit;
  if (commit?.commitTime) ann[COMMIT_TIME_ANNOTATION] = commit.commitTime;
  return {
    ...m.obj,
    metadata: {
      ...meta,
      ...(namespaced ? { namespace: namespace ?? defaultNs } : {}),
      labels: { ...(meta.labels ?? {}), [MANAGED_LABEL]: MANAGED_VALUE },
      annotations: ann,
    },
  };
}

async function resolveKinds(conn: ClusterConn, manifests: Manifest[]): Promise<Map<string, boolean>> {
  const kinds = new Map<string, boolean>();
  const problems: string[] = [];
  await Promise.all(
    [...new Set(manifests.map((m) => `${m.obj.apiVersion}|${m.obj.kind}`))].map(async (k) => {
      const [apiVersion, kind] = k.split('|') as [string, string];
      try {
        kinds.set(k, (await conn.call((c) => c.resource(apiVersion, kind))).namespaced);
      } catch (err) {
        if (err instanceof KitfedError && err.code === 404)
          problems.push(`${kind} (${apiVersion}) is not served by this cluster`);
        else throw err;
      }
    }),
  );
  if (problems.length > 0) throw new KitfedError(`nothing applied: ${problems.sort().join('; ')}`, 422, 'Invalid');
  return kinds;
}

async function readManaged(conn: ClusterConn, items: Item[]): Promise<void> {
  const groups = new Map<string, Item[]>();
  for (const it of items) {
    const g = `${it.ref.apiVersion}|${it.ref.kind}|${it.ref.namespace ?? ''}`;
    groups.set(g, [...(groups.get(g) ?? []), it]);
  }
  await Promise.all(
    [...groups.values()].map(async (group) => {
      const { apiVersion, kind, namespace } = group[0]!.ref;
      const list = await conn.call((c) =>
        c.list(apiVersion, kind, namespace, { labelSelector: `${MANAGED_LABEL}=${MANAGED_VALUE}` }),
      );
      const byName = new Map(list.items.map((o) => [o.metadata.name, o]));
      for (const it of group) {
        const live = byName.get(it.ref.name);
        if (live) it.live = { ...live, apiVersion, kind };
      }
    }),
  );
}

async function readEach(conn: ClusterConn, items: Item[]): Promise<void> {
  await Promise.all(
    items.map(async (it) => {
      const live = await conn.call((c) => c.tryGet(it.ref.apiVersion, it.ref.kind, it.ref.namespace, it.ref.name));
      if (live) it.live = live;
    }),
  );
}

export async function plan(conn: ClusterConn, manifests: Manifest[], opts: PlanOptions): Promise<Plan> {
  const [kinds, inventory] = await Promise.all([
    resolveKinds(conn, manifests),
    readInventory(conn, opts.inventoryNamespace),
  ]);
  const stamp: Recorded | undefined = opts.commit
    ? { commit: opts.commit, commitTime: opts.commitTime }
    : inventory?.commit
      ? { commit: inventory.commit, commitTime: inventory.commitTime }
      : undefined;
  const items: Item[] = manifests.map((m) => {
    const namespaced = kinds.get(`${m.obj.apiVersion}|${m.obj.kind}`) ?? true;
    const obj = desired(m, namespaced, conn.target.namespace, stamp);
    const ref = refOf(obj);
    return { manifest: m, obj, ref, key: refKey(ref), namespaced, report: { ...ref, file: m.file, action: 'pending' } };
  });
  try {
    if (opts.getEach) await readEach(conn, items);
    else await readManaged(conn, items);
  } catch (err) {
    throw err instanceof KitfedError
      ? err
      : new KitfedError(`reading live objects: ${messageOf(err)}`, 500, 'InternalError');
  }
  const plan: Plan = { items };
  if (inventory) plan.inventory = inventory;
  const recorded = newestRecorded(
    inventory,
    items.flatMap((i) => (i.live ? [i.live] : [])),
  );
  if (recorded) plan.recorded = recorded;
  return plan;
}
