import fastJsonPatch from 'fast-json-patch';
import { errors } from '../core/errors.js';
import { cloneJson, isObject } from '../core/kube.js';
import { childType, isSetListOf, mergeKeyOf, type TypeRef } from './schema.js';

/** RFC 7396 JSON merge patch. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return cloneJson(patch);
  const out: Record<string, unknown> = isObject(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

/** RFC 6902 JSON patch; a failed operation is a 422 naming the operation. */
export function jsonPatch(target: unknown, ops: unknown): unknown {
  if (!Array.isArray(ops)) throw errors.badRequest('json patch must be a JSON array of operations');
  try {
    return fastJsonPatch.applyPatch(cloneJson(target), ops as fastJsonPatch.Operation[], true, false).newDocument;
  } catch (err) {
    const e = err as { name?: string; message?: string; index?: number };
    throw errors.invalid({ group: '', kind: 'Patch', name: 'json-patch' }, [
      {
        reason: 'FieldValueInvalid',
        message: `${e.message?.split('\n')[0] ?? 'invalid operation'}`,
        field: e.index !== undefined ? `[${e.index}]` : 'patch',
      },
    ]);
  }
}

const DIRECTIVE = '$patch';

/**
 * Kubernetes strategic merge patch: maps merge, lists of keyed objects (containers by
 * name, ports by containerPort, …) merge by key, other lists are replaced. Supports the
 * `$patch` (replace/delete/merge), `$retainKeys`, `$setElementOrder/<list>` and
 * `$deleteFromPrimitiveList/<list>` directives kubectl sends.
 */
export function strategicMergePatch(target: unknown, patch: unknown, t: TypeRef): unknown {
  if (!isObject(patch)) return cloneJson(patch);
  if (patch[DIRECTIVE] === 'replace') return stripDirectives(patch);
  const out: Record<string, unknown> = isObject(target) ? { ...target } : {};
  const orders = new Map<string, unknown[]>();
  for (const [k, v] of Object.entries(patch)) {
    if (k === DIRECTIVE || k === '$retainKeys') continue;
    if (k.startsWith('$setElementOrder/')) {
      if (Array.isArray(v)) orders.set(k.slice('$setElementOrder/'.length), v);
      continue;
    }
    if (k.startsWith('$deleteFromPrimitiveList/')) {
      const field = k.slice('$deleteFromPrimitiveList/'.length);
      const drop = new Set((Array.isArray(v) ? v : []).map((x) => JSON.stringify(x)));
      if (Array.isArray(out[field])) out[field] = (out[field] as unknown[]).filter((x) => !drop.has(JSON.stringify(x)));
      continue;
    }
    if (v === null) {
      delete out[k];
      continue;
    }
    const ct = childType(t, k);
    if (Array.isArray(v)) out[k] = patchList(out[k], v, ct, t, k);
    else if (isObject(v)) {
      if (v[DIRECTIVE] === 'delete') delete out[k];
      else if (ct.kind === 'struct' && ct.atomic) out[k] = cloneJson(v);
      else out[k] = strategicMergePatch(out[k], v, ct);
    } else out[k] = v;
  }
  for (const [field, order] of orders) {
    const list = out[field];
    if (Array.isArray(list)) out[field] = reorder(list, order, ct(t, field));
  }
  if (Array.isArray(patch.$retainKeys)) {
    const keep = new Set(patch.$retainKeys as string[]);
    for (const k of Object.keys(out)) if (!keep.has(k)) delete out[k];
  }
  return out;
}

function ct(t: TypeRef, field: string): TypeRef {
  return childType(t, field);
}

/** The keys a list merges by: a schema's list-map-keys (all of them), or a model's patch merge key. */
function mergeKeys(t: TypeRef): string[] | undefined {
  if (t.kind !== 'array') return undefined;
  if (t.keys) return t.keys;
  const key = t.of.kind === 'object' ? mergeKeyOf(t.of.name) : undefined;
  return key ? [key] : undefined;
}

function patchList(current: unknown, patch: unknown[], t: TypeRef, parent: TypeRef, field: string): unknown[] {
  const orig = Array.isArray(current) ? current : [];
  const elem = t.kind === 'array' ? t.of : undefined;
  const keys = mergeKeys(t);
  if (keys && elem) {
    const out = orig.map((x) => x);
    for (const item of patch) {
      if (!isObject(item)) continue;
      const idx = out.findIndex((o) => isObject(o) && keys.every((k) => o[k] === item[k]));
      if (item[DIRECTIVE] === 'delete') {
        if (idx >= 0) out.splice(idx, 1);
      } else if (item[DIRECTIVE] === 'replace') {
        const replaced = stripDirectives(item);
        if (idx >= 0) out[idx] = replaced;
        else out.push(replaced);
      } else if (idx >= 0) {
        out[idx] = strategicMergePatch(out[idx], item, elem);
      } else {
        out.push(strategicMergePatch({}, item, elem));
      }
    }
    return out;
  }
  if (isSetListOf(t, parent, field)) {
    const seen = new Set(orig.map((x) => JSON.stringify(x)));
    const out = [...orig];
    for (const v of patch) if (!seen.has(JSON.stringify(v))) out.push(v);
    return out;
  }
  return patch.filter((x) => !(isObject(x) && DIRECTIVE in x)).map((x) => cloneJson(x));
}

function reorder(list: unknown[], order: unknown[], t: TypeRef): unknown[] {
  const keys = mergeKeys(t);
  const id = (x: unknown) => (keys && isObject(x) ? JSON.stringify(keys.map((k) => x[k])) : JSON.stringify(x));
  const pos = new Map(order.map((o, i) => [id(o), i]));
  return [...list].sort((a, b) => (pos.get(id(a)) ?? Infinity) - (pos.get(id(b)) ?? Infinity));
}

function stripDirectives(value: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) if (!k.startsWith('$')) out[k] = cloneJson(v);
  return out;
}
