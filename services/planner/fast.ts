/**
 * The fast planner: the same algorithm as `exact.ts` (reference §1.4) on doubles and reused
 * typed arrays, for the inputs where doubles provably give the same integers as Go's int64:
 * every number a non-negative safe integer, no duplicate cluster names, and
 * `total * maxWeight + 2 * sum(weights) < 2^52` (so the ceiling division is exact).
 * Returns `undefined` for any other input; the caller then uses the exact port.
 */
import { FNV32_OFFSET, FNV32_PRIME, fnv1Update } from './hash.js';
import { getOwn, setOwn, type ClusterPreferences, type PlanInput, type PlanResult } from './types.js';

const LIMIT = 2 ** 52;
const ABSENT = -1;

/** Scratch arrays indexed by position in `input.clusters`, grown on demand and reused. */
let size = 0;
let weight = new Float64Array(0);
let minR = new Float64Array(0);
let maxR = new Float64Array(0);
let cap = new Float64Array(0);
let cur = new Float64Array(0);
let planned = new Float64Array(0);
let prealloc = new Float64Array(0);
let over = new Float64Array(0);
let hash = new Uint32Array(0);
let order = new Int32Array(0);
let keyBytes = new Uint8Array(64);

function ensure(n: number): void {
  if (n <= size) return;
  size = Math.max(n, size * 2, 16);
  weight = new Float64Array(size);
  minR = new Float64Array(size);
  maxR = new Float64Array(size);
  cap = new Float64Array(size);
  cur = new Float64Array(size);
  planned = new Float64Array(size);
  prealloc = new Float64Array(size);
  over = new Float64Array(size);
  hash = new Uint32Array(size);
  order = new Int32Array(size);
}

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/** UTF-8 bytes of the key into `keyBytes`; returns their count. */
function encodeKey(key: string): number {
  if (keyBytes.length < key.length * 3) keyBytes = new Uint8Array(key.length * 3);
  let n = 0;
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    if (c >= 0x80) return new TextEncoder().encodeInto(key, keyBytes).written;
    keyBytes[n++] = c;
  }
  return n;
}

function hashOf(name: string, keyLen: number): number {
  let h = fnv1Update(FNV32_OFFSET, name);
  for (let j = 0; j < keyLen; j++) h = Math.imul(h, FNV32_PRIME) ^ keyBytes[j]!;
  return h >>> 0;
}

/** Loads cluster `i`'s preference into the scratch arrays; false when the value needs the exact port. */
function load(i: number, p: ClusterPreferences, input: PlanInput): boolean {
  const w = p.weight ?? 0;
  const mn = p.minReplicas ?? 0;
  const mx = p.maxReplicas ?? Infinity;
  if (!isCount(w) || !isCount(mn) || (mx !== Infinity && !isCount(mx))) return false;
  const name = input.clusters[i]!;
  const c = getOwn(input.estimatedCapacity, name);
  const r = getOwn(input.currentReplicas, name);
  if ((c !== undefined && !isCount(c)) || (r !== undefined && !isCount(r))) return false;
  weight[i] = w;
  minR[i] = mn;
  maxR[i] = mx;
  cap[i] = c ?? Infinity;
  cur[i] = r ?? ABSENT;
  prealloc[i] = 0;
  return true;
}

/** Orders `order[0..k)` by weight descending, then hash ascending; false on a duplicate name. */
function sortOrder(k: number, names: readonly string[]): boolean {
  if (k <= 24) {
    for (let a = 1; a < k; a++) {
      const x = order[a]!;
      const wx = weight[x]!;
      const hx = hash[x]!;
      let b = a - 1;
      while (b >= 0) {
        const y = order[b]!;
        if (weight[y]! > wx || (weight[y] === wx && hash[y]! <= hx)) break;
        order[b + 1] = y;
        b--;
      }
      order[b + 1] = x;
    }
  } else {
    order.subarray(0, k).sort((x, y) => weight[y]! - weight[x]! || hash[x]! - hash[y]!);
  }
  // Equal weight and hash: either a duplicate name (Go keys its maps by name: use the exact port)
  // or a genuine FNV collision (order then unspecified, as in Go's unstable sort).
  for (let a = 1; a < k; a++) {
    const x = order[a - 1]!;
    const y = order[a]!;
    if (weight[x] === weight[y] && hash[x] === hash[y]) {
      for (let b = a; b < k && weight[order[b]!] === weight[x] && hash[order[b]!] === hash[x]; b++) {
        for (let d = a - 1; d < b; d++) if (names[order[d]!] === names[order[b]!]) return false;
      }
    }
  }
  return true;
}

/** Steps 2 and 3: minimums, then (rebalance false) the replicas already running. Returns `remaining`. */
function minimumsAndKeep(k: number, total: number, rebalance: boolean): number {
  let remaining = total;
  for (let a = 0; a < k; a++) {
    const i = order[a]!;
    const m = Math.min(minR[i]!, remaining, cap[i]!);
    remaining -= m;
    planned[i] = m;
  }
  if (rebalance) return remaining;
  for (let a = 0; a < k; a++) {
    const i = order[a]!;
    const have = planned[i]!;
    if (cur[i]! <= have) continue;
    const target = Math.min(cur[i]!, maxR[i]!, cap[i]!);
    const extra = Math.max(Math.min(target - have, remaining), 0);
    remaining -= extra;
    prealloc[i] = extra;
    planned[i] = have + extra;
  }
  return remaining;
}

/** Step 4: weighted passes over the still-active clusters (compacted in place). Returns `remaining`. */
function weightedPasses(k: number, remaining: number): number {
  let active = k;
  let modified = true;
  while (modified && remaining > 0) {
    modified = false;
    let ws = 0;
    for (let a = 0; a < active; a++) ws += weight[order[a]!]!;
    if (!(ws > 0)) break;
    const dist = remaining;
    let kept = 0;
    for (let a = 0; a < active; a++) {
      const i = order[a]!;
      const start = planned[i]!;
      let extra = Math.min(Math.trunc((dist * weight[i]! + ws - 1) / ws), remaining);
      const pa = prealloc[i]!;
      const used = Math.min(extra, pa);
      prealloc[i] = pa - used;
      extra -= used;
      if (used > 0) modified = true;
      let tot = start + extra;
      let full = false;
      if (tot > maxR[i]!) {
        tot = maxR[i]!;
        full = true;
      }
      if (tot > cap[i]!) {
        over[i] = tot - cap[i]!;
        tot = cap[i]!;
        full = true;
      }
      if (!full) order[kept++] = i;
      remaining -= tot - start;
      planned[i] = tot;
      if (tot > start) modified = true;
    }
    active = kept;
  }
  return remaining;
}

export function planFast(input: PlanInput): PlanResult | undefined {
  const names = input.clusters;
  const n = names.length;
  const total = input.totalReplicas;
  if (!isCount(total)) return undefined;
  ensure(n);
  const prefs = input.preferences.clusters ?? {};
  const star = getOwn(prefs, '*');
  const keyLen = encodeKey(input.key);
  let k = 0;
  let maxW = 0;
  let sumW = 0;
  for (let i = 0; i < n; i++) {
    const name = names[i]!;
    const p = getOwn(prefs, name) ?? star;
    planned[i] = 0;
    over[i] = 0;
    if (p === undefined) continue;
    if (!load(i, p, input)) return undefined;
    hash[i] = hashOf(name, keyLen);
    order[k++] = i;
    if (weight[i]! > maxW) maxW = weight[i]!;
    sumW += weight[i]!;
  }
  if (total * maxW + 2 * sumW >= LIMIT) return undefined;
  if (!sortOrder(k, names)) return undefined;
  const rebalance = input.preferences.rebalance === true;
  const remaining = weightedPasses(k, minimumsAndKeep(k, total, rebalance));

  const plan: Record<string, number> = {};
  const overflow: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const name = names[i]!;
    setOwn(plan, name, planned[i]!);
    const v = rebalance ? over[i]! : Math.min(over[i]!, remaining);
    if (v > 0) setOwn(overflow, name, v);
  }
  return { plan, overflow };
}
