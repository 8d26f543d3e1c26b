/**
 * Per-cluster overrides (federation.kitfed.io/v1beta1 Override): checked at admission (422
 * naming the field), applied per region and per cluster in their documented order, shown by
 * `kitfed describe`, and a patch that does not apply fails that cluster alone.
 */
import test from 'ava';
import { KitfedError } from '../../services/core/errors.js';
import type { KubeObject } from '../../services/core/kube.js';
import { eventually } from '../helpers/eventually.js';
import { kitfed, propagationStatus, startFederation, waitReady } from './helpers.js';

const OVERRIDE = 'federation.kitfed.io/v1beta1';

function deployment(): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'shop', labels: { app: 'web' } },
    spec: {
      replicas: 6,
      selector: { matchLabels: { app: 'web' } },
      template: {
        metadata: { labels: { app: 'web' } },
        spec: { containers: [{ name: 'web', image: 'registry.example/web:1.0' }] },
      },
    },
  };
}

const imageOf = (o: KubeObject | undefined) =>
  (o?.spec as { template: { spec: { containers: Array<{ image: string }> } } } | undefined)?.template.spec.containers[0]
    ?.image;

test('an Override is checked at admission: a bad path, operation or selector is a 422 naming the field', async (t) => {
  const fed = await startFederation(t, 0);
  const bad = async (spec: unknown): Promise<KitfedError> => {
    const err = await t.throwsAsync(
      fed.client.create({
        apiVersion: OVERRIDE,
        kind: 'Override',
        metadata: { name: 'bad', namespace: 'default' },
        spec,
      }),
    );
    t.true(err instanceof KitfedError);
    return err as KitfedError;
  };
  const target = [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' }];
  const e1 = await bad({
    resourceSelectors: target,
    rules: [{ clusters: ['m1'], jsonPatch: [{ op: 'replace', path: 'spec/replicas', value: 1 }] }],
  });
  t.is(e1.code, 422);
  t.regex(e1.message, /spec\.rules\[0\]\.jsonPatch\[0\]\.path/);
  t.regex(e1.message, /JSON pointer/);
  const e2 = await bad({
    resourceSelectors: target,
    rules: [
      {
        clusterSelector: { matchExpressions: [{ key: 'region', operator: 'Near', values: ['eu'] }] },
        mergePatch: { spec: { replicas: 1 } },
      },
    ],
  });
  t.is(e2.code, 422);
  t.regex(e2.message, /spec\.rules\[0\]\.clusterSelector\.matchExpressions\[0\]\.operator/);
  const e3 = await bad({
    resourceSelectors: target,
    rules: [{ jsonPatch: [{ op: 'replace', path: '/metadata/name', value: 'other' }] }],
  });
  t.regex(e3.message, /spec\.rules\[0\]\.jsonPatch\[0\]\.path.*Forbidden/);
  const e4 = await bad({ rules: [{ mergePatch: { status: {} } }] });
  t.regex(e4.message, /spec\.resourceSelectors/);
  t.regex(e4.message, /spec\.rules\[0\]\.mergePatch\.status/);
  // kubectl shows the same message.
  const k = await fed.kubectl(
    ['--context', 'federation', 'create', '-f', '-'],
    JSON.stringify({
      apiVersion: OVERRIDE,
      kind: 'Override',
      metadata: { name: 'bad', namespace: 'default' },
      spec: { resourceSelectors: target, rules: [{ clusters: ['m1'], jsonPatch: [{ op: 'set', path: '/spec' }] }] },
    }),
  );
  t.not(k.code, 0);
  t.regex(k.stderr, /spec\.rules\[0\]\.jsonPatch\[0\]\.op: Unsupported value: "set"/);
});

test('overrides per region and cluster: applied in order, shown by describe; a bad one fails alone', async (t) => {
  const fed = await startFederation(t, 3, { join: false });
  await fed.join('m1', { region: 'eu' });
  await fed.join('m2', { region: 'eu' });
  await fed.join('m3', { region: 'us' });
  await fed.startControllers();
  await waitReady(fed);
  const [m1, m2, m3] = fed.members as [(typeof fed.members)[0], (typeof fed.members)[0], (typeof fed.members)[0]];
  await fed.client.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop' } });
  await fed.client.create({
    apiVersion: OVERRIDE,
    kind: 'Override',
    metadata: { name: 'regions', namespace: 'shop' },
    spec: {
      resourceSelectors: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' }],
      rules: [
        {
          clusterSelector: { matchLabels: { region: 'eu' } },
          jsonPatch: [
            { op: 'replace', path: '/spec/template/spec/containers/0/image', value: 'eu.registry.example/web:1.0' },
          ],
        },
        { clusters: ['m3'], mergePatch: { metadata: { annotations: { tier: 'gold' } }, spec: { minReadySeconds: 5 } } },
      ],
    },
  });
  await fed.client.create(deployment());
  for (const m of [m1, m2])
    await eventually(async () => {
      if (imageOf(await m.client.tryGet('apps/v1', 'Deployment', 'shop', 'web')) !== 'eu.registry.example/web:1.0')
        throw new Error(`${m.name}: no eu image yet`);
    }).catch(async (err: unknown) => {
      t.log(JSON.stringify(await fed.client.get('apps/v1', 'Deployment', 'shop', 'web')));
      t.log((await fed.client.list('v1', 'Event', 'shop')).items.map((e) => `${e.reason}: ${e.message}`));
      t.log(JSON.stringify(await m.client.tryGet('apps/v1', 'Deployment', 'shop', 'web')));
      throw err;
    });
  const us = await eventually(async () => {
    const o = await m3.client.get('apps/v1', 'Deployment', 'shop', 'web');
    if (o.metadata.annotations?.tier !== 'gold') throw new Error('m3 not overridden yet');
    return o;
  });
  t.is(imageOf(us), 'registry.example/web:1.0');
  t.is((us.spec as { minReadySeconds?: number }).minReadySeconds, 5);
  t.is((us.spec as { replicas: number }).replicas, 2);

  const described = await kitfed(['describe', 'deployment', 'web', '-n', 'shop', '--kubeconfig', fed.kubeconfig]);
  t.is(described.code, 0, described.stderr);
  t.log(described.stdout);
  t.regex(described.stdout, /Overrides:\s+shop\/regions/);
  const section = (cluster: string) =>
    described.stdout.split(/\n {2}(?=m\d)/).find((s) => s.startsWith(`${cluster}:`)) ?? '';
  t.regex(
    section('m1'),
    /~ \/spec\/template\/spec\/containers\/0\/image: "registry\.example\/web:1\.0" → "eu\.registry\.example\/web:1\.0"/,
  );
  t.regex(section('m1'), /~ \/spec\/replicas: 6 → 2/);
  t.regex(section('m3'), /~ \/metadata\/annotations\/tier: <absent> → "gold"/);
  t.notRegex(section('m3'), /image/);
  const json = JSON.parse(
    (await kitfed(['describe', 'deploy', 'web', '-n', 'shop', '-o', 'json', '--kubeconfig', fed.kubeconfig])).stdout,
  ) as { clusters: Array<{ cluster: string; state: string; changes: Array<{ path: string }> }> };
  t.deepEqual(
    json.clusters.map((c) => [c.cluster, c.state]),
    [
      ['m1', 'InSync'],
      ['m2', 'InSync'],
      ['m3', 'InSync'],
    ],
  );

  // The status names the override rules each cluster's copy got.
  const applied = propagationStatus(await fed.client.get('apps/v1', 'Deployment', 'shop', 'web'));
  t.deepEqual(
    applied.clusters.map((c) => [c.cluster, c.overrides]),
    [
      ['m1', ['shop/regions rules[0]']],
      ['m2', ['shop/regions rules[0]']],
      ['m3', ['shop/regions rules[1]']],
    ],
  );

  // A later override (higher priority number) whose patch does not apply to m2: m2 fails with the
  // override's name and the path; its copy is not half-written; the others stay in sync.
  await fed.client.create({
    apiVersion: OVERRIDE,
    kind: 'Override',
    metadata: { name: 'broken', namespace: 'shop' },
    spec: {
      priority: 10,
      resourceSelectors: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' }],
      rules: [
        {
          clusters: ['m2'],
          jsonPatch: [
            { op: 'replace', path: '/spec/replicas', value: 9 },
            { op: 'replace', path: '/spec/strategy/nonexistent/field', value: 1 },
          ],
        },
      ],
    },
  });
  const failed = await eventually(async () => {
    const st = propagationStatus(await fed.client.get('apps/v1', 'Deployment', 'shop', 'web'));
    const c = st.clusters.find((x) => x.cluster === 'm2');
    if (c?.state !== 'Failed') throw new Error(JSON.stringify(st));
    return st;
  });
  const m2Status = failed.clusters.find((x) => x.cluster === 'm2')!;
  t.is(m2Status.reason, 'OverrideFailed');
  t.regex(
    m2Status.message ?? '',
    /override shop\/broken rules\[0\]\.jsonPatch\[1\] \(replace \/spec\/strategy\/nonexistent\/field\)/,
  );
  t.deepEqual(
    failed.clusters.filter((x) => x.cluster !== 'm2').map((x) => x.state),
    ['InSync', 'InSync'],
  );
  t.is(((await m2.client.get('apps/v1', 'Deployment', 'shop', 'web')).spec as { replicas: number }).replicas, 2);
  await eventually(async () => {
    const ev = (await fed.client.list('v1', 'Event', 'shop')).items.find((e) => e.reason === 'OverrideFailed');
    if (!ev) throw new Error('no OverrideFailed event');
    t.regex(String(ev.message), /m2/);
  });

  // Removing the overrides: every cluster holds the template again (fields kitfed set through
  // an override and no longer sets are removed).
  await fed.client.delete(OVERRIDE, 'Override', 'shop', 'broken');
  await fed.client.delete(OVERRIDE, 'Override', 'shop', 'regions');
  for (const m of [m1, m2, m3])
    await eventually(async () => {
      const o = await m.client.get('apps/v1', 'Deployment', 'shop', 'web');
      if (imageOf(o) !== 'registry.example/web:1.0' || o.metadata.annotations?.tier !== undefined)
        throw new Error(`${m.name} still overridden`);
      if ((o.spec as { minReadySeconds?: number }).minReadySeconds !== undefined)
        throw new Error(`${m.name} still has minReadySeconds`);
    });
  t.pass();
});
