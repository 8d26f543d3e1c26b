/** The console's view model: pure functions over the objects the stream delivers. */
import test from 'ava';
import type { KubeObject, RolloutStatus, RunRecord, StageStatus } from '../../services/console/index.js';
import {
  age,
  batchText,
  clusterHealth,
  currentRollouts,
  rolloutActions,
  clusterView,
  eventView,
  matches,
  parseSelector,
  placement,
  planText,
} from '../../services/console/web/model.js';

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

test(
  'placement: the recorded replica plan per cluster; an offline cluster is ClusterNotReady; a ' +
    'per-cluster status wins when present',
  (t) => {
    const clusters = [cluster('a', true), cluster('b', true), cluster('c', false)].map(clusterView);
    const rs: KubeObject = {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: { name: 'web', namespace: 'shop' },
      spec: { replicas: 6 },
      status: {
        conditions: [
          { type: 'Scheduled', status: 'True', message: '{"plan":{"a":4,"b":2},"overflow":{},"unplaced":0}' },
          { type: 'Propagated', status: 'True', reason: 'InSync' },
        ],
      },
    };
    t.deepEqual(
      placement(rs, clusters).map((p) => [p.cluster, p.planned, p.state]),
      [
        ['a', 4, 'InSync'],
        ['b', 2, 'InSync'],
        ['c', 0, 'ClusterNotReady'],
      ],
    );
    t.is(planText(rs), 'plan a=4, b=2');

    const generic: KubeObject = {
      ...rs,
      status: {
        clusters: [
          { cluster: 'a', syncState: 'InSync', replicas: 3, readyReplicas: 3 },
          { cluster: 'b', syncState: 'Failed', message: 'admission webhook denied the request' },
        ],
      },
    };
    t.deepEqual(
      placement(generic, clusters).map((p) => [p.cluster, p.desired, p.ready, p.state, p.message]),
      [
        ['a', 3, 3, 'InSync', undefined],
        ['b', undefined, undefined, 'Failed', 'admission webhook denied the request'],
        ['c', undefined, undefined, 'NotPlaced', undefined],
      ],
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
