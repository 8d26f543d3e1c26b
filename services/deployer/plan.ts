/**
 * The read-only first phase of a cluster: resolve every kind through discovery (an unknown kind
 * fails the cluster before anything is written), build the objects as they will be applied, read
 * the objects kitfed manages (one list per kind and namespace) and the inventory.
 */
import { conversionTargets, convertObject, groupVersionString, type GroupVersion } from '../core/conversion.js';
import { KitfedError, hasCode, messageOf } from '../core/errors.js';
import { parseApiVersion, type KubeObject } from '../core/kube.js';
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
function desired(
  source: KubeObject,
  m: Manifest,
  namespaced: boolean,
  defaultNs: string,
  commit: Recorded | undefined,
): KubeObject {
  const { namespace, ...meta } = source.metadata;
  const ann: Record<string, string> = { ...(meta.annotations ?? {}), [DIGEST_ANNOTATION]: m.digest };
  if (commit?.commit) ann[COMMIT_ANNOTATION] = commit.commit;
  if (commit?.commitTime) ann[COMMIT_TIME_ANNOTATION] = commit.commitTime;
  return {
    ...source,
    metadata: {
      ...meta,
      ...(namespaced ? { namespace: namespace ?? defaultNs } : {}),
      labels: { ...(meta.labels ?? {}), [MANAGED_LABEL]: MANAGED_VALUE },
      annotations: ann,
    },
  };
}

/** How one apiVersion/kind of the manifests is applied to this cluster. */
interface KindPlan {
  namespaced: boolean;
  /** The version the cluster serves that objects are converted to (`kubectl convert`), if theirs is not served. */
  convertTo?: GroupVersion;
}

async function served(conn: ClusterConn, apiVersion: string, kind: string): Promise<boolean | undefined> {
  try {
    return (await conn.call((c) => c.resource(apiVersion, kind))).namespaced;
  } catch (err) {
    if (hasCode(err, 404)) return undefined;
    throw err;
  }
}

/**
 * Resolves every apiVersion/kind through discovery. A version the cluster does not serve is
 * converted to the newest version it serves (core/conversion, as `kubectl convert` would); a kind
 * that cannot be converted fails the cluster before anything is written.
 */
async function resolveKinds(conn: ClusterConn, manifests: Manifest[]): Promise<Map<string, KindPlan>> {
  const kinds = new Map<string, KindPlan>();
  const problems: string[] = [];
  await Promise.all(
    [...new Set(manifests.map((m) => `${m.obj.apiVersion}|${m.obj.kind}`))].map(async (k) => {
      const [apiVersion, kind] = k.split('|') as [string, string];
      const namespaced = await served(conn, apiVersion, kind);
      if (namespaced !== undefined) {
        kinds.set(k, { namespaced });
        return;
      }
      const targets = conversionTargets(kind, parseApiVersion(apiVersion));
      for (const gv of targets) {
        const ns = await served(conn, groupVersionString(gv), kind);
        if (ns !== undefined) {
          kinds.set(k, { namespaced: ns, convertTo: gv });
          return;
        }
      }
      const notServed = `${kind} (${apiVersion}) is not served by this cluster`;
      const to = targets.map(groupVersionString).join(', ');
      problems.push(
        targets.length === 0
          ? `${notServed}, and kitfed cannot convert it to a version that is`
          : `${notServed}, nor any version kitfed converts it to (${to})`,
      );
    }),
  );
  if (problems.length > 0) throw new KitfedError(`nothing applied: ${problems.sort().join('; ')}`, 422, 'Invalid');
  return kinds;
}

/**
 * The manifests' objects as this cluster serves them: converted where it serves another version of
 * the kind (the same resolution `plan()` applies before writing). Throws 422 naming the kinds it
 * cannot serve.
 */
export async function asServed(conn: ClusterConn, manifests: Manifest[]): Promise<KubeObject[]> {
  const kinds = await resolveKinds(conn, manifests);
  return manifests.map((m) => {
    const to = kinds.get(`${m.obj.apiVersion}|${m.obj.kind}`)?.convertTo;
    return to ? convertObject(m.obj, to) : m.obj;
  });
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
    const k = kinds.get(`${m.obj.apiVersion}|${m.obj.kind}`) ?? { namespaced: true };
    const source = k.convertTo ? convertObject(m.obj, k.convertTo) : m.obj;
    const obj = desired(source, m, k.namespaced, conn.target.namespace, stamp);
    const ref = refOf(obj);
    const report: ObjectReport = { ...ref, file: m.file, action: 'pending' };
    if (k.convertTo)
      report.warnings = [
        `converted from ${m.obj.apiVersion} to ${source.apiVersion}: this cluster does not serve ${m.obj.apiVersion}`,
      ];
    return { manifest: m, obj, ref, key: refKey(ref), namespaced: k.namespaced, report };
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
