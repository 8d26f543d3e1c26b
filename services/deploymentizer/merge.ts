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

function clone<T>(value: T): T {
  return value === undefined ? value : structuredClone(value);
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

function mergeObjects(base: Record<string, unknown>, override: Record<string, unknown>, arrays: ArrayMerge): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(base)) out[k] = clone(v);
  for (const [k, v] of Object.entries(override)) {
    const merged = mergeValue(k, base[k], v, arrays);
    if (merged !== undefined) out[k] = merged;
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
