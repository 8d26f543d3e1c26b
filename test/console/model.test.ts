/** The console's view model: pure functions over the objects the stream delivers. */
import test from 'ava';
import type { KubeObject, RolloutStatus, RunRecord, StageStatus } from '../../services/console/index.js';
import {
  podSelectorOf,
  age,
  batchText,
  clusterHealth,
  currentRollouts,
  duration,
  rolloutActions,
  clusterView,
  eventView,
  matches,
  overridesOf,
  parseSelector,
  placement,
  planText,
} from '../../services/console/web/model.js';
import type { PropagationStatus } from '../../services/controllers/index.js';

function cluster(name: string, ready: boolean, offline = !ready): KubeObject {
  const t = '2026-01-01T00:00:00Z';
  return {
    apiVersion: 'federation.kitfed.io/v1beta1',
    kind: 'Cluster',
    metadata: { name },
    status: {
      region: `${name}-region`,
      zones: [`${name}-a`],
      conditions: [
        {
          type: 'Ready',
          status: ready ? 'True' : 'False',
          reason: ready ? 'ClusterReady' : 'ClusterNotReachable',
          message: ready ? 'ok' : 'cluster is not reachable: connect ECONNREFUSED',
          lastProbeTime: t,
        },
        { type: 'Offline', status: offline ? 'True' : 'False', lastProbeTime: t },
      ],
    },
  };
}

test(
  'label selectors: equality, inequality, set-based and existence, as kubectl reads them; a bad ' +
    'one names the part',
  (t) => {
    const labels = { app: 'web', tier: 'front' };
    t.true(matches(parseSelector('app=web'), labels));
    t.true(matches(parseSelector('app==web,tier!=back'), labels));
    t.true(matches(parseSelector('tier in (front, middle),!canary'), labels));
    t.false(matches(parseSelector('tier notin (front)'), labels));
    t.true(matches(parseSelector('app'), labels));
    t.false(matches(parseSelector('app,canary'), labels));
    t.true(matches(parseSelector(''), undefined));
    t.throws(() => parseSelector('app=web,=oops'), { message: /cannot parse "=oops"/ });
  },
);

test('cluster health: Ready, Offline (unreachable) and not ready (reachable, failing) from the conditions', (t) => {
  const ready = clusterView(cluster('east', true));
  t.like(ready, { name: 'east', ready: true, region: 'east-region', zones: ['east-a'] });
  t.is(clusterHealth(ready, true), 'Ready');
  const down = clusterView(cluster('west', false));
  t.is(clusterHealth(down, true), 'Offline');
  t.regex(down.message ?? '', /ECONNREFUSED/);
  t.is(clusterHealth(clusterView(cluster('north', false, false)), true), 'NotReady');
  t.is(clusterHealth(clusterView({ ...cluster('new', true), status: {} }), false), 'Unknown');
});

/** A federated object as the controllers leave it: their status in `kitfed.io/status`. */
function withStatus(o: KubeObject, status: PropagationStatus): KubeObject {
  return { ...o, metadata: { ...o.metadata, annotations: { 'kitfed.io/status': JSON.stringify(status) } } };
}

test(
  'placement: per-cluster state, reason and replicas from the status the controllers record; the ' +
    'planned replicas from the Scheduled condition; a Not Ready cluster the planner left out is ClusterNotReady',
  (t) => {
    const clusters = [cluster('a', true), cluster('b', true), cluster('c', false)].map(clusterView);
    const rs: KubeObject = withStatus(
      {
        apiVersion: 'apps/v1',
        kind: 'ReplicaSet',
        metadata: { name: 'web', namespace: 'shop' },
        spec: { replicas: 6 },
        status: {
          conditions: [
            { type: 'Scheduled', status: 'True', message: '{"plan":{"a":4,"b":2},"overflow":{},"unplaced":0}' },
            { type: 'Propagated', status: 'False', reason: 'Failed' },
          ],
        },
      },
      {
        clusters: [
          { cluster: 'a', state: 'InSync', replicas: 5, overrides: ['shop/big rules[0]'] },
          {
            cluster: 'b',
            state: 'Failed',
            reason: 'MemberRejected',
            message: 'admission webhook denied the request',
            replicas: 2,
          },
        ],
      },
    );
    t.deepEqual(
      placement(rs, clusters).map((p) => [p.cluster, p.planned, p.desired, p.state, p.message]),
      [
        ['a', 4, 5, 'InSync', undefined],
        ['b', 2, 2, 'Failed', 'MemberRejected: admission webhook denied the request'],
        ['c', 0, undefined, 'ClusterNotReady', 'cluster is not reachable: connect ECONNREFUSED'],
      ],
    );
    t.is(planText(rs), 'plan a=4, b=2');
    t.deepEqual(overridesOf(rs), [{ cluster: 'a', rules: ['shop/big rules[0]'] }]);

    // Any kind: the clusters its placement selects have an entry (a Not Ready one too), the others are not placed.
    const cm = withStatus(
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'settings', namespace: 'shop' } },
      {
        clusters: [
          { cluster: 'a', state: 'Pending', reason: 'WaitingForCRD', message: 'waiting for CustomResourceDefinition' },
          { cluster: 'c', state: 'ClusterNotReady', message: '/readyz: connection refused' },
        ],
      },
    );
    t.deepEqual(
      placement(cm, clusters).map((p) => [p.cluster, p.state, p.message]),
      [
        ['a', 'Pending', 'WaitingForCRD: waiting for CustomResourceDefinition'],
        ['b', 'NotPlaced', undefined],
        ['c', 'ClusterNotReady', '/readyz: connection refused'],
      ],
    );
    t.deepEqual(overridesOf(cm), []);

    // Nothing propagated: the reason shows in every cluster.
    const invalid = withStatus(cm, { reason: 'ClusterSelectorInvalid', message: 'bad operator "Near"', clusters: [] });
    t.deepEqual(
      placement(invalid, clusters).map((p) => p.message),
      Array(3).fill('ClusterSelectorInvalid: bad operator "Near"'),
    );
    t.deepEqual(
      placement(invalid, clusters).map((p) => p.state),
      ['Failed', 'Failed', 'Failed'],
    );
    // Not seen by the controllers yet: Unknown (or ClusterNotReady).
    t.deepEqual(
      placement({ ...cm, metadata: { name: 'new', namespace: 'shop' } }, clusters).map((p) => p.state),
      ['Unknown', 'Unknown', 'ClusterNotReady'],
    );
  },
);

test('events: the involved object, count and newest time; ages in kubectl style', (t) => {
  const e = eventView({
    apiVersion: 'v1',
    kind: 'Event',
    metadata: { name: 'web.1', namespace: 'shop' },
    involvedObject: { kind: 'ReplicaSet', name: 'web', namespace: 'shop', uid: 'u1' },
    reason: 'CreateInCluster',
    message: 'Created ReplicaSet "shop/web" in clusters a, b',
    type: 'Normal',
    count: 2,
    firstTimestamp: '2026-01-01T00:00:00Z',
    lastTimestamp: '2026-01-01T00:01:00Z',
  });
  t.like(e, { reason: 'CreateInCluster', count: 2, time: '2026-01-01T00:01:00Z', object: { uid: 'u1' } });
  const now = Date.parse('2026-01-01T00:00:00Z');
  t.is(age('2025-12-31T23:59:18Z', now), '42s');
  t.is(age('2025-12-31T23:55:00Z', now), '5m');
  t.is(age('2025-12-31T21:00:00Z', now), '3h');
  t.is(age('2025-12-29T00:00:00Z', now), '3d');
});

function stage(name: string, state: StageStatus['state'], extra: Partial<StageStatus> = {}): StageStatus {
  return {
    name,
    state,
    clusters: ['a', 'b', 'c'],
    batches: [['a'], ['b', 'c']],
    batch: -1,
    bakeSeconds: 60,
    bakeStartedAt: null,
    bakeEndsAt: null,
    approval: false,
    approvedBy: null,
    approvedAt: null,
    maxFailures: 0,
    failed: [],
    gates: { health: { state: 'pending', message: null }, metric: null },
    startedAt: null,
    finishedAt: null,
    message: null,
    ...extra,
  };
}

function rollout(
  phase: RolloutStatus['phase'],
  stages: StageStatus[],
  extra: Partial<RolloutStatus> = {},
): RolloutStatus {
  return {
    phase,
    currentStage: 0,
    paused: false,
    rollback: 'auto',
    rollbackScope: 'stage',
    rollbackTargets: {},
    rollbackRuns: [],
    supersededBy: null,
    resumedFrom: null,
    message: null,
    stages,
    history: [],
    updatedAt: '2026-01-01T00:00:00Z',
    ...extra,
  };
}

function run(id: number, repo: string, r: RolloutStatus | null, kind: RunRecord['kind'] = 'deploy'): RunRecord {
  return {
    id,
    eventId: id,
    kind,
    repo,
    ref: 'refs/heads/main',
    commit: `c${id}`,
    trigger: 'push',
    status: 'running',
    startedAt: '2026-01-01T00:00:00Z',
    finishedAt: null,
    durations: {},
    clusters: [],
    error: null,
    parentRun: null,
    rollout: r,
  };
}

test('rollouts: the newest deploy run with a plan per repo; rollback runs and plain runs are not rollouts', (t) => {
  const r = rollout('Progressing', [stage('s', 'Progressing')]);
  const list = currentRollouts([
    run(5, 'acme/b', null),
    run(4, 'acme/a', r, 'rollback'),
    run(3, 'acme/a', r),
    run(2, 'acme/b', r),
    run(1, 'acme/a', r),
  ]);
  t.deepEqual(
    list.map((x) => [x.repo, x.id]),
    [
      ['acme/a', 3],
      ['acme/b', 2],
    ],
  );
});

test('rollouts: the actions offered follow what the webhook service accepts', (t) => {
  const sorted = (s: RolloutStatus) => [...rolloutActions(s)].sort();
  t.deepEqual(sorted(rollout('Progressing', [stage('s', 'Progressing', { batch: 0 })])), ['abort', 'pause']);
  t.deepEqual(sorted(rollout('Progressing', [stage('s', 'Baking', { batch: 0 })])), ['abort', 'pause', 'promote']);
  t.deepEqual(sorted(rollout('WaitingForApproval', [stage('s', 'WaitingForApproval', { approval: true })])), [
    'abort',
    'pause',
    'promote',
  ]);
  t.deepEqual(sorted(rollout('Paused', [stage('s', 'Paused')], { paused: true })), ['abort', 'promote', 'resume']);
  for (const phase of ['Succeeded', 'Failed', 'Aborted', 'Superseded'] as const)
    t.deepEqual(sorted(rollout(phase, [stage('s', 'Succeeded')])), [], phase);
  t.is(batchText(stage('s', 'Progressing', { batch: 1 })), 'batch 2 of 2');
  t.is(batchText(stage('s', 'Pending')), '');
});

test('durations: milliseconds, seconds, then whole minutes and seconds that never read 60 s', (t) => {
  t.is(duration(undefined), '—');
  t.is(duration(412), '412 ms');
  t.is(duration(1_914), '1.91 s');
  t.is(duration(42_250), '42.3 s');
  t.is(duration(61_000), '1 m 1 s');
  t.is(duration(599_600), '10 m');
  t.is(duration(599_400), '9 m 59 s');
  t.is(duration(600_000), '10 m');
  t.is(duration(3_725_000), '62 m 5 s');
});

test("pods of a workload: its selector as kubectl's text, a Job's by job-name; none for other kinds", (t) => {
  const o = (kind: string, spec: unknown): KubeObject => ({
    apiVersion: 'apps/v1',
    kind,
    metadata: { name: 'web', namespace: 'shop' },
    spec,
  });
  t.is(
    podSelectorOf(
      o('Deployment', {
        selector: {
          matchLabels: { app: 'web' },
          matchExpressions: [
            { key: 'tier', operator: 'In', values: ['a', 'b'] },
            { key: 'legacy', operator: 'DoesNotExist' },
          ],
        },
      }),
    ),
    'app=web,tier in (a,b),!legacy',
  );
  t.is(podSelectorOf(o('DaemonSet', { selector: { matchLabels: { app: 'agent' } } })), 'app=agent');
  t.is(podSelectorOf(o('Job', {})), 'job-name=web');
  t.is(podSelectorOf(o('Deployment', { selector: {} })), undefined);
  t.is(podSelectorOf(o('ConfigMap', {})), undefined);
});
