/**
 * The fast planner: the same algorithm as `exact.ts` (reference §1.4) on doubles and reused
 * typed arrays, for the inputs where doubles provably give the same integers as Go's int64:
 * every number a non-negative safe integer, weights below 2^21, no duplicate cluster names, and
 * `total * maxWeight + 2 * sum(weights) < 2^52` (so the ceiling division is exact).
 * Returns `undefined` for any other input; the caller then uses the exact port.
 */
import { FNV32_PRIME } from './hash.js';
import { clusterList } from './cluster-list.js';
import { setOwn, type ClusterPreferences, type PlanInput, type PlanResult } from './types.js';

const LIMIT = 2 ** 52;
const WEIGHT_KEY_LIMIT = 2 ** 21;
const ABSENT = -1;
const RUN = 12;

/** Per-plan working arrays, indexed by position in `input.clusters`; reused across plans. */
class Scratch {
  readonly weight: Float64Array;
  readonly minR: Float64Array;
  readonly maxR: Float64Array;
  readonly cap: Float64Array;
  readonly cur: Float64Array;
  readonly planned: Float64Array;
  readonly prealloc: Float64Array;
  readonly over: Float64Array;
  readonly sortKey: Float64Array;
  readonly hash: Uint32Array;
  /** Positions of clusters with a preference, in planning order; `spare` is the merge buffer. */
  readonly order: Int32Array;
  readonly spare: Int32Array;
  constructor(readonly size: number) {
    this.weight = new Float64Array(size);
    this.minR = new Float64Array(size);
    this.maxR = new Float64Array(size);
    this.cap = new Float64Array(size);
    this.cur = new Float64Array(size);
    this.planned = new Float64Array(size);
    this.prealloc = new Float64Array(size);
    this.over = new Float64Array(size);
    this.sortKey = new Float64Array(size);
    this.hash = new Uint32Array(size);
    this.order = new Int32Array(size);
    this.spare = new Int32Array(size);
  }
}

let scratch = new Scratch(16);
let keyBytes = new Uint8Array(64);

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/** UTF-8 bytes of the key into `keyBytes`; returns their count. */
function encodeKey(key: string): number {
  if (keyBytes.length < key.length * 3) keyBytes = new Uint8Array(key.length * 3);
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    if (c >= 0x80) return new TextEncoder().encodeInto(key, keyBytes).written;
    keyBytes[i] = c;
  }
  return key.length;
}

/**
 * Finishes the hashes of the clusters in `order[0..k)` (seeded with their name states) with the
 * key bytes, four clusters at a time so the four multiply chains overlap in the CPU.
 */
function hashKey(s: Scratch, k: number, keyLen: number, nameStates: Int32Array): void {
  const { hash, order } = s;
  const kb = keyBytes;
  const P = FNV32_PRIME;
  let a = 0;
  for (; a + 4 <= k; a += 4) {
    const i0 = order[a]!;
    const i1 = order[a + 1]!;
    const i2 = order[a + 2]!;
    const i3 = order[a + 3]!;
    let h0 = nameStates[i0]!;
    let h1 = nameStates[i1]!;
    let h2 = nameStates[i2]!;
    let h3 = nameStates[i3]!;
    for (let j = 0; j < keyLen; j++) {
      const b = kb[j]!;
      h0 = Math.imul(h0, P) ^ b;
      h1 = Math.imul(h1, P) ^ b;
      h2 = Math.imul(h2, P) ^ b;
      h3 = Math.imul(h3, P) ^ b;
    }
    hash[i0] = h0;
    hash[i1] = h1;
    hash[i2] = h2;
    hash[i3] = h3;
  }
  for (; a < k; a++) {
    const i = order[a]!;
    let h = nameStates[i]!;
    for (let j = 0; j < keyLen; j++) h = Math.imul(h, P) ^ kb[j]!;
    hash[i] = h;
  }
}

/** Reads `record`'s own entries into `into` (by cluster position); false if a value needs the exact port. */
function spread(
  record: Readonly<Record<string, number>> | undefined,
  index: Map<string, number>,
  into: Float64Array,
): boolean {
  if (record == null) return true;
  for (const name of Object.keys(record)) {
    const v = record[name];
    if (!isCount(v)) return false;
    const i = index.get(name);
    if (i !== undefined) into[i] = v;
  }
  return true;
}

/** Loads cluster `i`'s preference into the scratch arrays; false when a value needs the exact port. */
function load(s: Scratch, i: number, p: ClusterPreferences | null): boolean {
  if (typeof p !== 'object' || p === null) return false; // not the declared type: let the exact port decide
  const w = p.weight ?? 0;
  const mn = p.minReplicas ?? 0;
  const mx = p.maxReplicas ?? Infinity;
  if (!isCount(w) || w >= WEIGHT_KEY_LIMIT || !isCount(mn) || (mx !== Infinity && !isCount(mx))) return false;
  s.weight[i] = w;
  s.minR[i] = mn;
  s.maxR[i] = mx;
  s.prealloc[i] = 0;
  return true;
}

/** Stable merge sort of `order[0..k)` by `sortKey` (insertion-sorted runs, then bottom-up merges). */
function sortByKey(s: Scratch, k: number): void {
  const { order, sortKey } = s;
  for (let lo = 0; lo < k; lo += RUN) {
    const hi = Math.min(lo + RUN, k);
    for (let a = lo + 1; a < hi; a++) {
      const x = order[a]!;
      const kx = sortKey[x]!;
      let b = a - 1;
      while (b >= lo && sortKey[order[b]!]! > kx) {
        order[b + 1] = order[b]!;
        b--;
      }
      order[b + 1] = x;
    }
  }
  let src = order;
  let dst = s.spare;
  for (let width = RUN; width < k; width *= 2) {
    for (let lo = 0; lo < k; lo += 2 * width) {
      const mid = Math.min(lo + width, k);
      const hi = Math.min(lo + 2 * width, k);
      let i = lo;
      let j = mid;
      let o = lo;
      while (i < mid && j < hi) dst[o++] = sortKey[src[j]!]! < sortKey[src[i]!]! ? src[j++]! : src[i++]!;
      while (i < mid) dst[o++] = src[i++]!;
      while (j < hi) dst[o++] = src[j++]!;
    }
    const t = src;
    src = dst;
    dst = t;
  }
  if (src !== order) order.set(src.subarray(0, k));
}

/**
 * Orders `order[0..k)` by weight descending, then hash ascending, through one exact double per
 * cluster: `(2^21 - 1 - weight) * 2^32 + hash`. Names are unique here, so equal keys are a
 * genuine FNV collision, whose order Go's unstable sort leaves unspecified (kept in list order).
 */
function sortOrder(s: Scratch, k: number): void {
  const { order, sortKey, weight, hash } = s;
  for (let a = 0; a < k; a++) {
    const i = order[a]!;
    sortKey[i] = (WEIGHT_KEY_LIMIT - 1 - weight[i]!) * 4294967296 + hash[i]!;
  }
  sortByKey(s, k);
}

/** Steps 2 and 3: minimums, then (rebalance false) the replicas already running. Returns `remaining`. */
function minimumsAndKeep(s: Scratch, k: number, total: number, rebalance: boolean): number {
  const { order, minR, maxR, cap, cur, planned, prealloc } = s;
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
function weightedPasses(s: Scratch, k: number, total: number): number {
  const { order, weight, maxR, cap, planned, prealloc, over } = s;
  let remaining = total;
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
      if (pa > 0) {
        const used = Math.min(extra, pa);
        prealloc[i] = pa - used;
        extra -= used;
        if (used > 0) modified = true;
      }
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

/**
 * Large fleets: records with hundreds of keys are hash tables in V8, where a lookup per cluster
 * is cheaper than listing their keys; small records are walked (see `spread`).
 */
const PROBE_FROM = 256;

function probe(
  s: Scratch,
  input: PlanInput,
  prefs: Readonly<Record<string, ClusterPreferences>>,
  star: ClusterPreferences | undefined,
): boolean {
  const { cap, cur } = s;
  const names = input.clusters;
  const capacity = input.estimatedCapacity ?? {};
  const current = input.currentReplicas ?? {};
  for (let i = 0; i < names.length; i++) {
    const name = names[i]!;
    const p = prefs[name];
    prefOf[i] = p !== undefined && Object.hasOwn(prefs, name) ? p : star;
    const c = capacity[name];
    const r = current[name];
    if ((c !== undefined && !isCount(c)) || (r !== undefined && !isCount(r))) return false;
    cap[i] = c ?? Infinity; // an inherited number is impossible: Object.prototype has none
    cur[i] = r ?? ABSENT;
  }
  return true;
}

/** Per-position preference: the cluster's own entry, else `"*"`, else undefined. Scratch, reused. */
let prefOf: Array<ClusterPreferences | undefined> = [];

/** Step 1: the clusters with a preference into `order`; the count, or -1 if the exact port is needed. */
function collect(s: Scratch, input: PlanInput, index: Map<string, number>): number {
  const names = input.clusters;
  const n = names.length;
  const prefs = input.preferences.clusters ?? {};
  const star = Object.hasOwn(prefs, '*') ? prefs['*'] : undefined;
  if (prefOf.length < n) prefOf = new Array<ClusterPreferences | undefined>(n);
  const { order, planned, over, cap, cur } = s;
  planned.fill(0, 0, n);
  over.fill(0, 0, n);
  if (n < PROBE_FROM) {
    prefOf.fill(star, 0, n);
    for (const name of Object.keys(prefs)) {
      const i = index.get(name);
      if (i !== undefined) prefOf[i] = prefs[name];
    }
    cap.fill(Infinity, 0, n);
    cur.fill(ABSENT, 0, n);
    if (!spread(input.estimatedCapacity, index, cap) || !spread(input.currentReplicas, index, cur)) return -1;
  } else if (!probe(s, input, prefs, star)) {
    return -1;
  }
  let k = 0;
  for (let i = 0; i < n; i++) {
    const p = prefOf[i];
    if (p === undefined) continue;
    if (!load(s, i, p)) return -1;
    order[k++] = i;
  }
  return k;
}

function withinDoubleRange(s: Scratch, k: number, total: number): boolean {
  const { order, weight } = s;
  let maxW = 0;
  let sumW = 0;
  for (let a = 0; a < k; a++) {
    const w = weight[order[a]!]!;
    if (w > maxW) maxW = w;
    sumW += w;
  }
  return total * maxW + 2 * sumW < LIMIT;
}

export function planFast(input: PlanInput): PlanResult | undefined {
  const names = input.clusters;
  const n = names.length;
  const total = input.totalReplicas;
  if (!isCount(total)) return undefined;
  if (n > scratch.size) scratch = new Scratch(Math.max(n, scratch.size * 2));
  const s = scratch;
  const list = clusterList(names);
  if (!list.unique) return undefined;
  const k = collect(s, input, list.index);
  if (k < 0 || !withinDoubleRange(s, k, total)) return undefined;
  hashKey(s, k, encodeKey(input.key ?? ''), list.nameStates); // key is required by the type; tolerate JSON callers omitting it
  sortOrder(s, k);
  const rebalance = input.preferences.rebalance === true;
  const remaining = weightedPasses(s, k, minimumsAndKeep(s, k, total, rebalance));

  const plan = list.build(s.planned);
  const overflow: Record<string, number> = {};
  const { over } = s;
  for (let i = 0; i < n; i++) {
    if (over[i] === 0) continue;
    const v = rebalance ? over[i]! : Math.min(over[i]!, remaining);
    if (v > 0) setOwn(overflow, names[i]!, v);
  }
  return { plan, overflow };
}
