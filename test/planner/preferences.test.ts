import test from 'ava';
import { KitfedError } from '../../services/core/errors.js';
import {
  DEPLOYMENT_PREFERENCES_ANNOTATION,
  REPLICA_SET_PREFERENCES_ANNOTATION,
  parsePreferences,
  plan,
  validatePreferenceAnnotations,
  validatePreferences,
} from '../../services/planner/index.js';

test('an absent annotation gives the v1 default', (t) => {
  t.deepEqual(parsePreferences(undefined), {
    rebalance: false,
    clusters: { '*': { minReplicas: 0, maxReplicas: null, weight: 1 } },
  });
});

test('field names match case-insensitively, as Go encoding/json does (including U+017F for s)', (t) => {
  const value =
    '{"Rebalance":true,"CLUSTERS":{"eu-1":{"MinReplicas":5,"maxreplicas":2,"WEIGHT":3}},"clu\u017fters":{"us-1":{}}}';
  t.deepEqual(validatePreferences(value), []);
  t.deepEqual(parsePreferences(value), {
    rebalance: true,
    clusters: {
      'eu-1': { minReplicas: 5, maxReplicas: 2, weight: 3 },
      'us-1': { minReplicas: 0, maxReplicas: null, weight: 0 },
    },
  });
});

test('the e2e-test spelling of v1 (json.Marshal of the untagged type) parses', (t) => {
  const value = '{"Rebalance":false,"Clusters":{"x":{"MinReplicas":0,"MaxReplicas":null,"Weight":1}}}';
  t.deepEqual(parsePreferences(value).clusters, { x: { minReplicas: 0, maxReplicas: null, weight: 1 } });
});

test('null keeps defaults, maxReplicas null is unbounded, clusters null empties the map, unknown fields are ignored', (t) => {
  const value =
    '{"rebalance":null,"clusters":{"a":{"weight":2}},"Clusters":null,"clusters":{"b":null,"c":{"weight":null,"maxReplicas":4,"MaxReplicas":null}},"extra":[1]}';
  t.deepEqual(validatePreferences(value), []);
  t.deepEqual(parsePreferences(value), {
    rebalance: false,
    clusters: {
      b: { minReplicas: 0, maxReplicas: null, weight: 0 },
      c: { minReplicas: 0, maxReplicas: null, weight: 0 },
    },
  });
});

test('a repeated clusters key merges into the same map; a repeated cluster name replaces its entry', (t) => {
  const value = '{"clusters":{"a":{"weight":1,"minReplicas":3}},"Clusters":{"b":{"weight":2},"a":{"weight":5}}}';
  t.deepEqual(parsePreferences(value).clusters, {
    a: { minReplicas: 0, maxReplicas: null, weight: 5 },
    b: { minReplicas: 0, maxReplicas: null, weight: 2 },
  });
});

test('the JSON document null is v1-valid and places nothing', (t) => {
  t.deepEqual(validatePreferences('null'), []);
  const prefs = parsePreferences('null');
  t.deepEqual(prefs, { rebalance: false, clusters: {} });
  t.deepEqual(plan({ preferences: prefs, totalReplicas: 3, clusters: ['a', 'b'], key: 'ns/x' }).plan, { a: 0, b: 0 });
});

test('minReplicas > maxReplicas is valid and plans as v1 (min first, clamped to max only if a weighted pass runs)', (t) => {
  const value = '{"clusters":{"*":{"minReplicas":20,"maxReplicas":5,"weight":1}}}';
  t.deepEqual(validatePreferences(value), []);
  const input = { preferences: parsePreferences(value), clusters: ['A', 'B', 'C'], key: '' };
  t.deepEqual(plan({ ...input, totalReplicas: 100 }), { plan: { A: 5, B: 5, C: 5 }, overflow: {} });
  // Minimums use up all 50 replicas (order C, B, A), so no weighted pass clamps them back to 5.
  t.deepEqual(plan({ ...input, totalReplicas: 50 }), { plan: { A: 10, B: 20, C: 20 }, overflow: {} });
});

test('the validator names each bad field', (t) => {
  const value = JSON.stringify({
    rebalance: 'yes',
    clusters: {
      'eu-1': { minReplicas: -1, maxReplicas: 2 ** 60, weight: 1.5 },
      '*': { Weight: '3' },
      bad: [],
    },
  });
  t.deepEqual(validatePreferences(value), [
    { field: 'rebalance', message: 'must be a boolean' },
    { field: 'clusters["eu-1"].minReplicas', message: 'must be a non-negative integer' },
    { field: 'clusters["eu-1"].maxReplicas', message: 'must be at most 9007199254740991' },
    { field: 'clusters["eu-1"].weight', message: 'must be a non-negative integer' },
    { field: 'clusters["*"].Weight', message: 'must be a non-negative integer' },
    { field: 'clusters["bad"]', message: 'must be a JSON object' },
  ]);
});

test('integer literals only: 1.0, 1e2 and true are not integers (Go rejects them too); -0 is 0', (t) => {
  for (const lit of ['1.0', '1e2', 'true', '{}']) {
    t.deepEqual(
      validatePreferences(`{"clusters":{"a":{"weight":${lit}}}}`),
      [{ field: 'clusters["a"].weight', message: 'must be a non-negative integer' }],
      lit,
    );
  }
  t.deepEqual(validatePreferences('{"clusters":{"a":{"weight":-0}}}'), []);
});

test('not JSON, or not an object, is reported on the document itself', (t) => {
  const [syntax] = validatePreferences('{"clusters":');
  t.is(syntax?.field, '');
  t.regex(syntax?.message ?? '', /^invalid JSON: /);
  t.deepEqual(validatePreferences('[1]'), [{ field: '', message: 'must be a JSON object' }]);
  t.deepEqual(validatePreferences('{"clusters":[]}'), [{ field: 'clusters', message: 'must be a JSON object' }]);
});

test('parsePreferences refuses what v1 could not decode instead of silently using the default', (t) => {
  const err = t.throws(() => parsePreferences('{"clusters":{"eu-1":{"weight":"2"}}}'), { instanceOf: KitfedError });
  t.is(err?.code, 400);
  t.is(err?.message, 'invalid replica preferences: clusters["eu-1"].weight: must be an integer');
  t.throws(() => parsePreferences('not json'), { instanceOf: KitfedError, message: /invalid JSON/ });
});

test('parsePreferences keeps v1-decodable negative values (the validator rejects them at admission)', (t) => {
  t.deepEqual(parsePreferences('{"clusters":{"a":{"weight":-2}}}').clusters, {
    a: { minReplicas: 0, maxReplicas: null, weight: -2 },
  });
});

test('validatePreferenceAnnotations gives Status causes for the preference annotations only', (t) => {
  const causes = validatePreferenceAnnotations({
    [REPLICA_SET_PREFERENCES_ANNOTATION]: '{"clusters":{"eu-1":{"minReplicas":-3}}}',
    [DEPLOYMENT_PREFERENCES_ANNOTATION]: '{"clusters":{"*":{"weight":1}}}',
    other: 'not json',
  });
  t.deepEqual(causes, [
    {
      reason: 'FieldValueInvalid',
      field: `metadata.annotations[${REPLICA_SET_PREFERENCES_ANNOTATION}]`,
      message: 'clusters["eu-1"].minReplicas: must be a non-negative integer',
    },
  ]);
  t.deepEqual(validatePreferenceAnnotations(undefined), []);
});

test('cluster names that collide with Object.prototype members are plain names', (t) => {
  const prefs = parsePreferences('{"clusters":{"__proto__":{"weight":1},"constructor":{"weight":1}}}');
  const result = plan({
    preferences: prefs,
    totalReplicas: 4,
    clusters: ['__proto__', 'constructor', 'toString'],
    key: 'ns/x',
  });
  t.deepEqual(Object.keys(result.plan).sort(), ['__proto__', 'constructor', 'toString']);
  const get = (name: string): number | undefined => (Object.hasOwn(result.plan, name) ? result.plan[name] : undefined);
  t.is(get('toString'), 0);
  t.is(get('__proto__')! + get('constructor')!, 4);
});
