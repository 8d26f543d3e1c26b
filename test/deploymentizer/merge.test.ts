import test from 'ava';
import fc from 'fast-check';
import { kitMerge } from '../../services/deploymentizer/merge.js';

const json = fc.jsonValue({ maxDepth: 3 }) as fc.Arbitrary<unknown>;
const record = fc.dictionary(fc.constantFrom('a', 'b', 'env', 'tags', 'c'), json, {
  maxKeys: 4,
  noNullPrototype: true,
});
/** Plain-JSON view of a value (fast-check may build null-prototype objects; prototypes are not the point here). */
const plain = (v: unknown): unknown => JSON.parse(JSON.stringify(v));

test('kit merge rules: null keeps base, env merges by name, other arrays by index', (t) => {
  const base = {
    a: 1,
    b: 'x',
    env: [
      { name: 'A', value: '1' },
      { name: 'B', value: '2' },
    ],
    tags: ['a', 'b', 'c'],
    n: { x: 1, y: 2 },
  };
  const override = {
    a: null,
    c: null,
    env: [
      { name: 'B', value: '3' },
      { name: 'C', value: '4' },
    ],
    tags: ['x'],
    n: { y: 3 },
  };
  t.deepEqual(kitMerge(base, override), {
    a: 1,
    b: 'x',
    c: null,
    env: [
      { name: 'A', value: '1' },
      { name: 'B', value: '3' },
      { name: 'C', value: '4' },
    ],
    tags: ['x', 'b', 'c'],
    n: { x: 1, y: 3 },
  });
  t.deepEqual(kitMerge(base, override, 'replace').tags, ['x']);
  t.deepEqual(kitMerge(base, override, 'replace').env, [
    { name: 'A', value: '1' },
    { name: 'B', value: '3' },
    { name: 'C', value: '4' },
  ]);
});

test('a __proto__ key in YAML data is an ordinary key, never a prototype', (t) => {
  const base = JSON.parse('{"__proto__": {"polluted": true}, "a": 1}') as Record<string, unknown>;
  const merged = kitMerge(base, JSON.parse('{"__proto__": {"more": 1}}') as Record<string, unknown>);
  t.deepEqual(Object.keys(merged), ['a', '__proto__']);
  t.is(Object.getPrototypeOf(merged), Object.prototype);
  t.is(({} as Record<string, unknown>).polluted, undefined);
});

test('kit merge never mutates its inputs, and merging nothing is a copy', (t) => {
  fc.assert(
    fc.property(record, record, fc.constantFrom('index' as const, 'replace' as const), (base, override, arrays) => {
      const b = plain(base);
      const o = plain(override);
      const merged = kitMerge(base, override, arrays);
      t.deepEqual(plain(base), b);
      t.deepEqual(plain(override), o);
      t.deepEqual(plain(kitMerge(base, {}, arrays)), b);
      for (const [k, v] of Object.entries(override)) {
        if (v !== null && typeof v !== 'object') t.deepEqual(merged[k], v, 'a scalar override wins');
      }
    }),
    { numRuns: 300 },
  );
});
