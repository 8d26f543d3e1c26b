import { get, type ResourceType } from '../resources.js';
import {
  AGE,
  NAME,
  age,
  col,
  conditionStatus,
  containerColumns,
  formatMap,
  list,
  map,
  orNone,
  since,
  wide,
  type Obj,
} from './columns.js';

/** Core (`v1`) kinds of Kubernetes 1.32, except ServiceAccounts (in `auth/resources.ts` with RBAC and the reviews). */

interface ContainerStatus {
  ready?: boolean;
  restartCount?: number;
  state?: {
    waiting?: { reason?: string };
    terminated?: { reason?: string; exitCode?: number; signal?: number };
    running?: unknown;
  };
}

function containerStatuses(o: Obj, path = 'status.containerStatuses'): ContainerStatus[] {
  return list<ContainerStatus>(o, path);
}

/** The STATUS column of `kubectl get pods` (kubectl's printPod). */
export function podStatusReason(o: Obj): string {
  let reason = String(get(o, 'status.reason') ?? get(o, 'status.phase') ?? 'Pending');
  let initializing = false;
  const inits = containerStatuses(o, 'status.initContainerStatuses');
  const initCount = list(o, 'spec.initContainers').length;
  inits.forEach((cs, i) => {
    if (initializing) return;
    const term = cs.state?.terminated;
    if (term && term.exitCode === 0) return;
    if (term) {
      reason = term.reason
        ? `Init:${term.reason}`
        : term.signal
          ? `Init:Signal:${term.signal}`
          : `Init:ExitCode:${term.exitCode ?? 0}`;
      initializing = true;
    } else if (cs.state?.waiting?.reason && cs.state.waiting.reason !== 'PodInitializing') {
      reason = `Init:${cs.state.waiting.reason}`;
      initializing = true;
    } else {
      reason = `Init:${i}/${initCount}`;
      initializing = true;
    }
  });
  if (!initializing) {
    let hasRunning = false;
    for (const cs of [...containerStatuses(o)].reverse()) {
      const w = cs.state?.waiting?.reason;
      const term = cs.state?.terminated;
      if (w) reason = w;
      else if (term?.reason) reason = term.reason;
      else if (term) reason = term.signal ? `Signal:${term.signal}` : `ExitCode:${term.exitCode ?? 0}`;
      else if (cs.ready && cs.state?.running !== undefined) hasRunning = true;
    }
    if (reason === 'Completed' && hasRunning)
      reason = conditionStatus(o, 'Ready', '') === 'True' ? 'Running' : 'NotReady';
  }
  if (get(o, 'metadata.deletionTimestamp')) reason = get(o, 'status.reason') === 'NodeLost' ? 'Unknown' : 'Terminating';
  return reason;
}

function podReady(o: Obj): string {
  const total = list(o, 'spec.containers').length;
  return `${containerStatuses(o).filter((c) => c.ready).length}/${total}`;
}

function readinessGates(o: Obj): string {
  const gates = list<{ conditionType: string }>(o, 'spec.readinessGates');
  if (gates.length === 0) return '<none>';
  const conditions = list<{ type: string; status: string }>(o, 'status.conditions');
  const ready = gates.filter((g) => conditions.some((c) => c.type === g.conditionType && c.status === 'True')).length;
  return `${ready}/${gates.length}`;
}

function nodeStatus(o: Obj): string {
  const conditions = list<{ type: string; status: string }>(o, 'status.conditions');
  const ready = conditions.find((c) => c.type === 'Ready');
  const state = ready?.status === 'True' ? 'Ready' : ready ? 'NotReady' : 'Unknown';
  return get(o, 'spec.unschedulable') ? `${state},SchedulingDisabled` : state;
}

function nodeRoles(o: Obj): string {
  const labels = map(o, 'metadata.labels');
  const roles = new Set<string>();
  for (const [k, v] of Object.entries(labels)) {
    if (k.startsWith('node-role.kubernetes.io/') && k.length > 'node-role.kubernetes.io/'.length)
      roles.add(k.slice('node-role.kubernetes.io/'.length));
    else if (k === 'kubernetes.io/role' && v) roles.add(String(v));
  }
  return [...roles].sort().join(',') || '<none>';
}

function nodeAddress(o: Obj, type: string): string {
  return (
    list<{ type: string; address: string }>(o, 'status.addresses').find((a) => a.type === type)?.address ?? '<none>'
  );
}

function lbIngress(o: Obj): string[] {
  return list<{ ip?: string; hostname?: string }>(o, 'status.loadBalancer.ingress').map(
    (i) => i.ip ?? i.hostname ?? '',
  );
}

function serviceExternalIp(o: Obj): string {
  const type = get(o, 'spec.type') ?? 'ClusterIP';
  const external = list<string>(o, 'spec.externalIPs');
  switch (type) {
    case 'ClusterIP':
    case 'NodePort':
      return external.length ? external.join(',') : '<none>';
    case 'LoadBalancer': {
      const all = [...lbIngress(o), ...external];
      return all.length ? all.join(',') : '<pending>';
    }
    case 'ExternalName':
      return String(get(o, 'spec.externalName') ?? '<none>');
    default:
      return '<unknown>';
  }
}

function servicePorts(o: Obj): string {
  const ports = list<{ port: number; nodePort?: number; protocol?: string }>(o, 'spec.ports');
  if (ports.length === 0) return '<none>';
  return ports.map((p) => `${p.port}${p.nodePort ? `:${p.nodePort}` : ''}/${p.protocol ?? 'TCP'}`).join(',');
}

/** kubectl's formatEndpoints: `ip:port,...` with at most three, then `+ N more...`. */
function endpointsCell(o: Obj): string {
  const out: string[] = [];
  let count = 0;
  for (const ss of list<{ addresses?: Array<{ ip: string }>; ports?: Array<{ port: number }> }>(o, 'subsets')) {
    const ports = ss.ports?.length ? ss.ports : [undefined];
    for (const a of ss.addresses ?? []) {
      for (const p of ports) {
        count++;
        if (out.length < 3) out.push(p ? `${a.ip}:${p.port}` : a.ip);
      }
    }
  }
  if (count === 0) return '<none>';
  return count > 3 ? `${out.join(',')} + ${count - 3} more...` : out.join(',');
}

const ACCESS_MODES: Record<string, string> = {
  ReadWriteOnce: 'RWO',
  ReadOnlyMany: 'ROX',
  ReadWriteMany: 'RWX',
  ReadWriteOncePod: 'RWOP',
};

function accessModes(o: Obj, path: string): string {
  const modes = list<string>(o, path);
  const order = ['ReadWriteOnce', 'ReadOnlyMany', 'ReadWriteMany', 'ReadWriteOncePod'];
  return order
    .filter((m) => modes.includes(m))
    .map((m) => ACCESS_MODES[m])
    .join(',');
}

function quotaCell(o: Obj, pick: (k: string) => boolean): string {
  const hard = map(o, 'status.hard');
  const used = map(o, 'status.used');
  return Object.keys(hard)
    .filter(pick)
    .sort()
    .map((k) => `${k}: ${String(used[k] ?? '0')}/${String(hard[k])}`)
    .join(', ');
}

export const CORE: ResourceType[] = [
  {
    group: '',
    version: 'v1',
    kind: 'Binding',
    plural: 'bindings',
    singular: 'binding',
    namespaced: true,
    verbs: ['create'],
    virtual: true,
    model: 'V1Binding',
  },
  {
    group: '',
    version: 'v1',
    kind: 'ComponentStatus',
    plural: 'componentstatuses',
    singular: 'componentstatus',
    shortNames: ['cs'],
    namespaced: false,
    verbs: ['get', 'list'],
    virtual: true,
    model: 'V1ComponentStatus',
    columns: [
      NAME,
      col('Status', (o) => {
        const c = list<{ type: string; status: string }>(o, 'conditions').find((x) => x.type === 'Healthy');
        return c ? (c.status === 'True' ? 'Healthy' : 'Unhealthy') : 'Unknown';
      }),
      col('Message', (o) => list<{ message?: string }>(o, 'conditions')[0]?.message ?? ''),
      col('Error', (o) => list<{ error?: string }>(o, 'conditions')[0]?.error ?? ''),
    ],
  },
  {
    group: '',
    version: 'v1',
    kind: 'ConfigMap',
    plural: 'configmaps',
    singular: 'configmap',
    shortNames: ['cm'],
    namespaced: true,
    model: 'V1ConfigMap',
    columns: [
      col('Data', (o) => Object.keys(map(o, 'data')).length + Object.keys(map(o, 'binaryData')).length, 'integer'),
    ],
  },
  {
    group: '',
    version: 'v1',
    kind: 'Endpoints',
    plural: 'endpoints',
    singular: 'endpoints',
    shortNames: ['ep'],
    namespaced: true,
    model: 'V1Endpoints',
    columns: [col('Endpoints', endpointsCell)],
  },
  {
    group: '',
    version: 'v1',
    kind: 'Event',
    plural: 'events',
    singular: 'event',
    shortNames: ['ev'],
    namespaced: true,
    model: 'CoreV1Event',
    aliases: [{ group: 'events.k8s.io', version: 'v1', model: 'EventsV1Event', shortNames: true }],
    fieldSelectors: [
      'involvedObject.kind',
      'involvedObject.namespace',
      'involvedObject.name',
      'involvedObject.uid',
      'involvedObject.apiVersion',
      'involvedObject.resourceVersion',
      'involvedObject.fieldPath',
      'reason',
      'reportingComponent',
      'source',
      'type',
    ],
    columns: [
      col('Last Seen', (o) => {
        const last = get(o, 'lastTimestamp') ?? get(o, 'eventTime') ?? get(o, 'metadata.creationTimestamp');
        const count = Number(get(o, 'count') ?? get(o, 'series.count') ?? 1);
        const first = get(o, 'firstTimestamp') ?? last;
        const l = last ? age({ t: last }, 't') : '<unknown>';
        return count > 1 && first ? `${l} (x${count} over ${age({ t: first }, 't')})` : l;
      }),
      col('Type', (o) => get(o, 'type') ?? ''),
      col('Reason', (o) => get(o, 'reason') ?? ''),
      col('Object', (o) => {
        const kind = String(get(o, 'involvedObject.kind') ?? '').toLowerCase();
        const name = String(get(o, 'involvedObject.name') ?? '');
        return `${kind}/${name}`;
      }),
      wide('Subobject', (o) => get(o, 'involvedObject.fieldPath') ?? ''),
      wide('Source', (o) => {
        const c = String(get(o, 'source.component') ?? get(o, 'reportingComponent') ?? '');
        const h = String(get(o, 'source.host') ?? get(o, 'reportingInstance') ?? '');
        return h ? `${c}, ${h}` : c;
      }),
      col('Message', (o) => String(get(o, 'message') ?? '').trim()),
      wide('First Seen', (o) => since(o, 'firstTimestamp', '<unknown>')),
      wide('Count', (o) => String(get(o, 'count') ?? get(o, 'series.count') ?? 1)),
      { ...NAME, priority: 1 },
    ],
  },
  {
    group: '',
    version: 'v1',
    kind: 'LimitRange',
    plural: 'limitranges',
    singular: 'limitrange',
    shortNames: ['limits'],
    namespaced: true,
    model: 'V1LimitRange',
    columns: [
      NAME,
      {
        name: 'Created At',
        type: 'date',
        description: 'CreationTimestamp is a timestamp representing the server time when this object was created.',
        value: (o) => get(o, 'metadata.creationTimestamp') ?? '',
      },
    ],
  },
  {
    group: '',
    version: 'v1',
    kind: 'Namespace',
    plural: 'namespaces',
    singular: 'namespace',
    shortNames: ['ns'],
    namespaced: false,
    verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'],
    subresources: ['finalize', 'status'],
    hasStatus: true,
    model: 'V1Namespace',
    fieldSelectors: ['status.phase'],
    columns: [col('Status', (o) => get(o, 'status.phase') ?? '')],
  },
  {
    group: '',
    version: 'v1',
    kind: 'Node',
    plural: 'nodes',
    singular: 'node',
    shortNames: ['no'],
    namespaced: false,
    subresources: ['proxy', 'status'],
    hasStatus: true,
    model: 'V1Node',
    fieldSelectors: ['spec.unschedulable'],
    columns: [
      col('Status', nodeStatus),
      col('Roles', nodeRoles),
      AGE,
      col('Version', (o) => get(o, 'status.nodeInfo.kubeletVersion') ?? ''),
      wide('Internal-IP', (o) => nodeAddress(o, 'InternalIP')),
      wide('External-IP', (o) => nodeAddress(o, 'ExternalIP')),
      wide('OS-Image', (o) => get(o, 'status.nodeInfo.osImage') ?? '<unknown>'),
      wide('Kernel-Version', (o) => get(o, 'status.nodeInfo.kernelVersion') ?? '<unknown>'),
      wide('Container-Runtime', (o) => get(o, 'status.nodeInfo.containerRuntimeVersion') ?? '<unknown>'),
    ],
  },
  {
    group: '',
    version: 'v1',
    kind: 'PersistentVolumeClaim',
    plural: 'persistentvolumeclaims',
    singular: 'persistentvolumeclaim',
    shortNames: ['pvc'],
    namespaced: true,
    subresources: ['status'],
    hasStatus: true,
    model: 'V1PersistentVolumeClaim',
    columns: [
      col('Status', (o) => (get(o, 'metadata.deletionTimestamp') ? 'Terminating' : (get(o, 'status.phase') ?? ''))),
      col('Volume', (o) => get(o, 'spec.volumeName') ?? ''),
      col('Capacity', (o) => (get(o, 'spec.volumeName') ? String(map(o, 'status.capacity').storage ?? '') : '')),
      col('Access Modes', (o) => accessModes(o, get(o, 'spec.volumeName') ? 'status.accessModes' : 'spec.accessModes')),
      col('StorageClass', (o) =>
        orNone(
          get(o, 'spec.storageClassName') ?? map(o, 'metadata.annotations')['volume.beta.kubernetes.io/storage-class'],
        ),
      ),
      col('VolumeAttributesClass', (o) => orNone(get(o, 'spec.volumeAttributesClassName'), '<unset>')),
      AGE,
      wide('VolumeMode', (o) => get(o, 'spec.volumeMode') ?? '<unset>'),
    ],
  },
  {
    group: '',
    version: 'v1',
    kind: 'PersistentVolume',
    plural: 'persistentvolumes',
    singular: 'persistentvolume',
    shortNames: ['pv'],
    namespaced: false,
    subresources: ['status'],
    hasStatus: true,
    model: 'V1PersistentVolume',
    columns: [
      col('Capacity', (o) => String(map(o, 'spec.capacity').storage ?? '')),
      col('Access Modes', (o) => accessModes(o, 'spec.accessModes')),
      col('Reclaim Policy', (o) => get(o, 'spec.persistentVolumeReclaimPolicy') ?? ''),
      col('Status', (o) => (get(o, 'metadata.deletionTimestamp') ? 'Terminating' : (get(o, 'status.phase') ?? ''))),
      col('Claim', (o) =>
        get(o, 'spec.claimRef')
          ? `${String(get(o, 'spec.claimRef.namespace'))}/${String(get(o, 'spec.claimRef.name'))}`
          : '',
      ),
      col('StorageClass', (o) => get(o, 'spec.storageClassName') ?? ''),
      col('VolumeAttributesClass', (o) => orNone(get(o, 'spec.volumeAttributesClassName'), '<unset>')),
      col('Reason', (o) => get(o, 'status.reason') ?? ''),
      AGE,
      wide('VolumeMode', (o) => get(o, 'spec.volumeMode') ?? '<unset>'),
    ],
  },
  {
    group: '',
    version: 'v1',
    kind: 'Pod',
    plural: 'pods',
    singular: 'pod',
    shortNames: ['po'],
    categories: ['all'],
    namespaced: true,
    subresources: [
      'attach',
      'binding',
      'ephemeralcontainers',
      'eviction',
      'exec',
      'log',
      'portforward',
      'proxy',
      'status',
    ],
    hasStatus: true,
    model: 'V1Pod',
    fieldSelectors: [
      'spec.nodeName',
      'spec.restartPolicy',
      'spec.schedulerName',
      'spec.serviceAccountName',
      'spec.hostNetwork',
      'status.phase',
      'status.podIP',
      'status.nominatedNodeName',
    ],
    columns: [
      col('Ready', podReady),
      col('Status', podStatusReason),
      col('Restarts', (o) => String(containerStatuses(o).reduce((n, c) => n + (c.restartCount ?? 0), 0))),
      AGE,
      wide('IP', (o) => get(o, 'status.podIP') ?? '<none>'),
      wide('Node', (o) => get(o, 'spec.nodeName') ?? '<none>'),
      wide('Nominated Node', (o) => get(o, 'status.nominatedNodeName') ?? '<none>'),
      wide('Readiness Gates', readinessGates),
    ],
  },
  {
    group: '',
    version: 'v1',
    kind: 'PodTemplate',
    plural: 'podtemplates',
    singular: 'podtemplate',
    namespaced: true,
    model: 'V1PodTemplate',
    columns: [
      NAME,
      col('Containers', (o) =>
        list<{ name?: string }>(o, 'template.spec.containers')
          .map((c) => c.name)
          .join(','),
      ),
      col('Images', (o) =>
        list<{ image?: string }>(o, 'template.spec.containers')
          .map((c) => c.image)
          .join(','),
      ),
      col('Pod Labels', (o) => formatMap(map(o, 'template.metadata.labels'))),
    ],
  },
  {
    group: '',
    version: 'v1',
    kind: 'ReplicationController',
    plural: 'replicationcontrollers',
    singular: 'replicationcontroller',
    shortNames: ['rc'],
    categories: ['all'],
    namespaced: true,
    subresources: ['scale', 'status'],
    hasStatus: true,
    model: 'V1ReplicationController',
    fieldSelectors: ['status.replicas'],
    columns: [
      col('Desired', (o) => get(o, 'spec.replicas') ?? 0, 'integer'),
      col('Current', (o) => get(o, 'status.replicas') ?? 0, 'integer'),
      col('Ready', (o) => get(o, 'status.readyReplicas') ?? 0, 'integer'),
      AGE,
      ...containerColumns('spec.template.spec'),
      wide('Selector', (o) => formatMap(map(o, 'spec.selector'))),
    ],
  },
  {
    group: '',
    version: 'v1',
    kind: 'ResourceQuota',
    plural: 'resourcequotas',
    singular: 'resourcequota',
    shortNames: ['quota'],
    namespaced: true,
    subresources: ['status'],
    hasStatus: true,
    model: 'V1ResourceQuota',
    columns: [
      NAME,
      AGE,
      col('Request', (o) => quotaCell(o, (k) => !k.startsWith('limits.'))),
      col('Limit', (o) => quotaCell(o, (k) => k.startsWith('limits.'))),
    ],
  },
  {
    group: '',
    version: 'v1',
    kind: 'Secret',
    plural: 'secrets',
    singular: 'secret',
    namespaced: true,
    model: 'V1Secret',
    fieldSelectors: ['type'],
    columns: [
      col('Type', (o) => get(o, 'type') ?? ''),
      col('Data', (o) => Object.keys(map(o, 'data')).length, 'integer'),
    ],
  },
  {
    group: '',
    version: 'v1',
    kind: 'Service',
    plural: 'services',
    singular: 'service',
    shortNames: ['svc'],
    categories: ['all'],
    namespaced: true,
    subresources: ['proxy', 'status'],
    hasStatus: true,
    model: 'V1Service',
    fieldSelectors: ['spec.clusterIP', 'spec.type'],
    columns: [
      col('Type', (o) => get(o, 'spec.type') ?? 'ClusterIP'),
      col('Cluster-IP', (o) => orNone(get(o, 'spec.clusterIP'))),
      col('External-IP', serviceExternalIp),
      col('Port(s)', servicePorts),
      AGE,
      wide('Selector', (o) => formatMap(map(o, 'spec.selector'))),
    ],
  },
];
