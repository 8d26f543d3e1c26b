import test from 'ava';
import { MEMBER_RESOURCES } from '../../services/sandbox/resources.js';
import { startTestServer, type Kubectl } from '../helpers/kubectl.js';

/**
 * `kubectl api-resources` of a stock kube-apiserver 1.32 (kind cluster, default feature gates):
 * name, short names, API version, namespaced, kind.
 */
const KUBE_1_32 = `
bindings  v1 true Binding
componentstatuses cs v1 false ComponentStatus
configmaps cm v1 true ConfigMap
endpoints ep v1 true Endpoints
events ev v1 true Event
limitranges limits v1 true LimitRange
namespaces ns v1 false Namespace
nodes no v1 false Node
persistentvolumeclaims pvc v1 true PersistentVolumeClaim
persistentvolumes pv v1 false PersistentVolume
pods po v1 true Pod
podtemplates  v1 true PodTemplate
replicationcontrollers rc v1 true ReplicationController
resourcequotas quota v1 true ResourceQuota
secrets  v1 true Secret
serviceaccounts sa v1 true ServiceAccount
services svc v1 true Service
mutatingwebhookconfigurations  admissionregistration.k8s.io/v1 false MutatingWebhookConfiguration
validatingadmissionpolicies  admissionregistration.k8s.io/v1 false ValidatingAdmissionPolicy
validatingadmissionpolicybindings  admissionregistration.k8s.io/v1 false ValidatingAdmissionPolicyBinding
validatingwebhookconfigurations  admissionregistration.k8s.io/v1 false ValidatingWebhookConfiguration
customresourcedefinitions crd,crds apiextensions.k8s.io/v1 false CustomResourceDefinition
apiservices  apiregistration.k8s.io/v1 false APIService
controllerrevisions  apps/v1 true ControllerRevision
daemonsets ds apps/v1 true DaemonSet
deployments deploy apps/v1 true Deployment
replicasets rs apps/v1 true ReplicaSet
statefulsets sts apps/v1 true StatefulSet
selfsubjectreviews  authentication.k8s.io/v1 false SelfSubjectReview
tokenreviews  authentication.k8s.io/v1 false TokenReview
localsubjectaccessreviews  authorization.k8s.io/v1 true LocalSubjectAccessReview
selfsubjectaccessreviews  authorization.k8s.io/v1 false SelfSubjectAccessReview
selfsubjectrulesreviews  authorization.k8s.io/v1 false SelfSubjectRulesReview
subjectaccessreviews  authorization.k8s.io/v1 false SubjectAccessReview
horizontalpodautoscalers hpa autoscaling/v2 true HorizontalPodAutoscaler
cronjobs cj batch/v1 true CronJob
jobs  batch/v1 true Job
certificatesigningrequests csr certificates.k8s.io/v1 false CertificateSigningRequest
leases  coordination.k8s.io/v1 true Lease
endpointslices  discovery.k8s.io/v1 true EndpointSlice
events ev events.k8s.io/v1 true Event
flowschemas  flowcontrol.apiserver.k8s.io/v1 false FlowSchema
prioritylevelconfigurations  flowcontrol.apiserver.k8s.io/v1 false PriorityLevelConfiguration
ingressclasses  networking.k8s.io/v1 false IngressClass
ingresses ing networking.k8s.io/v1 true Ingress
networkpolicies netpol networking.k8s.io/v1 true NetworkPolicy
runtimeclasses  node.k8s.io/v1 false RuntimeClass
poddisruptionbudgets pdb policy/v1 true PodDisruptionBudget
clusterrolebindings  rbac.authorization.k8s.io/v1 false ClusterRoleBinding
clusterroles  rbac.authorization.k8s.io/v1 false ClusterRole
rolebindings  rbac.authorization.k8s.io/v1 true RoleBinding
roles  rbac.authorization.k8s.io/v1 true Role
priorityclasses pc scheduling.k8s.io/v1 false PriorityClass
csidrivers  storage.k8s.io/v1 false CSIDriver
csinodes  storage.k8s.io/v1 false CSINode
csistoragecapacities  storage.k8s.io/v1 true CSIStorageCapacity
storageclasses sc storage.k8s.io/v1 false StorageClass
volumeattachments  storage.k8s.io/v1 false VolumeAttachment
`
  .trim()
  .split('\n')
  .map((l) =>
    l
      .trim()
      .replace(/ +/g, ' ')
      .replace(/^(\S+) (\S+) (\S+) (\S+)$/, '$1  $2 $3 $4'),
  );

/**
 * `kubectl api-resources` rows as "NAME SHORTNAMES APIVERSION NAMESPACED KIND" (columns cut at the header's offsets).
 */
async function apiResources(kubectl: Kubectl): Promise<string[]> {
  const r = await kubectl(['api-resources']);
  if (r.code !== 0) throw new Error(r.stderr);
  const [header, ...rows] = r.stdout.trimEnd().split('\n');
  const starts = ['SHORTNAMES', 'APIVERSION', 'NAMESPACED', 'KIND'].map((h) => header!.indexOf(h));
  return rows.map((row) => {
    const cuts = [0, ...starts, row.length];
    return cuts
      .slice(0, -1)
      .map((c, i) => row.slice(c, cuts[i + 1]).trim())
      .join(' ');
  });
}

function compare(served: string[], expected: string[]): { extra: string[]; missing: string[] } {
  const s = new Set(served);
  const e = new Set(expected);
  return {
    extra: [...s].filter((l) => !e.has(l)),
    missing: [...e].filter((l) => !s.has(l)),
  };
}

test('a sandbox cluster serves exactly the resources of kube-apiserver 1.32 (no extensions/v1beta1), with the same names, short names and scope', async (t) => {
  const { kubectl } = await startTestServer(t, { resources: MEMBER_RESOURCES });
  const served = await apiResources(kubectl);
  const { extra, missing } = compare(served, KUBE_1_32);
  t.deepEqual(extra, [], 'served but not by kube 1.32');
  t.deepEqual(missing, [], 'served by kube 1.32 but not here');
  t.is(served.length, KUBE_1_32.length);
});

test('the federation serves the same resources plus clusters and overrides, and still accepts extensions/v1beta1', async (t) => {
  const { kubectl } = await startTestServer(t);
  const all = await apiResources(kubectl);
  const served = all.filter(
    (l) => !l.includes('extensions/v1beta1') && !l.startsWith('clusters ') && !l.startsWith('overrides '),
  );
  const { extra, missing } = compare(served, KUBE_1_32);
  t.deepEqual(extra, []);
  t.deepEqual(missing, []);
  t.true(all.includes('clusters  federation.kitfed.io/v1beta1 false Cluster'));
  t.true(all.includes('overrides  federation.kitfed.io/v1beta1 true Override'));
  for (const kind of ['Deployment', 'ReplicaSet', 'DaemonSet', 'Ingress'])
    t.true(
      all.some((l) => l.endsWith(`extensions/v1beta1 true ${kind}`)),
      kind,
    );
});

test('discovery carries kube verbs, subresources and storageVersionHash', async (t) => {
  const { server } = await startTestServer(t, { resources: MEMBER_RESOURCES });
  const core = (await (await fetch(`${server.url}/api/v1`)).json()) as {
    resources: Array<{ name: string; verbs: string[]; kind: string; storageVersionHash?: string; group?: string }>;
  };
  const byName = new Map(core.resources.map((r) => [r.name, r]));
  // sha256("/v1/Pod")[:8], base64: the value a real 1.32 server reports for pods.
  t.is(byName.get('pods')?.storageVersionHash, 'xPOwRZ+Yhw8=');
  t.is(byName.get('bindings')?.storageVersionHash, undefined);
  t.deepEqual(byName.get('bindings')?.verbs, ['create']);
  t.deepEqual(byName.get('componentstatuses')?.verbs, ['get', 'list']);
  t.deepEqual(byName.get('namespaces')?.verbs, ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch']);
  t.deepEqual(byName.get('pods/ephemeralcontainers')?.verbs, ['get', 'patch', 'update']);
  t.is(byName.get('pods/eviction')?.kind, 'Eviction');
  t.is(byName.get('pods/eviction')?.group, 'policy');
  t.is(byName.get('replicationcontrollers/scale')?.kind, 'Scale');
  const names = core.resources.map((r) => r.name);
  t.deepEqual(names, [...names].sort(), 'sorted as kube sorts its paths');
});

/** `kubectl get <resource>` headers of kube 1.32 (its printers), for one object of each kind. */
const HEADERS: Record<string, string> = {
  configmaps: 'NAME DATA AGE',
  endpoints: 'NAME ENDPOINTS AGE',
  events: 'LAST SEEN TYPE REASON OBJECT MESSAGE',
  limitranges: 'NAME CREATED AT',
  namespaces: 'NAME STATUS AGE',
  nodes: 'NAME STATUS ROLES AGE VERSION',
  persistentvolumeclaims: 'NAME STATUS VOLUME CAPACITY ACCESS MODES STORAGECLASS VOLUMEATTRIBUTESCLASS AGE',
  persistentvolumes:
    'NAME CAPACITY ACCESS MODES RECLAIM POLICY STATUS CLAIM STORAGECLASS VOLUMEATTRIBUTESCLASS REASON AGE',
  pods: 'NAME READY STATUS RESTARTS AGE',
  podtemplates: 'NAME CONTAINERS IMAGES POD LABELS',
  replicationcontrollers: 'NAME DESIRED CURRENT READY AGE',
  resourcequotas: 'NAME AGE REQUEST LIMIT',
  secrets: 'NAME TYPE DATA AGE',
  services: 'NAME TYPE CLUSTER-IP EXTERNAL-IP PORT(S) AGE',
  mutatingwebhookconfigurations: 'NAME WEBHOOKS AGE',
  validatingwebhookconfigurations: 'NAME WEBHOOKS AGE',
  validatingadmissionpolicies: 'NAME VALIDATIONS PARAMKIND AGE',
  validatingadmissionpolicybindings: 'NAME POLICYNAME PARAMREF AGE',
  apiservices: 'NAME SERVICE AVAILABLE AGE',
  controllerrevisions: 'NAME CONTROLLER REVISION AGE',
  daemonsets: 'NAME DESIRED CURRENT READY UP-TO-DATE AVAILABLE NODE SELECTOR AGE',
  deployments: 'NAME READY UP-TO-DATE AVAILABLE AGE',
  replicasets: 'NAME DESIRED CURRENT READY AGE',
  statefulsets: 'NAME READY AGE',
  horizontalpodautoscalers: 'NAME REFERENCE TARGETS MINPODS MAXPODS REPLICAS AGE',
  cronjobs: 'NAME SCHEDULE TIMEZONE SUSPEND ACTIVE LAST SCHEDULE AGE',
  jobs: 'NAME STATUS COMPLETIONS DURATION AGE',
  certificatesigningrequests: 'NAME AGE SIGNERNAME REQUESTOR REQUESTEDDURATION CONDITION',
  leases: 'NAME HOLDER AGE',
  endpointslices: 'NAME ADDRESSTYPE PORTS ENDPOINTS AGE',
  flowschemas: 'NAME PRIORITYLEVEL MATCHINGPRECEDENCE DISTINGUISHERMETHOD AGE MISSINGPL',
  prioritylevelconfigurations: 'NAME TYPE NOMINALCONCURRENCYSHARES QUEUES HANDSIZE QUEUELENGTHLIMIT AGE',
  ingressclasses: 'NAME CONTROLLER PARAMETERS AGE',
  ingresses: 'NAME CLASS HOSTS ADDRESS PORTS AGE',
  networkpolicies: 'NAME POD-SELECTOR AGE',
  runtimeclasses: 'NAME HANDLER AGE',
  poddisruptionbudgets: 'NAME MIN AVAILABLE MAX UNAVAILABLE ALLOWED DISRUPTIONS AGE',
  priorityclasses: 'NAME VALUE GLOBAL-DEFAULT AGE PREEMPTIONPOLICY',
  csidrivers: 'NAME ATTACHREQUIRED PODINFOONMOUNT STORAGECAPACITY TOKENREQUESTS REQUIRESREPUBLISH MODES AGE',
  csinodes: 'NAME DRIVERS AGE',
  csistoragecapacities: 'NAME STORAGECLASSNAME CAPACITY',
  storageclasses: 'NAME PROVISIONER RECLAIMPOLICY VOLUMEBINDINGMODE ALLOWVOLUMEEXPANSION AGE',
  volumeattachments: 'NAME ATTACHER PV NODE ATTACHED AGE',
};

const FIXTURE = new URL('fixtures/kinds-1.32.yaml', import.meta.url).pathname;

for (const [where, options] of [
  ['a sandbox cluster', { resources: MEMBER_RESOURCES }],
  ['the federation', {}],
] as const) {
  test(`every kind round-trips through kubectl on ${where}: apply, get (kube's columns), -o yaml, re-apply unchanged, delete`, async (t) => {
    const { kubectl } = await startTestServer(t, options);
    const applied = await kubectl(['apply', '-f', FIXTURE], undefined, 120_000);
    t.is(applied.code, 0, applied.stderr);
    const again = await kubectl(['apply', '-f', FIXTURE], undefined, 120_000);
    t.is(again.code, 0, again.stderr);
    // As against kube: kubectl re-sends a Secret's stringData, a PDB's selector (patch strategy
    // "replace") and atomic lists whose items the server defaulted (ports' protocol, scopes, limits).
    const changed = again.stdout.split('\n').filter((l) => l && !l.endsWith(' unchanged'));
    t.deepEqual(
      changed,
      [
        'endpoints/k-ep configured',
        'limitrange/k-limits configured',
        'secret/k-secret configured',
        'validatingadmissionpolicy.admissionregistration.k8s.io/k-vap configured',
        'endpointslice.discovery.k8s.io/k-eps configured',
        'poddisruptionbudget.policy/k-pdb configured',
      ],
      again.stdout,
    );
    for (const [resource, expected] of Object.entries(HEADERS)) {
      const r = await kubectl(['get', resource, '-A'], undefined, 60_000);
      t.is(r.code, 0, `${resource}: ${r.stderr}`);
      const header = r.stdout.split('\n')[0]!.trim().replace(/\s+/g, ' ');
      const scoped = header.startsWith('NAMESPACE ') ? header.slice('NAMESPACE '.length) : header;
      t.is(scoped, expected, resource);
      t.true(r.stdout.split('\n').length > 2 || resource === 'events' || resource === 'namespaces', resource);
    }
    const yaml = await kubectl(['get', 'cronjob', 'k-cj', '-o', 'yaml']);
    t.regex(yaml.stdout, /concurrencyPolicy: Allow/, 'defaulted as kube defaults a CronJob');
    const deleted = await kubectl(['delete', '-f', FIXTURE, '--wait=false'], undefined, 120_000);
    t.is(deleted.code, 0, deleted.stderr);
  });
}
