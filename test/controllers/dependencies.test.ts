/**
 * Dependencies follow the workload: what a pod template references (ConfigMaps, Secrets,
 * ServiceAccounts, PVCs) goes to the clusters the workload lands on, whatever its own placement,
 * and leaves them when no workload there needs it.
 */
import test from 'ava';
import type { KubeObject } from '../../services/core/kube.js';
import { eventually } from '../helpers/eventually.js';
import { propagationStatus, secret, startFederation, waitReady, type Member } from './helpers.js';

const SELECTOR = 'federation.alpha.kubernetes.io/cluster-selector';
/** A selector no cluster matches: the object's own placement is nowhere. */
const NOWHERE = JSON.stringify([{ key: 'kitfed-test/nowhere', operator: 'Exists' }]);
const region = (r: string) => JSON.stringify([{ key: 'region', operator: 'In', values: [r] }]);

function deployment(selector: string): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'shop', annotations: { [SELECTOR]: selector } },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: 'web' } },
      template: {
        metadata: { labels: { app: 'web' } },
        spec: {
          serviceAccountName: 'runner',
          containers: [
            {
              name: 'web',
              image: 'web:1',
              envFrom: [{ configMapRef: { name: 'settings' } }],
              env: [{ name: 'TOKEN', valueFrom: { secretKeyRef: { name: 'creds', key: 'token' } } }],
            },
          ],
          volumes: [{ name: 'data', persistentVolumeClaim: { claimName: 'data' } }],
        },
      },
    },
  };
}

async function holds(m: Member, kind: string, name: string): Promise<boolean> {
  return (await m.client.tryGet('v1', kind, 'shop', name)) !== undefined;
}

test('the ConfigMap, Secret, ServiceAccount and PVC a Deployment references follow it and leave with it', async (t) => {
  const fed = await startFederation(t, 3, { join: false });
  await fed.join('m1', { region: 'eu' });
  await fed.join('m2', { region: 'eu' });
  await fed.join('m3', { region: 'us' });
  await fed.startControllers();
  await waitReady(fed);
  const [m1, m2, m3] = fed.members as [Member, Member, Member];
  await fed.client.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop' } });
  // Their own placement selects no cluster.
  const nowhere = { annotations: { [SELECTOR]: NOWHERE } };
  await fed.client.create({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'settings', namespace: 'shop', ...nowhere },
    data: { color: 'blue' },
  });
  await fed.client.create(secret('creds', { token: 't0ken' }, 'shop', nowhere));
  const deps = ['ConfigMap/settings', 'Secret/creds'];
  for (const o of [
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'runner', namespace: 'shop', ...nowhere } },
    {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name: 'data', namespace: 'shop', ...nowhere },
      spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
    },
  ]) {
    try {
      await fed.client.create(o);
      deps.push(`${o.kind}/${o.metadata.name}`);
    } catch (err) {
      // Until the federation API serves every built-in kind (issue 13).
      t.log(`${o.kind} not served by this federation API: ${String(err)}`);
    }
  }
  // Nothing is anywhere yet (the ConfigMap's own placement is nowhere).
  await eventually(async () => {
    const st = propagationStatus(await fed.client.get('v1', 'ConfigMap', 'shop', 'settings'));
    if (st.clusters.length !== 0) throw new Error(JSON.stringify(st));
  });
  for (const m of fed.members) t.false(await holds(m, 'ConfigMap', 'settings'), m.name);

  // The workload lands in the us region: its dependencies follow it there, and only there.
  await fed.client.create(deployment(region('us')));
  for (const d of deps) {
    const [kind, name] = d.split('/') as [string, string];
    await eventually(async () => {
      if (!(await holds(m3, kind, name))) throw new Error(`${d} not in m3`);
    });
  }
  await eventually(async () => {
    const st = propagationStatus(await fed.client.get('v1', 'ConfigMap', 'shop', 'settings'));
    if (JSON.stringify(st.clusters.map((c) => [c.cluster, c.state])) !== '[["m3","InSync"]]')
      throw new Error(JSON.stringify(st));
  });
  for (const m of [m1, m2])
    for (const d of deps) t.false(await holds(m, d.split('/')[0]!, d.split('/')[1]!), `${d} in ${m.name}`);
  t.deepEqual((await m3.client.get('v1', 'ConfigMap', 'shop', 'settings')).data, { color: 'blue' });

  // It moves to eu: the dependencies follow and leave us.
  await fed.client.patch('apps/v1', 'Deployment', 'shop', 'web', {
    metadata: { annotations: { [SELECTOR]: region('eu') } },
  });
  for (const m of [m1, m2])
    for (const d of deps)
      await eventually(async () => {
        if (!(await holds(m, d.split('/')[0]!, d.split('/')[1]!))) throw new Error(`${d} not in ${m.name}`);
      });
  for (const d of deps)
    await eventually(async () => {
      if (await holds(m3, d.split('/')[0]!, d.split('/')[1]!)) throw new Error(`${d} still in m3`);
    });

  // A second workload needing the ConfigMap in us keeps it there while the first one goes.
  await fed.client.create({
    ...deployment(region('us')),
    metadata: { name: 'worker', namespace: 'shop', annotations: { [SELECTOR]: region('us') } },
  });
  await eventually(async () => {
    if (!(await holds(m3, 'ConfigMap', 'settings'))) throw new Error('settings not back in m3');
  });
  await fed.client.delete('apps/v1', 'Deployment', 'shop', 'web');
  for (const m of [m1, m2])
    await eventually(async () => {
      if (await holds(m, 'ConfigMap', 'settings')) throw new Error(`settings still in ${m.name}`);
    });
  t.true(await holds(m3, 'ConfigMap', 'settings'), 'still needed by worker in m3');
  await fed.client.delete('apps/v1', 'Deployment', 'shop', 'worker');
  await eventually(async () => {
    if (await holds(m3, 'ConfigMap', 'settings')) throw new Error('settings still in m3');
  });
  // The federated objects themselves stay.
  t.truthy(await fed.client.get('v1', 'ConfigMap', 'shop', 'settings'));
});
