import { hasCode } from '../../core/errors.js';
import type { KubeObject } from '../../core/kube.js';
import { Informer, WorkQueue, dropManagedFields, runController } from '../../core/controller/index.js';
import type { ControllerContext, StartedController } from '../registry.js';
import { RECORD_KINDS, decide } from './decide.js';

export { RECORD_KINDS, decide, type HistoryInput, type HistoryPlan, type RecordPatch } from './decide.js';

const FIELD_MANAGER = 'kitfed-rollout-history';

/**
 * Keeps the federation's record of every Deployment's, DaemonSet's and StatefulSet's revisions
 * (`decide.ts`): reads the workload and its namespace's records from informers, writes what
 * `decide` says. Keys are `Kind/namespace/name`.
 */
export async function startRolloutHistory(ctx: ControllerContext): Promise<StartedController> {
  const { federation } = ctx;
  const informer = (kind: string) =>
    new Informer(federation, { apiVersion: 'apps/v1', kind, transform: dropManagedFields });
  const owners = new Map(Object.keys(RECORD_KINDS).map((kind) => [kind, informer(kind)]));
  const records = new Map(['ReplicaSet', 'ControllerRevision'].map((kind) => [kind, informer(kind)]));
  const queue = new WorkQueue<string>();
  const enqueue = (o: KubeObject) => queue.add(`${o.kind}/${o.metadata.namespace}/${o.metadata.name}`);
  const enqueueOwner = (record: KubeObject) => {
    const owner = record.metadata.ownerReferences?.find((r) => r.controller === true && RECORD_KINDS[r.kind]);
    if (owner) queue.add(`${owner.kind}/${record.metadata.namespace}/${owner.name}`);
  };
  for (const [kind, inf] of owners) {
    // Informers hold what the list gave: the kind may be missing on an item.
    const typed = (o: KubeObject) => (o.kind ? o : { ...o, kind });
    inf.onAdd((o) => enqueue(typed(o))).onUpdate((_, o) => enqueue(typed(o)));
  }
  for (const inf of records.values())
    inf
      .onAdd(enqueueOwner)
      .onUpdate((before, after) => {
        enqueueOwner(before);
        enqueueOwner(after);
      })
      .onDelete(enqueueOwner);
  const all = [...owners.values(), ...records.values()];
  for (const inf of all) inf.start();
  await Promise.all(all.map((inf) => inf.synced));

  const reconcile = async (key: string): Promise<void> => {
    const [kind, namespace, name] = key.split('/') as [string, string, string];
    const found = owners.get(kind)?.get(`${namespace}/${name}`);
    const recordKind = RECORD_KINDS[kind];
    if (!found || !recordKind) return;
    const owner = { ...found, kind };
    const inNamespace = records
      .get(recordKind)!
      .list()
      .filter((r) => r.metadata.namespace === namespace);
    const plan = decide({ owner, records: inNamespace });
    const opts = { fieldManager: FIELD_MANAGER };
    if (plan.create) {
      try {
        await federation.create(plan.create, opts);
      } catch (err) {
        // Created meanwhile (a cache a write behind): the next pass sees it.
        if (!hasCode(err, 409)) throw err;
      }
    }
    // Merge patches, not updates: kitfed is the records' only writer, and a patch does not fail
    // on a cache a write behind (the next pass corrects what it left).
    for (const p of plan.patch)
      await federation.patch('apps/v1', recordKind, namespace, p.name, p.body, 'merge', {
        ...opts,
        ...(p.status ? { subresource: 'status' as const } : {}),
      });
    for (const r of plan.delete) {
      try {
        await federation.delete('apps/v1', recordKind, namespace, r.metadata.name!, {
          preconditions: { uid: r.metadata.uid },
        });
      } catch (err) {
        if (!hasCode(err, 404) && !hasCode(err, 409)) throw err;
      }
    }
  };
  const runner = runController({ name: 'rollout-history', queue, workers: 2, reconcile, metrics: ctx.metrics });
  return {
    async stop() {
      await runner.stop();
      await Promise.all(all.map((inf) => inf.stop()));
    },
  };
}
