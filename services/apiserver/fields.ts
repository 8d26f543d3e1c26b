import { errors } from '../core/errors.js';
import { cloneJson, isObject, type KubeObject, type ManagedFieldsEntry } from '../core/kube.js';
import { childType, isSetListOf, listKeysOfList, type TypeRef } from './schema.js';
import { kubeTime } from '../core/time.js';

/**
 * Field ownership for server-side apply, in the FieldsV1 vocabulary of structured-merge-diff:
 * a path is a list of segments `f:<field>`, `k:<json of list keys>` (keyed list item) or
 * `v:<json value>` (set-list member). Leaf paths are tracked; keyed list items also carry `.`.
 */

type Path = string[];
const SEP = '\u0000';

/** Top-level fields nobody owns. */
const UNTRACKED = new Set(['apiVersion', 'kind', 'status']);
const UNTRACKED_META = new Set([
  'name',
  'namespace',
  'uid',
  'resourceVersion',
  'generation',
  'creationTimestamp',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
  'managedFields',
  'selfLink',
]);

export function fieldSet(obj: unknown, t: TypeRef): Set<string> {
  const out = new Set<string>();
  if (!isObject(obj)) return out;
  for (const [k, v] of Object.entries(obj)) {
    if (UNTRACKED.has(k)) continue;
    if (k === 'metadata' && isObject(v)) {
      const mt = childType(t, 'metadata');
      for (const [mk, mv] of Object.entries(v)) {
        if (UNTRACKED_META.has(mk)) continue;
        collect(mv, childType(mt, mk), ['f:metadata', `f:${mk}`], out, mt, mk);
      }
      continue;
    }
    collect(v, childType(t, k), [`f:${k}`], out, t, k);
  }
  return out;
}

function collect(value: unknown, t: TypeRef, path: Path, out: Set<string>, parent: TypeRef, field: string): void {
  if (Array.isArray(value)) {
    const elem = t.kind === 'array' ? t.of : undefined;
    const keys = listKeysOfList(t);
    if (keys && elem) {
      for (const item of value) {
        if (!isObject(item)) continue;
        const itemPath = [...path, keySegment(item, keys)];
        out.add([...itemPath, '.'].join(SEP));
        for (const [k, v] of Object.entries(item))
          collect(v, childType(elem, k), [...itemPath, `f:${k}`], out, elem, k);
      }
      return;
    }
    if (isSetListOf(t, parent, field)) {
      for (const v of value) out.add([...path, `v:${JSON.stringify(v)}`].join(SEP));
      return;
    }
    out.add(path.join(SEP));
    return;
  }
  if (isObject(value) && Object.keys(value).length > 0 && !(t.kind === 'struct' && t.atomic)) {
    for (const [k, v] of Object.entries(value)) collect(v, childType(t, k), [...path, `f:${k}`], out, t, k);
    return;
  }
  out.add(path.join(SEP));
}

function keySegment(item: Record<string, unknown>, keys: string[]): string {
  const k: Record<string, unknown> = {};
  for (const key of keys) if (item[key] !== undefined) k[key] = item[key];
  return `k:${JSON.stringify(k)}`;
}

/** Encodes a path set as a FieldsV1 tree. */
export function toFieldsV1(set: Set<string>): Record<string, unknown> {
  const root: Record<string, unknown> = {};
  for (const p of set) {
    let node = root;
    for (const seg of p.split(SEP)) {
      node[seg] ??= {};
      node = node[seg] as Record<string, unknown>;
    }
  }
  return root;
}

export function fromFieldsV1(tree: Record<string, unknown> | undefined): Set<string> {
  const out = new Set<string>();
  const walk = (node: Record<string, unknown>, path: string[]) => {
    const entries = Object.entries(node);
    if (entries.length === 0 && path.length > 0) out.add(path.join(SEP));
    for (const [k, v] of entries) walk(isObject(v) ? v : {}, [...path, k]);
  };
  if (tree) walk(tree, []);
  return out;
}

/** Reads the value at a field path; `undefined` when absent. */
export function valueAt(obj: unknown, path: string): unknown {
  let cur: unknown = obj;
  for (const seg of path.split(SEP)) {
    if (seg === '.') continue;
    if (seg.startsWith('f:')) {
      cur = isObject(cur) ? cur[seg.slice(2)] : undefined;
    } else if (seg.startsWith('k:')) {
      const want = JSON.parse(seg.slice(2)) as Record<string, unknown>;
      cur = Array.isArray(cur)
        ? cur.find((x) => isObject(x) && Object.entries(want).every(([k, v]) => x[k] === v))
        : undefined;
    } else if (seg.startsWith('v:')) {
      const want = seg.slice(2);
      cur = Array.isArray(cur) ? cur.find((x) => JSON.stringify(x) === want) : undefined;
    }
    if (cur === undefined) return undefined;
  }
  return cur;
}

/** Removes the field at `path` from `obj` (in place). */
export function removeAt(obj: unknown, path: string): void {
  const segs = path.split(SEP).filter((s) => s !== '.');
  let cur: unknown = obj;
  for (let i = 0; i < segs.length; i++) {
    const seg = segs[i]!;
    const last = i === segs.length - 1;
    if (seg.startsWith('f:')) {
      if (!isObject(cur)) return;
      if (last) delete cur[seg.slice(2)];
      else cur = cur[seg.slice(2)];
    } else if (Array.isArray(cur)) {
      const idx = seg.startsWith('k:')
        ? (() => {
            const want = JSON.parse(seg.slice(2)) as Record<string, unknown>;
            return cur.findIndex((x) => isObject(x) && Object.entries(want).every(([k, v]) => x[k] === v));
          })()
        : cur.findIndex((x) => JSON.stringify(x) === seg.slice(2));
      if (idx < 0) return;
      if (last) cur.splice(idx, 1);
      else cur = cur[idx];
    } else return;
  }
}

/** Human form of a path for conflict messages: `.spec.replicas`, `.spec.containers[name="web"].image`. */
export function describePath(path: string): string {
  return path
    .split(SEP)
    .filter((s) => s !== '.')
    .map((s) => {
      if (s.startsWith('f:')) return `.${s.slice(2)}`;
      if (s.startsWith('k:')) {
        const keys = JSON.parse(s.slice(2)) as Record<string, unknown>;
        return `[${Object.entries(keys)
          .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
          .join(',')}]`;
      }
      return `[${s.slice(2)}]`;
    })
    .join('');
}

function equal(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function entriesOf(obj: KubeObject): ManagedFieldsEntry[] {
  return obj.metadata.managedFields ?? [];
}

function managerId(e: { manager: string; operation: string; subresource?: string }): string {
  return `${e.manager}${SEP}${e.operation}${SEP}${e.subresource ?? ''}`;
}

/**
 * Records an Update by `manager`: fields whose value changed are now owned by it and
 * released by every other manager; fields that disappeared are released by all.
 */
export function recordUpdate(
  oldObj: KubeObject | undefined,
  newObj: KubeObject,
  t: TypeRef,
  manager: string,
  subresource?: string,
): void {
  const newSet = fieldSet(newObj, t);
  const oldSet = oldObj ? fieldSet(oldObj, t) : new Set<string>();
  const changed = new Set<string>();
  for (const p of newSet) if (!oldSet.has(p) || !equal(valueAt(oldObj, p), valueAt(newObj, p))) changed.add(p);
  // As kube: managed fields the request itself changed are taken as given (a client moving ownership:
  // kubectl's upgrade from client-side to server-side apply patches them); otherwise the live object's.
  const given = newObj.metadata.managedFields;
  const source =
    oldObj && !subresource && Array.isArray(given) && given.length > 0 && !equal(given, entriesOf(oldObj))
      ? given.filter((e) => isObject(e) && typeof e.manager === 'string')
      : oldObj
        ? entriesOf(oldObj)
        : entriesOf(newObj);
  const entries = source.map((e) => ({ e, set: fromFieldsV1(e.fieldsV1) }));
  const me = { manager, operation: 'Update' as const, subresource };
  let mine = entries.find((x) => managerId(x.e) === managerId(me));
  if (!mine) {
    mine = {
      e: {
        manager,
        operation: 'Update',
        apiVersion: newObj.apiVersion,
        fieldsType: 'FieldsV1',
        fieldsV1: {},
        ...(subresource ? { subresource } : {}),
      },
      set: new Set(),
    };
    entries.push(mine);
  }
  for (const x of entries) {
    if (x === mine) continue;
    for (const p of changed) x.set.delete(p);
  }
  for (const p of changed) mine.set.add(p);
  for (const x of entries) for (const p of [...x.set]) if (!newSet.has(p)) x.set.delete(p);
  if (changed.size > 0) mine.e.time = kubeTime();
  writeEntries(newObj, entries);
}

function writeEntries(obj: KubeObject, entries: Array<{ e: ManagedFieldsEntry; set: Set<string> }>): void {
  const out = entries.filter((x) => x.set.size > 0).map((x) => ({ ...x.e, fieldsV1: toFieldsV1(x.set) }));
  if (out.length > 0) obj.metadata.managedFields = out;
  else delete obj.metadata.managedFields;
}

export interface ApplyResult {
  object: KubeObject;
}

/** A manager as kube names it in a conflict: `"kubectl-client-side-apply" using apps/v1`. */
function printManager(e: Pick<ManagedFieldsEntry, 'manager' | 'operation' | 'apiVersion' | 'subresource'>): string {
  let s = JSON.stringify(e.manager);
  if (e.subresource) s += ` with subresource ${JSON.stringify(e.subresource)}`;
  if (e.operation === 'Update') s += ` using ${e.apiVersion}`;
  return s;
}

/**
 * The 409 of an apply that conflicts, in kube's words: one conflict on one line (`Apply failed
 * with 1 conflict: conflict with "kubectl" using v1: .data.a`), several as a list per manager,
 * and one `FieldManagerConflict` cause per field.
 */
function applyConflict(conflicts: Array<{ manager: ManagedFieldsEntry; field: string }>) {
  const causes = conflicts.map((c) => ({
    reason: 'FieldManagerConflict',
    message: `conflict with ${printManager(c.manager)}`,
    field: c.field,
  }));
  let message: string;
  if (conflicts.length === 1) message = `Apply failed with 1 conflict: ${causes[0]!.message}: ${causes[0]!.field}`;
  else {
    const byManager = new Map<string, string[]>();
    for (const c of conflicts) {
      const m = printManager(c.manager);
      byManager.set(m, [...(byManager.get(m) ?? []), c.field]);
    }
    const lines = [...byManager.keys()]
      .sort()
      .flatMap((m) => [`conflicts with ${m}:`, ...byManager.get(m)!.map((f) => `- ${f}`)]);
    message = `Apply failed with ${conflicts.length} conflicts: ${lines.join('\n')}`;
  }
  return errors.applyConflict(message, causes);
}

/**
 * Server-side apply of `applied` (a partial object) by `manager` onto `live` (undefined
 * when creating). Conflicts with other managers' fields throw 409 unless `force`.
 */
export function serverSideApply(
  live: KubeObject | undefined,
  applied: KubeObject,
  t: TypeRef,
  manager: string,
  force: boolean,
  merge: (target: unknown, patch: unknown) => unknown,
): KubeObject {
  const appliedSet = fieldSet(applied, t);
  const base: KubeObject = live
    ? cloneJson(live)
    : { apiVersion: applied.apiVersion, kind: applied.kind, metadata: {} };
  const entries = entriesOf(base).map((e) => ({ e, set: fromFieldsV1(e.fieldsV1) }));
  const me = { manager, operation: 'Apply' as const };
  let mine = entries.find((x) => managerId(x.e) === managerId(me));
  const conflicts: Array<{ entry: (typeof entries)[number]; path: string }> = [];
  for (const x of entries) {
    if (x === mine) continue;
    for (const p of appliedSet)
      if (x.set.has(p) && !p.endsWith(`${SEP}.`) && !equal(valueAt(base, p), valueAt(applied, p)))
        conflicts.push({ entry: x, path: p });
  }
  const takeover = (): boolean =>
    !!live &&
    clientSideApplyTakeover(
      live,
      applied,
      t,
      manager,
      conflicts.map((c) => c.path),
    );
  if (conflicts.length > 0 && !force && !takeover())
    throw applyConflict(conflicts.map((c) => ({ manager: c.entry.e, field: describePath(c.path) })));
  for (const c of conflicts) c.entry.set.delete(c.path);
  const othersOwn = new Set<string>();
  for (const x of entries) if (x !== mine) for (const p of x.set) othersOwn.add(p);
  if (mine) {
    for (const p of mine.set) if (!appliedSet.has(p) && !othersOwn.has(p)) removeAt(base, p);
  }
  const { managedFields: _ignored, ...appliedMeta } = applied.metadata;
  void _ignored;
  const merged = merge(base, { ...applied, metadata: appliedMeta }) as KubeObject;
  if (!mine) {
    mine = {
      e: { manager, operation: 'Apply', apiVersion: applied.apiVersion, fieldsType: 'FieldsV1', fieldsV1: {} },
      set: new Set(),
    };
    entries.push(mine);
  }
  mine.set = appliedSet;
  mine.e.time = kubeTime();
  mine.e.apiVersion = applied.apiVersion;
  writeEntries(merged, entries);
  if (manager === 'kubectl' && live?.metadata.annotations?.[LAST_APPLIED] !== undefined)
    merged.metadata.annotations = { ...merged.metadata.annotations, [LAST_APPLIED]: lastAppliedOf(applied) };
  return merged;
}

const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

/**
 * kube's last-applied upgrade: `kubectl apply --server-side` (field manager `kubectl`) over an object
 * that `kubectl apply` managed takes over the fields its last-applied-configuration annotation lists,
 * where the annotation still matches the live object, instead of conflicting with
 * `kubectl-client-side-apply`. Any other conflict still conflicts.
 */
function clientSideApplyTakeover(
  live: KubeObject,
  applied: KubeObject,
  t: TypeRef,
  manager: string,
  paths: string[],
): boolean {
  if (manager !== 'kubectl') return false;
  const text = live.metadata.annotations?.[LAST_APPLIED];
  if (!text) return false;
  let last: unknown;
  try {
    last = JSON.parse(text);
  } catch {
    return false;
  }
  if (!isObject(last) || last.apiVersion !== applied.apiVersion) return false;
  const lastSet = fieldSet(last, t);
  return paths.every((p) => lastSet.has(p) && equal(valueAt(last, p), valueAt(live, p)));
}

/**
 * kube's lastAppliedUpdater: a server-side apply by `kubectl` keeps an existing last-applied annotation
 * in step with what was applied (so that a later client-side `kubectl apply` diffs against it): the
 * applied object without that annotation, as Go encodes it (sorted keys, a trailing newline).
 */
function lastAppliedOf(applied: KubeObject): string {
  const { managedFields: _m, annotations, ...meta } = applied.metadata;
  void _m;
  const rest = { ...annotations };
  delete rest[LAST_APPLIED];
  return `${JSON.stringify(sortKeys({ ...applied, metadata: { ...meta, annotations: rest } }))}\n`;
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (!isObject(v)) return v;
  return Object.fromEntries(
    Object.keys(v)
      .sort()
      .map((k) => [k, sortKeys(v[k])]),
  );
}
