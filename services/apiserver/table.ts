import type { KubeObject } from '../core/kube.js';
import { get, type ResourceType, type TableColumn } from './resources.js';

/** Server-side printing (`meta.k8s.io/v1` Table), as kubectl requests for `get`. */

export type IncludeObject = 'None' | 'Metadata' | 'Object';

export interface Table {
  apiVersion: 'meta.k8s.io/v1';
  kind: 'Table';
  metadata: { resourceVersion?: string; continue?: string; remainingItemCount?: number };
  columnDefinitions: Array<{ name: string; type: string; format: string; description: string; priority: number }>;
  rows: Array<{ cells: unknown[]; object?: unknown }>;
}

/** Kubernetes' short human durations: 45s, 5m3s, 3h, 2d4h, 1y. */
export function humanDuration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 120) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 10) return s % 60 === 0 ? `${m}m` : `${m}m${s % 60}s`;
  if (m < 180) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 8) return m % 60 === 0 ? `${h}h` : `${h}h${m % 60}m`;
  if (h < 48) return `${h}h`;
  const d = Math.floor(h / 24);
  if (d < 8) return h % 24 === 0 ? `${d}d` : `${d}d${h % 24}h`;
  if (d < 365 * 2) return `${d}d`;
  return `${Math.floor(d / 365)}y`;
}

const NAME_DEFINITION = {
  name: 'Name',
  type: 'string',
  format: 'name',
  description: 'Name must be unique within a namespace.',
  priority: 0,
};

const AGE_DEFINITION = {
  name: 'Age',
  type: 'string',
  format: '',
  description: 'CreationTimestamp is a timestamp representing the server time when this object was created.',
  priority: 0,
};

/**
 * The type's columns: with a Name column they are the whole row (LimitRanges have no AGE);
 * without one NAME goes first, and AGE last unless the columns place it or `ageColumn` is false.
 */
function layout(t: ResourceType): { columns: TableColumn[]; name: boolean; age: boolean } {
  const columns = t.columns ?? [];
  const complete = columns.some((c) => c.name === 'Name');
  return {
    columns,
    name: !complete,
    age: !complete && t.ageColumn !== false && !columns.some((c) => c.name === 'Age'),
  };
}

export function columnDefinitions(t: ResourceType): Table['columnDefinitions'] {
  const { columns, name, age } = layout(t);
  return [
    ...(name ? [NAME_DEFINITION] : []),
    ...columns.map((c) => ({
      name: c.name,
      type: c.type,
      format: c.format ?? '',
      description: c.description ?? c.name,
      priority: c.priority ?? 0,
    })),
    ...(age ? [AGE_DEFINITION] : []),
  ];
}

function ageCell(obj: KubeObject, now: number): string {
  const created = obj.metadata.creationTimestamp ? Date.parse(obj.metadata.creationTimestamp) : NaN;
  return Number.isNaN(created) ? '<unknown>' : humanDuration(now - created);
}

/**
 * One row: cells computed from `obj` (the storage version), the embedded object from
 * `served` (the version the client asked for) when given.
 */
export function tableRow(
  t: ResourceType,
  obj: KubeObject,
  include: IncludeObject,
  now = Date.now(),
  served: KubeObject = obj,
): Table['rows'][number] {
  const { columns, name, age } = layout(t);
  const cells: unknown[] = name ? [obj.metadata.name ?? ''] : [];
  for (const c of columns) {
    if (c.name === 'Age' && typeof c.value !== 'function') {
      cells.push(ageCell(obj, now));
      continue;
    }
    const v = typeof c.value === 'function' ? c.value(obj) : get(obj, c.value);
    // A custom resource's missing cell is null, as kube sends it (kubectl prints <none>).
    cells.push(v ?? (t.custom ? null : c.type === 'integer' ? 0 : '<none>'));
  }
  if (age) cells.push(ageCell(obj, now));
  const row: Table['rows'][number] = { cells };
  if (include === 'Object') row.object = served;
  else if (include === 'Metadata')
    row.object = { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: served.metadata };
  return row;
}

export function toTable(
  t: ResourceType,
  objects: KubeObject[],
  meta: Table['metadata'],
  include: IncludeObject,
  withColumns = true,
  serve: (o: KubeObject) => KubeObject = (o) => o,
): Table {
  const now = Date.now();
  return {
    apiVersion: 'meta.k8s.io/v1',
    kind: 'Table',
    metadata: meta,
    columnDefinitions: withColumns ? columnDefinitions(t) : [],
    rows: objects.map((o) => tableRow(t, o, include, now, serve(o))),
  };
}
