/**
 * Replica planner benchmark: plans/second and µs/plan for 3, 10, 100 and 1,000 clusters with
 * mixed min/max/weights, current replicas and some capacities (rebalance false, the heavier mode).
 *
 * Baselines: measured in this run, a straightforward JavaScript port of the Go planner (objects,
 * Maps, comparator sort, TextEncoder + FNV per cluster) and kitfed's BigInt int64 reference port;
 * quoted from the issue (not measurable here), upstream Go ≈ 72 µs and a straightforward JS port
 * ≈ 85 µs per 100-cluster plan. Target: ≤ 20 µs per 100-cluster plan.
 *
 *   node --import tsx bench/planner.ts
 */
import os from 'node:os';
import { plan, type ClusterPreferences, type PlanInput, type PlanResult } from '../services/planner/index.js';
import { planExact } from '../services/planner/exact.js';

const SIZES = [3, 10, 100, 1000];
const TARGET_US = 20;
const GO_US = 72;
const QUOTED_JS_US = 85;

/** Deterministic PRNG (mulberry32) so every run plans the same inputs. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `variants` inputs for `n` clusters: same fleet, different objects (keys, totals, current). */
function inputs(n: number, variants: number): PlanInput[] {
  const r = rng(n);
  const int = (lo: number, hi: number): number => lo + Math.floor(r() * (hi - lo + 1));
  const regions = ['eu-west', 'us-east', 'ap-south', 'sa-east'];
  const clusters = Array.from({ length: n }, (_, i) => `${regions[i % 4]}-${Math.floor(i / 4) + 1}-prod`);
  const prefs: Record<string, ClusterPreferences> = { '*': { weight: 1, maxReplicas: 40 } };
  for (const c of clusters) {
    if (r() < 0.5)
      prefs[c] = { minReplicas: int(0, 3), maxReplicas: r() < 0.5 ? null : int(5, 50), weight: int(0, 10) };
  }
  return Array.from({ length: variants }, (_, v) => {
    const current: Record<string, number> = {};
    const capacity: Record<string, number> = {};
    for (const c of clusters) {
      if (r() < 0.6) current[c] = int(0, 30);
      if (r() < 0.05) capacity[c] = int(0, 20);
    }
    return {
      preferences: { rebalance: false, clusters: prefs },
      totalReplicas: n * int(5, 15),
      clusters,
      currentReplicas: current,
      estimatedCapacity: capacity,
      key: `team-${v % 7}/service-${v}`,
    };
  });
}

/** The straightforward port: the Go code transcribed to idiomatic JavaScript, on numbers. */
function straightforwardPlan(input: PlanInput): PlanResult {
  const enc = new TextEncoder();
  const fnv = (s: string): number => {
    let h = 0x811c9dc5;
    for (const b of enc.encode(s)) h = (Math.imul(h, 0x01000193) ^ b) >>> 0;
    return h;
  };
  type Named = { name: string; hash: number; min: number; max: number | null; weight: number };
  const plan: Record<string, number> = {};
  const overflow: Record<string, number> = {};
  let prefs: Named[] = [];
  for (const c of input.clusters) {
    const p = input.preferences.clusters[c] ?? input.preferences.clusters['*'];
    if (p)
      prefs.push({
        name: c,
        hash: fnv(c + input.key),
        min: p.minReplicas ?? 0,
        max: p.maxReplicas ?? null,
        weight: p.weight ?? 0,
      });
    else plan[c] = 0;
  }
  prefs.sort((a, b) => (a.weight !== b.weight ? b.weight - a.weight : a.hash - b.hash));
  const current = new Map(Object.entries(input.currentReplicas ?? {}));
  const capacity = new Map(Object.entries(input.estimatedCapacity ?? {}));
  let remaining = input.totalReplicas;
  for (const p of prefs) {
    let m = Math.min(p.min, remaining);
    if (capacity.has(p.name)) m = Math.min(m, capacity.get(p.name)!);
    remaining -= m;
    plan[p.name] = m;
  }
  const prealloc = new Map<string, number>();
  if (!input.preferences.rebalance) {
    for (const p of prefs) {
      const planned = plan[p.name]!;
      const cur = current.get(p.name);
      if (cur !== undefined && cur > planned) {
        let target = cur;
        if (p.max !== null) target = Math.min(p.max, target);
        if (capacity.has(p.name)) target = Math.min(capacity.get(p.name)!, target);
        const extra = Math.max(Math.min(target - planned, remaining), 0);
        remaining -= extra;
        prealloc.set(p.name, extra);
        plan[p.name] = planned + extra;
      }
    }
  }
  let modified = true;
  while (modified && remaining > 0) {
    modified = false;
    const ws = prefs.reduce((s, p) => s + p.weight, 0);
    const next: Named[] = [];
    const dist = remaining;
    for (const p of prefs) {
      if (ws <= 0) break;
      const start = plan[p.name]!;
      let extra = Math.min(Math.trunc((dist * p.weight + ws - 1) / ws), remaining);
      const pa = prealloc.get(p.name) ?? 0;
      const used = Math.min(extra, pa);
      prealloc.set(p.name, pa - used);
      extra -= used;
      if (used > 0) modified = true;
      let tot = start + extra;
      let full = false;
      if (p.max !== null && tot > p.max) {
        tot = p.max;
        full = true;
      }
      const cap = capacity.get(p.name);
      if (cap !== undefined && tot > cap) {
        overflow[p.name] = tot - cap;
        tot = cap;
        full = true;
      }
      if (!full) next.push(p);
      remaining -= tot - start;
      plan[p.name] = tot;
      if (tot > start) modified = true;
    }
    prefs = next;
  }
  if (input.preferences.rebalance) return { plan, overflow };
  const out: Record<string, number> = {};
  for (const [c, v] of Object.entries(overflow)) if (Math.min(v, remaining) > 0) out[c] = Math.min(v, remaining);
  return { plan, overflow: out };
}

const sortedEntries = (r: Record<string, number>): Array<[string, number]> =>
  Object.entries(r).sort(([a], [b]) => (a < b ? -1 : 1));
const canonical = (r: PlanResult): string => JSON.stringify([sortedEntries(r.plan), sortedEntries(r.overflow)]);

let sink = 0;

/** µs per plan over `rounds` timed rounds (each cycling through the inputs): median and best round. */
function measure(
  fn: (i: PlanInput) => PlanResult,
  list: PlanInput[],
  perRound: number,
  rounds: number,
): { median: number; best: number } {
  const run = (count: number): void => {
    for (let i = 0; i < count; i++) sink += fn(list[i % list.length]!).plan[list[0]!.clusters[0]!] ?? 0;
  };
  run(perRound); // warm-up
  const samples: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const t0 = process.hrtime.bigint();
    run(perRound);
    samples.push(Number(process.hrtime.bigint() - t0) / 1000 / perRound);
  }
  samples.sort((a, b) => a - b);
  return { median: samples[Math.floor(samples.length / 2)]!, best: samples[0]! };
}

const fmt = (us: number): string => (us < 10 ? us.toFixed(2) : us.toFixed(1));

function main(): void {
  console.log(
    `replica planner benchmark — node ${process.version}, ${os.cpus()[0]?.model ?? 'unknown cpu'} × ${os.cpus().length}, ${os.platform()}`,
  );
  console.log(
    'mixed min/max/weights, rebalance false, ~60% clusters with current replicas, ~5% with capacity; 32 objects per size\n',
  );
  const results: Array<Record<string, number>> = [];
  for (const n of SIZES) {
    const list = inputs(n, 32);
    for (const i of list) {
      const a = canonical(plan(i));
      if (a !== canonical(planExact(i)) || a !== canonical(straightforwardPlan(i)))
        throw new Error(`planners disagree at ${n} clusters`);
    }
    const perRound = Math.max(20, Math.round(200_000 / n));
    const k = measure(plan, list, perRound, 11);
    const naive = measure(straightforwardPlan, list, Math.max(10, Math.round(perRound / 3)), 7).median;
    const exact = measure(planExact, list, Math.max(5, Math.round(perRound / 10)), 5).median;
    const kitfed = k.median;
    results.push({
      clusters: n,
      kitfedUs: kitfed,
      kitfedBestUs: k.best,
      plansPerSec: Math.round(1e6 / kitfed),
      straightforwardUs: naive,
      bigintUs: exact,
    });
    console.log(
      `${String(n).padStart(5)} clusters: ${fmt(kitfed).padStart(7)} µs/plan (best round ` +
        `${fmt(k.best)})  ${String(Math.round(1e6 / kitfed)).padStart(8)} plans/s` +
        `   straightforward port ${fmt(naive).padStart(7)} µs (${(naive / kitfed).toFixed(1)}×)   ` +
        `BigInt reference ${fmt(exact).padStart(7)} µs (${(exact / kitfed).toFixed(1)}×)`,
    );
  }
  const at100 = results.find((r) => r.clusters === 100)!;
  console.log(
    `\nload average ${os
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')} (figures are medians of rounds; the machine is shared)`,
  );
  console.log(
    `100 clusters: ${fmt(at100.kitfedUs!)} µs/plan vs target ≤ ${TARGET_US} µs: ${at100.kitfedUs! <= TARGET_US ? 'met' : 'NOT met'}` +
      `; ${(at100.straightforwardUs! / at100.kitfedUs!).toFixed(1)}× the straightforward port measured in this run` +
      `; quoted baselines: ${(GO_US / at100.kitfedUs!).toFixed(1)}× upstream Go (${GO_US} µs), ` +
      `${(QUOTED_JS_US / at100.kitfedUs!).toFixed(1)}× the issue's JS port (${QUOTED_JS_US} µs)`,
  );
  console.log(
    JSON.stringify({
      bench: 'planner',
      targetUs100: TARGET_US,
      met: at100.kitfedUs! <= TARGET_US,
      results,
      sink: sink > 0,
    }),
  );
}

main();
