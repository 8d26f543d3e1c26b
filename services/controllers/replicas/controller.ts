/**
 * The ReplicaSet/Deployment scheduling controller. Watches federated ReplicaSets and
 * Deployments, and in every Ready member cluster the ReplicaSets, Deployments and Pods; each
 * reconcile (by key, through the shared WorkQueue) runs `decide` on the caches, writes to the
 * members through their request queues, records Events in the federation API and writes the
 * aggregated status (with the plan) through the `/status` subresource.
 */
import { KitfedError, messageOf } from '../../core/errors.js';
import { createLogger } from '../../core/log.js';
import { isObject, type Condition, type KubeObject } from '../../core/kube.js';
import type { KubeClient } from '../../core/kube-client.js';
import {
  Informer,
  WorkQueue,
  keyOf,
  runController,
  type ControllerMetrics,
  type MemberClusters,
  type RunningController,
} from '../../core/controller/index.js';
import { selectorMatches } from '../../planner/index.js';
import type { CleanupEntry, PendingCleanups } from '../cleanups.js';
import { FEDERATION_FINALIZER, ORPHAN_FINALIZER, Reasons } from '../constants.js';
import type { EventRecorder } from '../events.js';
import { withoutMarkers } from '../ownership.js';
import type { ControllerContext, StartedController } from '../registry.js';
import { federationOnly } from '../sync.js';
import { decide, type ClusterInfo, type Decision, type Operation } from './decide.js';
import { ORIGIN_UID_ANNOTATION, madeFrom, ownedBy } from './ownership.js';
import { SCHEDULED_CONDITION, PROPAGATED_CONDITION } from './status.js';
import type { MemberState, WorkloadKind } from './schedule.js';

export const REPLICA_KINDS: readonly WorkloadKind[] = ['ReplicaSet', 'Deployment'];
const API_VERSION = 'apps/v1';

export interface ReplicaControllerOptions {
  federation: KubeClient;
  members: MemberClusters;
  events: EventRecorder;
  metrics?: ControllerMetrics;
  /** Member-side cleanups owed to unavailable clusters (shared with the sync controllers). */
  cleanups?: PendingCleanups;
  /** @default 4 */
  workers?: number;
  /** Kinds to schedule. @default ['ReplicaSet', 'Deployment'] */
  kinds?: readonly WorkloadKind[];
  /**
   * A Ready cluster whose member caches are not synced yet holds reconciles back for this long
   * after it became Ready (so a start-up does not plan over fewer clusters); after that it is
   * treated as not Ready until its caches sync. @default 5000
   */
  syncGraceMs?: number;
  /** Add the federation finalizer before writing to members (the deletion controller removes it). @default true */
  ensureFinalizer?: boolean;
}

interface MemberCaches {
  client: KubeClient;
  readySince: number;
  workloads: Map<WorkloadKind, Informer>;
  pods: Informer;
}

/** Queue keys are `<Kind>|<namespace>/<name>`. */
type Key = string;
const makeKey = (kind: WorkloadKind, objKey: string): Key => `${kind}|${objKey}`;
function parseKey(key: Key): { kind: WorkloadKind; objKey: string } {
  const i = key.indexOf('|');
  return { kind: key.slice(0, i) as WorkloadKind, objKey: key.slice(i + 1) };
}

const log = createLogger('controller:replicas');

const OPS = {
  create: { ok: Reasons.CreateInCluster, failed: Reasons.CreateInClusterFailed, verb: 'Created' },
  update: { ok: Reasons.UpdateInCluster, failed: Reasons.UpdateInClusterFailed, verb: 'Updated' },
  delete: { ok: Reasons.DeleteInCluster, failed: Reasons.DeleteInClusterFailed, verb: 'Deleted' },
  orphan: {
    ok: Reasons.OrphanInCluster,
    failed: Reasons.OrphanInClusterFailed,
    verb: 'Released (ownership markers removed)',
  },
} as const;

export class ReplicaController {
  readonly queue = new WorkQueue<Key>();
  private readonly federated = new Map<WorkloadKind, Informer>();
  private readonly caches = new Map<string, MemberCaches>();
  private running: RunningController | undefined;
  private readonly kinds: readonly WorkloadKind[];
  private readonly syncGraceMs: number;
  private stopped = false;
  private readonly deferred = new Set<string>();
  private readonly clusterLabels = new Map<string, string>();
  /** Federated object keys by namespace, so a pod event only looks at its namespace's objects. */
  private readonly byNamespace = new Map<string, Set<Key>>();
  /** Writes not yet seen in the member caches: `cluster\0key` → what was written (null: deleted). */
  private readonly expectations = new Map<string, { written: KubeObject | null; previousRv: string | undefined }>();
  /** When a federated object's change was first observed (for the propagation-lag metric). */
  private readonly observedAt = new Map<string, number>();

  constructor(private readonly options: ReplicaControllerOptions) {
    this.kinds = options.kinds ?? REPLICA_KINDS;
    this.syncGraceMs = options.syncGraceMs ?? 5000;
    for (const kind of this.kinds) {
      const inf = new Informer(options.federation, { apiVersion: API_VERSION, kind, name: `federated-${kind}` });
      const enqueue = (o: KubeObject) => {
        const key = makeKey(kind, keyOf(o));
        const ns = o.metadata.namespace ?? '';
        let keys = this.byNamespace.get(ns);
        if (!keys) this.byNamespace.set(ns, (keys = new Set()));
        keys.add(key);
        this.observedAt.set(key, Date.now());
        this.queue.add(key);
      };
      inf
        .onAdd(enqueue)
        .onUpdate((_old, o) => enqueue(o))
        .onDelete((o) => {
          const key = makeKey(kind, keyOf(o));
          this.byNamespace.get(o.metadata.namespace ?? '')?.delete(key);
          this.observedAt.delete(key);
          this.queue.add(key);
        });
      this.federated.set(kind, inf);
    }
  }

  async start(): Promise<void> {
    const { members } = this.options;
    members.onReadyChange((c) => {
      for (const name of c.removed) void this.dropMember(name);
      for (const name of c.added) this.addMember(name);
      this.enqueueAll();
    });
    members.onClusterChange((name, cluster) => {
      // New Cluster labels may change what cluster selectors select.
      const labels = JSON.stringify(cluster?.metadata.labels ?? {});
      const before = this.clusterLabels.get(name);
      this.clusterLabels.set(name, labels);
      if (before !== undefined && before !== labels) this.enqueueAll();
      // A new client (credentials or address changed) means new member caches.
      const caches = this.caches.get(name);
      if (!caches) return;
      let client: KubeClient | undefined;
      try {
        client = members.client(name);
      } catch {
        client = undefined;
      }
      if (!cluster || client !== caches.client) {
        void this.dropMember(name).then(() => {
          if (cluster && members.isReady(name)) this.addMember(name);
          this.enqueueAll();
        });
      }
    });
    for (const name of members.ready()) this.addMember(name);
    for (const inf of this.federated.values()) inf.start();
    await Promise.all([...this.federated.values()].map((i) => i.synced));
    this.running = runController({
      name: 'replicas',
      queue: this.queue,
      workers: this.options.workers ?? 4,
      reconcile: (k) => this.reconcile(k),
      ...(this.options.metrics ? { metrics: this.options.metrics } : {}),
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.running?.stop();
    await Promise.all([...this.federated.values()].map((i) => i.stop()));
    await Promise.all([...this.caches.keys()].map((n) => this.dropMember(n)));
  }

  /** The federated object's key for every kind, re-reconciled (cluster set changed). */
  private enqueueAll(): void {
    for (const [kind, inf] of this.federated) for (const k of inf.keys()) this.queue.add(makeKey(kind, k));
  }

  private addMember(name: string): void {
    if (this.stopped || this.caches.has(name)) return;
    let client: KubeClient;
    try {
      client = this.options.members.client(name);
    } catch (err) {
      log.warn({ cluster: name, err: messageOf(err) }, 'no client for a Ready cluster');
      return;
    }
    const workloads = new Map<WorkloadKind, Informer>();
    for (const kind of this.kinds) {
      const inf = new Informer(client, { apiVersion: API_VERSION, kind, name: `${name}/${kind}` });
      const enqueue = (o: KubeObject) => {
        const k = keyOf(o);
        if (this.federated.get(kind)?.get(k)) this.queue.add(makeKey(kind, k));
      };
      inf
        .onAdd(enqueue)
        .onUpdate((_old, o) => enqueue(o))
        .onDelete(enqueue);
      workloads.set(kind, inf.start());
    }
    const pods = new Informer(client, { apiVersion: 'v1', kind: 'Pod', name: `${name}/Pod` });
    const podChanged = (p: KubeObject) => this.enqueueForPod(p);
    pods
      .onAdd(podChanged)
      .onUpdate((_old, p) => podChanged(p))
      .onDelete(podChanged);
    pods.start();
    const caches: MemberCaches = { client, readySince: Date.now(), workloads, pods };
    this.caches.set(name, caches);
    void Promise.all([...workloads.values(), pods].map((i) => i.synced)).then(async () => {
      if (this.caches.get(name) !== caches) return;
      try {
        await this.runCleanups(name, caches);
      } catch (err) {
        log.warn({ cluster: name, err: messageOf(err) }, 'deferred cleanups failed; retried on the next return');
      }
      this.enqueueAll();
    });
  }

  private async dropMember(name: string): Promise<void> {
    const caches = this.caches.get(name);
    if (!caches) return;
    this.caches.delete(name);
    for (const id of [...this.expectations.keys()]) if (id.startsWith(`${name}\u0000`)) this.expectations.delete(id);
    await Promise.all([...caches.workloads.values(), caches.pods].map((i) => i.stop()));
  }

  /** A member pod changed: reconcile the federated objects in its namespace whose selector matches it. */
  private enqueueForPod(pod: KubeObject): void {
    for (const key of this.byNamespace.get(pod.metadata.namespace ?? '') ?? []) {
      const { kind, objKey } = parseKey(key);
      const fed = this.federated.get(kind)?.get(objKey);
      const spec = fed && isObject(fed.spec) ? fed.spec : undefined;
      if (spec && selectorMatches(spec.selector, pod.metadata.labels)) this.queue.add(key);
    }
  }

  /** Ready clusters usable now; `wait` when one just became Ready and its caches are still syncing. */
  private usableClusters(): { clusters: ClusterInfo[]; wait: boolean } {
    const { members } = this.options;
    const clusters: ClusterInfo[] = [];
    let wait = false;
    for (const name of members.ready()) {
      if (!this.caches.has(name)) this.addMember(name); // e.g. its client appeared after the Ready change
      const caches = this.caches.get(name);
      if (!caches) continue; // no client: not usable
      const synced = [...caches.workloads.values()].every((i) => i.hasSynced()) && caches.pods.hasSynced();
      if (!synced) {
        if (Date.now() - caches.readySince < this.syncGraceMs) wait = true;
        continue;
      }
      clusters.push({ name, labels: members.cluster(name)?.metadata.labels });
    }
    return { clusters, wait };
  }

  async reconcile(key: Key): Promise<{ requeueAfterMs?: number } | void> {
    const { kind, objKey } = parseKey(key);
    const fed = this.federated.get(kind)?.get(objKey);
    if (!fed || federationOnly(fed)) return; // gone (its copies were handled under the finalizer), or federation-only (kitfed-system, ...)
    const { clusters, wait } = this.usableClusters();
    if (wait) return { requeueAfterMs: 100 };
    if (fed.metadata.deletionTimestamp) return this.finalize(kind, objKey, fed, clusters);

    const members: Record<string, MemberState> = {};
    const ns = fed.metadata.namespace ?? '';
    for (const c of clusters) {
      const caches = this.caches.get(c.name)!;
      const object = this.memberObject(c.name, kind, objKey);
      // Pods are only looked at when the copy is not fully ready (v1 §1.6).
      members[c.name] = {
        object,
        pods:
          object && !fullyReady(object)
            ? ownedPods(
                object,
                caches.pods.list().filter((p) => (p.metadata.namespace ?? '') === ns),
                caches.workloads.get('ReplicaSet')?.list() ?? [],
              )
            : [],
      };
    }
    const decision = decide({ federated: fed, readyClusters: clusters, members });

    let current = fed;
    if (
      decision.operations.some((o) => o.type !== 'delete') &&
      this.options.ensureFinalizer !== false &&
      !(fed.metadata.finalizers ?? []).includes(FEDERATION_FINALIZER)
    ) {
      // v1 §3.5: the finalizer is in place before anything exists in a member.
      const updated = await this.patchFederated(fed, [
        { op: 'add', path: '/metadata/finalizers', value: [...(fed.metadata.finalizers ?? []), FEDERATION_FINALIZER] },
      ]);
      if (!updated) return; // deleted meanwhile
      current = updated;
    }

    this.recordDecisionEvents(fed, decision);
    // The status (with the plan) and the member writes go out together; none waits for another.
    const [status, ...results] = await Promise.allSettled([
      decision.statusChanged ? this.writeStatus(current, decision.status) : Promise.resolve(),
      ...decision.operations.map((op) => this.execute(fed, op)),
    ]);
    if (status!.status === 'rejected') throw status!.reason;
    const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed.length > 0)
      throw new KitfedError(
        `${failed.length} member write(s) failed: ${failed.map((f) => messageOf(f.reason)).join('; ')}`,
        503,
        'ServiceUnavailable',
      );
    if (decision.recheckAt !== undefined) return { requeueAfterMs: Math.max(0, decision.recheckAt - Date.now()) + 10 };
  }

  /**
   * A federated object being deleted, as the sync controllers do it: cascade (delete the copies
   * made from it) or orphan (remove the ownership markers) in every usable member; for the other
   * registered clusters the work goes to the shared cleanup store and is done when they return.
   * Then the federation finalizer is removed.
   */
  private async finalize(
    kind: WorkloadKind,
    objKey: string,
    fed: KubeObject,
    usable: readonly ClusterInfo[],
  ): Promise<{ requeueAfterMs?: number } | void> {
    const finalizers = fed.metadata.finalizers ?? [];
    if (!finalizers.includes(FEDERATION_FINALIZER)) return;
    const orphan = finalizers.includes(ORPHAN_FINALIZER);
    const uid = fed.metadata.uid ?? '';
    const available = new Set(usable.map((c) => c.name));
    const entry: CleanupEntry = {
      apiVersion: API_VERSION,
      kind,
      namespace: fed.metadata.namespace,
      name: fed.metadata.name!,
      uid,
      action: orphan ? 'orphan' : 'delete',
    };
    const ops: Array<() => Promise<void>> = [];
    let waiting = false;
    for (const cluster of this.options.members.names()) {
      if (!available.has(cluster)) {
        const id = `${cluster}|${uid}|${entry.action}`;
        if (this.options.cleanups && !this.deferred.has(id)) {
          await this.options.cleanups.remember(cluster, entry);
          this.deferred.add(id);
          this.options.events.record(
            fed,
            'Normal',
            Reasons.CleanupDeferred,
            `Cluster unavailable: ${orphan ? 'releasing' : 'deleting'} ${kind} "${objKey}" there is remembered and done when it returns`,
            cluster,
          );
        }
        continue;
      }
      const local = this.memberObject(cluster, kind, objKey);
      if (!local || !madeFrom(local, fed)) continue;
      if (!orphan && local.metadata.deletionTimestamp) continue;
      waiting = true;
      ops.push(() =>
        this.execute(
          fed,
          orphan
            ? { type: 'orphan', cluster, object: withoutMarkers(local) }
            : { type: 'delete', cluster, object: local },
        ),
      );
    }
    const failed = (await Promise.allSettled(ops.map((op) => op()))).filter(
      (r): r is PromiseRejectedResult => r.status === 'rejected',
    );
    if (failed.length > 0)
      throw new KitfedError(
        `${failed.length} member write(s) failed: ${failed.map((f) => messageOf(f.reason)).join('; ')}`,
        503,
        'ServiceUnavailable',
      );
    // Confirmed by the member caches: come back until no copy is left.
    if (waiting) return { requeueAfterMs: 200 };
    await this.patchFederated(fed, [
      { op: 'replace', path: '/metadata/finalizers', value: finalizers.filter((f) => f !== FEDERATION_FINALIZER) },
    ]);
    for (const id of [...this.deferred]) if (id.includes(`|${uid}|`)) this.deferred.delete(id);
  }

  /** Deferred cleanups owed to `cluster` for ReplicaSets/Deployments, done once its caches have synced. */
  private async runCleanups(cluster: string, caches: MemberCaches): Promise<void> {
    const store = this.options.cleanups;
    if (!store) return;
    for (const e of await store.entries(cluster)) {
      const inf = e.apiVersion === API_VERSION ? caches.workloads.get(e.kind as WorkloadKind) : undefined;
      if (!inf) continue;
      const key = e.namespace ? `${e.namespace}/${e.name}` : e.name;
      const local = inf.get(key);
      if (local && ownedBy(local) && local.metadata.annotations?.[ORIGIN_UID_ANNOTATION] === e.uid) {
        await this.options.members.run(cluster, async (client) => {
          try {
            if (e.action === 'delete')
              await client.delete(e.apiVersion, e.kind, e.namespace, e.name, {
                propagationPolicy: 'Background',
                preconditions: { uid: local.metadata.uid! },
              });
            else await client.update(withoutMarkers(local));
          } catch (err) {
            if (!(err instanceof KitfedError && (err.code === 404 || err.code === 409))) throw err;
          }
        });
        const ghost: KubeObject = {
          apiVersion: e.apiVersion,
          kind: e.kind,
          metadata: { name: e.name, namespace: e.namespace, uid: e.uid },
        };
        this.options.events.record(
          ghost,
          'Normal',
          Reasons.DeferredCleanupDone,
          `${e.action === 'delete' ? 'Deleted' : 'Released'} ${e.kind} "${key}" left behind while the cluster was unavailable`,
          cluster,
        );
      }
      await store.forget(cluster, e);
    }
  }

  private async writeStatus(fed: KubeObject, status: Record<string, unknown>): Promise<void> {
    await this.patchFederated(fed, [{ op: 'add', path: '/status', value: status }], 'status');
  }

  /**
   * A JSON patch of the federated object guarded by its uid (a write never resurrects a deleted
   * object, whatever the cache says). Undefined when the object is gone.
   */
  private async patchFederated(
    fed: KubeObject,
    ops: unknown[],
    subresource?: 'status',
  ): Promise<KubeObject | undefined> {
    try {
      return await this.options.federation.patch(
        fed.apiVersion,
        fed.kind,
        fed.metadata.namespace,
        fed.metadata.name!,
        [{ op: 'test', path: '/metadata/uid', value: fed.metadata.uid }, ...ops],
        'json',
        { fieldManager: 'kitfed-replicas', ...(subresource ? { subresource } : {}) },
      );
    } catch (err) {
      if (err instanceof KitfedError && err.code === 404) return undefined;
      throw err;
    }
  }

  private async execute(
    fed: KubeObject,
    op: Operation | { type: 'orphan'; cluster: string; object: KubeObject },
  ): Promise<void> {
    const { members, events } = this.options;
    const what = `${fed.kind} "${keyOf(fed)}"`;
    const r = OPS[op.type];
    const detail =
      op.type === 'create'
        ? ` with ${op.replicas} replica(s)`
        : op.type === 'update' && op.replicas !== op.previousReplicas
          ? ` (replicas ${op.previousReplicas} → ${op.replicas})`
          : '';
    try {
      const cached = this.caches
        .get(op.cluster)
        ?.workloads.get(fed.kind as WorkloadKind)
        ?.get(keyOf(fed));
      const written = await members.run(op.cluster, async (client): Promise<KubeObject | null> => {
        if (op.type === 'create') return client.create(op.object, { fieldManager: 'kitfed' });
        if (op.type === 'update' || op.type === 'orphan') {
          // A patch guarded by uid, not a PUT guarded by resourceVersion: the member's own status
          // updates must not make kitfed's spec writes conflict (v1 wrote unconditionally).
          const o = op.object;
          const patch = [
            { op: 'test', path: '/metadata/uid', value: o.metadata.uid },
            { op: 'add', path: '/metadata/labels', value: o.metadata.labels ?? {} },
            { op: 'add', path: '/metadata/annotations', value: o.metadata.annotations ?? {} },
            ...(op.type === 'update' ? [{ op: 'add', path: '/spec', value: o.spec }] : []),
          ];
          return client.patch(o.apiVersion, o.kind, o.metadata.namespace, o.metadata.name!, patch, 'json', {
            fieldManager: 'kitfed',
          });
        }
        try {
          await client.delete(
            op.object.apiVersion,
            op.object.kind,
            op.object.metadata.namespace,
            op.object.metadata.name!,
            { propagationPolicy: 'Background', preconditions: { uid: op.object.metadata.uid! } },
          );
        } catch (err) {
          if (!(err instanceof KitfedError && err.code === 404)) throw err;
        }
        return null;
      });
      // Until the member cache shows this write, reconciles see what was written (no duplicate create).
      this.expect(op.cluster, `${fed.kind}|${keyOf(fed)}`, written, cached?.metadata.resourceVersion);
      events.record(fed, 'Normal', r.ok, `${r.verb} ${what}${detail}`, op.cluster);
      const since = this.observedAt.get(`${fed.kind}|${keyOf(fed)}`);
      if (since !== undefined && op.type !== 'delete' && op.type !== 'orphan')
        this.options.metrics?.propagationSeconds.observe({ kind: fed.kind }, (Date.now() - since) / 1000);
    } catch (err) {
      // A write racing our own cache (409: exists / modified) is settled by the member informer's next event;
      // a create answered 404 waits for the sync controller to create the namespace in the member.
      const benign = err instanceof KitfedError && (err.code === 409 || (op.type === 'create' && err.code === 404));
      if (!benign)
        events.record(fed, 'Warning', r.failed, `Failed to ${op.type} ${what}: ${messageOf(err)}`, op.cluster);
      throw err;
    }
  }

  /** Remembers a write to `cluster` until its member cache moves past `previousRv`. */
  private expect(cluster: string, key: Key, written: KubeObject | null, previousRv: string | undefined): void {
    this.expectations.set(`${cluster}\u0000${key}`, { written, previousRv });
  }

  /** The member's object for `key`: the cache, unless a write of ours is newer than it. */
  private memberObject(cluster: string, kind: WorkloadKind, objKey: string): KubeObject | undefined {
    const cached = this.caches.get(cluster)?.workloads.get(kind)?.get(objKey);
    const id = `${cluster}\u0000${makeKey(kind, objKey)}`;
    const e = this.expectations.get(id);
    if (!e) return cached;
    if (cached && cached.metadata.resourceVersion === e.previousRv) return e.written ?? undefined;
    if (!cached && e.written !== null && e.previousRv === undefined) return e.written;
    this.expectations.delete(id);
    return cached;
  }

  /** Events on transitions only: a new plan, replicas that cannot be placed, objects not owned. */
  private recordDecisionEvents(fed: KubeObject, d: Decision): void {
    const { events } = this.options;
    const before = conditionOf(fed.status, SCHEDULED_CONDITION);
    const after = conditionOf(d.status, SCHEDULED_CONDITION);
    if (after && after.message !== before?.message) {
      if (after.status === 'False')
        events.record(fed, 'Warning', 'FailedScheduling', `${after.reason}: ${after.message}`);
      else if (d.schedule)
        events.record(
          fed,
          'Normal',
          'ReplicasPlanned',
          `plan ${Object.entries(d.schedule.replicas)
            .map(([c, n]) => `${c}=${n}`)
            .join(', ')}`,
        );
    }
    const pBefore = conditionOf(fed.status, PROPAGATED_CONDITION);
    const pAfter = conditionOf(d.status, PROPAGATED_CONDITION);
    if (pAfter?.reason === 'NotOwned' && pAfter.message !== pBefore?.message)
      events.record(fed, 'Warning', 'NotOwned', pAfter.message ?? '');
  }
}

function controllerUid(o: KubeObject): string | undefined {
  return o.metadata.ownerReferences?.find((r) => r.controller)?.uid;
}

/**
 * The member pods that belong to `object`: controlled by it (a ReplicaSet) or by one of its
 * ReplicaSets (a Deployment). A selector alone is not enough: another workload's pods with the
 * same labels (e.g. a Deployment of the same app deployed by GitOps) must not count as this
 * object's replicas or capacity, or the plan drifts. Pods with no controller are kept, as the
 * member's own controller would adopt them.
 */
export function ownedPods(object: KubeObject, pods: KubeObject[], replicaSets: KubeObject[]): KubeObject[] {
  const uid = object.metadata.uid;
  if (!uid) return pods;
  const owners = new Set([uid]);
  if (object.kind === 'Deployment')
    for (const rs of replicaSets) if (controllerUid(rs) === uid && rs.metadata.uid) owners.add(rs.metadata.uid);
  return pods.filter((p) => {
    const owner = controllerUid(p);
    return owner === undefined || owners.has(owner);
  });
}

function fullyReady(o: KubeObject): boolean {
  const replicas = isObject(o.spec) && typeof o.spec.replicas === 'number' ? o.spec.replicas : 1;
  const ready = isObject(o.status) && typeof o.status.readyReplicas === 'number' ? o.status.readyReplicas : 0;
  return replicas === ready;
}

function conditionOf(status: unknown, type: string): Condition | undefined {
  if (!isObject(status) || !Array.isArray(status.conditions)) return undefined;
  return (status.conditions as Condition[]).find((c) => c.type === type);
}

/** Starts the controller on the controller manager's context (see `controllers` in registry.ts). */
export async function startReplicaController(
  ctx: ControllerContext,
  options: Partial<ReplicaControllerOptions> = {},
): Promise<StartedController> {
  const c = new ReplicaController({
    federation: ctx.federation,
    members: ctx.members,
    events: ctx.events,
    metrics: ctx.metrics,
    cleanups: ctx.cleanups,
    ...options,
  });
  await c.start();
  return c;
}
