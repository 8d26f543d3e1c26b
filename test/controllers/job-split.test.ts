/**
 * A Job carrying Federation v1's `federation.kubernetes.io/job-preferences` is split over the
 * clusters: its parallelism by the v1 planner, then its completions over the clusters that got
 * parallelism, so the fleet runs the Job's work once. The pure pass first (placement, what stays
 * once copies exist), then the whole path with real API servers and kubectl.
 */
import test from 'ava';
import type { Condition, KubeObject } from '../../services/core/kube.js';
import {
  desiredFor,
  memberTemplate,
  plan as planPass,
  STATUS_ANNOTATION,
  type ClusterView,
  type KindInfo,
  type MemberView,
} from '../../services/controllers/index.js';
import { eventually } from '../helpers/eventually.js';
import { kitfed, startFederation, waitReady } from './helpers.js';

const JOB: KindInfo = {
  id: 'batch/Job',
  group: 'batch',
  version: 'v1',
  apiVersion: 'batch/v1',
  kind: 'Job',
  plural: 'jobs',
  namespaced: true,
  statusSubresource: true,
};

const PREFS = 'federation.kubernetes.io/job-preferences';

function job(name: string, spec: Record<string, unknown>, preferences?: unknown): KubeObject {
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: {
      name,
      namespace: 'default',
      uid: `uid-${name}`,
      ...(preferences !== undefined ? { annotations: { [PREFS]: JSON.stringify(preferences) } } : {}),
    },
    spec: {
      ...spec,
      template: { spec: { restartPolicy: 'Never', containers: [{ name: 'w', image: 'work:1' }] } },
    },
  };
}

/** The copy kitfed writes for `fed` with this share. */
function copy(fed: KubeObject, parallelism: number, completions?: number): KubeObject {
  const d = desiredFor(JOB, memberTemplate(JOB, fed), fed.metadata.uid!, { name: 'x' }, [], parallelism, completions);
  if ('error' in d) throw new Error(d.error);
  return d.object;
}

function pass(fed: KubeObject, clusters: ClusterView[], members: Record<string, MemberView> = {}) {
  const p = planPass({ kind: JOB, federated: fed, clusters, members, overrides: [], requiredIn: [], now: Date.now() });
  const shares = Object.fromEntries(
    p.writes.map((w) => {
      const spec = (w.op === 'apply' ? w.object.spec : {}) as { parallelism?: number; completions?: number };
      return [w.cluster, [spec.parallelism, spec.completions]];
    }),
  );
  const scheduled = ((p.nativeStatus?.conditions ?? []) as Condition[]).find((c) => c.type === 'Scheduled');
  return { p, shares, scheduled };
}

/** `fed` as the engine reads it after a pass wrote its status. */
function recorded(fed: KubeObject, after: ReturnType<typeof pass>): KubeObject {
  const annotations = { ...fed.metadata.annotations, [STATUS_ANNOTATION]: after.p.statusAnnotation! };
  return { ...fed, metadata: { ...fed.metadata, annotations }, status: after.p.nativeStatus ?? fed.status };
}

/** The copies a split Job gets: its first pass records the split, the next creates them. */
function created(fed: KubeObject, clusters: ClusterView[]) {
  return pass(recorded(fed, pass(fed, clusters)), clusters);
}

const ready = (...names: string[]): ClusterView[] => names.map((name) => ({ name, availability: 'Available' }));
const weights = { clusters: { a: { weight: 2 }, b: { weight: 1 }, c: { weight: 0 } } };

test('a first split: parallelism by weight, completions over the clusters that run pods; none for the rest', (t) => {
  const fed = job('batch', { parallelism: 3, completions: 6 }, weights);
  // The first pass records the split and creates nothing: a share outlives a failed creation.
  const first = pass(fed, ready('a', 'b', 'c'));
  t.deepEqual(first.p.writes, []);
  t.like(first.scheduled, { status: 'True', reason: 'Planned' });
  t.deepEqual(JSON.parse(first.scheduled!.message!), { parallelism: { a: 2, b: 1 }, completions: { a: 4, b: 2 } });
  t.deepEqual(
    first.p.status.clusters.map((s) => [s.cluster, s.state, s.replicas, s.completions]),
    [
      ['a', 'Pending', 2, 4],
      ['b', 'Pending', 1, 2],
      ['c', 'InSync', 0, undefined],
    ],
  );
  t.deepEqual(
    first.p.events.map((e) => [e.reason, e.message]),
    [['ReplicasPlanned', 'split a: parallelism 2, completions 4; b: parallelism 1, completions 2']],
  );
  // The next pass creates the copies from the record; a cluster down meanwhile keeps its share.
  const second = pass(recorded(fed, first), ready('a', 'b', 'c'));
  t.deepEqual(second.shares, { a: [2, 4], b: [1, 2] });
  t.deepEqual(second.p.events, []);
  const bDown: ClusterView[] = [...ready('a'), { name: 'b', availability: 'NotReady' }, ...ready('c')];
  const meanwhile = pass(recorded(fed, first), bDown);
  t.deepEqual(meanwhile.shares, { a: [2, 4] });
  t.like(
    meanwhile.p.status.clusters.find((x) => x.cluster === 'b'),
    { state: 'ClusterNotReady', replicas: 1, completions: 2 },
  );

  // Fewer completions than clusters with pods: a cluster given no work gets no copy.
  const few = created(
    job('few', { parallelism: 3, completions: 2 }, { clusters: { '*': { weight: 1 } } }),
    ready('a', 'b', 'c'),
  );
  t.is(Object.keys(few.shares).length, 2);
  t.deepEqual(
    Object.values(few.shares).map(([, c]) => c),
    [1, 1],
  );

  // A work-queue Job (no completions) has only its parallelism split.
  const queue = created(job('queue', { parallelism: 4 }, { clusters: { '*': { weight: 1 } } }), ready('a', 'b'));
  t.deepEqual(queue.shares, { a: [2, undefined], b: [2, undefined] });

  // Without the annotation every cluster runs the whole Job, as before.
  t.deepEqual(pass(job('whole', { parallelism: 3, completions: 6 }), ready('a', 'b')).shares, {
    a: [3, 6],
    b: [3, 6],
  });

  // Preferences the planner cannot decode: nothing is written, Scheduled says why.
  const bad: KubeObject = { ...fed, metadata: { ...fed.metadata, annotations: { [PREFS]: '{"clusters": 3}' } } };
  const refused = pass(bad, ready('a', 'b'));
  t.deepEqual(refused.p.writes, []);
  t.like(refused.scheduled, { status: 'False', reason: 'InvalidPreferences' });
});

test('once copies exist their clusters and completions stay; only the parallelism is planned again', (t) => {
  const fed = job('batch', { parallelism: 3, completions: 6 }, weights);
  const held = { a: { object: copy(fed, 2, 4) }, b: { object: copy(fed, 1, 2) } };
  t.deepEqual(pass(fed, ready('a', 'b', 'c'), held).p.writes, [], 'in sync: nothing to write');

  // More parallelism: re-planned over a and b; completions stay (Kubernetes does not let them change).
  const wider = { ...fed, spec: { ...(fed.spec as object), parallelism: 6 } };
  t.deepEqual(pass(wider, ready('a', 'b', 'c'), held).shares, { a: [4, 4], b: [2, 2] });

  // b is not Ready: its copy keeps its share (recorded in the status) and c gets nothing.
  const recorded = pass(fed, ready('a', 'b', 'c'), held).p.statusAnnotation!;
  const annotated: KubeObject = {
    ...fed,
    metadata: { ...fed.metadata, annotations: { ...fed.metadata.annotations, [STATUS_ANNOTATION]: recorded } },
  };
  const bDown: ClusterView[] = [
    { name: 'a', availability: 'Available' },
    { name: 'b', availability: 'NotReady', message: 'unreachable' },
    { name: 'c', availability: 'Available' },
  ];
  const down = pass(annotated, bDown, { a: held.a });
  t.deepEqual(down.p.writes, []);
  t.deepEqual(
    down.p.status.clusters.map((s) => [s.cluster, s.state, s.replicas, s.completions]),
    [
      ['a', 'InSync', 2, 4],
      ['b', 'ClusterNotReady', 1, 2],
      ['c', 'InSync', 0, undefined],
    ],
  );
  t.deepEqual(down.p.placement, ['a', 'b']);

  // A copy deleted by hand in a Ready cluster comes back with the share it had, not a new split.
  const again = pass(annotated, ready('a', 'b', 'c'), { a: held.a });
  t.deepEqual(again.shares, { b: [1, 2] });

  // While a copy is being created (not in the caches yet) nothing is split: the pass waits.
  const creating = pass(fed, ready('a', 'b', 'c'), { a: { writing: true } });
  t.true(creating.p.wait);

  // A Job that ran whole everywhere before the annotation keeps each copy's completions.
  const before = job('batch', { parallelism: 2, completions: 4 }, { clusters: { '*': { weight: 1 } } });
  const whole = { a: { object: copy(before, 2, 4) }, b: { object: copy(before, 2, 4) } };
  t.deepEqual(pass(before, ready('a', 'b', 'c'), whole).shares, { a: [1, 4], b: [1, 4] });
});

test('kubectl: a split Job runs its completions once over the fleet; an Indexed Job cannot be split', async (t) => {
  const fed = await startFederation(t, 3);
  await fed.startControllers();
  await waitReady(fed);
  const manifest = {
    ...job('render', { parallelism: 3, completions: 6 }, { clusters: { m1: { weight: 2 }, m2: { weight: 1 } } }),
  };
  delete manifest.metadata.uid;
  const created = await fed.kubectl(['--context=federation', 'create', '-f', '-'], JSON.stringify(manifest));
  t.is(created.code, 0, created.stderr);

  const copies = await eventually(async () => {
    const [a, b] = await Promise.all(
      [0, 1].map((i) => fed.members[i]!.client.get('batch/v1', 'Job', 'default', 'render')),
    );
    return [a!, b!];
  });
  t.deepEqual(
    copies.map((c) => [
      (c.spec as { parallelism: number }).parallelism,
      (c.spec as { completions: number }).completions,
    ]),
    [
      [2, 4],
      [1, 2],
    ],
  );
  t.is(await fed.members[2]!.client.get('batch/v1', 'Job', 'default', 'render').catch(() => undefined), undefined);
  // kitfed describe shows each member's share.
  const described = await eventually(async () => {
    const d = await kitfed(['describe', 'job', 'render', '--kubeconfig', fed.kubeconfig]);
    if (!/\nm2\s+True\s+InSync\s+1\s+2\s*\n/.test(d.stdout)) throw new Error(d.stdout + d.stderr);
    return d.stdout;
  });
  t.regex(described, /CLUSTER\s+READY\s+STATE\s+PARALLELISM\s+COMPLETIONS\s+MESSAGE\nm1\s+True\s+InSync\s+2\s+4\s*\n/);

  // Each copy finishes its share: the federated Job has its 6 completions.
  for (const [i, succeeded] of [
    [0, 4],
    [1, 2],
  ] as const) {
    const fresh = await fed.members[i]!.client.get('batch/v1', 'Job', 'default', 'render');
    await fed.members[i]!.client.update(
      {
        ...fresh,
        status: {
          startTime: '2026-12-05T10:00:00Z',
          completionTime: `2026-12-05T10:0${i + 1}:00Z`,
          succeeded,
          conditions: [{ type: 'Complete', status: 'True', reason: 'Completed' }],
        },
      },
      { subresource: 'status' },
    );
  }
  const done = await fed.kubectl([
    '--context=federation',
    'wait',
    '--for=condition=complete',
    'job/render',
    '--timeout=10s',
  ]);
  t.is(done.code, 0, done.stderr);
  const shown = await fed.kubectl(['--context=federation', 'get', 'job', 'render', '--no-headers']);
  t.regex(shown.stdout, /^render\s+Complete\s+6\/6\s/);

  // An Indexed Job's copies would run the same indexes: refused, naming the annotation.
  const indexed = job(
    'indexed',
    { parallelism: 2, completions: 4, completionMode: 'Indexed' },
    { clusters: { '*': { weight: 1 } } },
  );
  delete indexed.metadata.uid;
  const refused = await fed.kubectl(['--context=federation', 'create', '-f', '-'], JSON.stringify(indexed));
  t.not(refused.code, 0);
  t.regex(refused.stderr, /job-preferences.*Indexed Job cannot be split/);
});
