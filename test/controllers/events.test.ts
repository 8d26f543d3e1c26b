import test from 'ava';
import { EventRecorder } from '../../services/controllers/events.js';
import { startFederation } from './helpers.js';

test('events: the same message in many clusters is one Event naming them; different messages stay apart', async (t) => {
  const fed = await startFederation(t, 0, { join: false });
  const rs = await fed.client.create({
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: { name: 'web', namespace: 'default' },
    spec: {
      replicas: 9,
      selector: { matchLabels: { app: 'web' } },
      template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image: 'nginx' }] } },
    },
  });
  const recorder = new EventRecorder(fed.client, 'kitfed-controller-manager');
  for (const c of ['c', 'a', 'b'])
    recorder.record(rs, 'Normal', 'CreateInCluster', 'Created ReplicaSet "default/web" with 3 replica(s)', c);
  recorder.record(rs, 'Normal', 'UpdateInCluster', 'Updated ReplicaSet "default/web" (replicas 3 → 2)', 'a');
  recorder.record(rs, 'Normal', 'UpdateInCluster', 'Updated ReplicaSet "default/web" (replicas 3 → 4)', 'c');
  await recorder.close();
  const items = (await fed.client.list('v1', 'Event', 'default')).items.filter(
    (e) => (e.involvedObject as { uid?: string }).uid === rs.metadata.uid,
  );
  const messages = items.map((e) => `${String(e.reason)}: ${String(e.message)}`).sort();
  t.deepEqual(messages, [
    'CreateInCluster: Created ReplicaSet "default/web" with 3 replica(s) in clusters a, b, c',
    'UpdateInCluster: Updated ReplicaSet "default/web" (replicas 3 → 2) in cluster a',
    'UpdateInCluster: Updated ReplicaSet "default/web" (replicas 3 → 4) in cluster c',
  ]);
});
