import test from 'ava';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { render, RenderError, SUMMARY_FILE, type RenderSummary } from '../../services/deploymentizer/index.js';
import { makeRepo } from './helpers.js';

const KIT = `version: '2'
base: {path: templates}
images: {path: templates/images}
type: {path: templates/type}
cluster: {path: clusters}
resources: {path: templates/resources}
`;

/** Six clusters: one staging, five production (two labelled region=eu). */
function fleet(rollout: string): Record<string, string> {
  const cluster = (name: string, type: string, labels?: string): string =>
    `kind: ClusterNamespace\nmetadata: {name: ${name}, type: ${type}${labels ? `, labels: {${labels}}` : ''}}\n`;
  return {
    'kit.yaml': `${KIT}${rollout}`,
    'templates/type/production-var.yaml': 'kind: ResourceConfig\nmetadata: {type: production}\n',
    'clusters/eu-1/cluster.yaml': cluster('eu-1', 'staging'),
    'clusters/p-1/cluster.yaml': cluster('p-1', 'production', 'region: eu'),
    'clusters/p-2/cluster.yaml': cluster('p-2', 'production', 'region: eu'),
    'clusters/p-3/cluster.yaml': cluster('p-3', 'production', 'region: us'),
    'clusters/p-4/cluster.yaml': cluster('p-4', 'production', 'region: us'),
    'clusters/p-5/cluster.yaml': cluster('p-5', 'production', 'region: us'),
  };
}

test('rollout: stages select by type, name and label, in order; limit, batches and maxFailures resolve; the plan is in the render output', async (t) => {
  const { repo, out } = await makeRepo(
    t,
    fleet(`rollout:
  rollbackScope: rollout
  stages:
    - name: staging
      clusters: {types: staging}
    - name: canary
      clusters: {types: [production], labels: {region: us}}
      limit: 1
      bake: 2m
      metric: {prometheus: 'http://prom.example:9090', query: 'errors{cluster="{{cluster}}"}', max: 0.01, interval: 15s}
    - name: eu
      clusters: {names: [p-2, p-1]}
      approval: true
    - name: rest
      batch: 50%
      bake: 30
      maxFailures: 1
`),
  );
  const result = await render({ repo, out });
  const plan = result.rollout;
  t.truthy(plan);
  t.is(plan!.rollback, 'auto');
  t.is(plan!.rollbackScope, 'rollout');
  t.deepEqual(
    plan!.stages.map((s) => [s.name, s.clusters, s.batches, s.bakeSeconds, s.maxFailures, s.approval]),
    [
      ['staging', ['eu-1'], [['eu-1']], 0, 0, false],
      ['canary', ['p-3'], [['p-3']], 120, 0, false],
      ['eu', ['p-1', 'p-2'], [['p-1', 'p-2']], 0, 0, true],
      ['rest', ['p-4', 'p-5'], [['p-4'], ['p-5']], 30, 1, false],
    ],
  );
  t.deepEqual(plan!.stages[1]!.metric, {
    source: 'prometheus',
    url: 'http://prom.example:9090',
    query: 'errors{cluster="{{cluster}}"}',
    min: null,
    max: 0.01,
    intervalSeconds: 15,
  });
  t.deepEqual(result.clusters.find((c) => c.name === 'p-1')?.labels, { region: 'eu' });
  const summary = JSON.parse(await readFile(path.join(out, SUMMARY_FILE), 'utf8')) as RenderSummary;
  t.deepEqual(summary.rollout, plan!);
});

test('rollout: without a rollout: section nothing changes (no plan, no rollout in the summary)', async (t) => {
  const { repo, out } = await makeRepo(t, fleet(''));
  const result = await render({ repo, out });
  t.is(result.rollout, null);
  const summary = JSON.parse(await readFile(path.join(out, SUMMARY_FILE), 'utf8')) as RenderSummary;
  t.false('rollout' in summary);
});

test('rollout: every mistake is reported naming kit.yaml and the field, and nothing is written', async (t) => {
  const { repo, out } = await makeRepo(
    t,
    fleet(`rollout:
  rollback: sometimes
  stages:
    - name: staging
      clusters: {types: [stagin]}
      bake: soon
    - name: staging
      clusters: {names: [p-9], labels: {region: mars}}
      limit: 0
      batch: 150%
      maxFailures: -1
      metric: {url: 'http://user:pw@metrics.example/x', query: 'up', min: 2, max: 1}
    - name: Bad_Name
      surprise: 1
`),
  );
  const err = await t.throwsAsync(render({ repo, out }), { instanceOf: RenderError });
  const lines = err.problems.map((p) => `${p.file}: ${p.path}: ${p.message}`);
  t.log(lines.join('\n'));
  const expect = [
    /^kit\.yaml: rollout\.rollback: must be one of: auto, manual$/,
    /^kit\.yaml: rollout\.stages\[2\]\.name: must match pattern/,
    /^kit\.yaml: rollout\.stages\[2\]\.surprise: is not a known field$/,
  ];
  for (const re of expect)
    t.true(
      lines.some((l) => re.test(l)),
      `${re}`,
    );
  // Structure errors stop before the values are checked; fix them and the value errors show.
  const fixed = await makeRepo(
    t,
    fleet(`rollout:
  stages:
    - name: staging
      clusters: {types: [stagin]}
      bake: soon
    - name: staging
      clusters: {names: [p-9], labels: {region: mars}}
      limit: 0
      batch: 150%
      maxFailures: -1
      metric: {url: 'http://user:pw@metrics.example/x', query: 'up', min: 2, max: 1}
`),
  );
  const err2 = await t.throwsAsync(render({ repo: fixed.repo, out: fixed.out }), { instanceOf: RenderError });
  const lines2 = err2.problems.map((p) => `${p.file}: ${p.path}: ${p.message}`);
  t.log(lines2.join('\n'));
  for (const re of [
    /^kit\.yaml: rollout\.stages\[0\]\.clusters\.types: no cluster type "stagin"$/,
    /^kit\.yaml: rollout\.stages\[0\]\.clusters: selects no cluster$/,
    /^kit\.yaml: rollout\.stages\[0\]\.bake: must be a duration like 30s, 5m or 1h \(got "soon"\)$/,
    /^kit\.yaml: rollout\.stages\[1\]\.name: duplicate stage name "staging"$/,
    /^kit\.yaml: rollout\.stages\[1\]\.clusters\.names: no cluster named "p-9"$/,
    /^kit\.yaml: rollout\.stages\[1\]\.limit: must be a count ≥ 1 or a percentage/,
    /^kit\.yaml: rollout\.stages\[1\]\.batch: must be a count ≥ 1 or a percentage like 25% \(got "150%"\)$/,
    /^kit\.yaml: rollout\.stages\[1\]\.maxFailures: must be a count ≥ 0/,
    /^kit\.yaml: rollout\.stages\[1\]\.metric\.query: goes with prometheus/,
    /^kit\.yaml: rollout\.stages\[1\]\.metric\.min: is greater than max \(2 > 1\)$/,
    /^kit\.yaml: rollout\.stages\[1\]\.metric\.url: must not carry credentials/,
    /^kit\.yaml: rollout\.stages: clusters eu-1, p-1, p-2, p-3, p-4, p-5 are in no stage/,
  ])
    t.true(
      lines2.some((l) => re.test(l)),
      `${re}`,
    );
  t.false(
    lines2.some((l) => l.includes('pw')),
    'credentials are not echoed',
  );
  await t.throwsAsync(readFile(path.join(fixed.out, SUMMARY_FILE), 'utf8'));
});
