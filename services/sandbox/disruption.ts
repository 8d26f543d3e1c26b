import type { Condition, KubeObject } from '../core/kube.js';
import { fromLabelSelector, matchesLabels } from '../apiserver/index.js';
import type { SimContext } from './context.js';
import { writeStatus } from './replicasets.js';
import {
  asObj,
  controllerOf,
  intOrPercent,
  isPodReady,
  num,
  setCondition,
  specOf,
  statusOf,
  type Obj,
} from './util.js';

/**
 * kube's disruption controller: PodDisruptionBudget status from the pods its selector matches
 * — expectedPods (the pods, or the scale of their controllers for a percentage or
 * maxUnavailable), desiredHealthy, currentHealthy (ready, not terminating), disruptionsAllowed and
 * the DisruptionAllowed condition (SufficientPods / InsufficientPods, SyncFailed when a pod's
 * controller has no scale).
 */

type LabelSelector = Parameters<typeof fromLabelSelector>[0];

const DELETION_TIMEOUT_MS = 2 * 60_000;

/** A pod's scalable controller: its uid and replicas (a Deployment's for its ReplicaSets' pods). */
export type ControllerScale = (pod: KubeObject) => { uid: string; replicas: number } | undefined;

export interface PdbDecision {
  status: Obj;
  events: Array<{ type: 'Normal' | 'Warning'; reason: string; message: string }>;
}

/** The pods a budget covers: policy/v1 selects every pod of the namespace for `{}`, none without a selector. */
export function pdbSelects(pdb: KubeObject, pod: KubeObject): boolean {
  const sel = specOf(pdb).selector as LabelSelector | undefined;
  if (!sel || pod.metadata.namespace !== pdb.metadata.namespace) return false;
  return matchesLabels(fromLabelSelector(sel), pod.metadata.labels);
}

export function decidePdb(
  pdb: KubeObject,
  pods: KubeObject[],
  scaleOf: ControllerScale,
  now: number = Date.now(),
): PdbDecision {
  const spec = specOf(pdb);
  const events: PdbDecision['events'] = [];
  const generation = pdb.metadata.generation ?? 1;
  // Pods an eviction let go count as disrupted until they are gone, for at most 2 minutes (kube's DeletionTimeout).
  const present = new Map(pods.map((p) => [p.metadata.name!, p]));
  const disrupted: Obj = {};
  for (const [name, at] of Object.entries(asObj(statusOf(pdb).disruptedPods))) {
    const pod = present.get(name);
    if (!pod || pod.metadata.deletionTimestamp || now - (Date.parse(String(at)) || 0) > DELETION_TIMEOUT_MS) continue;
    disrupted[name] = at;
  }
  const expectedScale = (): { count: number; error?: string } => {
    const seen = new Map<string, number>();
    const unmanaged: string[] = [];
    for (const p of pods) {
      const ref = controllerOf(p);
      if (!ref) {
        unmanaged.push(p.metadata.name!);
        continue;
      }
      const scale = scaleOf(p);
      if (!scale) return { count: 0, error: `found no controllers for pod "${p.metadata.name}"` };
      seen.set(scale.uid, scale.replicas);
    }
    if (unmanaged.length > 0)
      events.push({
        type: 'Warning',
        reason: 'UnmanagedPods',
        message:
          `Pods selected by this PodDisruptionBudget (selector: ${JSON.stringify(spec.selector)}) were found to be ` +
          'unmanaged. As a result, the status of the PDB cannot be calculated correctly, which may result in ' +
          'undefined behavior. To account for these pods please set ".spec.minAvailable" field of the PDB to an ' +
          'integer value.',
      });
    return { count: [...seen.values()].reduce((a, b) => a + b, 0) };
  };
  let expected = pods.length;
  let desired = 0;
  let error: string | undefined;
  if (spec.maxUnavailable !== undefined) {
    const e = expectedScale();
    expected = e.count;
    error = e.error;
    desired = Math.max(0, expected - intOrPercent(spec.maxUnavailable, expected, true, 0));
  } else if (typeof spec.minAvailable === 'string' && spec.minAvailable.endsWith('%')) {
    const e = expectedScale();
    expected = e.count;
    error = e.error;
    desired = intOrPercent(spec.minAvailable, expected, true, 0);
  } else if (spec.minAvailable !== undefined) {
    desired = intOrPercent(spec.minAvailable, expected, true, 0);
  }
  const healthy = pods.filter(
    (p) => !p.metadata.deletionTimestamp && !(p.metadata.name! in disrupted) && isPodReady(p),
  ).length;
  let list = (statusOf(pdb).conditions as Condition[] | undefined) ?? [];
  const status: Obj = { ...statusOf(pdb) };
  if (Object.keys(disrupted).length > 0) status.disruptedPods = disrupted;
  else delete status.disruptedPods;
  if (error) {
    events.push({
      type: 'Warning',
      reason: 'CalculateExpectedPodCountFailed',
      message: `Failed to calculate the number of expected pods: ${error}`,
    });
    list = setCondition(list, {
      type: 'DisruptionAllowed',
      status: 'False',
      reason: 'SyncFailed',
      message: error,
      observedGeneration: generation,
    });
    return { status: { ...status, disruptionsAllowed: 0, observedGeneration: generation, conditions: list }, events };
  }
  const allowed = expected <= 0 ? 0 : Math.max(0, healthy - desired);
  list = setCondition(list, {
    type: 'DisruptionAllowed',
    status: allowed > 0 ? 'True' : 'False',
    reason: allowed > 0 ? 'SufficientPods' : 'InsufficientPods',
    message: '',
    observedGeneration: generation,
  });
  return {
    status: {
      ...(Object.keys(disrupted).length > 0 ? { disruptedPods: disrupted } : {}),
      observedGeneration: generation,
      disruptionsAllowed: allowed,
      currentHealthy: healthy,
      desiredHealthy: desired,
      expectedPods: expected,
      conditions: list,
    },
    events,
  };
}

export class DisruptionController {
  /** Warnings already given per budget (uid → reason:message), so a resync does not repeat them. */
  private readonly warned = new Map<string, string>();

  constructor(private readonly ctx: SimContext) {}

  /** Something that may change the budgets of a namespace (a pod, a workload's scale). */
  touch(namespace: string | undefined): void {
    for (const pdb of this.ctx.cache.inNamespace('PodDisruptionBudget', namespace))
      this.ctx.enqueue('PodDisruptionBudget', `${namespace}/${pdb.metadata.name}`);
  }

  forget(uid: string | undefined): void {
    if (uid) this.warned.delete(uid);
  }

  private scaleOf: ControllerScale = (pod) => {
    const ref = controllerOf(pod);
    const ns = pod.metadata.namespace;
    if (!ref) return undefined;
    const get = (kind: 'ReplicaSet' | 'Deployment' | 'StatefulSet', name: string, uid?: string) => {
      const o = this.ctx.cache.get(kind, `${ns}/${name}`);
      return o && (!uid || o.metadata.uid === uid) ? o : undefined;
    };
    if (ref.kind === 'ReplicaSet') {
      const rs = get('ReplicaSet', ref.name, ref.uid);
      if (!rs) return undefined;
      const owner = controllerOf(rs);
      const d = owner?.kind === 'Deployment' ? get('Deployment', owner.name, owner.uid) : undefined;
      const o = d ?? rs;
      return { uid: o.metadata.uid!, replicas: num(specOf(o).replicas, 1) };
    }
    if (ref.kind === 'StatefulSet' || ref.kind === 'Deployment') {
      const o = get(ref.kind, ref.name, ref.uid);
      return o ? { uid: o.metadata.uid!, replicas: num(specOf(o).replicas, 1) } : undefined;
    }
    return undefined;
  };

  async sync(pdb: KubeObject): Promise<void> {
    if (pdb.metadata.deletionTimestamp) return;
    const pods = this.ctx.cache.inNamespace('Pod', pdb.metadata.namespace).filter((p) => pdbSelects(pdb, p));
    const d = decidePdb(pdb, pods, this.scaleOf);
    for (const e of d.events) {
      const seen = `${e.reason}:${e.message}`;
      if (this.warned.get(pdb.metadata.uid ?? '') === seen) continue;
      this.warned.set(pdb.metadata.uid ?? '', seen);
      this.ctx.events.emit(pdb, e.type, e.reason, e.message, 'controllermanager');
    }
    // Evictions write the budget's status too: never over a newer version of it.
    await writeStatus(this.ctx, 'PodDisruptionBudget', pdb, d.status, true);
  }
}
