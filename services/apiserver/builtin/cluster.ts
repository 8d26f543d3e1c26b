import { get, type ResourceType } from '../resources.js';
import { AGE, NAME, col, formatSelector, list, map, orNone, type Obj } from './columns.js';

/**
 * The cluster-infrastructure groups of Kubernetes 1.32: networking, discovery, node,
 * scheduling, storage, coordination, certificates, admission registration, API registration
 * (stored only: kitfed does not aggregate APIs) and flow control.
 */

function ingressHosts(o: Obj): string {
  const hosts = list<{ host?: string }>(o, 'spec.rules').map((r) => r.host ?? '*');
  if (hosts.length === 0) return '*';
  const shown = hosts.slice(0, 3).join(',');
  return hosts.length > 3 ? `${shown} + ${hosts.length - 3} more...` : shown;
}

function ingressPorts(o: Obj): string {
  return list(o, 'spec.tls').length > 0 ? '80, 443' : '80';
}

function lbAddresses(o: Obj): string {
  return list<{ ip?: string; hostname?: string }>(o, 'status.loadBalancer.ingress')
    .map((i) => i.ip ?? i.hostname ?? '')
    .join(',');
}

function endpointSlicePorts(o: Obj): string {
  const ports = list<{ port?: number }>(o, 'ports');
  if (ports.length === 0) return '<unset>';
  const shown = ports.slice(0, 3).map((p) => (p.port === undefined ? '<unset>' : String(p.port)));
  return ports.length > 3 ? `${shown.join(',')} + ${ports.length - 3} more...` : shown.join(',');
}

function endpointSliceAddresses(o: Obj): string {
  const addrs = list<{ addresses?: string[] }>(o, 'endpoints').flatMap((e) => e.addresses ?? []);
  if (addrs.length === 0) return '<unset>';
  const shown = addrs.slice(0, 3).join(',');
  return addrs.length > 3 ? `${shown} + ${addrs.length - 3} more...` : shown;
}

function storageClassName(o: Obj): string {
  const annotations = map(o, 'metadata.annotations');
  const isDefault =
    annotations['storageclass.kubernetes.io/is-default-class'] === 'true' ||
    annotations['storageclass.beta.kubernetes.io/is-default-class'] === 'true';
  return `${String(get(o, 'metadata.name') ?? '')}${isDefault ? ' (default)' : ''}`;
}

function count(o: Obj, path: string): number {
  return list(o, path).length;
}

function paramRef(o: Obj): string {
  const ref = map(o, 'spec.paramRef');
  if (Object.keys(ref).length === 0) return '<unset>';
  const ns = ref.namespace ? `${String(ref.namespace)}/` : '';
  if (ref.name) return `${ns}${String(ref.name)}`;
  return `${ns}${formatSelector(ref.selector)}`;
}

function paramKind(o: Obj): string {
  const k = map(o, 'spec.paramKind');
  return k.kind ? `${String(k.apiVersion ?? '')}/${String(k.kind)}` : '<unset>';
}

function csrCondition(o: Obj): string {
  const conds = list<{ type: string }>(o, 'status.conditions').map((c) => c.type);
  const out = [
    ...(conds.includes('Approved') ? ['Approved'] : []),
    ...(conds.includes('Denied') ? ['Denied'] : []),
    ...(conds.includes('Failed') ? ['Failed'] : []),
  ];
  if (out.length === 0) return 'Pending';
  if (get(o, 'status.certificate') && !out.includes('Denied')) out.push('Issued');
  return out.join(',');
}

function secondsToDuration(o: Obj): string {
  const s = get(o, 'spec.expirationSeconds');
  if (typeof s !== 'number') return '<none>';
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (h >= 48) return `${Math.floor(h / 24)}d`;
  if (h > 0) return m ? `${h}h${m}m` : `${h}h`;
  return m ? `${m}m` : `${s}s`;
}

function flowSchemaMissingPL(o: Obj): string {
  const c = list<{ type: string; status: string }>(o, 'status.conditions').find((x) => x.type === 'Dangling');
  return c ? c.status : '?';
}

function plcField(o: Obj, field: string): string {
  const type = get(o, 'spec.type');
  if (type !== 'Limited') return '<none>';
  const limited = map(o, 'spec.limited');
  const response = map(limited, 'limitResponse');
  const queuing = map(response, 'queuing');
  switch (field) {
    case 'shares':
      return orNone(limited.nominalConcurrencyShares, '<none>');
    case 'queues':
      return response.type === 'Queue' ? String(queuing.queues ?? '<none>') : '<none>';
    case 'handSize':
      return response.type === 'Queue' ? String(queuing.handSize ?? '<none>') : '<none>';
    default:
      return response.type === 'Queue' ? String(queuing.queueLengthLimit ?? '<none>') : '<none>';
  }
}

const apiExtensions = ['api-extensions'];

export const CLUSTER: ResourceType[] = [
  {
    group: 'admissionregistration.k8s.io',
    version: 'v1',
    kind: 'MutatingWebhookConfiguration',
    plural: 'mutatingwebhookconfigurations',
    singular: 'mutatingwebhookconfiguration',
    categories: apiExtensions,
    namespaced: false,
    model: 'V1MutatingWebhookConfiguration',
    columns: [col('Webhooks', (o) => count(o, 'webhooks'), 'integer')],
  },
  {
    group: 'admissionregistration.k8s.io',
    version: 'v1',
    kind: 'ValidatingAdmissionPolicy',
    plural: 'validatingadmissionpolicies',
    singular: 'validatingadmissionpolicy',
    categories: apiExtensions,
    namespaced: false,
    subresources: ['status'],
    hasStatus: true,
    model: 'V1ValidatingAdmissionPolicy',
    columns: [col('Validations', (o) => count(o, 'spec.validations'), 'integer'), col('ParamKind', paramKind)],
  },
  {
    group: 'admissionregistration.k8s.io',
    version: 'v1',
    kind: 'ValidatingAdmissionPolicyBinding',
    plural: 'validatingadmissionpolicybindings',
    singular: 'validatingadmissionpolicybinding',
    categories: apiExtensions,
    namespaced: false,
    model: 'V1ValidatingAdmissionPolicyBinding',
    columns: [col('PolicyName', (o) => get(o, 'spec.policyName') ?? ''), col('ParamRef', paramRef)],
  },
  {
    group: 'admissionregistration.k8s.io',
    version: 'v1',
    kind: 'ValidatingWebhookConfiguration',
    plural: 'validatingwebhookconfigurations',
    singular: 'validatingwebhookconfiguration',
    categories: apiExtensions,
    namespaced: false,
    model: 'V1ValidatingWebhookConfiguration',
    columns: [col('Webhooks', (o) => count(o, 'webhooks'), 'integer')],
  },
  {
    group: 'apiregistration.k8s.io',
    version: 'v1',
    kind: 'APIService',
    plural: 'apiservices',
    singular: 'apiservice',
    categories: apiExtensions,
    namespaced: false,
    subresources: ['status'],
    hasStatus: true,
    model: 'V1APIService',
    columns: [
      col('Service', (o) =>
        get(o, 'spec.service')
          ? `${String(get(o, 'spec.service.namespace'))}/${String(get(o, 'spec.service.name'))}`
          : 'Local',
      ),
      col('Available', (o) => {
        const c = list<{ type: string; status: string; reason?: string }>(o, 'status.conditions').find(
          (x) => x.type === 'Available',
        );
        if (!c) return 'Unknown';
        return c.status === 'True' ? 'True' : `${c.status} (${c.reason ?? ''})`;
      }),
    ],
  },
  {
    group: 'certificates.k8s.io',
    version: 'v1',
    kind: 'CertificateSigningRequest',
    plural: 'certificatesigningrequests',
    singular: 'certificatesigningrequest',
    shortNames: ['csr'],
    namespaced: false,
    subresources: ['approval', 'status'],
    hasStatus: true,
    model: 'V1CertificateSigningRequest',
    fieldSelectors: ['spec.signerName'],
    columns: [
      NAME,
      AGE,
      col('SignerName', (o) => get(o, 'spec.signerName') ?? ''),
      col('Requestor', (o) => get(o, 'spec.username') ?? ''),
      col('RequestedDuration', secondsToDuration),
      col('Condition', csrCondition),
    ],
  },
  {
    group: 'coordination.k8s.io',
    version: 'v1',
    kind: 'Lease',
    plural: 'leases',
    singular: 'lease',
    namespaced: true,
    model: 'V1Lease',
    columns: [col('Holder', (o) => get(o, 'spec.holderIdentity') ?? '')],
  },
  {
    group: 'discovery.k8s.io',
    version: 'v1',
    kind: 'EndpointSlice',
    plural: 'endpointslices',
    singular: 'endpointslice',
    namespaced: true,
    model: 'V1EndpointSlice',
    columns: [
      col('AddressType', (o) => get(o, 'addressType') ?? ''),
      col('Ports', endpointSlicePorts),
      col('Endpoints', endpointSliceAddresses),
    ],
  },
  {
    group: 'flowcontrol.apiserver.k8s.io',
    version: 'v1',
    kind: 'FlowSchema',
    plural: 'flowschemas',
    singular: 'flowschema',
    namespaced: false,
    subresources: ['status'],
    hasStatus: true,
    model: 'V1FlowSchema',
    columns: [
      col('PriorityLevel', (o) => get(o, 'spec.priorityLevelConfiguration.name') ?? ''),
      col('MatchingPrecedence', (o) => get(o, 'spec.matchingPrecedence') ?? 1000, 'integer'),
      col('DistinguisherMethod', (o) => get(o, 'spec.distinguisherMethod.type') ?? '<none>'),
      AGE,
      col('MissingPL', flowSchemaMissingPL),
    ],
  },
  {
    group: 'flowcontrol.apiserver.k8s.io',
    version: 'v1',
    kind: 'PriorityLevelConfiguration',
    plural: 'prioritylevelconfigurations',
    singular: 'prioritylevelconfiguration',
    namespaced: false,
    subresources: ['status'],
    hasStatus: true,
    model: 'V1PriorityLevelConfiguration',
    columns: [
      col('Type', (o) => get(o, 'spec.type') ?? ''),
      col('NominalConcurrencyShares', (o) => plcField(o, 'shares')),
      col('Queues', (o) => plcField(o, 'queues')),
      col('HandSize', (o) => plcField(o, 'handSize')),
      col('QueueLengthLimit', (o) => plcField(o, 'queueLengthLimit')),
    ],
  },
  {
    group: 'networking.k8s.io',
    version: 'v1',
    kind: 'IngressClass',
    plural: 'ingressclasses',
    singular: 'ingressclass',
    namespaced: false,
    model: 'V1IngressClass',
    columns: [
      col('Controller', (o) => get(o, 'spec.controller') ?? ''),
      col('Parameters', (o) => {
        const p = map(o, 'spec.parameters');
        if (!p.kind) return '<none>';
        const group = p.apiGroup ? `.${String(p.apiGroup)}` : '';
        return `${String(p.kind)}${group}/${String(p.name ?? '')}`;
      }),
    ],
  },
  {
    group: 'networking.k8s.io',
    version: 'v1',
    kind: 'Ingress',
    plural: 'ingresses',
    singular: 'ingress',
    shortNames: ['ing'],
    namespaced: true,
    subresources: ['status'],
    hasStatus: true,
    model: 'V1Ingress',
    columns: [
      col('Class', (o) => get(o, 'spec.ingressClassName') ?? '<none>'),
      col('Hosts', ingressHosts),
      col('Address', lbAddresses),
      col('Ports', ingressPorts),
    ],
  },
  {
    group: 'networking.k8s.io',
    version: 'v1',
    kind: 'NetworkPolicy',
    plural: 'networkpolicies',
    singular: 'networkpolicy',
    shortNames: ['netpol'],
    namespaced: true,
    model: 'V1NetworkPolicy',
    columns: [
      col('Pod-Selector', (o) => {
        const s = formatSelector(get(o, 'spec.podSelector'));
        return s === '<none>' ? '<none>' : s;
      }),
    ],
  },
  {
    group: 'node.k8s.io',
    version: 'v1',
    kind: 'RuntimeClass',
    plural: 'runtimeclasses',
    singular: 'runtimeclass',
    namespaced: false,
    model: 'V1RuntimeClass',
    columns: [col('Handler', (o) => get(o, 'handler') ?? '')],
  },
  {
    group: 'scheduling.k8s.io',
    version: 'v1',
    kind: 'PriorityClass',
    plural: 'priorityclasses',
    singular: 'priorityclass',
    shortNames: ['pc'],
    namespaced: false,
    model: 'V1PriorityClass',
    columns: [
      col('Value', (o) => get(o, 'value') ?? 0, 'integer'),
      col('Global-Default', (o) => get(o, 'globalDefault') ?? false, 'boolean'),
      AGE,
      col('PreemptionPolicy', (o) => get(o, 'preemptionPolicy') ?? ''),
    ],
  },
  {
    group: 'storage.k8s.io',
    version: 'v1',
    kind: 'CSIDriver',
    plural: 'csidrivers',
    singular: 'csidriver',
    namespaced: false,
    model: 'V1CSIDriver',
    columns: [
      col('AttachRequired', (o) => get(o, 'spec.attachRequired') ?? true, 'boolean'),
      col('PodInfoOnMount', (o) => get(o, 'spec.podInfoOnMount') ?? false, 'boolean'),
      col('StorageCapacity', (o) => get(o, 'spec.storageCapacity') ?? false, 'boolean'),
      col(
        'TokenRequests',
        (o) =>
          list<{ audience: string }>(o, 'spec.tokenRequests')
            .map((t) => t.audience || '<unset>')
            .join(',') || '<unset>',
      ),
      col('RequiresRepublish', (o) => get(o, 'spec.requiresRepublish') ?? false, 'boolean'),
      col('Modes', (o) => list<string>(o, 'spec.volumeLifecycleModes').join(',') || '<none>'),
    ],
  },
  {
    group: 'storage.k8s.io',
    version: 'v1',
    kind: 'CSINode',
    plural: 'csinodes',
    singular: 'csinode',
    namespaced: false,
    model: 'V1CSINode',
    columns: [col('Drivers', (o) => count(o, 'spec.drivers'), 'integer')],
  },
  {
    group: 'storage.k8s.io',
    version: 'v1',
    kind: 'CSIStorageCapacity',
    plural: 'csistoragecapacities',
    singular: 'csistoragecapacity',
    namespaced: true,
    model: 'V1CSIStorageCapacity',
    columns: [
      NAME,
      col('StorageClassName', (o) => get(o, 'storageClassName') ?? ''),
      col('Capacity', (o) => orNone(get(o, 'capacity'), '<unset>')),
    ],
  },
  {
    group: 'storage.k8s.io',
    version: 'v1',
    kind: 'StorageClass',
    plural: 'storageclasses',
    singular: 'storageclass',
    shortNames: ['sc'],
    namespaced: false,
    model: 'V1StorageClass',
    columns: [
      { ...NAME, value: storageClassName },
      col('Provisioner', (o) => get(o, 'provisioner') ?? ''),
      col('ReclaimPolicy', (o) => get(o, 'reclaimPolicy') ?? 'Delete'),
      col('VolumeBindingMode', (o) => get(o, 'volumeBindingMode') ?? 'Immediate'),
      col('AllowVolumeExpansion', (o) => get(o, 'allowVolumeExpansion') ?? false, 'boolean'),
      AGE,
    ],
  },
  {
    group: 'storage.k8s.io',
    version: 'v1',
    kind: 'VolumeAttachment',
    plural: 'volumeattachments',
    singular: 'volumeattachment',
    namespaced: false,
    subresources: ['status'],
    hasStatus: true,
    model: 'V1VolumeAttachment',
    columns: [
      col('Attacher', (o) => get(o, 'spec.attacher') ?? ''),
      col('PV', (o) => get(o, 'spec.source.persistentVolumeName') ?? ''),
      col('Node', (o) => get(o, 'spec.nodeName') ?? ''),
      col('Attached', (o) => get(o, 'status.attached') ?? false, 'boolean'),
    ],
  },
];
