/**
 * Member writes, counted through each member's own request log: exactly one write per member
 * for each federated change, none when nothing changed; members that default more fields than
 * the federation (as a real kube-apiserver does) cost no extra writes.
 */
import test from 'ava';
import type { AdmissionPlugin } from '../../services/apiserver/registry.js';
import { isObject, type KubeObject } from '../../services/core/kube.js';
import { eventually } from '../helpers/eventually.js';
import { propagationStatus, startFederation, waitReady, type Federation, type Member } from './helpers.js';

/**
 * Defaults a kube-apiserver 1.32 writes that the federation's template does not carry: the
 * fields that made the previous engine update every copy twice after creating it.
 */
const kubeDefaults: AdmissionPlugin = {
  name: 'KubeDefaults',
  kinds: ['Deployment', 'Service'],
  admit: (_op, _t, obj) => {
    const spec = isObject(obj.spec) ? obj.spec : undefined;
    if (!spec) return;
    if (obj.kind === 'Deployment') {
      const pod = isObject(spec.template) && isObject(spec.template.spec) ? spec.template.spec : undefined;
      if (pod) {
        pod.enableServiceLinks ??= true;
        pod.hostNetwork ??= false;
      }
      spec.minReadySeconds ??= 0;
    } else {
      spec.internalTrafficPolicy ??= 'Cluster';
      spec.ipFamilies ??= ['IPv4'];
      spec.ipFamilyPolicy ??= 'SingleStack';
    }
  },
};

const objects: KubeObject[] = [
  {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'default' },
    spec: {
      replicas: 3,
      selector: { matchLabels: { app: 'web' } },
      template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image: 'web:1' }] } },
    },
  },
  {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'web', namespace: 'default' },
    spec: { selector: { app: 'web' }, ports: [{ port: 80 }] },
  },
  { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'web', namespace: 'default' }, data: { a: '1' } },
];

async function allInSync(fed: Federation): Promise<void> {
  await eventually(async () => {
    for (const o of objects) {
      const st = propagationStatus(await fed.client.get(o.apiVersion, o.kind, 'default', 'web'));
      if (st.clusters.length !== 3 || !st.clusters.every((c) => c.state === 'InSync'))
        throw new Error(`${o.kind}: ${JSON.stringify(st)}`);
    }
  }, 15_000);
}

const writesTo = (m: Member, what: string) => m.writes.filter((w) => w.includes(what));

test('one member write per change and member, none without change; kube-like member defaulting', async (t) => {
  const fed = await startFederation(t, 3, { memberAdmission: () => [kubeDefaults] });
  await fed.startControllers();
  await waitReady(fed);
  for (const o of objects) await fed.client.create(o);
  await allInSync(fed);
  for (const m of fed.members) {
    t.deepEqual(
      [
        writesTo(m, '/deployments/web').length,
        writesTo(m, '/services/web').length,
        writesTo(m, '/configmaps/web').length,
      ],
      [1, 1, 1],
      `${m.name}: ${m.writes.join(', ')}`,
    );
    const dep = await m.client.get('apps/v1', 'Deployment', 'default', 'web');
    t.is((dep.spec as { template: { spec: { enableServiceLinks?: boolean } } }).template.spec.enableServiceLinks, true);
  }

  // Steady state: nothing is written, not even after the clusters' labels change (every object is planned again).
  const before = fed.members.map((m) => m.writes.length);
  await new Promise((r) => setTimeout(r, 1500));
  await fed.client.patch('federation.kitfed.io/v1beta1', 'Cluster', undefined, 'm1', {
    metadata: { labels: { tier: 'a' } },
  });
  // kitfed's own annotations on the federated object are not propagated: not a change for members.
  await fed.client.patch('apps/v1', 'Deployment', 'default', 'web', {
    metadata: { annotations: { 'kitfed.io/note': 'x' } },
  });
  await new Promise((r) => setTimeout(r, 1500));
  t.deepEqual(
    fed.members.map((m) => m.writes.length),
    before,
    fed.members.map((m) => m.writes.slice(before[fed.members.indexOf(m)]).join(', ')).join(' | '),
  );

  // One change each: one write per member each.
  await fed.client.patch('apps/v1', 'Deployment', 'default', 'web', {
    spec: { template: { spec: { containers: [{ name: 'web', image: 'web:2' }] } } },
  });
  await fed.client.patch('v1', 'ConfigMap', 'default', 'web', { data: { a: '2' } });
  for (const m of fed.members)
    await eventually(async () => {
      const d = await m.client.get('apps/v1', 'Deployment', 'default', 'web');
      const c = await m.client.get('v1', 'ConfigMap', 'default', 'web');
      const image = (d.spec as { template: { spec: { containers: Array<{ image: string }> } } }).template.spec
        .containers[0]!.image;
      if (image !== 'web:2' || (c.data as { a: string }).a !== '2') throw new Error(`${m.name} not updated yet`);
    });
  await allInSync(fed);
  await new Promise((r) => setTimeout(r, 500));
  for (const [i, m] of fed.members.entries()) {
    const since = m.writes.slice(before[i]);
    t.deepEqual(
      [
        since.filter((w) => w.includes('/deployments/web')).length,
        since.filter((w) => w.includes('/configmaps/web')).length,
      ],
      [1, 1],
      `${m.name}: ${since.join(', ')}`,
    );
    t.is(since.length, 2, `${m.name}: ${since.join(', ')}`);
  }
});
