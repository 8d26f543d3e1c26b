import test from 'ava';
import { readFileSync } from 'node:fs';
import { plan, type PlanInput } from '../../services/planner/index.js';
import { planExact } from '../../services/planner/exact.js';
import { clusterHash, fnv32 } from '../../services/planner/hash.js';

interface Vector extends PlanInput {
  name: string;
  expected: Record<string, number>;
  expectedOverflow: Record<string, number>;
}

const vectors = JSON.parse(
  readFileSync(new URL('../fixtures/planner-vectors.json', import.meta.url), 'utf8'),
) as Vector[];

test('the public vector file holds the 40 upstream cases', (t) => {
  t.is(vectors.length, 40);
});

for (const v of vectors) {
  test(`vector ${v.name}`, (t) => {
    const got = plan(v);
    t.deepEqual(got, { plan: v.expected, overflow: v.expectedOverflow });
    t.deepEqual(planExact(v), got, 'the exact port agrees with the fast path');
  });
}

test('FNV-1 32-bit matches the Go values quoted in the reference', (t) => {
  t.is(fnv32('A'), 84696414);
  t.is(fnv32('B'), 84696413);
  t.is(fnv32('C'), 84696412);
  t.is(fnv32('D'), 84696411);
  t.is(fnv32('E'), 84696410);
  t.is(clusterHash('k8s-1', 'default/job1'), 159320697);
  t.is(clusterHash('k8s-2', 'default/job1'), 615878046);
  t.is(fnv32('cluster1'), 1449693054);
  t.is(fnv32('cluster2'), 1449693053);
  t.is(fnv32(''), 0x811c9dc5);
});

test('FNV-1 hashes the UTF-8 bytes of non-ASCII names', (t) => {
  const bytes = (s: string): number => {
    let h = 0x811c9dc5;
    for (const b of Buffer.from(s, 'utf8')) h = (Math.imul(h, 0x01000193) ^ b) >>> 0;
    return h;
  };
  for (const s of ['zürich', '東京-1', 'emoji-😀', 'a\u07ffb']) t.is(fnv32(s), bytes(s), s);
  t.is(clusterHash('zürich', 'ns/ö'), bytes('zürichns/ö'));
});

test('the user-guide example depends on the key: A16 B17 C17 with "", A17 B17 C16 with a real key', (t) => {
  const base = {
    preferences: { rebalance: false, clusters: { '*': { weight: 1 } } },
    totalReplicas: 50,
    clusters: ['A', 'B', 'C'],
  };
  t.deepEqual(plan({ ...base, key: '' }).plan, { A: 16, B: 17, C: 17 });
  t.deepEqual(plan({ ...base, key: 'test-ns/test-deployment' }).plan, { A: 17, B: 17, C: 16 });
});

test('a cluster entry that is not an object (possible only from JavaScript callers) is handled like the reference port', (t) => {
  const clusters = { '*': { weight: 1 }, B: null } as unknown as Record<string, { weight: number }>;
  const input = {
    preferences: { rebalance: false, clusters },
    totalReplicas: 10,
    clusters: ['A', 'B', 'C', 'D'],
    key: 'ns/x',
  };
  t.deepEqual(plan(input), planExact(input));
  t.is(
    Object.values(plan(input).plan).reduce((a, b) => a + b, 0),
    10,
  );
});

test('JSON callers may omit key and currentReplicas/estimatedCapacity (key defaults to "")', (t) => {
  const input = JSON.parse(
    '{"preferences":{"clusters":{"*":{"weight":1}}},"totalReplicas":50,"clusters":["A","B","C"]}',
  ) as PlanInput;
  t.deepEqual(plan(input), { plan: { A: 16, B: 17, C: 17 }, overflow: {} });
  t.deepEqual(planExact(input), plan(input));
});
