import test from 'ava';
import { eventually } from '../helpers/eventually.js';
import { decode, propagationStatus, secret, startFederation, waitReady } from './helpers.js';

function expectEq<T>(actual: T, expected: T, what: string): void {
  if (actual !== expected) throw new Error(`${what}: got ${JSON.stringify(actual)}, want ${JSON.stringify(expected)}`);
}

test('a federated Secret reaches every member with ownership markers; a hand edit in a member is reverted', async (t) => {
  const fed = await startFederation(t, 3);
  await fed.startControllers();
  await waitReady(fed);
  const created = await fed.client.create(secret('db', { password: 'one' }, 'default', { labels: { app: 'db' } }));
  for (const m of fed.members) {
    const s = await eventually(() => m.client.get('v1', 'Secret', 'default', 'db'));
    t.is(decode(s, 'password'), 'one');
    t.is(s.metadata.labels?.['kitfed.io/managed-by'], 'kitfed');
    t.is(s.metadata.labels?.app, 'db');
    t.is(s.metadata.annotations?.['kitfed.io/origin-uid'], created.metadata.uid);
  }
  const status = await eventually(async () => {
    const st = propagationStatus(await fed.client.get('v1', 'Secret', 'default', 'db'));
    if (!st.clusters.every((c) => c.state === 'InSync') || st.clusters.length !== 3)
      throw new Error(JSON.stringify(st));
    return st;
  });
  t.deepEqual(
    status.clusters.map((c) => c.cluster),
    ['m1', 'm2', 'm3'],
  );
  // What kitfed sets is reverted (a changed value, a changed label); what another writer adds
  // is theirs (server-side apply ownership), as a member's own controllers' fields are.
  const member = fed.members[1]!;
  const local = await member.client.get('v1', 'Secret', 'default', 'db');
  await member.client.update({
    ...local,
    data: { password: Buffer.from('hacked').toString('base64') },
    metadata: { ...local.metadata, labels: { ...local.metadata.labels, app: 'other', extra: 'x' } },
  });
  await eventually(async () => {
    const s = await member.client.get('v1', 'Secret', 'default', 'db');
    expectEq(decode(s, 'password'), 'one', 'password');
    expectEq(s.metadata.labels?.app, 'db', 'label kitfed sets');
    expectEq(s.metadata.labels?.extra, 'x', 'label another writer added');
  });
  t.pass();
});

test('a Secret updated 100 times while a member is down converges to the last version when it returns', async (t) => {
  const fed = await startFederation(t, 3);
  await fed.startControllers();
  await waitReady(fed);
  await fed.client.create(secret('token', { v: '0' }));
  const down = fed.members[2]!;
  await eventually(() => down.client.get('v1', 'Secret', 'default', 'token'));
  await down.server.pause();
  await eventually(async () => {
    const c = await fed.client.get('federation.kitfed.io/v1beta1', 'Cluster', undefined, down.name);
    const ready = (c.status as { conditions: Array<{ type: string; status: string }> }).conditions.find(
      (x) => x.type === 'Ready',
    );
    expectEq(ready?.status, 'False', 'Ready');
  });
  for (let i = 1; i <= 100; i++)
    await fed.client.patch('v1', 'Secret', 'default', 'token', {
      data: { v: Buffer.from(String(i)).toString('base64') },
    });
  for (const m of fed.members.slice(0, 2))
    await eventually(async () =>
      expectEq(decode(await m.client.get('v1', 'Secret', 'default', 'token'), 'v'), '100', m.name),
    );
  await down.server.resume();
  await eventually(
    async () => expectEq(decode(await down.client.get('v1', 'Secret', 'default', 'token'), 'v'), '100', down.name),
    10_000,
  );
  t.pass();
});

test('a member with 6 s of injected latency does not slow the others', async (t) => {
  const fed = await startFederation(t, 4);
  await fed.startControllers();
  await waitReady(fed);
  const slow = fed.members[0]!;
  // Long enough that a loaded CI machine cannot blur it: the others converge while one request to the slow member is
  // still in flight.
  slow.latencyMs = 6000;
  const start = Date.now();
  await fed.client.create(secret('fast', { a: '1' }));
  await fed.client.create({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'fast', namespace: 'default' },
    data: { a: '1' },
  });
  for (const m of fed.members.slice(1)) {
    await eventually(() => m.client.get('v1', 'Secret', 'default', 'fast'), 5500, 5);
    await eventually(() => m.client.get('v1', 'ConfigMap', 'default', 'fast'), 5500, 5);
  }
  const others = Date.now() - start;
  // Had they waited for the slow member, they would take at least its 6 s.
  t.true(others < 6000, `the healthy members converged in ${others} ms`);
  t.log(`the healthy members converged in ${others} ms`);
  slow.latencyMs = 0;
  await eventually(() => slow.client.get('v1', 'Secret', 'default', 'fast'), 20_000);
});

test('an existing member object kitfed did not create is left alone and reported, unless adoption is asked for', async (t) => {
  const fed = await startFederation(t, 2);
  const [m1, m2] = fed.members as [(typeof fed.members)[0], (typeof fed.members)[0]];
  await m2.client.create({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'settings', namespace: 'default' },
    data: { mine: 'yes', color: 'red' },
  });
  await fed.startControllers();
  await waitReady(fed);
  await fed.client.create({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'settings', namespace: 'default' },
    data: { color: 'blue' },
  });
  await eventually(() => m1.client.get('v1', 'ConfigMap', 'default', 'settings'));
  const cond = await eventually(async () => {
    const f = await fed.client.get('v1', 'ConfigMap', 'default', 'settings');
    const c = propagationStatus(f).clusters.find((x) => x.cluster === 'm2');
    if (c?.reason !== 'NotOwned') throw new Error('no NotOwned status');
    return c;
  });
  t.is(cond.state, 'Failed');
  t.regex(cond.message ?? '', /not created by kitfed/);
  await eventually(async () => {
    const m1Status = propagationStatus(await fed.client.get('v1', 'ConfigMap', 'default', 'settings')).clusters.find(
      (x) => x.cluster === 'm1',
    );
    expectEq(m1Status?.state, 'InSync', 'm1');
  });
  const ev = await eventually(async () => {
    const list = await fed.client.list('v1', 'Event', 'default');
    const e = list.items.find((x) => x.reason === 'NotOwned');
    if (!e) throw new Error('no NotOwned event');
    return e;
  });
  t.is((ev.involvedObject as { name: string }).name, 'settings');
  t.regex(String(ev.message), /m2/);
  t.deepEqual((await m2.client.get('v1', 'ConfigMap', 'default', 'settings')).data, { mine: 'yes', color: 'red' });
  await fed.client.patch('v1', 'ConfigMap', 'default', 'settings', {
    metadata: { annotations: { 'kitfed.io/adopt': 'true' } },
  });
  await eventually(async () => {
    const c = await m2.client.get('v1', 'ConfigMap', 'default', 'settings');
    // Adoption is a server-side apply with force: what the federation sets wins over the previous
    // owner's values; a key only the previous owner set stays its own.
    expectEq(JSON.stringify(c.data), JSON.stringify({ mine: 'yes', color: 'blue' }), 'adopted data');
    expectEq(c.metadata.labels?.['kitfed.io/managed-by'], 'kitfed', 'managed-by');
  });
  await eventually(async () => {
    const st = propagationStatus(await fed.client.get('v1', 'ConfigMap', 'default', 'settings'));
    expectEq(JSON.stringify(st.clusters.map((c) => c.state)), '["InSync","InSync"]', 'both clusters in sync');
  });
  t.pass();
});

test('the cluster selector picks members by Cluster labels; a bad selector is an Event and a condition', async (t) => {
  const fed = await startFederation(t, 3, { join: false });
  await fed.join('m1', { location: 'europe', version: '15' });
  await fed.join('m2', { location: 'us', version: '14' });
  await fed.join('m3', { location: 'europe', version: '13' });
  await fed.startControllers();
  await waitReady(fed);
  const sel = JSON.stringify([
    { key: 'location', operator: 'in', values: ['europe'] },
    { key: 'version', operator: '>', values: ['14'] },
  ]);
  await fed.client.create(
    secret('eu', { a: '1' }, 'default', { annotations: { 'federation.alpha.kubernetes.io/cluster-selector': sel } }),
  );
  await eventually(() => fed.members[0]!.client.get('v1', 'Secret', 'default', 'eu'));
  await new Promise((r) => setTimeout(r, 300));
  t.is(await fed.members[1]!.client.tryGet('v1', 'Secret', 'default', 'eu'), undefined);
  t.is(await fed.members[2]!.client.tryGet('v1', 'Secret', 'default', 'eu'), undefined);
  // m1 stops matching: its copy goes.
  await fed.client.patch('federation.kitfed.io/v1beta1', 'Cluster', undefined, 'm1', {
    metadata: { labels: { version: '10' } },
  });
  await eventually(async () =>
    expectEq(await fed.members[0]!.client.tryGet('v1', 'Secret', 'default', 'eu'), undefined, 'm1 copy'),
  );
  await fed.client.create(
    secret('bad', { a: '1' }, 'default', {
      annotations: {
        'federation.alpha.kubernetes.io/cluster-selector': 'federation.kubernetes.io/federation-control-plane=true',
      },
    }),
  );
  const ev = await eventually(async () => {
    const e = (await fed.client.list('v1', 'Event', 'default')).items.find(
      (x) => x.reason === 'ClusterSelectorInvalid',
    );
    if (!e) throw new Error('no event');
    return e;
  });
  t.regex(String(ev.message), /not valid JSON/);
  const f = await eventually(() =>
    fed.client.get('v1', 'Secret', 'default', 'bad').then((o) => (propagationStatus(o), o)),
  );
  t.is(propagationStatus(f).reason, 'ClusterSelectorInvalid');
  t.regex(propagationStatus(f).message ?? '', /not valid JSON/);
  for (const m of fed.members) t.is(await m.client.tryGet('v1', 'Secret', 'default', 'bad'), undefined);
});

test('Namespaces, Services and Ingresses sync; load-balancer status from members is aggregated', async (t) => {
  const fed = await startFederation(t, 2);
  await fed.startControllers();
  await waitReady(fed);
  await fed.client.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop', labels: { team: 'a' } } });
  await fed.client.create({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'web', namespace: 'shop' },
    spec: { type: 'LoadBalancer', selector: { app: 'web' }, ports: [{ port: 80 }] },
  });
  await fed.client.create({
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: { name: 'web', namespace: 'shop' },
    spec: { defaultBackend: { service: { name: 'web', port: { number: 80 } } } },
  });
  for (const [i, m] of fed.members.entries()) {
    const ns = await eventually(() => m.client.get('v1', 'Namespace', undefined, 'shop'));
    t.is(ns.metadata.labels?.team, 'a');
    const svc = await eventually(() => m.client.get('v1', 'Service', 'shop', 'web'), 5000).catch(
      async (err: unknown) => {
        t.log((await fed.client.list('v1', 'Event', 'shop')).items.map((e) => `${e.reason}: ${e.message}`));
        throw err;
      },
    );
    await eventually(() => m.client.get('networking.k8s.io/v1', 'Ingress', 'shop', 'web'));
    await m.client.update(
      { ...svc, status: { loadBalancer: { ingress: [{ ip: `10.0.0.${i + 1}` }] } } },
      { subresource: 'status' },
    );
  }
  await eventually(async () => {
    const svc = await fed.client.get('v1', 'Service', 'shop', 'web');
    expectEq(
      JSON.stringify((svc.status as { loadBalancer?: unknown }).loadBalancer),
      JSON.stringify({ ingress: [{ ip: '10.0.0.1' }, { ip: '10.0.0.2' }] }),
      'aggregated',
    );
  });
  // The member-assigned clusterIP stays; no update loop.
  const before = await fed.members[0]!.client.get('v1', 'Service', 'shop', 'web');
  await new Promise((r) => setTimeout(r, 300));
  t.is(
    (await fed.members[0]!.client.get('v1', 'Service', 'shop', 'web')).metadata.resourceVersion,
    before.metadata.resourceVersion,
  );
});
