import test from 'ava';
import fc from 'fast-check';
import { plan, type ClusterPreferences, type PlanInput } from '../../services/planner/index.js';
import { planExact } from '../../services/planner/exact.js';

const RUNS = 300;
const NAMES = ['A', 'B', 'C', 'D', 'eu-1', 'us-east-2', 'ap-3', 'zürich', 'c9', 'c10'];

const clusterPref: fc.Arbitrary<ClusterPreferences> = fc.record(
  {
    minReplicas: fc.nat(20),
    maxReplicas: fc.option(fc.nat(40), { nil: null }),
    weight: fc.nat(6),
  },
  { requiredKeys: [] },
);

/** Random v1 inputs in the validated domain (non-negative integers), unique cluster names. */
const input: fc.Arbitrary<PlanInput> = fc
  .record({
    clusters: fc.uniqueArray(fc.oneof(fc.constantFrom(...NAMES), fc.string({ minLength: 1, maxLength: 6 })), {
      maxLength: 9,
    }),
    star: fc.option(clusterPref, { nil: undefined }),
    own: fc.dictionary(fc.constantFrom(...NAMES), clusterPref, { maxKeys: 6 }),
    rebalance: fc.boolean(),
    totalReplicas: fc.nat(200),
    current: fc.dictionary(fc.constantFrom(...NAMES), fc.nat(100), { maxKeys: 6 }),
    capacity: fc.dictionary(fc.constantFrom(...NAMES), fc.nat(60), { maxKeys: 4 }),
    key: fc.string({ maxLength: 12 }),
  })
  .map(({ clusters, star, own, rebalance, totalReplicas, current, capacity, key }) => ({
    preferences: { rebalance, clusters: star ? { ...own, '*': star } : own },
    totalReplicas,
    clusters,
    currentReplicas: current,
    estimatedCapacity: capacity,
    key,
  }));

const prefOf = (i: PlanInput, c: string): ClusterPreferences | undefined =>
  Object.hasOwn(i.preferences.clusters, c) ? i.preferences.clusters[c] : i.preferences.clusters['*'];

test('the plan names every available cluster and no other, and never exceeds the total', (t) => {
  fc.assert(
    fc.property(input, (i) => {
      const { plan: p } = plan(i);
      const sum = Object.values(p).reduce((a, b) => a + b, 0);
      return (
        JSON.stringify(Object.keys(p).sort()) === JSON.stringify([...i.clusters].sort()) &&
        sum <= i.totalReplicas &&
        Object.values(p).every((v) => Number.isInteger(v) && v >= 0)
      );
    }),
    { numRuns: RUNS },
  );
  t.pass();
});

test('the plan respects maxReplicas (when min <= max) and estimated capacity; clusters without preference get 0', (t) => {
  fc.assert(
    fc.property(input, (i) => {
      const { plan: p, overflow } = plan(i);
      return i.clusters.every((c) => {
        const pref = prefOf(i, c);
        if (!pref) return p[c] === 0 && !(c in overflow);
        const max = pref.maxReplicas ?? Infinity;
        const cap = Object.hasOwn(i.estimatedCapacity!, c) ? i.estimatedCapacity![c]! : Infinity;
        const maxOk = (pref.minReplicas ?? 0) > max || p[c]! <= max;
        const overflowOk = !(c in overflow) || (cap !== Infinity && overflow[c]! > 0);
        return maxOk && p[c]! <= cap && overflowOk;
      });
    }),
    { numRuns: RUNS },
  );
  t.pass();
});

test('the plan is deterministic and independent of the order of the cluster list', (t) => {
  fc.assert(
    fc.property(input, fc.func(fc.integer()), (i, rank) => {
      const shuffled = { ...i, clusters: [...i.clusters].sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : 1)) };
      const a = plan(i);
      const b = plan(i);
      const c = plan(shuffled);
      return (
        JSON.stringify(a) === JSON.stringify(b) &&
        sorted(a.plan) === sorted(c.plan) &&
        sorted(a.overflow) === sorted(c.overflow)
      );
    }),
    { numRuns: RUNS },
  );
  t.pass();
});

const sorted = (r: Record<string, number>): string =>
  JSON.stringify(Object.entries(r).sort(([a], [b]) => (a < b ? -1 : 1)));

test('with rebalance true, current replicas are ignored', (t) => {
  fc.assert(
    fc.property(input, (i) => {
      const r = { ...i, preferences: { ...i.preferences, rebalance: true } };
      const { currentReplicas: _ignored, ...without } = r;
      return JSON.stringify(plan(r)) === JSON.stringify(plan(without));
    }),
    { numRuns: RUNS },
  );
  t.pass();
});

test('with free capacity, no max and a positive weight sum, every replica is placed', (t) => {
  fc.assert(
    fc.property(input, (i) => {
      const clusters = Object.fromEntries(
        Object.entries(i.preferences.clusters).map(([k, v]) => [k, { weight: (v.weight ?? 0) + 1 }]),
      );
      const free = {
        ...i,
        preferences: { ...i.preferences, clusters: { ...clusters, '*': { weight: 1 } } },
        estimatedCapacity: {},
      };
      const sum = Object.values(plan(free).plan).reduce((a, b) => a + b, 0);
      return sum === (i.clusters.length > 0 ? i.totalReplicas : 0);
    }),
    { numRuns: RUNS },
  );
  t.pass();
});

test('the fast path and the BigInt int64 reference port agree on every input', (t) => {
  const wide = input.chain((i) =>
    fc.record({ big: fc.boolean(), dup: fc.boolean() }).map(({ big, dup }) => ({
      ...i,
      // Huge weights push the fast path past 2^52 (exact port); duplicates are Go-map semantics (exact port).
      preferences: big
        ? { ...i.preferences, clusters: { ...i.preferences.clusters, '*': { weight: 2 ** 40 } } }
        : i.preferences,
      clusters: dup && i.clusters.length > 0 ? [...i.clusters, i.clusters[0]!] : i.clusters,
    })),
  );
  fc.assert(
    fc.property(wide, (i) => JSON.stringify(plan(i)) === JSON.stringify(planExact(i))),
    { numRuns: RUNS },
  );
  t.pass();
});

test('large fleets (records probed by name) and repeated cluster lists (compiled result builder) agree with the reference port', (t) => {
  const fleet = fc.record({
    size: fc.integer({ min: 250, max: 400 }),
    seed: fc.array(fc.nat(50), { minLength: 400, maxLength: 400 }),
    total: fc.nat(5000),
    rebalance: fc.boolean(),
    key: fc.string({ maxLength: 20 }),
  });
  fc.assert(
    fc.property(fleet, ({ size, seed, total, rebalance, key }) => {
      const clusters = Array.from({ length: size }, (_, i) => (i === 7 ? '__proto__' : `member-${i}`));
      const prefs: Record<string, ClusterPreferences> = { '*': { weight: 1, maxReplicas: 40 } };
      const current: Record<string, number> = {};
      const capacity: Record<string, number> = {};
      clusters.forEach((c, i) => {
        const r = seed[i]!;
        if (r % 2 === 0)
          Object.defineProperty(prefs, c, {
            value: { minReplicas: r % 4, maxReplicas: r % 3 ? null : r, weight: r % 11 },
            enumerable: true,
          });
        if (r % 5 < 3) Object.defineProperty(current, c, { value: r, enumerable: true });
        if (r % 17 === 0) Object.defineProperty(capacity, c, { value: r % 7, enumerable: true });
      });
      const input: PlanInput = {
        preferences: { rebalance, clusters: prefs },
        totalReplicas: total,
        clusters,
        currentReplicas: current,
        estimatedCapacity: capacity,
        key,
      };
      const expected = JSON.stringify(planExact(input));
      // The second and third plans of the same list use the compiled builder.
      return (
        [1, 2, 3].every(() => JSON.stringify(plan(input)) === expected) && Object.hasOwn(plan(input).plan, '__proto__')
      );
    }),
    { numRuns: 25 },
  );
  t.pass();
});

test('a small cluster list planned repeatedly (compiled builder) keeps every key, __proto__ included', (t) => {
  const input: PlanInput = {
    preferences: { rebalance: false, clusters: { '*': { weight: 1 } } },
    totalReplicas: 9,
    clusters: ['__proto__', 'constructor', 'a b', '"quoted"', 'ü'],
    key: 'ns/obj',
  };
  const first = plan(input);
  for (let i = 0; i < 3; i++) t.deepEqual(plan({ ...input, clusters: [...input.clusters] }), first);
  t.deepEqual(Object.keys(first.plan), input.clusters);
  t.is(
    Object.values(first.plan).reduce((a, b) => a + b, 0),
    9,
  );
  t.deepEqual(plan(input), planExact(input));
});
