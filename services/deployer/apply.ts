/**
 * The apply phase of one cluster: missing namespaces are created, then objects are applied with
 * server-side apply in waves by kind (Namespace → config → Service → workloads → other → Ingress),
 * in parallel within a wave through the cluster's queue. An object with kit's dependency selector
 * waits until the objects it selects are applied and healthy. An object whose digest matches the
 * live object's `kitfed.io/applied-digest` is not written at all.
 */
import { hasCode, messageOf } from '../core/errors.js';
import { sleep, type ClusterConn } from './conn.js';
import { isWorkload } from './health.js';
import { DIGEST_ANNOTATION, ensureNamespace, refText } from './inventory.js';
import { orderForApply, type Ordered } from './order.js';
import type { Item } from './plan.js';
import { waitHealthy, waitingFor } from './wait.js';
import type { ObjectAction } from './types.js';

export interface ApplyOptions {
  fieldManager: string;
  dryRun: boolean;
  reapply: boolean;
  /** Delete and re-create a kitfed object whose change touches an immutable field. */
  recreate: boolean;
  since: number;
  onObject: (item: Item) => void;
}

class Skipped extends Error {}

/** True when applyAll would write `item` (its digest is not on the live object). */
export function needsWrite(item: Item, reapply: boolean): boolean {
  return reapply || item.live?.metadata.annotations?.[DIGEST_ANNOTATION] !== item.manifest.digest;
}

/** Creates the namespaces objects go to that are not applied as Namespace objects themselves. */
export async function ensureNamespaces(conn: ClusterConn, items: Item[], dryRun: boolean): Promise<void> {
  const own = new Set(items.filter((i) => i.ref.kind === 'Namespace').map((i) => i.ref.name));
  const needed = new Set(items.flatMap((i) => (i.ref.namespace && !own.has(i.ref.namespace) ? [i.ref.namespace] : [])));
  await Promise.all([...needed].map((ns) => ensureNamespace(conn, ns, dryRun)));
}

function set(item: Item, action: ObjectAction, message: string | undefined, opts: ApplyOptions): void {
  item.report.action = action;
  if (message !== undefined) item.report.message = message;
  else delete item.report.message;
  opts.onObject(item);
}

async function applyOne(conn: ClusterConn, item: Item, opts: ApplyOptions): Promise<void> {
  if (!needsWrite(item, opts.reapply)) {
    set(item, 'unchanged', undefined, opts);
    return;
  }
  try {
    item.live = await conn.call(
      (c) => c.apply(item.obj, { fieldManager: opts.fieldManager, force: true, dryRun: opts.dryRun }),
      { write: true },
    );
    set(item, 'applied', undefined, opts);
  } catch (err) {
    if (opts.recreate && !opts.dryRun && item.live && hasCode(err, 422) && /immutable/i.test(messageOf(err)))
      return recreate(conn, item, opts);
    // A dry run cannot place objects in a namespace the same deploy would create: validate the object in `default`
    // instead.
    if (opts.dryRun && hasCode(err, 404) && item.namespaced) return dryRunElsewhere(conn, item, opts);
    set(item, 'failed', messageOf(err), opts);
    throw err;
  }
}

/** Flux's `force`: an immutable-field change becomes delete (uid precondition) + apply. */
async function recreate(conn: ClusterConn, item: Item, opts: ApplyOptions): Promise<void> {
  const { apiVersion, kind, namespace, name } = item.ref;
  try {
    await conn.call(
      (c) =>
        c.delete(apiVersion, kind, namespace, name, {
          propagationPolicy: 'Background',
          preconditions: { uid: item.live!.metadata.uid },
        }),
      { write: true },
    );
    for (let i = 0; (await conn.call((c) => c.tryGet(apiVersion, kind, namespace, name))) !== undefined; i++)
      await sleep(Math.min(500, 50 * 2 ** i), conn.signal);
    item.live = await conn.call((c) => c.apply(item.obj, { fieldManager: opts.fieldManager, force: true }), {
      write: true,
    });
    set(item, 'applied', 'recreated: an immutable field changed', opts);
  } catch (err) {
    set(item, 'failed', `recreate: ${messageOf(err)}`, opts);
    throw err;
  }
}

async function dryRunElsewhere(conn: ClusterConn, item: Item, opts: ApplyOptions): Promise<void> {
  const moved = { ...item.obj, metadata: { ...item.obj.metadata, namespace: 'default' } };
  try {
    await conn.call((c) => c.apply(moved, { fieldManager: opts.fieldManager, force: true, dryRun: true }), {
      write: true,
    });
    set(item, 'applied', `namespace ${item.ref.namespace ?? ''} does not exist yet (validated in default)`, opts);
  } catch (err) {
    set(item, 'failed', messageOf(err), opts);
    throw err;
  }
}

async function healthyOne(conn: ClusterConn, item: Item, opts: ApplyOptions): Promise<void> {
  if (opts.dryRun || !isWorkload(item.ref.kind) || !item.live) return;
  const w = waitingFor(item.ref, item.live, item.obj);
  item.report.health = w.health.state;
  await waitHealthy(conn, [w], { since: opts.since, onChange: () => undefined });
  item.report.health = w.health.state;
  if (w.health.state === 'failed') throw new Error(`${refText(item.ref)}: ${w.health.message}`);
}

/**
 * Applies every item; resolves when all were attempted. Failures are recorded on the items
 * (action `failed`; later waves and dependents stay `pending` with the reason).
 */
export async function applyAll(conn: ClusterConn, items: Item[], opts: ApplyOptions): Promise<void> {
  const ordered = orderForApply(items, (i) => i.obj);
  const applied = new Map<number, Promise<void>>();
  const healthy = new Map<number, Promise<void>>();
  const healthOf = (j: number): Promise<void> => {
    let p = healthy.get(j);
    if (!p) {
      p = applyOf(j).then(() => healthyOne(conn, items[j]!, opts));
      healthy.set(j, p);
    }
    return p;
  };
  const applyOf = (i: number): Promise<void> => {
    let p = applied.get(i);
    if (!p) {
      p = run(i);
      applied.set(i, p);
    }
    return p;
  };
  const run = async (i: number): Promise<void> => {
    const o: Ordered<Item> = ordered[i]!;
    const earlier = ordered.flatMap((x, j) => (x.rank < o.rank && x.dependsOn.length === 0 ? [j] : []));
    try {
      await Promise.all(earlier.map(applyOf));
    } catch {
      set(o.item, 'pending', 'not applied: an earlier wave failed', opts);
      throw new Skipped();
    }
    try {
      await Promise.all(o.dependsOn.map(healthOf));
    } catch (err) {
      set(
        o.item,
        'pending',
        `not applied: dependency not healthy (${err instanceof Skipped ? 'not applied' : messageOf(err)})`,
        opts,
      );
      throw new Skipped();
    }
    await applyOne(conn, o.item, opts);
  };
  await Promise.allSettled(ordered.map((_, i) => applyOf(i)));
  await Promise.allSettled([...healthy.values()]);
}
