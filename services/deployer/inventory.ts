/**
 * What kitfed records in a cluster: on every applied object a label and annotations (digest of the
 * manifest, source commit and its time), and per target one inventory ConfigMap listing every object
 * kitfed applied there and not yet pruned, with the newest commit deployed. Prune deletes only
 * objects listed here that still carry kitfed's label; the never-backwards guard reads the commit.
 */
import { hasCode } from '../core/errors.js';
import type { KubeObject } from '../core/kube.js';
import type { ClusterConn } from './conn.js';
import type { ObjectRef } from './types.js';

export const MANAGED_LABEL = 'kitfed.io/managed-by';
/**
 * The deployer's own value: the federation controllers mark their member copies `kitfed`, and each manager only ever
 * prunes its own.
 */
export const MANAGED_VALUE = 'kitfed-deployer';
export const DIGEST_ANNOTATION = 'kitfed.io/applied-digest';
export const COMMIT_ANNOTATION = 'kitfed.io/commit';
export const COMMIT_TIME_ANNOTATION = 'kitfed.io/commit-time';
const DATA_KEY = 'inventory.json';

export interface Inventory {
  apiVersion: 'kitfed.io/v1alpha1';
  kind: 'Inventory';
  target: string;
  commit?: string;
  commitTime?: string;
  objects: ObjectRef[];
}

export function inventoryName(folder: string): string {
  return `kitfed-inventory-${folder}`
    .slice(0, 253)
    .replace(/[^a-z0-9.-]/g, '-')
    .replace(/[-.]+$/, '');
}

export function refOf(o: {
  apiVersion: string;
  kind: string;
  metadata: { namespace?: string; name?: string };
}): ObjectRef {
  const r: ObjectRef = { apiVersion: o.apiVersion, kind: o.kind, name: o.metadata.name ?? '' };
  if (o.metadata.namespace) r.namespace = o.metadata.namespace;
  return r;
}

/** Identity of an object across API versions of the same group. */
export function refKey(r: ObjectRef): string {
  const group = r.apiVersion.includes('/') ? r.apiVersion.split('/')[0] : '';
  return `${group}|${r.kind}|${r.namespace ?? ''}|${r.name}`;
}

export function refText(r: ObjectRef): string {
  return `${r.kind} ${r.namespace ? `${r.namespace}/` : ''}${r.name}`;
}

export async function readInventory(conn: ClusterConn, namespace: string): Promise<Inventory | undefined> {
  const name = inventoryName(conn.target.folder);
  const cm = await conn.call((c) => c.tryGet('v1', 'ConfigMap', namespace, name));
  const text = (cm as { data?: Record<string, string> } | undefined)?.data?.[DATA_KEY];
  if (!text) return undefined;
  try {
    const inv = JSON.parse(text) as Inventory;
    return Array.isArray(inv.objects) ? inv : undefined;
  } catch {
    return undefined;
  }
}

export function sameInventory(a: Inventory | undefined, b: Inventory): boolean {
  if (!a || a.commit !== b.commit || a.commitTime !== b.commitTime || a.objects.length !== b.objects.length)
    return false;
  const keys = new Set(a.objects.map(refKey));
  return b.objects.every((o) => keys.has(refKey(o)));
}

export async function writeInventory(
  conn: ClusterConn,
  namespace: string,
  inv: Inventory,
  opts: { fieldManager: string; dryRun: boolean },
): Promise<void> {
  await ensureNamespace(conn, namespace, opts.dryRun);
  const cm: KubeObject = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: inventoryName(conn.target.folder),
      namespace,
      labels: { [MANAGED_LABEL]: MANAGED_VALUE, 'kitfed.io/inventory': 'true' },
    },
    data: { [DATA_KEY]: `${JSON.stringify(inv, null, 1)}\n` },
  };
  await conn.call((c) => c.apply(cm, { fieldManager: opts.fieldManager, force: true, dryRun: opts.dryRun }), {
    write: true,
  });
}

/** Creates a namespace that does not exist yet (not recorded in the inventory, so never pruned). */
export async function ensureNamespace(conn: ClusterConn, name: string, dryRun: boolean): Promise<'exists' | 'created'> {
  const ns = await conn.call((c) => c.tryGet('v1', 'Namespace', undefined, name));
  if (ns) return 'exists';
  try {
    await conn.call((c) => c.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } }, { dryRun }), {
      write: true,
    });
  } catch (err) {
    if (!hasCode(err, 409)) throw err;
  }
  return 'created';
}
