import { get, RESOURCES, type ResourceType } from '../apiserver/resources.js';

/**
 * The resource table of a member (sandbox) cluster: everything the federation serves
 * except the federation's own Cluster kind, plus the workload kinds only members run.
 */

type Obj = Record<string, unknown>;

interface ContainerStatus {
  ready?: boolean;
  restartCount?: number;
  state?: {
    waiting?: { reason?: string };
    terminated?: { reason?: string; exitCode?: number; signal?: number };
    running?: unknown;
  };
}

function containerStatuses(o: Obj): ContainerStatus[] {
  return (get(o, 'status.containerStatuses') as ContainerStatus[] | undefined) ?? [];
}

/** The STATUS column of `kubectl get pods` (kubectl's printPod, without init containers). */
export function podStatusReason(o: Obj): string {
  let reason = String(get(o, 'status.reason') ?? get(o, 'status.phase') ?? 'Pending');
  for (const cs of [...containerStatuses(o)].reverse()) {
    const w = cs.state?.waiting?.reason;
    const term = cs.state?.terminated;
    if (w) reason = w;
    else if (term?.reason) reason = term.reason;
    else if (term) reason = term.signal ? `Signal:${term.signal}` : `ExitCode:${term.exitCode ?? 0}`;
  }
  if (get(o, 'metadata.deletionTimestamp')) reason = 'Terminating';
  return reason;
}

function podReady(o: Obj): string {
  const total = ((get(o, 'spec.containers') as unknown[] | undefined) ?? []).length;
  return `${containerStatuses(o).filter((c) => c.ready).length}/${total}`;
}

function nodeStatus(o: Obj): string {
  const conditions = (get(o, 'status.conditions') as Array<{ type: string; status: string }> | undefined) ?? [];
  const ready = conditions.find((c) => c.type === 'Ready')?.status === 'True' ? 'Ready' : 'NotReady';
  return get(o, 'spec.unschedulable') ? `${ready},SchedulingDisabled` : ready;
}

function nodeRoles(o: Obj): string {
  const labels = (get(o, 'metadata.labels') as Record<string, string> | undefined) ?? {};
  const roles = Object.keys(labels)
    .filter((k) => k.startsWith('node-role.kubernetes.io/'))
    .map((k) => k.slice('node-role.kubernetes.io/'.length));
  return roles.join(',') || '<none>';
}

function nodeAddress(o: Obj, type: string): string {
  const addresses = (get(o, 'status.addresses') as Array<{ type: string; address: string }> | undefined) ?? [];
  return addresses.find((a) => a.type === type)?.address ?? '<none>';
}

function jobStatus(o: Obj): string {
  const conditions = (get(o, 'status.conditions') as Array<{ type: string; status: string }> | undefined) ?? [];
  const isTrue = (t: string) => conditions.some((c) => c.type === t && c.status === 'True');
  if (isTrue('Complete')) return 'Complete';
  if (isTrue('Failed')) return 'Failed';
  if (get(o, 'metadata.deletionTimestamp')) return 'Terminating';
  if (get(o, 'spec.suspend')) return 'Suspended';
  return 'Running';
}

function jobDuration(o: Obj): string {
  const start = get(o, 'status.startTime') as string | undefined;
  if (!start) return '';
  const end = (get(o, 'status.completionTime') as string | undefined) ?? new Date().toISOString();
  const s = Math.max(0, Math.round((Date.parse(end) - Date.parse(start)) / 1000));
  return s < 120 ? `${s}s` : `${Math.floor(s / 60)}m${s % 60 ? `${s % 60}s` : ''}`;
}

function selectorString(o: Obj, path: string): string {
  const sel = (get(o, path) as Record<string, string> | undefined) ?? {};
  return (
    Object.entries(sel)
      .map(([k, v]) => `${k}=${v}`)
      .join(',') || '<none>'
  );
}

export const MEMBER_KINDS: ResourceType[] = [
  {
    group: '',
    version: 'v1',
    kind: 'Pod',
    plural: 'pods',
    singular: 'pod',
    shortNames: ['po'],
    namespaced: true,
    subresources: ['status'],
    hasStatus: true,
    model: 'V1Pod',
    categories: ['all'],
    fieldSelectors: [
      'spec.nodeName',
      'spec.restartPolicy',
      'spec.schedulerName',
      'spec.serviceAccountName',
      'status.phase',
      'status.podIP',
      'status.nominatedNodeName',
    ],
    columns: [
      { name: 'Ready', type: 'string', value: podReady },
      { name: 'Status', type: 'string', value: podStatusReason },
      {
        name: 'Restarts',
        type: 'string',
        value: (o) => String(containerStatuses(o).reduce((n, c) => n + (c.restartCount ?? 0), 0)),
      },
      { name: 'IP', type: 'string', priority: 1, value: (o) => get(o, 'status.podIP') ?? '<none>' },
      { name: 'Node', type: 'string', priority: 1, value: (o) => get(o, 'spec.nodeName') ?? '<none>' },
      {
        name: 'Nominated Node',
        type: 'string',
        priority: 1,
        value: (o) => get(o, 'status.nominatedNodeName') ?? '<none>',
      },
      { name: 'Readiness Gates', type: 'string', priority: 1, value: () => '<none>' },
    ],
  },
  {
    group: '',
    version: 'v1',
    kind: 'Node',
    plural: 'nodes',
    singular: 'node',
    shortNames: ['no'],
    namespaced: false,
    subresources: ['status'],
    hasStatus: true,
    model: 'V1Node',
    fieldSelectors: ['spec.unschedulable'],
    columns: [
      { name: 'Status', type: 'string', value: nodeStatus },
      { name: 'Roles', type: 'string', value: nodeRoles },
      { name: 'Version', type: 'string', value: (o) => get(o, 'status.nodeInfo.kubeletVersion') ?? '' },
      { name: 'Internal-IP', type: 'string', priority: 1, value: (o) => nodeAddress(o, 'InternalIP') },
      { name: 'External-IP', type: 'string', priority: 1, value: (o) => nodeAddress(o, 'ExternalIP') },
      { name: 'OS-Image', type: 'string', priority: 1, value: (o) => get(o, 'status.nodeInfo.osImage') ?? '' },
      {
        name: 'Kernel-Version',
        type: 'string',
        priority: 1,
        value: (o) => get(o, 'status.nodeInfo.kernelVersion') ?? '',
      },
      {
        name: 'Container-Runtime',
        type: 'string',
        priority: 1,
        value: (o) => get(o, 'status.nodeInfo.containerRuntimeVersion') ?? '',
      },
    ],
  },
  {
    group: 'apps',
    version: 'v1',
    kind: 'DaemonSet',
    plural: 'daemonsets',
    singular: 'daemonset',
    shortNames: ['ds'],
    namespaced: true,
    subresources: ['status'],
    hasStatus: true,
    model: 'V1DaemonSet',
    categories: ['all'],
    aliases: [{ group: 'extensions', version: 'v1beta1' }],
    columns: [
      { name: 'Desired', type: 'integer', value: (o) => get(o, 'status.desiredNumberScheduled') ?? 0 },
      { name: 'Current', type: 'integer', value: (o) => get(o, 'status.currentNumberScheduled') ?? 0 },
      { name: 'Ready', type: 'integer', value: (o) => get(o, 'status.numberReady') ?? 0 },
      { name: 'Up-to-date', type: 'integer', value: (o) => get(o, 'status.updatedNumberScheduled') ?? 0 },
      { name: 'Available', type: 'integer', value: (o) => get(o, 'status.numberAvailable') ?? 0 },
      { name: 'Node Selector', type: 'string', value: (o) => selectorString(o, 'spec.template.spec.nodeSelector') },
    ],
  },
  {
    group: 'batch',
    version: 'v1',
    kind: 'Job',
    plural: 'jobs',
    singular: 'job',
    namespaced: true,
    subresources: ['status'],
    hasStatus: true,
    model: 'V1Job',
    categories: ['all'],
    columns: [
      { name: 'Status', type: 'string', value: jobStatus },
      {
        name: 'Completions',
        type: 'string',
        value: (o) => `${String(get(o, 'status.succeeded') ?? 0)}/${String(get(o, 'spec.completions') ?? 1)}`,
      },
      { name: 'Duration', type: 'string', value: jobDuration },
    ],
  },
  {
    group: 'autoscaling',
    version: 'v2',
    kind: 'HorizontalPodAutoscaler',
    plural: 'horizontalpodautoscalers',
    singular: 'horizontalpodautoscaler',
    shortNames: ['hpa'],
    namespaced: true,
    subresources: ['status'],
    hasStatus: true,
    model: 'V2HorizontalPodAutoscaler',
    categories: ['all'],
    columns: [
      {
        name: 'Reference',
        type: 'string',
        value: (o) =>
          `${String(get(o, 'spec.scaleTargetRef.kind') ?? '')}/${String(get(o, 'spec.scaleTargetRef.name') ?? '')}`,
      },
      { name: 'MinPods', type: 'integer', value: (o) => get(o, 'spec.minReplicas') ?? 1 },
      { name: 'MaxPods', type: 'integer', value: (o) => get(o, 'spec.maxReplicas') ?? 0 },
      { name: 'Replicas', type: 'integer', value: (o) => get(o, 'status.currentReplicas') ?? 0 },
    ],
  },
  {
    group: 'apps',
    version: 'v1',
    kind: 'ControllerRevision',
    plural: 'controllerrevisions',
    singular: 'controllerrevision',
    namespaced: true,
    model: 'V1ControllerRevision',
    columns: [
      {
        name: 'Controller',
        type: 'string',
        value: (o) => {
          const r = (get(o, 'metadata.ownerReferences') as Array<{ kind: string; name: string }> | undefined)?.[0];
          return r ? `${r.kind.toLowerCase()}.apps/${r.name}` : '<none>';
        },
      },
      { name: 'Revision', type: 'integer', value: (o) => get(o, 'revision') ?? 0 },
    ],
  },
];

/** Served by every sandbox cluster. */
export const MEMBER_RESOURCES: ResourceType[] = [
  ...RESOURCES.filter(
    (t) => t.group !== 'federation.kitfed.io' && !MEMBER_KINDS.some((m) => m.group === t.group && m.kind === t.kind),
  ),
  ...MEMBER_KINDS,
];

export function memberType(kind: string): ResourceType {
  const t = MEMBER_RESOURCES.find((r) => r.kind === kind);
  if (!t) throw new Error(`sandbox: no member resource type ${kind}`);
  return t;
}
