import { get, type TableColumn } from '../resources.js';
import { humanDuration } from '../table.js';

/**
 * Building blocks of the `kubectl get` columns of the built-in kinds, written from kube's
 * printers (`pkg/printers/internalversion`): the same names, types, priorities and cell text.
 */

export type Obj = Record<string, unknown>;

export const NAME: TableColumn = {
  name: 'Name',
  type: 'string',
  format: 'name',
  description: 'Name must be unique within a namespace.',
  value: (o) => get(o, 'metadata.name') ?? '',
};

export const AGE: TableColumn = {
  name: 'Age',
  type: 'string',
  description: 'CreationTimestamp is a timestamp representing the server time when this object was created.',
  value: (o) => age(o),
};

export function age(o: Obj, at: string = 'metadata.creationTimestamp'): string {
  const ts = get(o, at) as string | undefined;
  const t = ts ? Date.parse(ts) : NaN;
  return Number.isNaN(t) ? '<unknown>' : humanDuration(Date.now() - t);
}

export function col(
  name: string,
  value: TableColumn['value'],
  type: TableColumn['type'] = 'string',
  priority?: number,
): TableColumn {
  return priority ? { name, type, value, priority } : { name, type, value };
}

export function wide(name: string, value: TableColumn['value'], type: TableColumn['type'] = 'string'): TableColumn {
  return col(name, value, type, 1);
}

export function list<T = Obj>(o: unknown, path: string): T[] {
  const v = get(o, path);
  return Array.isArray(v) ? (v as T[]) : [];
}

export function map(o: unknown, path: string): Record<string, unknown> {
  const v = get(o, path);
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}

export function orNone(v: unknown, none = '<none>'): string {
  if (v === undefined || v === null || v === '') return none;
  return String(v);
}

/** `k=v,k2=v2` of a string map (kubectl's labels.FormatLabels). */
export function formatMap(m: Record<string, unknown>, none = '<none>'): string {
  const s = Object.keys(m)
    .sort()
    .map((k) => `${k}=${String(m[k])}`)
    .join(',');
  return s || none;
}

/** metav1.FormatLabelSelector: matchLabels then matchExpressions, `<none>` when empty. */
export function formatSelector(sel: unknown): string {
  if (typeof sel !== 'object' || sel === null) return '<none>';
  const s = sel as {
    matchLabels?: Record<string, string>;
    matchExpressions?: Array<{ key: string; operator: string; values?: string[] }>;
  };
  const parts: string[] = [];
  for (const k of Object.keys(s.matchLabels ?? {}).sort()) parts.push(`${k}=${s.matchLabels![k]}`);
  for (const e of s.matchExpressions ?? []) {
    const values = [...(e.values ?? [])].sort().join(',');
    switch (e.operator) {
      case 'In':
        parts.push(`${e.key} in (${values})`);
        break;
      case 'NotIn':
        parts.push(`${e.key} notin (${values})`);
        break;
      case 'Exists':
        parts.push(e.key);
        break;
      case 'DoesNotExist':
        parts.push(`!${e.key}`);
        break;
      default:
        parts.push(`${e.key} ${e.operator} (${values})`);
    }
  }
  const out = parts.join(',');
  return out || (Object.keys(s).length === 0 ? '<none>' : '<none>');
}

/** The priority-1 CONTAINERS, IMAGES columns of workload kinds, from a pod template path. */
export function containerColumns(templateSpecPath: string): TableColumn[] {
  return [
    wide('Containers', (o) =>
      list<{ name?: string }>(o, `${templateSpecPath}.containers`)
        .map((c) => c.name ?? '')
        .join(','),
    ),
    wide('Images', (o) =>
      list<{ image?: string }>(o, `${templateSpecPath}.containers`)
        .map((c) => c.image ?? '')
        .join(','),
    ),
  ];
}

export function selectorColumn(path = 'spec.selector'): TableColumn {
  return wide('Selector', (o) => formatSelector(get(o, path)));
}

/** kubectl's ShortHumanDuration-style rendering of a timestamp relative to now, or `<none>`. */
export function since(o: Obj, path: string, none = '<none>'): string {
  const ts = get(o, path) as string | undefined;
  return ts ? age(o, path) : none;
}

export function conditionStatus(o: Obj, type: string, unknown = 'Unknown'): string {
  return list<{ type: string; status: string }>(o, 'status.conditions').find((c) => c.type === type)?.status ?? unknown;
}

/** A ResourceList (`{cpu: "1", memory: "1Gi"}`) as kubectl prints it in quota columns. */
export function quantityOf(o: Obj, path: string, key: string): string {
  const v = map(o, path)[key];
  return v === undefined ? '' : String(v);
}
