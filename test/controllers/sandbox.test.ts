import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { startApiServer } from '../../services/apiserver/server.js';
import { federationAdmission } from '../../services/apiserver/federation-admission.js';
import { kubeconfigFor } from '../../services/apiserver/run.js';
import { KubeClient } from '../../services/core/kube-client.js';
import type { ClusterObject } from '../../services/core/controller/index.js';
import { joinCluster } from '../../services/controllers/join.js';
import { startControllers } from '../../services/controllers/index.js';
import { startSandbox } from '../../services/sandbox/index.js';
import { eventually } from '../helpers/eventually.js';
import { secret } from './helpers.js';

function ready(c: ClusterObject): { status?: string; reason?: string } {
  return c.status?.conditions?.find((x) => x.type === 'Ready') ?? {};
}

test('sandbox members: region and zones from Node labels; unhealthy and hung members are reported; the others keep syncing', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'kitfed-sbx-'));
  const sandbox = await startSandbox({
    clusters: [
      { name: 'eu-1', region: 'europe-west1', zones: ['europe-west1-b', 'europe-west1-c'] },
      { name: 'us-1', region: 'us-central1', zones: ['us-central1-a'] },
      { name: 'asia-1', region: 'asia-east1', zones: ['asia-east1-a'] },
    ],
    readyDelayMs: 20,
  });
  const fedServer = await startApiServer({ admission: federationAdmission() });
  const fed = await KubeClient.fromKubeconfig({ text: kubeconfigFor(fedServer.url, 'federation') });
  const members = join(dir, 'members');
  await writeFile(members, sandbox.kubeconfig());
  let running: Awaited<ReturnType<typeof startControllers>> | undefined;
  t.teardown(async () => {
    await running?.stop();
    fed.close();
    await fedServer.close();
    await sandbox.close();
    await rm(dir, { recursive: true, force: true });
  });
  for (const c of sandbox.clusters)
    await joinCluster(fed, c.name, { file: members, context: c.name }, { region: c.name.split('-')[0]! });
  running = await startControllers({ federation: fed, leaderElect: false, clusterMonitorPeriodMs: 200 });
  const get = (name: string) => fed.get<ClusterObject>('federation.kitfed.io/v1beta1', 'Cluster', undefined, name);
  await eventually(async () => {
    for (const c of sandbox.clusters)
      if (ready(await get(c.name)).status !== 'True') throw new Error(`${c.name} not Ready`);
  });
  const eu = await eventually(async () => {
    const c = await get('eu-1');
    if (!c.status?.zones) throw new Error('no zones yet');
    return c;
  });
  t.is(eu.status?.region, 'europe-west1');
  t.deepEqual(eu.status?.zones, ['europe-west1-b', 'europe-west1-c']);

  await sandbox.cluster('us-1').fault('unhealthy');
  await eventually(async () => {
    const r = ready(await get('us-1'));
    if (r.status !== 'False' || r.reason !== 'ClusterNotReady') throw new Error(JSON.stringify(r));
  });
  await sandbox.cluster('asia-1').fault('hang');
  await eventually(async () => {
    const r = ready(await get('asia-1'));
    if (r.status !== 'False' || r.reason !== 'ClusterNotReachable') throw new Error(JSON.stringify(r));
  });
  await fed.create(secret('while-degraded', { a: '1' }));
  const euClient = await KubeClient.fromKubeconfig({ file: members }, 'eu-1');
  t.teardown(() => euClient.close());
  // Within 8 s: before the hung cluster's 10 s request timeout, so the healthy member did not wait for it.
  await eventually(() => euClient.get('v1', 'Secret', 'default', 'while-degraded'), 8000);

  await sandbox.cluster('us-1').fault('healthy');
  await sandbox.cluster('asia-1').fault('up');
  const usClient = await KubeClient.fromKubeconfig({ file: members }, 'us-1');
  const asiaClient = await KubeClient.fromKubeconfig({ file: members }, 'asia-1');
  t.teardown(() => {
    usClient.close();
    asiaClient.close();
  });
  await eventually(() => usClient.get('v1', 'Secret', 'default', 'while-degraded'));
  await eventually(() => asiaClient.get('v1', 'Secret', 'default', 'while-degraded'));
  t.pass();
});
