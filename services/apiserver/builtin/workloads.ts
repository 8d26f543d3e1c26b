import { get, type ResourceType } from '../resources.js';
import { humanDuration } from '../table.js';
import {
  AGE,
  col,
  conditionStatus,
  containerColumns,
  formatMap,
  list,
  map,
  selectorColumn,
  since,
  type Obj,
} from './columns.js';

/** apps/v1, batch/v1, autoscaling/v2 (+ v1) and policy/v1 kinds of Kubernetes 1.32. */

function controllerOf(o: Obj): string {
  const ref = list<{ apiVersion?: string; kind: string; name: string; controller?: boolean }>(
    o,
    'metadata.ownerReferences',
  ).find((r) => r.controller);
  if (!ref) return '<none>';
  const group = ref.apiVersion?.includes('/') ? ref.apiVersion.split('/')[0] : '';
  return `${ref.kind.toLowerCase()}${group ? `.${group}` : ''}/${ref.name}`;
}

function printBoolPtr(v: unknown): string {
  return v === true ? 'True' : v === false ? 'False' : '<unset>';
}

function jobStatus(o: Obj): string {
  const has = (t: string) => conditionStatus(o, t, '') === 'True';
  if (has('Complete')) return 'Complete';
  if (has('Failed')) return 'Failed';
  if (get(o, 'metadata.deletionTimestamp')) return 'Terminating';
  if (has('Suspended')) return 'Suspended';
  if (has('FailureTarget')) return 'FailureTarget';
  if (has('SuccessCriteriaMet')) return 'SuccessCriteriaMet';
  return 'Running';
}

function jobCompletions(o: Obj): string {
  const succeeded = Number(get(o, 'status.succeeded') ?? 0);
  const completions = get(o, 'spec.completions');
  if (typeof completions === 'number') return `${succeeded}/${completions}`;
  const parallelism = Number(get(o, 'spec.parallelism') ?? 0);
  return parallelism > 1 ? `${succeeded}/1 of ${parallelism}` : `${succeeded}/1`;
}

function jobDuration(o: Obj): string {
  const start = get(o, 'status.startTime') as string | undefined;
  if (!start) return '';
  const end = (get(o, 'status.completionTime') as string | undefined) ?? new Date().toISOString();
  return humanDuration(Date.parse(end) - Date.parse(start));
}

interface MetricTarget {
  averageUtilization?: number;
  averageValue?: string;
  value?: string;
}
interface MetricSpec {
  type: string;
  resource?: { name: string; target: MetricTarget };
  containerResource?: { name: string; container: string; target: MetricTarget };
  pods?: { target: MetricTarget };
  object?: { target: MetricTarget };
  external?: { target: MetricTarget };
}
interface MetricStatus {
  resource?: { current: MetricTarget };
  containerResource?: { current: MetricTarget };
  pods?: { current: MetricTarget };
  object?: { current: MetricTarget };
  external?: { current: MetricTarget };
}

/** kubectl's formatHPAMetrics over autoscaling/v2 metrics (the storage version). */
function hpaTargets(o: Obj): string {
  const specs = list<MetricSpec>(o, 'spec.metrics');
  const statuses = list<MetricStatus>(o, 'status.currentMetrics');
  if (specs.length === 0) return '<none>';
  const cells: string[] = [];
  specs.forEach((s, i) => {
    const st = statuses[i];
    switch (s.type) {
      case 'External':
      case 'Object':
      case 'Pods': {
        const key = s.type === 'External' ? 'external' : s.type === 'Object' ? 'object' : 'pods';
        const target = s[key]?.target ?? {};
        const current = st?.[key]?.current;
        if (target.averageValue !== undefined || s.type === 'Pods')
          cells.push(
            `${current?.averageValue ?? '<unknown>'}/${target.averageValue ?? ''}${s.type === 'Pods' ? '' : ' (avg)'}`,
          );
        else cells.push(`${current?.value ?? '<unknown>'}/${target.value ?? ''}`);
        break;
      }
      case 'Resource':
      case 'ContainerResource': {
        const r = s.type === 'Resource' ? s.resource : s.containerResource;
        const cur = (s.type === 'Resource' ? st?.resource : st?.containerResource)?.current;
        const name = s.type === 'Resource' ? r?.name : `${r?.name ?? ''}/${s.containerResource?.container ?? ''}`;
        if (r?.target.averageValue !== undefined)
          cells.push(`${name}: ${cur?.averageValue ?? '<unknown>'}/${r.target.averageValue}`);
        else {
          const current = cur?.averageUtilization !== undefined ? `${cur.averageUtilization}%` : '<unknown>';
          const target = r?.target.averageUtilization !== undefined ? `${r.target.averageUtilization}%` : '<auto>';
          cells.push(`${name}: ${current}/${target}`);
        }
        break;
      }
      default:
        cells.push('<unknown type>');
    }
  });
  return cells.length > 2 ? `${cells.slice(0, 2).join(', ')} + ${cells.length - 2} more...` : cells.join(', ');
}

function intOrNA(v: unknown): string {
  return v === undefined || v === null ? 'N/A' : String(v);
}

export const WORKLOADS: ResourceType[] = [
  {
    group: 'apps',
    version: 'v1',
    kind: 'ControllerRevision',
    plural: 'controllerrevisions',
    singular: 'controllerrevision',
    namespaced: true,
    model: 'V1ControllerRevision',
    columns: [col('Controller', controllerOf), col('Revision', (o) => get(o, 'revision') ?? 0, 'integer')],
  },
  {
    group: 'apps',
    version: 'v1',
    kind: 'DaemonSet',
    plural: 'daemonsets',
    singular: 'daemonset',
    shortNames: ['ds'],
    categories: ['all'],
    namespaced: true,
    subresources: ['status'],
    hasStatus: true,
    model: 'V1DaemonSet',
    columns: [
      col('Desired', (o) => get(o, 'status.desiredNumberScheduled') ?? 0, 'integer'),
      col('Current', (o) => get(o, 'status.currentNumberScheduled') ?? 0, 'integer'),
      col('Ready', (o) => get(o, 'status.numberReady') ?? 0, 'integer'),
      col('Up-to-date', (o) => get(o, 'status.updatedNumberScheduled') ?? 0, 'integer'),
      col('Available', (o) => get(o, 'status.numberAvailable') ?? 0, 'integer'),
      col('Node Selector', (o) => formatMap(map(o, 'spec.template.spec.nodeSelector'))),
      AGE,
      ...containerColumns('spec.template.spec'),
      selectorColumn(),
    ],
  },
  {
    group: 'apps',
    version: 'v1',
    kind: 'Deployment',
    plural: 'deployments',
    singular: 'deployment',
    shortNames: ['deploy'],
    categories: ['all'],
    namespaced: true,
    subresources: ['scale', 'status'],
    hasStatus: true,
    model: 'V1Deployment',
    columns: [
      col('Ready', (o) => `${String(get(o, 'status.readyReplicas') ?? 0)}/${String(get(o, 'spec.replicas') ?? 1)}`),
      col('Up-to-date', (o) => get(o, 'status.updatedReplicas') ?? 0, 'integer'),
      col('Available', (o) => get(o, 'status.availableReplicas') ?? 0, 'integer'),
      AGE,
      ...containerColumns('spec.template.spec'),
      selectorColumn(),
    ],
  },
  {
    group: 'apps',
    version: 'v1',
    kind: 'ReplicaSet',
    plural: 'replicasets',
    singular: 'replicaset',
    shortNames: ['rs'],
    categories: ['all'],
    namespaced: true,
    subresources: ['scale', 'status'],
    hasStatus: true,
    model: 'V1ReplicaSet',
    columns: [
      col('Desired', (o) => get(o, 'spec.replicas') ?? 0, 'integer'),
      col('Current', (o) => get(o, 'status.replicas') ?? 0, 'integer'),
      col('Ready', (o) => get(o, 'status.readyReplicas') ?? 0, 'integer'),
      AGE,
      ...containerColumns('spec.template.spec'),
      selectorColumn(),
    ],
  },
  {
    group: 'apps',
    version: 'v1',
    kind: 'StatefulSet',
    plural: 'statefulsets',
    singular: 'statefulset',
    shortNames: ['sts'],
    categories: ['all'],
    namespaced: true,
    subresources: ['scale', 'status'],
    hasStatus: true,
    model: 'V1StatefulSet',
    columns: [
      col('Ready', (o) => `${String(get(o, 'status.readyReplicas') ?? 0)}/${String(get(o, 'spec.replicas') ?? 1)}`),
      AGE,
      ...containerColumns('spec.template.spec'),
    ],
  },
  {
    group: 'autoscaling',
    version: 'v2',
    kind: 'HorizontalPodAutoscaler',
    plural: 'horizontalpodautoscalers',
    singular: 'horizontalpodautoscaler',
    shortNames: ['hpa'],
    categories: ['all'],
    namespaced: true,
    subresources: ['status'],
    hasStatus: true,
    model: 'V2HorizontalPodAutoscaler',
    aliases: [{ group: 'autoscaling', version: 'v1', model: 'V1HorizontalPodAutoscaler' }],
    columns: [
      col(
        'Reference',
        (o) =>
          `${String(get(o, 'spec.scaleTargetRef.kind') ?? '')}/${String(get(o, 'spec.scaleTargetRef.name') ?? '')}`,
      ),
      col('Targets', hpaTargets),
      col('MinPods', (o) =>
        get(o, 'spec.minReplicas') === undefined ? '<unset>' : String(get(o, 'spec.minReplicas')),
      ),
      col('MaxPods', (o) => get(o, 'spec.maxReplicas') ?? 0, 'integer'),
      col('Replicas', (o) => get(o, 'status.currentReplicas') ?? 0, 'integer'),
    ],
  },
  {
    group: 'batch',
    version: 'v1',
    kind: 'CronJob',
    plural: 'cronjobs',
    singular: 'cronjob',
    shortNames: ['cj'],
    categories: ['all'],
    namespaced: true,
    subresources: ['status'],
    hasStatus: true,
    model: 'V1CronJob',
    columns: [
      col('Schedule', (o) => get(o, 'spec.schedule') ?? ''),
      col('Timezone', (o) => get(o, 'spec.timeZone') ?? '<none>'),
      // kube prints this one as text ("False", "True", "<unset>"), unlike its other boolean cells.
      col('Suspend', (o) => printBoolPtr(get(o, 'spec.suspend')), 'boolean'),
      col('Active', (o) => list(o, 'status.active').length, 'integer'),
      col('Last Schedule', (o) => since(o, 'status.lastScheduleTime')),
      AGE,
      ...containerColumns('spec.jobTemplate.spec.template.spec'),
      selectorColumn('spec.jobTemplate.spec.selector'),
    ],
  },
  {
    group: 'batch',
    version: 'v1',
    kind: 'Job',
    plural: 'jobs',
    singular: 'job',
    categories: ['all'],
    namespaced: true,
    subresources: ['status'],
    hasStatus: true,
    model: 'V1Job',
    fieldSelectors: ['status.successful'],
    columns: [
      col('Status', jobStatus),
      col('Completions', jobCompletions),
      col('Duration', jobDuration),
      AGE,
      ...containerColumns('spec.template.spec'),
      selectorColumn(),
    ],
  },
  {
    group: 'policy',
    version: 'v1',
    kind: 'PodDisruptionBudget',
    plural: 'poddisruptionbudgets',
    singular: 'poddisruptionbudget',
    shortNames: ['pdb'],
    namespaced: true,
    subresources: ['status'],
    hasStatus: true,
    model: 'V1PodDisruptionBudget',
    columns: [
      col('Min Available', (o) => intOrNA(get(o, 'spec.minAvailable'))),
      col('Max Unavailable', (o) => intOrNA(get(o, 'spec.maxUnavailable'))),
      col('Allowed Disruptions', (o) => get(o, 'status.disruptionsAllowed') ?? 0, 'integer'),
    ],
  },
];
