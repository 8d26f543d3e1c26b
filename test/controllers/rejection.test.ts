/**
 * A member that rejects an object (its admission refuses it): that cluster is Failed with the
 * member's message, the other clusters get the object, the rejecting member still gets every
 * other object, and fixing the object heals it.
 */
import test from 'ava';
import type { AdmissionPlugin } from '../../services/apiserver/registry.js';
import { eventually } from '../helpers/eventually.js';
import { propagationStatus, startFederation, waitReady, type Member } from './helpers.js';

/** m2's policy: ConfigMaps labelled `tier: forbidden` are refused (as a policy webhook or quota would). */
const policy: AdmissionPlugin = {
  name: 'TierPolicy',
  kinds: ['ConfigMap'],
  admit: (_op, _t, obj) =>
    obj.metadata.labels?.tier === 'forbidden'
      ? [
          {
            reason: 'FieldValueForbidden',
            field: 'metadata.labels[tier]',
            message: 'Forbidden: tier "forbidden" is not allowed in this cluster',
          },
        ]
      : undefined,
};

test('a member rejecting an object marks that cluster Failed with its message and blocks nothing else', async (t) => {
  const fed = await startFederation(t, 3, { memberAdmission: (name) => (name === 'm2' ? [policy] : []) });
  await fed.startControllers();
  await waitReady(fed);
  const [m1, m2, m3] = fed.members as [Member, Member, Member];
  await fed.client.create({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'limits', namespace: 'default', labels: { tier: 'forbidden' } },
    data: { max: '10' },
  });
  for (const m of [m1, m3]) await eventually(() => m.client.get('v1', 'ConfigMap', 'default', 'limits'));
  const st = await eventually(async () => {
    const s = propagationStatus(await fed.client.get('v1', 'ConfigMap', 'default', 'limits'));
    if (s.clusters.find((c) => c.cluster === 'm2')?.state !== 'Failed') throw new Error(JSON.stringify(s));
    return s;
  });
  const failed = st.clusters.find((c) => c.cluster === 'm2')!;
  t.regex(failed.message ?? '', /tier "forbidden" is not allowed in this cluster/);
  t.like(
    st.clusters.find((c) => c.cluster === 'm1'),
    { state: 'InSync' },
  );
  t.like(
    st.clusters.find((c) => c.cluster === 'm3'),
    { state: 'InSync' },
  );
  t.is(await m2.client.tryGet('v1', 'ConfigMap', 'default', 'limits'), undefined, 'nothing half-written in m2');
  const ev = await eventually(async () => {
    const e = (await fed.client.list('v1', 'Event', 'default')).items.find((x) => x.reason === 'CreateInClusterFailed');
    if (!e) throw new Error('no CreateInClusterFailed event');
    return e;
  });
  t.regex(String(ev.message), /not allowed in this cluster.* in cluster m2/);
  // The rejecting member still gets everything else.
  await fed.client.create({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'ok', namespace: 'default' },
    data: { a: '1' },
  });
  await eventually(() => m2.client.get('v1', 'ConfigMap', 'default', 'ok'));
  // Retries back off: a rejected write is not retried in a tight loop.
  await new Promise((r) => setTimeout(r, 1000));
  const attempts = m2.writes.filter((w) => w.includes('/configmaps/limits')).length;
  t.true(attempts <= 12, `${attempts} attempts in m2 within the first seconds`);
  // Fixing the object heals the cluster.
  await fed.client.patch('v1', 'ConfigMap', 'default', 'limits', { metadata: { labels: { tier: 'standard' } } });
  await eventually(() => m2.client.get('v1', 'ConfigMap', 'default', 'limits'));
  await eventually(async () => {
    const s = propagationStatus(await fed.client.get('v1', 'ConfigMap', 'default', 'limits'));
    if (!s.clusters.every((c) => c.state === 'InSync')) throw new Error(JSON.stringify(s));
  });
});
