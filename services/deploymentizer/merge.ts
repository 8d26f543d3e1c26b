/**
 * kit's merge (`resource-handler.merge(base, override)`), used for every layer:
 * base → cluster type → cluster, container → plugin result → repo env.
 *
 * - deep merge onto a copy of base (inputs are never mutated);
 * - an override value `null` keeps the base value (or sets null when base has none);
 * - a key `env` whose base value is an array merges by entry `name`: base order kept, matching entries
 *   take every field of the override entry, new names are appended;
 * - every other array: `index` (kit) merges element by element, `replace` takes the override array.
 */
import { isObject } from '../core/kube.js';

export type ArrayMerge = 'index' | 'replace';

/** Sets a key, `__proto__` included (as an own property, never the prototype). */
function setKey(obj: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__')
    Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
  else obj[key] = value;
}

/** Deep copy of YAML/JSON data (plain objects, arrays, scalars): much cheaper than structuredClone here. */
export function clone<T>(value: T): T {
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) return value.map((v: unknown) => clone(v)) as T;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(value)) setKey(out, k, clone((value as Record<string, unknown>)[k]));
  return out as T;
}

function mergeEnv(base: unknown[], override: unknown[]): unknown[] {
  const out = base.map((e) => clone(e));
  for (const entry of override) {
    const name = isObject(entry) ? entry.name : undefined;
    const at = name === undefined ? -1 : out.findIndex((e) => isObject(e) && e.name === name);
    if (at >= 0 && isObject(out[at]) && isObject(entry)) Object.assign(out[at] as object, clone(entry));
    else out.push(clone(entry));
  }
  return out;
}

function mergeValue(key: string | number, base: unknown, override: unknown, arrays: ArrayMerge): unknown {
  if (override === undefined) return clone(base);
  if (override === null) return base === undefined ? null : clone(base);
  if (key === 'env' && Array.isArray(base) && Array.isArray(override)) return mergeEnv(base, override);
  if (Array.isArray(base) && Array.isArray(override)) {
    if (arrays === 'replace') return clone(override);
    const length = Math.max(base.length, override.length);
    return Array.from({ length }, (_, i) => mergeValue(i, base[i], override[i], arrays));
  }
  if (isObject(base) && isObject(override)) return mergeObjects(base, override, arrays);
  return clone(override);
}

function mergeObjects(
  base: Record<string, unknown>,
  override: Record<string, unknown>,
  arrays: ArrayMerge,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(base)) if (!Object.hasOwn(override, k)) setKey(out, k, clone(base[k]));
  for (const [k, v] of Object.entries(override)) {
    const merged = mergeValue(k, Object.hasOwn(base, k) ? base[k] : undefined, v, arrays);
    if (merged !== undefined) setKey(out, k, merged);
  }
  return out;
}

/** Merges `override` over `base` with kit's rules; returns a new object. */
export function kitMerge(
  base: Record<string, unknown> | undefined,
  override: Record<string, unknown> | undefined,
  arrays: ArrayMerge = 'index',
): Record<string, unknown> {
  return mergeObjects(base ?? {}, override ?? {}, arrays);
}
