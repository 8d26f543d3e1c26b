/**
 * Per-cluster-list helpers for the fast planner, cached because a controller plans many objects
 * over the same fleet:
 * - `index`: cluster name → position, so the planner walks the keys of the preferences,
 *   current and capacity records instead of probing each record once per cluster (V8's keyed
 *   loads on many records of varied shapes fall off its inline caches and are slow);
 * - `nameStates`: the FNV-1 state after each name, so a plan hashes only the key bytes;
 * - `build`: makes the `Record<string, number>` result. Adding one property per cluster is,
 *   at 100 clusters, the most expensive step of a plan (a hidden-class transition each), so a
 *   list seen twice gets a compiled function returning an object literal with exactly those
 *   keys, which V8 allocates in one step. Keys are JSON-quoted (`__proto__` as a computed key,
 *   so it stays an own property); no input is ever evaluated as code.
 */
import { FNV32_OFFSET, fnv1Update } from './hash.js';
import { setOwn } from './types.js';

export type Build = (values: Float64Array) => Record<string, number>;

export interface ClusterList {
  /** False when a name repeats (the fast planner then defers to the exact port). */
  unique: boolean;
  /** Cluster name → position in the list. */
  index: Map<string, number>;
  build: Build;
  /** FNV-1 state after each cluster's name (the planner then hashes only the key bytes). */
  nameStates: Int32Array;
}

const MAX_CACHED = 256;
const seen = new Map<string, number>();
const compiled = new Map<string, ClusterList>();
const byArray = new WeakMap<readonly string[], { names: string[]; list: ClusterList }>();

function same(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function compile(names: readonly string[]): Build {
  const props = names.map((n, i) => `${n === '__proto__' ? `["__proto__"]` : JSON.stringify(n)}: v[${i}]`);
  return new Function('v', `return {${props.join(',')}};`) as Build;
}

function generic(names: readonly string[]): Build {
  return (values) => {
    const out: Record<string, number> = {};
    for (let i = 0; i < names.length; i++) setOwn(out, names[i]!, values[i]!);
    return out;
  };
}

function describe(names: readonly string[], compiledBuild: boolean): ClusterList {
  const index = new Map<string, number>();
  for (let i = 0; i < names.length; i++) index.set(names[i]!, i);
  const unique = index.size === names.length;
  const nameStates = new Int32Array(names.length);
  for (let i = 0; i < names.length; i++) nameStates[i] = fnv1Update(FNV32_OFFSET, names[i]!);
  return { unique, index, build: compiledBuild && unique ? compile(names) : generic(names), nameStates };
}

/** The helpers for `names`; compiled and cached once the same list has been seen twice. */
export function clusterList(names: readonly string[]): ClusterList {
  const hit = byArray.get(names);
  if (hit && same(hit.names, names)) return hit.list; // the array may have been mutated since
  if (names.length < 4) return describe(names, false);
  const key = names.join('\u0000');
  let list = compiled.get(key);
  if (!list) {
    const count = (seen.get(key) ?? 0) + 1;
    if (count < 2) {
      if (seen.size >= MAX_CACHED) seen.clear();
      seen.set(key, count);
      return describe(names, false);
    }
    if (compiled.size >= MAX_CACHED) compiled.clear();
    list = describe([...names], true);
    compiled.set(key, list);
    seen.delete(key);
  }
  byArray.set(names, { names: [...names], list });
  return list;
}
