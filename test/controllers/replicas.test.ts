import { fileURLToPath } from 'node:url';
import { readFileSync } from 'node:fs';
import test from 'ava';
import { parse } from 'yaml';
import type { Condition, KubeObject } from '../../services/core/kube.js';
import { plan } from '../../services/planner/index.js';
import {
  ADOPT_ANNOTATION,
  CLUSTER_SELECTOR_ANNOTATION,
  MANAGED_BY_LABEL,
  ORIGIN_UID_ANNOTATION,
  desiredFor,
  memberTemplate,
  plan as planPass,
  recordedPlan,
  type KindInfo,
  type MemberView,
  type Plan,
} from '../../services/controllers/index.js';

/**
 * These tests drive the propagation engine's pure pass (`plan`) for the scalable kinds, as the
 * replica scheduler's `decide` was driven before: the same inputs, the same expectations.
 */
interface ClusterInfo {
  name: string;
  labels?: Record<string, string>;
}
interface DecideInput {
  federated: KubeObject;
  readyClusters: ClusterInfo[];
  members: Record<string, MemberView>;
  now?: number;
}
type Operation =
  | { type: 'create' | 'update'; cluster: string; object: KubeObject; replicas?: number; previousReplicas?: number }
  | { type: 'delete'; cluster: string; object: KubeObject };

function kindOf(o: KubeObject): KindInfo {
  return {
    id: `apps/${o.kind}`,
    group: 'apps',
    version: 'v1',
    apiVersion: 'apps/v1',
    kind: o.kind,
    plural: `${o.kind.toLowerCase()}s`,
    namespaced: true,
    statusSubresource: true,
    scale: {
      specReplicasPath: '.spec.replicas',
      statusReplicasPath: '.status.replicas',
      labelSelectorPath: '.spec.selector',
    },
  };
}

function decide(i: DecideInput) {
  const p: Plan = planPass({
    kind: kindOf(i.federated),
    federated: i.federated,
    clusters: i.readyClusters.map((c) => ({ name: c.name, labels: c.labels, availability: 'Available' as const })),
    members: i.members,
    overrides: [],
    requiredIn: [],
    now: i.now ?? Date.now(),
  });
  const operations: Operation[] = p.writes.map((w) =>
    w.op === 'apply'
      ? {
          type: w.action === 'create' ? 'create' : 'update',
          cluster: w.cluster,
          object: w.uid ? { ...w.object, metadata: { ...w.object.metadata, uid: w.uid } } : w.object,
          ...(w.replicas !== undefined ? { replicas: w.replicas } : {}),
          ...(w.previousReplicas !== undefined ? { previousReplicas: w.previousReplicas } : {}),
        }
      : { type: 'delete', cluster: w.cluster, object: w.object },
  );
  const status = (p.nativeStatus ?? i.federated.status ?? {}) as Record<string, unknown>;
  return {
    key: `${i.federated.metadata.namespace}/${i.federated.metadata.name}`,
    selected: p.status.clusters.filter((c) => c.reason !== 'Deleting').map((c) => c.cluster),
    operations,
    status,
    statusChanged: p.nativeStatus !== undefined,
    schedule: p.schedule,
    error: p.status.reason ? { reason: p.status.reason } : undefined,
    notOwned: p.status.clusters.filter((c) => c.reason === 'NotOwned').map((c) => c.cluster),
    recheckAt: p.recheckAt,
  };
}

/** The copy kitfed writes to a member for `federated` with `replicas` replicas. */
function desiredMember(federated: KubeObject, replicas: number): KubeObject {
  const kind = kindOf(federated);
  const d = desiredFor(
    kind,
    memberTemplate(kind, federated),
    federated.metadata.uid ?? '',
    { name: 'any' },
    [],
    replicas,
  );
  if ('error' in d) throw new Error(d.error);
  return d.object;
}

const SEED = fileURLToPath(new URL('../fixtures/seed-walkthrough', import.meta.url));
const NOW = Date.parse('2026-01-01T12:00:00Z');
const ago = (s: number): string => new Date(NOW - s * 1000).toISOString();
const CLUSTERS = [
  'gce-asia-east1-a',
  'gce-asia-east1-b',
  'gce-asia-east1-c',
  'gce-europe-west1-b',
  'gce-europe-west1-c',
  'gce-europe-west1-d',
  'gce-us-central1-a',
  'gce-us-central1-b',
  'gce-us-central1-c',
];
const ready = (names = CLUSTERS): ClusterInfo[] =>
  names.map((name) => ({ name, labels: { region: name.replace(/-[a-z]$/, '') } }));

/** A seed manifest as the federation API stores it (apps/v1, selector defaulted from the template, uid, generation). */
function federated(file: string, patch: (o: KubeObject) => void = () => {}): KubeObject {
  const o = parse(readFileSync(`${SEED}/${file}`, 'utf8')) as KubeObject;
  o.apiVersion = 'apps/v1';
  o.metadata = { ...o.metadata, namespace: 'default', uid: 'fed-uid-1', generation: 1, resourceVersion: '10' };
  const spec = o.spec as { selector?: unknown; template: { metadata: { labels: Record<string, string> } } };
  spec.selector ??= { matchLabels: { ...spec.template.metadata.labels } };
  patch(o);
  return o;
}

/** kitfed's copy in a member, with a member-side status. */
function member(fed: KubeObject, replicas: number, status: Record<string, unknown> = {}, generation = 1): KubeObject {
  const m = desiredMember(fed, replicas);
  m.metadata.uid = `member-${Math.random()}`;
  m.metadata.generation = generation;
  m.status = {
    observedGeneration: generation,
    replicas,
    fullyLabeledReplicas: replicas,
    readyReplicas: replicas,
    availableReplicas: replicas,
    ...status,
  };
  return m;
}

function pod(name: string, status: Record<string, unknown>): KubeObject {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default', labels: { app: 'nginx' } }, status };
}
const running = { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] };
const stuck = (s: number) => ({
  phase: 'Pending',
  conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', lastTransitionTime: ago(s) }],
});

const condition = (status: Record<string, unknown>, type: string): Condition | undefined =>
  (status.conditions as Condition[] | undefined)?.find((c) => c.type === type);
const input = (fed: KubeObject, members: DecideInput['members'], clusters = ready()): DecideInput => ({
  federated: fed,
  readyClusters: clusters,
  members,
  now: NOW,
});

test("seed nginx-rs: 9 replicas over 9 fresh clusters → one create of 1 replica per cluster, member copies marked as kitfed's", (t) => {
  const fed = federated('nginx-rs.yaml');
  const d = decide(input(fed, {}));
  t.is(d.key, 'default/nginx');
  t.deepEqual(d.selected, CLUSTERS);
  t.deepEqual(
    d.operations.map((o) => [o.type, o.cluster, o.type === 'delete' ? -1 : o.replicas]),
    CLUSTERS.map((c) => ['create', c, 1]),
  );
  const created = d.operations[0]!.object;
  t.is(created.metadata.labels?.[MANAGED_BY_LABEL], 'kitfed');
  t.is(created.metadata.labels?.app, 'nginx');
  t.is(created.metadata.annotations?.[ORIGIN_UID_ANNOTATION], 'fed-uid-1');
  t.is(created.metadata.uid, undefined);
  t.is(created.metadata.resourceVersion, undefined);
  t.deepEqual((created.spec as { template: unknown }).template, (fed.spec as { template: unknown }).template);
  // The plan is in the status, per cluster; nothing has been seen yet, so no observedGeneration.
  t.deepEqual(recordedPlan({ ...fed, status: d.status }), {
    plan: Object.fromEntries(CLUSTERS.map((c) => [c, 1])),
    overflow: {},
    unplaced: 0,
  });
  t.like(d.status, { replicas: 0, readyReplicas: 0, availableReplicas: 0, fullyLabeledReplicas: 0 });
  t.is(d.status.observedGeneration, undefined);
  t.like(condition(d.status, 'Scheduled'), { status: 'True', reason: 'Planned' });
  t.like(condition(d.status, 'Propagated'), { status: 'False', reason: 'Pending' });
  t.true(d.statusChanged);
});

test('seed nginx-rs converged: status sums the members, observedGeneration = generation, nothing to write', (t) => {
  const fed = federated('nginx-rs.yaml');
  const members = Object.fromEntries(CLUSTERS.map((c) => [c, { object: member(fed, 1) }]));
  const d = decide(input(fed, members));
  t.deepEqual(d.operations, []);
  t.like(d.status, {
    observedGeneration: 1,
    replicas: 9,
    fullyLabeledReplicas: 9,
    readyReplicas: 9,
    availableReplicas: 9,
  });
  t.like(condition(d.status, 'Propagated'), { status: 'True', reason: 'InSync' });
  // Idempotent: the same inputs with the written status change nothing.
  const again = decide(input({ ...fed, status: d.status }, members));
  t.false(again.statusChanged);
});

test('observedGeneration stays at the last generation every member has seen', (t) => {
  const fed = federated('nginx-rs.yaml', (o) => {
    o.metadata.generation = 2;
    o.status = { observedGeneration: 1 };
  });
  const members = Object.fromEntries(CLUSTERS.map((c) => [c, { object: member(fed, 1) }]));
  // One member's controller has not processed its latest spec yet.
  members['gce-asia-east1-b'] = { object: member(fed, 1, { observedGeneration: 1 }, 2) };
  t.is(decide(input(fed, members)).status.observedGeneration, 1);
  members['gce-asia-east1-b'] = { object: member(fed, 1, { observedGeneration: 2 }, 2) };
  t.is(decide(input(fed, members)).status.observedGeneration, 2);
  // A member whose copy differs from the federated spec (a field kitfed sets) has not seen it either.
  const stale = member(fed, 1);
  (stale.spec as { template: { spec: { containers: Array<{ image: string }> } } }).template.spec.containers[0]!.image =
    'nginx:old';
  members['gce-asia-east1-b'] = { object: stale };
  const d = decide(input(fed, members));
  t.is(d.status.observedGeneration, 1);
  t.deepEqual(
    d.operations.map((o) => [o.type, o.cluster]),
    [['update', 'gce-asia-east1-b']],
  );
  t.is(
    (d.operations[0]!.object.spec as { template: { spec: { containers: Array<{ image: string }> } } }).template.spec
      .containers[0]!.image,
    (fed.spec as { template: { spec: { containers: Array<{ image: string }> } } }).template.spec.containers[0]!.image,
  );
});

test('seed nginx-us-rs: v1 plan - only gce-us-central1-a, min 2 raised to max 4; 5 replicas unplaced are reported', (t) => {
  const fed = federated('nginx-us-rs.yaml');
  const d = decide(input(fed, {}));
  const expected = plan({
    preferences: { rebalance: true, clusters: { 'gce-us-central1-a': { minReplicas: 2, maxReplicas: 4, weight: 1 } } },
    totalReplicas: 9,
    clusters: CLUSTERS,
    key: 'default/nginx-us',
  });
  t.is(expected.plan['gce-us-central1-a'], 4);
  t.deepEqual(d.schedule?.plan, Object.fromEntries(CLUSTERS.map((c) => [c, expected.plan[c]])));
  // Clusters planned 0 get no object (documented choice); the one cluster gets 4.
  t.deepEqual(
    d.operations.map((o) => [o.type, o.cluster, o.type === 'delete' ? -1 : o.replicas]),
    [['create', 'gce-us-central1-a', 4]],
  );
  t.like(condition(d.status, 'Scheduled'), { status: 'False', reason: 'ReplicasUnplaced' });
  t.is(recordedPlan({ ...fed, status: d.status })?.unplaced, 5);
});

test('an existing member copy planned 0 is scaled to 0 and kept, not deleted', (t) => {
  const fed = federated('nginx-us-rs.yaml');
  const d = decide(
    input(fed, { 'gce-asia-east1-a': { object: member(fed, 3) }, 'gce-us-central1-a': { object: member(fed, 4) } }),
  );
  t.deepEqual(
    d.operations.map((o) => [o.type, o.cluster, o.type === 'delete' ? -1 : o.replicas]),
    [['update', 'gce-asia-east1-a', 0]],
  );
  t.like(d.operations[0], { previousReplicas: 3 });
});

test('a cluster that stops being Ready: its share moves to the others; when it returns, rebalance decides', (t) => {
  const fed = federated('nginx-rs.yaml');
  const down = 'gce-europe-west1-c';
  const up = CLUSTERS.filter((c) => c !== down);
  const members = Object.fromEntries(up.map((c) => [c, { object: member(fed, 1) }]));
  const d = decide(input(fed, members, ready(up)));
  t.false(d.selected.includes(down));
  t.is(
    Object.values(d.schedule!.replicas).reduce((a, b) => a + b, 0),
    9,
  );
  const updates = d.operations.filter((o) => o.type === 'update');
  t.is(updates.length, 1);
  t.like(updates[0], { replicas: 2, previousReplicas: 1 });
  const doubled = updates[0]!.cluster;

  // The cluster returns, still running its old replica. rebalance:false keeps running replicas
  // where they are (v1 stickiness), so the doubled cluster keeps 2 and the returning one is starved or kept.
  const after = { ...members, [doubled]: { object: member(fed, 2) }, [down]: { object: member(fed, 1) } };
  const sticky = decide(input(fed, after));
  const stickyPlan = sticky.schedule!.replicas;
  t.is(
    Object.values(stickyPlan).reduce((a, b) => a + b, 0),
    9,
  );
  t.is(stickyPlan[doubled], 2);

  // rebalance:true spreads evenly again: every cluster back to 1.
  const rebalanced = federated('nginx-rs.yaml', (o) => {
    o.metadata.annotations = {
      'federation.kubernetes.io/replica-set-preferences': '{"rebalance":true,"clusters":{"*":{"weight":1}}}',
    };
  });
  const afterR = Object.fromEntries(
    Object.entries(after).map(([c, m]) => [
      c,
      { object: member(rebalanced, (m.object.spec as { replicas: number }).replicas) },
    ]),
  );
  const r = decide(input(rebalanced, afterR));
  t.deepEqual(r.schedule!.replicas, Object.fromEntries(CLUSTERS.map((c) => [c, 1])));
  t.deepEqual(
    r.operations.map((o) => [o.type, o.cluster, o.type === 'delete' ? -1 : o.replicas]),
    [['update', doubled, 1]],
  );
});

test('capacity: pods unschedulable for over 60 s cap a cluster; its overflow goes elsewhere and it is asked for plan + overflow', (t) => {
  const fed = federated('nginx-rs.yaml', (o) => {
    (o.spec as { replicas: number }).replicas = 30;
    o.metadata.annotations = {
      'federation.kubernetes.io/replica-set-preferences': '{"rebalance":true,"clusters":{"*":{"weight":1}}}',
    };
  });
  const three = ['gce-us-central1-a', 'gce-us-central1-b', 'gce-us-central1-c'];
  const small = 'gce-us-central1-b';
  const members: DecideInput['members'] = {
    'gce-us-central1-a': { object: member(fed, 10) },
    'gce-us-central1-c': { object: member(fed, 10) },
    // 10 wanted, 2 run, 8 unschedulable for 2 minutes → capacity 2.
    [small]: {
      object: member(fed, 10, { readyReplicas: 2, availableReplicas: 2 }),
      pods: [pod('r1', running), pod('r2', running), ...Array.from({ length: 8 }, (_, i) => pod(`p${i}`, stuck(120)))],
    },
  };
  const d = decide(input(fed, members, ready(three)));
  t.deepEqual(d.schedule!.estimatedCapacity, { [small]: 2 });
  t.is(d.schedule!.plan[small], 2);
  t.is(d.schedule!.plan['gce-us-central1-a']! + d.schedule!.plan['gce-us-central1-c']!, 28);
  t.true(d.schedule!.overflow[small]! > 0);
  t.is(d.schedule!.replicas[small], 2 + d.schedule!.overflow[small]!);
  t.like(condition(d.status, 'Scheduled'), { status: 'True', reason: 'Overflow' });

  // Pods unschedulable for only 30 s do not count yet; the decision asks for a recheck when they will.
  const young = {
    ...members,
    [small]: {
      object: members[small]!.object,
      pods: [pod('r1', running), pod('r2', running), ...Array.from({ length: 8 }, (_, i) => pod(`p${i}`, stuck(30)))],
    },
  };
  const y = decide(input(fed, young, ready(three)));
  t.deepEqual(y.schedule!.estimatedCapacity, {});
  t.is(y.recheckAt, NOW + 30_000);
});

test('cluster selector: only matching Ready clusters are planned; kitfed copies in clusters that stop matching are deleted', (t) => {
  const fed = federated('nginx-rs.yaml', (o) => {
    o.metadata.annotations = {
      [CLUSTER_SELECTOR_ANNOTATION]: '[{"key":"region","operator":"in","values":["gce-europe-west1"]}]',
    };
  });
  const d = decide(input(fed, { 'gce-asia-east1-a': { object: member(fed, 1) } }));
  t.deepEqual(d.selected, ['gce-europe-west1-b', 'gce-europe-west1-c', 'gce-europe-west1-d']);
  t.deepEqual(
    d.operations.map((o) => [o.type, o.cluster, o.type === 'delete' ? -1 : o.replicas]),
    [
      ['create', 'gce-europe-west1-b', 3],
      ['create', 'gce-europe-west1-c', 3],
      ['create', 'gce-europe-west1-d', 3],
      ['delete', 'gce-asia-east1-a', -1],
    ],
  );
  // The annotation is copied as v1 did.
  t.is(
    d.operations[0]!.object.metadata.annotations?.[CLUSTER_SELECTOR_ANNOTATION],
    fed.metadata.annotations![CLUSTER_SELECTOR_ANNOTATION],
  );
});

test('a bad cluster selector writes nothing and says why in the status', (t) => {
  const fed = federated('nginx-rs.yaml', (o) => {
    o.metadata.annotations = {
      [CLUSTER_SELECTOR_ANNOTATION]: 'federation.kubernetes.io/federation-control-plane=true',
    };
  });
  const d = decide(input(fed, { 'gce-asia-east1-a': { object: member(fed, 1) } }));
  t.deepEqual(d.operations, []);
  t.is(d.error?.reason, 'ClusterSelectorInvalid');
  t.like(condition(d.status, 'Scheduled'), { status: 'False', reason: 'ClusterSelectorInvalid' });
  t.is(d.status.replicas, 1);
});

test('preferences that cannot be decoded (stored before admission checked them) write nothing', (t) => {
  const fed = federated('nginx-rs.yaml', (o) => {
    o.metadata.annotations = {
      'federation.kubernetes.io/replica-set-preferences': '{"clusters":{"*":{"weight":1.5}}}',
    };
  });
  const d = decide(input(fed, { 'gce-asia-east1-a': { object: member(fed, 2) } }));
  t.deepEqual(d.operations, []);
  t.is(d.error?.reason, 'InvalidPreferences');
  t.regex(condition(d.status, 'Scheduled')?.message ?? '', /weight/);
  t.like(condition(d.status, 'Propagated'), { status: 'False', reason: 'InvalidPreferences' });
  t.is(d.status.replicas, 2, 'existing copies still count');
  t.is(d.status.observedGeneration, undefined);
});

test('a same-named member object kitfed did not create is left alone and reported, unless adoption is opted into', (t) => {
  const fed = federated('nginx-rs.yaml');
  const foreign = member(fed, 5);
  delete foreign.metadata.labels![MANAGED_BY_LABEL];
  delete foreign.metadata.annotations![ORIGIN_UID_ANNOTATION];
  const d = decide(input(fed, { 'gce-asia-east1-a': { object: foreign } }));
  t.deepEqual(d.notOwned, ['gce-asia-east1-a']);
  t.false(d.operations.some((o) => o.cluster === 'gce-asia-east1-a'));
  t.like(condition(d.status, 'Propagated'), { status: 'False', reason: 'NotOwned' });
  t.is(d.status.replicas, 0, 'a foreign object does not count in the status');
  // A copy kitfed made for an earlier federated object of the same name (another uid) is kitfed's: re-marked.
  const other = member(
    federated('nginx-rs.yaml', (o) => (o.metadata.uid = 'other')),
    1,
  );
  const re = decide(input(fed, { 'gce-asia-east1-a': { object: other } }));
  t.deepEqual(re.notOwned, []);
  t.is(
    re.operations.find((o) => o.cluster === 'gce-asia-east1-a')?.object.metadata.annotations?.[ORIGIN_UID_ANNOTATION],
    'fed-uid-1',
  );

  const adopting = federated('nginx-rs.yaml', (o) => (o.metadata.annotations = { [ADOPT_ANNOTATION]: 'true' }));
  const a = decide(input(adopting, { 'gce-asia-east1-a': { object: foreign } }));
  const op = a.operations.find((o) => o.cluster === 'gce-asia-east1-a');
  // Its 5 running replicas count as current (rebalance false keeps them): the update only marks it as kitfed's.
  t.like(op, { type: 'update', replicas: 5, previousReplicas: 5 });
  t.is(
    Object.values(a.schedule!.replicas).reduce((x, y) => x + y, 0),
    9,
  );
  t.is(op!.object.metadata.labels?.[MANAGED_BY_LABEL], 'kitfed');
  t.is(op!.object.metadata.annotations?.[ORIGIN_UID_ANNOTATION], 'fed-uid-1');
  t.is(op!.object.metadata.annotations?.[ADOPT_ANNOTATION], undefined);
  t.is(op!.object.metadata.uid, foreign.metadata.uid, 'an update keeps the member object identity');
});

test('Deployment: revision annotation neither propagated nor compared; updated/unavailable summed; member conditions merged', (t) => {
  const fed: KubeObject = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      name: 'web',
      namespace: 'shop',
      uid: 'dep-uid',
      generation: 3,
      annotations: {
        'deployment.kubernetes.io/revision': '7',
        'federation.kubernetes.io/deployment-preferences':
          '{"rebalance":true,"clusters":{"a":{"weight":2},"b":{"weight":1}}}',
      },
    },
    spec: {
      replicas: 3,
      selector: { matchLabels: { app: 'web' } },
      template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image: 'nginx' }] } },
    },
  };
  const copy = (replicas: number, status: Record<string, unknown>): KubeObject => {
    const m = desiredMember(fed, replicas);
    m.metadata.annotations!['deployment.kubernetes.io/revision'] = '1';
    m.metadata.generation = 1;
    m.status = { observedGeneration: 1, ...status };
    return m;
  };
  t.is(desiredMember(fed, 1).metadata.annotations?.['deployment.kubernetes.io/revision'], undefined);
  const d = decide({
    federated: fed,
    readyClusters: [{ name: 'a' }, { name: 'b' }],
    members: {
      a: {
        object: copy(2, {
          replicas: 2,
          updatedReplicas: 2,
          readyReplicas: 2,
          availableReplicas: 2,
          conditions: [
            { type: 'Available', status: 'True', reason: 'MinimumReplicasAvailable' },
            { type: 'Progressing', status: 'True', reason: 'NewReplicaSetAvailable' },
          ],
        }),
      },
      b: {
        object: copy(1, {
          replicas: 1,
          updatedReplicas: 0,
          readyReplicas: 0,
          availableReplicas: 0,
          unavailableReplicas: 1,
          conditions: [
            {
              type: 'Available',
              status: 'False',
              reason: 'MinimumReplicasUnavailable',
              message: 'Deployment does not have minimum availability.',
            },
            { type: 'Progressing', status: 'True', reason: 'ReplicaSetUpdated' },
          ],
        }),
      },
    },
    now: NOW,
  });
  t.deepEqual(d.operations, [], 'member revision annotations differ from the federated one without an update');
  t.like(d.status, {
    observedGeneration: 3,
    replicas: 3,
    updatedReplicas: 2,
    readyReplicas: 2,
    availableReplicas: 2,
    unavailableReplicas: 1,
  });
  t.is(d.status.fullyLabeledReplicas, undefined);
  t.like(condition(d.status, 'Available'), {
    status: 'False',
    reason: 'MinimumReplicasUnavailable',
    message: 'b: Deployment does not have minimum availability.',
  });
  t.like(condition(d.status, 'Progressing'), { status: 'True' });
  t.truthy(condition(d.status, 'Available')?.lastTransitionTime);
});

test('condition transition times are kept while the status does not change', (t) => {
  const fed = federated('nginx-rs.yaml');
  const members = Object.fromEntries(CLUSTERS.map((c) => [c, { object: member(fed, 1) }]));
  const first = decide(input(fed, members));
  const later = decide({ ...input({ ...fed, status: first.status }, members), now: NOW + 60_000 });
  t.deepEqual(later.status, first.status);
  const down = decide({
    ...input({ ...fed, status: first.status }, members, ready(CLUSTERS.slice(1))),
    now: NOW + 60_000,
  });
  t.not(
    condition(down.status, 'Propagated')?.lastTransitionTime,
    condition(first.status, 'Propagated')?.lastTransitionTime,
  );
  t.is(
    condition(down.status, 'Scheduled')?.lastTransitionTime,
    condition(first.status, 'Scheduled')?.lastTransitionTime,
  );
});

/** kitfed's copy in a member created `s` seconds ago, still rolling out (`ready` of its replicas ready). */
function youngMember(fed: KubeObject, replicas: number, ready: number, s: number): KubeObject {
  const m = member(fed, replicas, { readyReplicas: ready, availableReplicas: ready });
  m.metadata.creationTimestamp = ago(s);
  return m;
}
const young = (name: string, s: number, status: Record<string, unknown> = { phase: 'Pending' }): KubeObject => ({
  ...pod(name, status),
  metadata: { ...pod(name, status).metadata, creationTimestamp: ago(s) },
});
const backoff = {
  phase: 'Pending',
  containerStatuses: [
    {
      name: 'frontend',
      ready: false,
      state: { waiting: { reason: 'ImagePullBackOff', message: 'Back-off pulling image' } },
    },
  ],
};

test('rebalance false: replicas still starting keep their place, so an uneven rollout is not re-planned (v1 would move them mid-rollout)', (t) => {
  // The plan kitfed recorded when it created the copies 3/3/3.
  const fed = federated('nginx-rs.yaml', (o) => {
    o.status = {
      conditions: [
        {
          type: 'Scheduled',
          status: 'True',
          reason: 'Planned',
          message: JSON.stringify({ plan: { a: 3, b: 3, c: 3 }, overflow: {}, unplaced: 0 }),
        },
      ],
    };
  });
  const clusters = ready(['a', 'b', 'c']);
  // a: copy created 2 s ago, no pods yet; b: 1 ready + 2 starting; c: 3 pods pending for 3 s.
  const members = (startingInB: KubeObject[]): DecideInput['members'] => ({
    a: { object: youngMember(fed, 3, 0, 2), pods: [] },
    b: { object: youngMember(fed, 3, 1, 5), pods: [young('b-1', 5, running), ...startingInB] },
    c: { object: youngMember(fed, 3, 0, 3), pods: [young('c-1', 3), young('c-2', 3), young('c-3', 3)] },
  });
  const v1 = (current: Record<string, number>) =>
    plan({
      preferences: { rebalance: false, clusters: { '*': { weight: 1 } } },
      totalReplicas: 9,
      clusters: ['a', 'b', 'c'],
      currentReplicas: current,
      key: 'default/nginx',
    }).plan;
  // What v1's ready-pods-only state gives here: one replica moves from b to a, to come back later.
  t.deepEqual(v1({ a: 0, b: 1, c: 0 }), { a: 4, b: 2, c: 3 });

  const d = decide(input(fed, members([young('b-2', 5), young('b-3', 5)]), clusters));
  t.deepEqual(d.schedule?.plan, { a: 3, b: 3, c: 3 });
  t.deepEqual(d.operations, [], 'nothing to write while the rollout proceeds');
  t.is(d.recheckAt, NOW + 55_000, "the plan is looked at again when the first grace ends (b's pods, 5 s old)");

  // A pod that will not start by itself (ImagePullBackOff) ends b's grace at once: v1's count.
  const stuckB = decide(input(fed, members([young('b-2', 5, backoff), young('b-3', 5)]), clusters));
  t.deepEqual(stuckB.schedule?.plan, v1({ a: 3, b: 1, c: 3 }));

  // Past the grace, pods not ready count as v1 counts them: not at all.
  const later = decide({ ...input(fed, members([young('b-2', 5), young('b-3', 5)]), clusters), now: NOW + 60_000 });
  t.deepEqual(later.schedule?.plan, v1({ a: 0, b: 1, c: 0 }));

  // A member scaled up by hand (b: 3 → 5, 2 new pods starting) is drift: only what kitfed asked for counts.
  const drift = members([young('b-2', 5), young('b-3', 5), young('b-4', 1), young('b-5', 1)]);
  drift.b!.object!.spec = { ...(drift.b!.object!.spec as object), replicas: 5 };
  const reverted = decide(input(fed, drift, clusters));
  t.deepEqual(reverted.schedule?.plan, { a: 3, b: 3, c: 3 });
  t.deepEqual(
    reverted.operations.map((o) => [o.type, o.cluster, o.type === 'update' ? o.replicas : -1]),
    [['update', 'b', 3]],
  );
});

test("rebalance false: a rolling update's surge pods are not placed replicas, so the update does not move replicas between clusters", (t) => {
  const fed = federated('nginx-rs.yaml', (o) => {
    (o.spec as { replicas: number }).replicas = 7;
    o.status = {
      conditions: [
        {
          type: 'Scheduled',
          status: 'True',
          reason: 'Planned',
          message: JSON.stringify({ plan: { a: 4, b: 3 }, overflow: {}, unplaced: 0 }),
        },
      ],
    };
  });
  // a is mid-update: 4 asked, 5 ready (one surge pod of the new template is up before an old one goes).
  const surging = member(fed, 4, { replicas: 5, readyReplicas: 5, availableReplicas: 5 });
  const members: DecideInput['members'] = {
    a: { object: surging, pods: [1, 2, 3, 4, 5].map((i) => pod(`a-${i}`, running)) },
    b: { object: member(fed, 3), pods: [] },
  };
  const v1 = plan({
    preferences: { rebalance: false, clusters: { '*': { weight: 1 } } },
    totalReplicas: 7,
    clusters: ['a', 'b'],
    currentReplicas: { a: 5, b: 3 },
    key: 'default/nginx',
  }).plan;
  t.notDeepEqual(v1, { a: 4, b: 3 }, 'v1 counts the surge pod and moves a replica');
  const d = decide(input(fed, members, ready(['a', 'b'])));
  t.deepEqual(d.schedule?.plan, { a: 4, b: 3 });
  t.deepEqual(d.operations, []);
});
