/**
 * Health rules (kstatus-like) for what the deployer waits on: Deployments, ReplicaSets,
 * StatefulSets, DaemonSets, Jobs and Pods. Every other kind is healthy once applied.
 */
import type { Condition, KubeObject } from '../core/kube.js';
import type { HealthState } from './types.js';

export interface Health {
  state: HealthState;
  message: string;
}

const WORKLOADS = new Set(['Deployment', 'ReplicaSet', 'StatefulSet', 'DaemonSet', 'Job', 'Pod']);

export function isWorkload(kind: string): boolean {
  return WORKLOADS.has(kind);
}

type Rec = Record<string, unknown>;
const num = (v: unknown, d = 0): number => (typeof v === 'number' ? v : d);
const spec = (o: KubeObject): Rec => (o.spec as Rec | undefined) ?? {};
const status = (o: KubeObject): Rec => (o.status as Rec | undefined) ?? {};
const conditions = (o: KubeObject): Condition[] => (status(o).conditions as Condition[] | undefined) ?? [];
const cond = (o: KubeObject, type: string): Condition | undefined => conditions(o).find((c) => c.type === type);

const ok = (message = 'healthy'): Health => ({ state: 'healthy', message });
const wait = (message: string): Health => ({ state: 'progressing', message });
const fail = (message: string): Health => ({ state: 'failed', message });

function observed(o: KubeObject): Health | undefined {
  const og = status(o).observedGeneration;
  const gen = o.metadata.generation;
  if (typeof og === 'number' && typeof gen === 'number' && og < gen)
    return wait(`generation ${gen} not observed yet (${og})`);
  return undefined;
}

/**
 * A counter of a controller-written status: Kubernetes omits zero counters (`omitempty`), so once a
 * controller observed the generation an absent counter is 0 (kubectl rollout status reads it so).
 * Without `observedGeneration` (no controller writes status) it stays unknown.
 */
function counter(o: KubeObject, field: string): number | undefined {
  const s = status(o);
  if (typeof s[field] === 'number') return s[field];
  return typeof s.observedGeneration === 'number' ? 0 : undefined;
}

function deployment(o: KubeObject): Health {
  if (spec(o).paused === true) return fail('Deployment is paused');
  const p = cond(o, 'Progressing');
  if (p?.status === 'False' && p.reason === 'ProgressDeadlineExceeded')
    return fail(`ProgressDeadlineExceeded: ${p.message ?? ''}`.trim());
  const pending = observed(o);
  if (pending) return pending;
  const s = status(o);
  const want = num(spec(o).replicas, 1);
  const updated = counter(o, 'updatedReplicas');
  if (typeof updated === 'number' && updated < want) return wait(`${updated}/${want} replicas updated`);
  if (typeof updated === 'number' && num(s.replicas) > updated)
    return wait(`${num(s.replicas) - updated} old replicas pending termination`);
  const avail = num(s.availableReplicas);
  if (avail < want) return wait(`${avail}/${want} replicas available`);
  return ok(`${avail}/${want} replicas available`);
}

function replicaSet(o: KubeObject): Health {
  const pending = observed(o);
  if (pending) return pending;
  const want = num(spec(o).replicas, 1);
  const avail = num(status(o).availableReplicas);
  return avail >= want ? ok(`${avail}/${want} replicas available`) : wait(`${avail}/${want} replicas available`);
}

function statefulSet(o: KubeObject): Health {
  const pending = observed(o);
  if (pending) return pending;
  const s = status(o);
  const want = num(spec(o).replicas, 1);
  const updated = counter(o, 'updatedReplicas');
  if (updated !== undefined && updated < want) return wait(`${updated}/${want} replicas updated`);
  const ready = num(s.readyReplicas);
  return ready >= want ? ok(`${ready}/${want} replicas ready`) : wait(`${ready}/${want} replicas ready`);
}

function daemonSet(o: KubeObject): Health {
  const pending = observed(o);
  if (pending) return pending;
  const s = status(o);
  if (s.desiredNumberScheduled === undefined) return wait('not scheduled yet');
  const want = num(s.desiredNumberScheduled);
  const updated = counter(o, 'updatedNumberScheduled');
  if (updated !== undefined && updated < want) return wait(`${updated}/${want} pods updated`);
  const avail = num(s.numberAvailable);
  return avail >= want ? ok(`${avail}/${want} pods available`) : wait(`${avail}/${want} pods available`);
}

function job(o: KubeObject): Health {
  const failed = cond(o, 'Failed');
  if (failed?.status === 'True') return fail(`Job failed: ${failed.reason ?? ''} ${failed.message ?? ''}`.trim());
  if (cond(o, 'Complete')?.status === 'True') return ok('complete');
  return wait(`${num(status(o).succeeded)}/${num(spec(o).completions, 1)} completions`);
}

function pod(o: KubeObject): Health {
  const phase = status(o).phase;
  if (phase === 'Succeeded') return ok('succeeded');
  if (phase === 'Failed') return fail(`Pod failed: ${String(status(o).message ?? status(o).reason ?? '')}`);
  return cond(o, 'Ready')?.status === 'True' ? ok('ready') : wait(`phase ${String(phase ?? 'Pending')}`);
}

/** The health of a live object. */
export function evaluate(o: KubeObject): Health {
  switch (o.kind) {
    case 'Deployment':
      return deployment(o);
    case 'ReplicaSet':
      return replicaSet(o);
    case 'StatefulSet':
      return statefulSet(o);
    case 'DaemonSet':
      return daemonSet(o);
    case 'Job':
      return job(o);
    case 'Pod':
      return pod(o);
    default:
      return ok();
  }
}
