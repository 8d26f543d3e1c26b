import { hasCode } from '../../core/errors.js';
import type { KubeObject } from '../../core/kube.js';
import { Informer, WorkQueue, dropManagedFields, keyOf, runController } from '../../core/controller/index.js';
import type { ControllerContext, StartedController } from '../registry.js';
import { decide } from './decide.js';

export { decide, type HistoryInput, type HistoryPlan } from './decide.js';

const FIELD_MANAGER = 'kitfed-deployment-history';
const asSpec = (o: KubeObject) => (o.spec ?? {}) as { replicas?: number };

/**
 * Keeps the federation's record of every Deployment's revisions (`decide.ts`): reads the
 * Deployment and the namespace's ReplicaSets from informers, writes what `decide` says.
 */
export async function startDeploymentHistory(ctx: ControllerContext): Promise<StartedController> {
  const { federation } = ctx;
  const deployments = new Informer(federation, {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    transform: dropManagedFields,
  });
  const replicaSets = new Informer(federation, {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    transform: dropManagedFields,
  });
  const queue = new WorkQueue<string>();
  const enqueueOwner = (rs: KubeObject) => {
    const owner = rs.metadata.ownerReferences?.find((r) => r.controller === true && r.kind === 'Deployment');
    if (owner) queue.add(`${rs.metadata.namespace}/${owner.name}`);
  };
  deployments
    .onAdd((d) => queue.add(keyOf(d)))
    .onUpdate((_, d) => queue.add(keyOf(d)))
    .onDelete(() => undefined);
  replicaSets
    .onAdd(enqueueOwner)
    .onUpdate((before, after) => {
      enqueueOwner(before);
      enqueueOwner(after);
    })
    .onDelete(enqueueOwner);
  deployments.start();
  replicaSets.start();
  await Promise.all([deployments.synced, replicaSets.synced]);

  const reconcile = async (key: string): Promise<void> => {
    const d = deployments.get(key);
    if (!d) return;
    const ns = d.metadata.namespace;
    const plan = decide({
      deployment: d,
      replicaSets: replicaSets.list().filter((rs) => rs.metadata.namespace === ns),
    });
    const opts = { fieldManager: FIELD_MANAGER };
    if (plan.create) {
      try {
        await federation.create(plan.create, opts);
      } catch (err) {
        // Created meanwhile (a stale cache): the next pass sees it.
        if (!hasCode(err, 409)) throw err;
      }
    }
    // Merge patches, not updates: kitfed is the records' only writer, and a patch does not fail
    // on a cache a write behind (the next pass corrects what it left).
    for (const rs of plan.update) {
      const patch = { metadata: { annotations: rs.metadata.annotations }, spec: { replicas: asSpec(rs).replicas } };
      await federation.patch('apps/v1', 'ReplicaSet', ns, rs.metadata.name!, patch, 'merge', opts);
    }
    for (const rs of plan.updateStatus) {
      const before = replicaSets.get(keyOf(rs))?.status ?? {};
      const status = { ...Object.fromEntries(Object.keys(before).map((k) => [k, null])), ...(rs.status as object) };
      await federation.patch('apps/v1', 'ReplicaSet', ns, rs.metadata.name!, { status }, 'merge', {
        ...opts,
        subresource: 'status',
      });
    }
    for (const rs of plan.delete) {
      try {
        await federation.delete('apps/v1', 'ReplicaSet', ns, rs.metadata.name!, {
          preconditions: { uid: rs.metadata.uid },
        });
      } catch (err) {
        if (!hasCode(err, 404) && !hasCode(err, 409)) throw err;
      }
    }
  };
  const runner = runController({ name: 'deployment-history', queue, workers: 2, reconcile, metrics: ctx.metrics });
  return {
    async stop() {
      await runner.stop();
      await Promise.all([deployments.stop(), replicaSets.stop()]);
    },
  };
}
