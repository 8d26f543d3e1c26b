import test from 'ava';
import { eventually } from '../helpers/eventually.js';
import { secret, startFederation, waitReady, type Federation } from './helpers.js';

async function waitNotReady(fed: Federation, name: string): Promise<void> {
  await eventually(async () => {
    const c = await fed.client.get('federation.kitfed.io/v1beta1', 'Cluster', undefined, name);
    const ready = (c.status as { conditions: Array<{ type: string; status: string }> }).conditions.find(
      (x) => x.type === 'Ready',
    );
    if (ready?.status !== 'False') throw new Error(`${name} still Ready`);
  });
}

async function gone(get: () => Promise<unknown>, what: string): Promise<void> {
  await eventually(async () => {
    if ((await get()) !== undefined) throw new Error(`${what} still there`);
  }, 10_000);
}

test('cascading delete (kubectl default) with a member offline: the delete completes, the offline copy goes when it returns', async (t) => {
  const fed = await startFederation(t, 3);
  await fed.startControllers();
  await waitReady(fed);
  await fed.client.create(secret('doomed', { a: '1' }));
  for (const m of fed.members) await eventually(() => m.client.get('v1', 'Secret', 'default', 'doomed'));
  const offline = fed.members[2]!;
  await offline.server.pause();
  await waitNotReady(fed, offline.name);
  const del = await fed.kubectl(['--context', 'federation', 'delete', 'secret', 'doomed', '--wait=false']);
  t.is(del.code, 0, del.stderr);
  await gone(() => fed.client.tryGet('v1', 'Secret', 'default', 'doomed'), 'federated secret');
  for (const m of fed.members.slice(0, 2))
    await gone(() => m.client.tryGet('v1', 'Secret', 'default', 'doomed'), `copy in ${m.name}`);
  const pending = await fed.client.get('v1', 'ConfigMap', 'kitfed-system', `kitfed-cleanup-${offline.name}`);
  t.is(Object.keys(pending.data as object).length, 1);
  await offline.server.resume();
  await gone(() => offline.client.tryGet('v1', 'Secret', 'default', 'doomed'), 'copy in the returned member');
  await eventually(async () => {
    const cm = await fed.client.get('v1', 'ConfigMap', 'kitfed-system', `kitfed-cleanup-${offline.name}`);
    if (Object.keys((cm.data as object | undefined) ?? {}).length !== 0) throw new Error('cleanup still pending');
  });
  await eventually(async () => {
    const reasons = (await fed.client.list('v1', 'Event', 'default')).items.map((e) => e.reason);
    for (const r of ['CreateInCluster', 'DeleteInCluster', 'CleanupDeferred', 'DeferredCleanupDone'])
      if (!reasons.includes(r)) throw new Error(`no event ${r} in ${reasons.join(',')}`);
  });
  t.pass();
});

test('orphan delete (--cascade=orphan) with a member offline: copies stay without the ownership markers', async (t) => {
  const fed = await startFederation(t, 3);
  await fed.startControllers();
  await waitReady(fed);
  await fed.client.create({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'keep', namespace: 'default' },
    data: { a: '1' },
  });
  for (const m of fed.members) await eventually(() => m.client.get('v1', 'ConfigMap', 'default', 'keep'));
  const offline = fed.members[0]!;
  await offline.server.pause();
  await waitNotReady(fed, offline.name);
  const del = await fed.kubectl([
    '--context',
    'federation',
    'delete',
    'configmap',
    'keep',
    '--cascade=orphan',
    '--wait=false',
  ]);
  t.is(del.code, 0, del.stderr);
  await gone(() => fed.client.tryGet('v1', 'ConfigMap', 'default', 'keep'), 'federated configmap');
  for (const m of fed.members.slice(1)) {
    const cm = await eventually(async () => {
      const c = await m.client.get('v1', 'ConfigMap', 'default', 'keep');
      if (c.metadata.labels?.['kitfed.io/managed-by']) throw new Error('still marked');
      return c;
    });
    t.deepEqual(cm.data, { a: '1' });
    t.is(cm.metadata.annotations?.['kitfed.io/origin-uid'], undefined);
  }
  await offline.server.resume();
  const back = await eventually(async () => {
    const c = await offline.client.get('v1', 'ConfigMap', 'default', 'keep');
    if (c.metadata.labels?.['kitfed.io/managed-by']) throw new Error('still marked');
    return c;
  }, 10_000);
  t.deepEqual(back.data, { a: '1' });
});

test('a federated Namespace delete cascades, but only deletes in members what kitfed created', async (t) => {
  const fed = await startFederation(t, 2);
  await fed.startControllers();
  await waitReady(fed);
  await fed.client.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team' } });
  await fed.client.create(secret('s', { a: '1' }, 'team'));
  const [m1, m2] = fed.members as [Federation['members'][0], Federation['members'][0]];
  for (const m of fed.members) await eventually(() => m.client.get('v1', 'Secret', 'team', 's'));
  // A member holds something kitfed did not create: that namespace must survive.
  await m2.client.create({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'local-only', namespace: 'team' },
    data: { x: '1' },
  });
  const del = await fed.kubectl(['--context', 'federation', 'delete', 'namespace', 'team', '--wait=false']);
  t.is(del.code, 0, del.stderr);
  await gone(() => fed.client.tryGet('v1', 'Namespace', undefined, 'team'), 'federated namespace');
  await gone(async () => {
    const ns = await m1.client.tryGet('v1', 'Namespace', undefined, 'team');
    return ns && !ns.metadata.deletionTimestamp ? ns : undefined;
  }, 'namespace in m1');
  await gone(() => m2.client.tryGet('v1', 'Secret', 'team', 's'), 'kitfed secret in m2');
  const kept = await m2.client.get('v1', 'Namespace', undefined, 'team');
  t.falsy(kept.metadata.deletionTimestamp);
  t.truthy(await m2.client.get('v1', 'ConfigMap', 'team', 'local-only'));
});

test('a member copy kitfed made whose federated object is gone (no finalizer ran) is deleted; unmarked objects are not', async (t) => {
  const fed = await startFederation(t, 1);
  const m = fed.members[0]!;
  const marked = secret('leftover', { a: '1' }, 'default', {
    labels: { 'kitfed.io/managed-by': 'kitfed' },
    annotations: { 'kitfed.io/origin-uid': 'gone' },
  });
  await m.client.create(marked);
  await m.client.create(secret('mine', { a: '1' }));
  await fed.startControllers();
  await waitReady(fed);
  await gone(() => m.client.tryGet('v1', 'Secret', 'default', 'leftover'), 'leftover');
  t.truthy(await m.client.get('v1', 'Secret', 'default', 'mine'));
});
