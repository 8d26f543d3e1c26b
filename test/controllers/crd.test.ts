/**
 * A CustomResourceDefinition and its custom resources: the CRD goes to every cluster its CRs
 * land in (whatever its own placement), a CR is written only once its CRD is Established there,
 * a scale subresource spreads replicas and the members' status comes back, a member that
 * refuses the CRD fails those CRs there alone, and deleting cleans up.
 */
import test from 'ava';
import type { AdmissionPlugin } from '../../services/apiserver/registry.js';
import type { KubeObject } from '../../services/core/kube.js';
import { eventually } from '../helpers/eventually.js';
import { propagationStatus, startFederation, waitReady, type Member } from './helpers.js';

const SELECTOR = 'federation.alpha.kubernetes.io/cluster-selector';
const CRD = 'widgets.example.com';

const crd: KubeObject = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: {
    name: CRD,
    // Its own placement selects no cluster: it goes where its custom resources go.
    annotations: { [SELECTOR]: JSON.stringify([{ key: 'kitfed-test/nowhere', operator: 'Exists' }]) },
  },
  spec: {
    group: 'example.com',
    scope: 'Namespaced',
    names: { plural: 'widgets', singular: 'widget', kind: 'Widget', listKind: 'WidgetList' },
    versions: [
      {
        name: 'v1',
        served: true,
        storage: true,
        schema: {
          openAPIV3Schema: {
            type: 'object',
            properties: {
              spec: {
                type: 'object',
                properties: {
                  replicas: { type: 'integer' },
                  color: { type: 'string' },
                  selector: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
                },
              },
              status: {
                type: 'object',
                properties: { replicas: { type: 'integer' }, readyReplicas: { type: 'integer' } },
              },
            },
          },
        },
        subresources: {
          status: {},
          scale: { specReplicasPath: '.spec.replicas', statusReplicasPath: '.status.replicas' },
        },
      },
    ],
  },
};

function widget(name: string, replicas: number, region: string): KubeObject {
  return {
    apiVersion: 'example.com/v1',
    kind: 'Widget',
    metadata: {
      name,
      namespace: 'default',
      annotations: { [SELECTOR]: JSON.stringify([{ key: 'region', operator: 'In', values: [region] }]) },
    },
    spec: { replicas, color: 'blue' },
  };
}

/** m3 refuses this CRD (as a cluster whose policy forbids it would). */
const noWidgets: AdmissionPlugin = {
  name: 'NoWidgets',
  kinds: ['CustomResourceDefinition'],
  admit: (_op, _t, obj) =>
    obj.metadata.name === CRD
      ? [{ reason: 'FieldValueForbidden', field: 'metadata.name', message: `Forbidden: ${CRD} is not allowed here` }]
      : undefined,
};

const crdEstablishedIn = async (m: Member) =>
  (
    (await m.client.tryGet('apiextensions.k8s.io/v1', 'CustomResourceDefinition', undefined, CRD))?.status as
      { conditions?: Array<{ type: string; status: string }> } | undefined
  )?.conditions?.some((c) => c.type === 'Established' && c.status === 'True') === true;

test('a CRD goes first where its CRs go; scalable CRs spread and summed; one refusing it fails alone', async (t) => {
  const fed = await startFederation(t, 3, { join: false, memberAdmission: (n) => (n === 'm3' ? [noWidgets] : []) });
  await fed.join('m1', { region: 'eu' });
  await fed.join('m2', { region: 'eu' });
  await fed.join('m3', { region: 'us' });
  await fed.startControllers();
  await waitReady(fed);
  const [m1, m2, m3] = fed.members as [Member, Member, Member];
  await fed.client.create(crd);
  await eventually(async () => {
    const got = await fed.client.get('apiextensions.k8s.io/v1', 'CustomResourceDefinition', undefined, CRD);
    if (
      !(got.status as { conditions?: Array<{ type: string; status: string }> }).conditions?.some(
        (c) => c.type === 'Established' && c.status === 'True',
      )
    )
      throw new Error('not Established in the federation');
  });
  // No custom resource yet: the CRD is nowhere.
  await eventually(async () => {
    const st = propagationStatus(
      await fed.client.get('apiextensions.k8s.io/v1', 'CustomResourceDefinition', undefined, CRD),
    );
    if (st.clusters.length !== 0) throw new Error(JSON.stringify(st));
  });
  t.false(await crdEstablishedIn(m1));

  // A scalable CR in eu: the CRD reaches m1 and m2 first, then the CR with 2 replicas each.
  await fed.client.create(widget('gadget', 4, 'eu'));
  for (const m of [m1, m2]) {
    const copy = await eventually(() => m.client.get('example.com/v1', 'Widget', 'default', 'gadget'), 15_000);
    t.true(await crdEstablishedIn(m), `${m.name}: the CRD was there first`);
    t.deepEqual(copy.spec, { replicas: 2, color: 'blue' });
    t.is(copy.metadata.labels?.['kitfed.io/managed-by'], 'kitfed');
  }
  t.false(await crdEstablishedIn(m3), 'not in the us cluster: nothing there needs it');
  // The members report their replicas: the federated status sums them.
  for (const m of [m1, m2]) {
    const copy = await m.client.get('example.com/v1', 'Widget', 'default', 'gadget');
    await m.client.update({ ...copy, status: { replicas: 2, readyReplicas: 1 } }, { subresource: 'status' });
  }
  const summed = await eventually(async () => {
    const o = await fed.client.get('example.com/v1', 'Widget', 'default', 'gadget');
    const s = o.status as { replicas?: number; readyReplicas?: number } | undefined;
    if (s?.replicas !== 4) throw new Error(JSON.stringify(o.status));
    return o;
  });
  t.like(summed.status, { replicas: 4, readyReplicas: 2 });
  t.like(
    propagationStatus(summed).clusters.map((c) => ({ cluster: c.cluster, state: c.state, replicas: c.replicas })),
    [
      { cluster: 'm1', state: 'InSync', replicas: 2 },
      { cluster: 'm2', state: 'InSync', replicas: 2 },
    ],
  );

  // A CR in us: m3 refuses the CRD; the CRD is Failed there, the CR Failed there with why; eu unaffected.
  await fed.client.create(widget('sprocket', 1, 'us'));
  const failed = await eventually(async () => {
    const st = propagationStatus(await fed.client.get('example.com/v1', 'Widget', 'default', 'sprocket'));
    const c = st.clusters.find((x) => x.cluster === 'm3');
    if (c?.state !== 'Failed') throw new Error(JSON.stringify(st));
    return c;
  }, 15_000);
  t.is(failed.reason, 'CRDNotEstablished');
  t.regex(failed.message ?? '', new RegExp(`${CRD.replace('.', '\\.')} is not in the cluster: .*not allowed here`));
  const crdStatus = propagationStatus(
    await fed.client.get('apiextensions.k8s.io/v1', 'CustomResourceDefinition', undefined, CRD),
  );
  t.like(
    crdStatus.clusters.find((c) => c.cluster === 'm3'),
    { state: 'Failed', reason: 'MemberRejected' },
  );
  t.like(
    crdStatus.clusters.find((c) => c.cluster === 'm1'),
    { state: 'InSync' },
  );

  // Deleting the CRs: the copies go, then the CRD leaves the clusters nothing needs it in.
  await fed.client.delete('example.com/v1', 'Widget', 'default', 'gadget');
  await fed.client.delete('example.com/v1', 'Widget', 'default', 'sprocket');
  for (const m of [m1, m2])
    await eventually(async () => {
      if (await crdEstablishedIn(m)) throw new Error(`${CRD} still in ${m.name}`);
    }, 15_000);
  t.truthy(await fed.client.get('apiextensions.k8s.io/v1', 'CustomResourceDefinition', undefined, CRD));
});
