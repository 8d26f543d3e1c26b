/**
 * The reference planner: a line-by-line port of Federation v1's `Plan` (reference §1.4) on
 * signed 64-bit integers (BigInt, wrapping like Go `int64`) and name-keyed maps (so duplicate
 * cluster names behave as in Go). It accepts every integer input v1 accepts, negative values
 * included. `plan()` uses it whenever its fast path cannot prove it would compute the same thing.
 */
import { errors } from '../core/errors.js';
import { clusterHash } from './hash.js';
import { getOwn, setOwn, type ClusterPreferences, type PlanInput, type PlanResult } from './types.js';

/** Weighted passes allowed before giving up. Only negative weights can keep v1 looping (forever). */
export const MAX_PASSES = 10_000;

const i64 = (x: bigint): bigint => BigInt.asIntN(64, x);
const min = (a: bigint, b: bigint): bigint => (a < b ? a : b);

interface Entry {
  name: string;
  hash: number;
  min: bigint;
  max: bigint | null;
  weight: bigint;
}

function int(value: unknown, field: string): bigint {
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) {
    throw errors.badRequest(
      `${field}: must be an integer between -${Number.MAX_SAFE_INTEGER} and ${Number.MAX_SAFE_INTEGER}`,
      [{ field, message: 'must be an integer' }],
    );
  }
  return BigInt(value);
}

function entry(name: string, pref: ClusterPreferences, prefName: string, key: string): Entry {
  const field = `preferences.clusters[${JSON.stringify(prefName)}]`;
  const max = pref.maxReplicas;
  return {
    name,
    hash: clusterHash(name, key),
    min: pref.minReplicas == null ? 0n : int(pref.minReplicas, `${field}.minReplicas`),
    max: max == null ? null : int(max, `${field}.maxReplicas`),
    weight: pref.weight == null ? 0n : int(pref.weight, `${field}.weight`),
  };
}

/** The entries of `record` for the available clusters (Go never sees the others). */
function intMap(
  record: Readonly<Record<string, number>> | undefined,
  clusters: readonly string[],
  field: string,
): Map<string, bigint> {
  const out = new Map<string, bigint>();
  for (const c of clusters) {
    const v = getOwn(record, c);
    if (v !== undefined) out.set(c, int(v, `${field}[${JSON.stringify(c)}]`));
  }
  return out;
}

function preferenceList(input: PlanInput, plan: Map<string, bigint>): Entry[] {
  const prefs = input.preferences.clusters ?? {};
  const star = getOwn(prefs, '*');
  const list: Entry[] = [];
  for (const c of input.clusters) {
    const own = getOwn(prefs, c);
    if (own) list.push(entry(c, own, c, input.key ?? ''));
    else if (star) list.push(entry(c, star, '*', input.key ?? ''));
    else plan.set(c, 0n);
  }
  // Weight descending, then hash ascending (unsigned 32-bit).
  return list.sort((a, b) => (a.weight === b.weight ? a.hash - b.hash : a.weight > b.weight ? -1 : 1));
}

export function planExact(input: PlanInput): PlanResult {
  const plan = new Map<string, bigint>();
  const overflow = new Map<string, bigint>();
  let P = preferenceList(input, plan);
  const current = intMap(input.currentReplicas, input.clusters, 'currentReplicas');
  const capacity = intMap(input.estimatedCapacity, input.clusters, 'estimatedCapacity');
  const rebalance = input.preferences.rebalance === true;

  // Step 2: minimums, in order, capped by what is left and by capacity.
  let remaining = int(input.totalReplicas, 'totalReplicas');
  for (const p of P) {
    let m = min(p.min, remaining);
    const cap = capacity.get(p.name);
    if (cap !== undefined) m = min(m, cap);
    remaining = i64(remaining - m);
    plan.set(p.name, m);
  }

  // Step 3: keep running replicas (rebalance false), greedily in order.
  const prealloc = new Map<string, bigint>();
  if (!rebalance) {
    for (const p of P) {
      const planned = plan.get(p.name) ?? 0n;
      const cur = current.get(p.name);
      if (cur === undefined || cur <= planned) continue;
      let target = cur;
      if (p.max !== null) target = min(p.max, target);
      const cap = capacity.get(p.name);
      if (cap !== undefined) target = min(cap, target);
      let extra = min(i64(target - planned), remaining);
      if (extra < 0n) extra = 0n;
      remaining = i64(remaining - extra);
      prealloc.set(p.name, extra);
      plan.set(p.name, i64(planned + extra));
    }
  }

  // Step 4: weighted passes until nothing changes or nothing is left.
  let modified = true;
  let passes = 0;
  while (modified && remaining > 0n) {
    if (++passes > MAX_PASSES) {
      throw errors.badRequest(
        `preferences: the weights do not converge after ${MAX_PASSES} passes (Federation v1 would loop forever; are some weights negative?)`,
        [{ field: 'preferences.clusters', message: 'weights do not converge' }],
      );
    }
    modified = false;
    let ws = 0n;
    for (const p of P) ws = i64(ws + p.weight);
    const next: Entry[] = [];
    const dist = remaining;
    for (const p of P) {
      if (!(ws > 0n)) break;
      const start = plan.get(p.name) ?? 0n;
      let extra = i64(i64(i64(dist * p.weight) + ws) - 1n) / ws;
      extra = min(extra, remaining);
      const pa = prealloc.get(p.name) ?? 0n;
      const used = min(extra, pa);
      prealloc.set(p.name, i64(pa - used));
      extra = i64(extra - used);
      if (used > 0n) modified = true;
      let tot = i64(start + extra);
      let full = false;
      if (p.max !== null && tot > p.max) {
        tot = p.max;
        full = true;
      }
      const cap = capacity.get(p.name);
      if (cap !== undefined && tot > cap) {
        overflow.set(p.name, i64(tot - cap));
        tot = cap;
        full = true;
      }
      if (!full) next.push(p);
      remaining = i64(remaining - i64(tot - start));
      plan.set(p.name, tot);
      if (tot > start) modified = true;
    }
    P = next;
  }

  // Step 5: with rebalance false, overflow is clipped to what found no home.
  // (Results list clusters in input order, like the fast path; Go maps have no order.)
  const out: Record<string, number> = {};
  const planOut: Record<string, number> = {};
  for (const c of input.clusters) {
    setOwn(planOut, c, Number(plan.get(c) ?? 0n));
    const v = overflow.get(c);
    if (v === undefined || Object.hasOwn(out, c)) continue;
    const clipped = rebalance ? v : min(v, remaining);
    if (rebalance || clipped > 0n) setOwn(out, c, Number(clipped));
  }
  return { plan: planOut, overflow: out };
}
