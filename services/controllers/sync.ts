import isEqual from 'lodash/isEqual.js';
import { KitfedError, messageOf } from '../core/errors.js';
import { createLogger } from '../core/log.js';
import type { KubeObject } from '../core/kube.js';
import {
  dropManagedFields,
  Informer,
  keyOf,
  runController,
  splitKey,
  WorkQueue,
  type RunningController,
} from '../core/controller/index.js';
import type { CleanupEntry } from './cleanups.js';
import {
  ADOPT_ANNOTATION,
  CLUSTER_SELECTOR_ANNOTATION,
  CONDITIONS_ANNOTATION,
  FEDERATION_FINALIZER,
  FEDERATION_ONLY_NAMESPACES,
  ORPHAN_FINALIZER,
  Reasons,
  UNSYNCED_NAMESPACE_OBJECTS,
} from './constants.js';
import type { SyncKind } from './kinds.js';
import { isManaged, originUid, withMarkers, withoutMarkers } from './ownership.js';
import type { ControllerContext } from './registry.js';
import { matchesSelector, parseClusterSelector, SelectorError } from './selector.js';

interface SyncCondition {
  type: 'Synced';
  status: 'True' | 'False';
  reason: string;
  message: string;
  lastTransitionTime: string;
}

type Op = 'create' | 'update' | 'adopt' | 'delete' | 'orphan';

const OP_REASONS: Record<Op, { ok: string; failed: string; verb: string }> = {
  create: { ok: Reasons.CreateInCluster, failed: Reasons.CreateInClusterFailed, verb: 'Created' },
  update: { ok: Reasons.UpdateInCluster, failed: Reasons.UpdateInClusterFailed, verb: 'Updated' },
  adopt: { ok: Reasons.Adopted, failed: Reasons.UpdateInClusterFailed, verb: 'Adopted' },
  delete: { ok: Reasons.DeleteInCluster, failed: Reasons.DeleteInClusterFailed, verb: 'Deleted' },
  orphan: {
    ok: Reasons.OrphanInCluster,
    failed: Reasons.OrphanInClusterFailed,
    verb: 'Released (ownership markers removed)',
  },
};

const MEMBER_EVENT_COALESCE_MS = 10;

/**
 * True for federated objects that stay in the federation: its own namespaces and their content,
 * and what every cluster makes for itself in each namespace (the `default` ServiceAccount, the
 * `kube-root-ca.crt` ConfigMap with that cluster's own CA, ServiceAccount token Secrets).
 */
export function federationOnly(obj: KubeObject): boolean {
  if (obj.kind === 'Namespace') return UNSYNCED_NAMESPACE_OBJECTS.has(obj.metadata.name ?? '');
  return (
    FEDERATION_ONLY_NAMESPACES.has(obj.metadata.namespace ?? '') ||
    (obj.kind === 'Secret' && obj.type === 'kubernetes.io/service-account-token') ||
    (obj.kind === 'ConfigMap' && obj.metadata.name === 'kube-root-ca.crt') ||
    (obj.kind === 'ServiceAccount' && obj.metadata.name === 'default')
  );
}

/**
 * The generic sync controller, one instance per kind: makes every selected available member
 * hold a copy of each federated object. Member writes go through the member's own queue and
 * are not awaited by the reconcile, so a slow member delays only itself; member informers
 * bring changes (and drift) back as keys to reconcile.
 */
export class SyncController {
  readonly name: string;
  readonly federated: Informer;
  private readonly queue = new WorkQueue<string>();
  private readonly memberInformers = new Map<string, Informer>();
  private readonly inflight = new Map<string, { again: boolean }>();
  private readonly observedAt = new Map<string, number>();
  private readonly reported = new Map<string, string>();
  private readonly deferred = new Set<string>();
  private readonly clusterLabels = new Map<string, string>();
  /** Members whose deferred cleanups ran since their informer started. */
  private readonly cleanupsDone = new Set<string>();
  private runner: RunningController | undefined;
  private stopped = false;
  private readonly log;

  constructor(
    private readonly ctx: ControllerContext,
    readonly kind: SyncKind,
    private readonly workers = 16,
  ) {
    this.name = `sync-${kind.kind.toLowerCase()}`;
    this.log = createLogger(`controller:${this.name}`);
    this.federated = new Informer(ctx.federation, {
      apiVersion: kind.apiVersion,
      kind: kind.kind,
      name: `federation-${kind.kind}`,
      transform: dropManagedFields,
    });
    const enqueue = (o: KubeObject) => {
      const key = keyOf(o);
      this.observedAt.set(key, Date.now());
      this.queue.add(key);
    };
    this.federated
      .onAdd(enqueue)
      .onUpdate((_a, b) => enqueue(b))
      .onDelete((o) => {
        const key = keyOf(o);
        this.observedAt.delete(key);
        this.reported.delete(key);
      });
  }

  async start(): Promise<void> {
    this.federated.start();
    await this.federated.synced;
    this.ctx.members.onReadyChange(() => this.syncMemberInformers());
    this.ctx.members.onClusterChange((name, c) => {
      const labels = JSON.stringify(c?.metadata.labels ?? {});
      const before = this.clusterLabels.get(name);
      this.clusterLabels.set(name, labels);
      if (before !== undefined && before !== labels) this.enqueueAll();
      this.syncMemberInformers();
    });
    this.syncMemberInformers();
    this.runner = runController({
      name: this.name,
      queue: this.queue,
      workers: this.workers,
      reconcile: (key) => this.reconcile(key),
      metrics: this.ctx.metrics,
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.runner?.stop();
    await Promise.all([this.federated.stop(), ...[...this.memberInformers.values()].map((i) => i.stop())]);
    this.memberInformers.clear();
  }

  /** The member informer of `cluster` for this kind (undefined when the cluster is not Ready). */
  memberInformer(cluster: string): Informer | undefined {
    return this.memberInformers.get(cluster);
  }

  private enqueueAll(): void {
    for (const key of this.federated.keys()) this.queue.add(key);
  }

  /** One informer per Ready member; dropped when it stops being Ready or its client changes. */
  private syncMemberInformers(): void {
    if (this.stopped) return;
    const ready = new Set(this.ctx.members.ready());
    for (const [name, inf] of this.memberInformers) {
      let client;
      try {
        client = this.ctx.members.client(name);
      } catch {
        client = undefined;
      }
      if (!ready.has(name) || client !== inf.client) {
        this.memberInformers.delete(name);
        this.cleanupsDone.delete(name);
        void inf.stop();
      }
    }
    for (const name of ready) {
      if (this.memberInformers.has(name)) continue;
      const inf = new Informer(this.ctx.members.client(name), {
        apiVersion: this.kind.apiVersion,
        kind: this.kind.kind,
        name: `${name}-${this.kind.kind}`,
        transform: dropManagedFields,
      });
      // Member events are coalesced for a few ms: a write to 100 members echoes back as 100
      // events for one key, which one reconcile covers (drift is still reverted within ms).
      const onMember = (o: KubeObject) => {
        const key = keyOf(o);
        if (this.federated.get(key) || isManaged(o)) this.queue.addAfter(key, MEMBER_EVENT_COALESCE_MS);
      };
      inf
        .onAdd(onMember)
        .onUpdate((_a, b) => onMember(b))
        .onDelete(onMember);
      this.memberInformers.set(name, inf);
      inf.start();
      void inf.synced.then(async () => {
        // Deferred cleanups first (retried with backoff while the member stays Ready), then every key.
        for (let attempt = 0; this.memberInformers.get(name) === inf && !this.stopped; attempt++) {
          try {
            await this.runCleanups(name, inf);
            if (this.memberInformers.get(name) === inf) this.cleanupsDone.add(name);
            break;
          } catch (err) {
            this.log.warn({ cluster: name, attempt, err: messageOf(err) }, 'deferred cleanups failed; retrying');
            if (attempt === 0) this.enqueueAll();
            await new Promise((r) => setTimeout(r, Math.min(100 * 2 ** attempt, 30_000)));
          }
        }
        if (this.memberInformers.get(name) !== inf) return;
        this.enqueueAll();
        for (const o of inf.list()) if (isManaged(o) && !this.federated.get(keyOf(o))) this.queue.add(keyOf(o));
      });
    }
  }

  /** Members that are Ready and whose informer for this kind has synced. */
  private available(): string[] {
    return this.ctx.members.ready().filter((n) => this.memberInformers.get(n)?.hasSynced());
  }

  private async reconcile(key: string): Promise<{ requeueAfterMs?: number } | void> {
    try {
      return await this.reconcileKey(key);
    } catch (err) {
      // Our cache was behind the federation: the watch brings the newer object (and the key) back.
      if (err instanceof KitfedError && err.code === 409) return { requeueAfterMs: 200 };
      // The federated object went away meanwhile: its delete event brings the key back.
      if (err instanceof KitfedError && err.code === 404 && !this.federated.get(key)?.metadata.uid) return;
      if (err instanceof KitfedError && err.code === 404) return { requeueAfterMs: 200 };
      throw err;
    }
  }

  private async reconcileKey(key: string): Promise<{ requeueAfterMs?: number } | void> {
    const fed = this.federated.get(key);
    if (!fed) return this.collectLeftovers(key);
    if (federationOnly(fed)) return;
    if (fed.metadata.deletionTimestamp) return this.finalize(key, fed);
    let obj = fed;
    // The finalizer write runs alongside the member creates (one round trip less per object);
    // should the object be deleted before it lands, collectLeftovers removes the copies.
    let finalizerWrite: Promise<KubeObject> | undefined;
    if (!(obj.metadata.finalizers ?? []).includes(FEDERATION_FINALIZER)) {
      finalizerWrite = this.ctx.federation.update({
        ...obj,
        metadata: { ...obj.metadata, finalizers: [...(obj.metadata.finalizers ?? []), FEDERATION_FINALIZER] },
      });
      finalizerWrite.catch(() => undefined);
    }
    try {
      return await this.sync(key, obj, finalizerWrite);
    } finally {
      await finalizerWrite?.catch(() => undefined);
    }
  }

  private async sync(key: string, fed: KubeObject, finalizerWrite: Promise<KubeObject> | undefined): Promise<void> {
    let obj = fed;
    let reqs;
    try {
      reqs = parseClusterSelector(obj.metadata.annotations?.[CLUSTER_SELECTOR_ANNOTATION]);
    } catch (err) {
      if (!(err instanceof SelectorError)) throw err;
      const message = `annotation ${CLUSTER_SELECTOR_ANNOTATION} is invalid: ${err.message}; nothing is synced until it is fixed`;
      await this.report(key, obj, Reasons.ClusterSelectorInvalid, message);
      return;
    }
    const notOwned: string[] = [];
    const locals: KubeObject[] = [];
    const desired = withMarkers(this.kind.desired(obj), obj);
    const adopt = obj.metadata.annotations?.[ADOPT_ANNOTATION] === 'true';
    for (const cluster of this.available()) {
      const local = this.memberInformers.get(cluster)!.get(key);
      const selected = matchesSelector(reqs, this.ctx.members.cluster(cluster)?.metadata.labels);
      if (selected) {
        if (!local) this.dispatch(cluster, key, obj, 'create', () => desired);
        else if (!isManaged(local)) {
          if (adopt) this.dispatch(cluster, key, obj, 'adopt', () => this.kind.merge(desired, local));
          else notOwned.push(cluster);
        } else {
          locals.push(local);
          if (!this.kind.equivalent(desired, local))
            this.dispatch(cluster, key, obj, 'update', () => this.kind.merge(desired, local));
        }
      } else if (local && isManaged(local)) {
        this.dispatch(cluster, key, obj, 'delete', () => local);
      }
    }
    if (finalizerWrite) obj = { ...(await finalizerWrite), apiVersion: this.kind.apiVersion, kind: this.kind.kind };
    if (notOwned.length > 0) {
      await this.report(
        key,
        obj,
        Reasons.NotOwned,
        `an object with this name exists in cluster(s) ${notOwned.join(', ')} and was not created by kitfed; it is left alone (annotate the federated object ${ADOPT_ANNOTATION}="true" to adopt it)`,
      );
    } else {
      await this.report(key, obj, undefined, '');
    }
    const status = this.kind.aggregateStatus?.(obj, locals);
    if (status) {
      await this.ctx.federation.update({ ...obj, status }, { subresource: 'status' });
    }
  }

  /**
   * A member copy kitfed made whose federated object is gone without kitfed's finalizer having
   * run (deleted before the finalizer landed, or a cluster re-joined with leftovers): deleted.
   */
  private async collectLeftovers(key: string): Promise<void> {
    for (const cluster of this.available()) {
      // Only once the member's deferred cleanups ran: an orphaned copy must lose its markers, not be deleted.
      if (!this.cleanupsDone.has(cluster)) continue;
      const local = this.memberInformers.get(cluster)!.get(key);
      if (!local || !isManaged(local) || local.metadata.deletionTimestamp || federationOnly(local)) continue;
      const ghost: KubeObject = {
        apiVersion: this.kind.apiVersion,
        kind: this.kind.kind,
        metadata: { name: local.metadata.name, namespace: local.metadata.namespace, uid: originUid(local) },
      };
      if (this.kind.kind === 'Namespace') await this.deleteMemberNamespace(cluster, key, ghost, local);
      else this.dispatch(cluster, key, ghost, 'delete', () => local);
    }
  }

  /** Records (once per change) a problem as a Warning event and the Synced=False condition; clears it when gone. */
  private async report(key: string, obj: KubeObject, reason: string | undefined, message: string): Promise<void> {
    const signature = reason ? `${reason}|${message}` : '';
    const current = obj.metadata.annotations?.[CONDITIONS_ANNOTATION];
    if ((this.reported.get(key) ?? '') === signature && (reason !== undefined || current === undefined)) return;
    let previous: SyncCondition | undefined;
    try {
      previous = current ? (JSON.parse(current) as SyncCondition[]).find((c) => c.type === 'Synced') : undefined;
    } catch {
      previous = undefined;
    }
    if (reason && !(previous?.reason === reason && previous.message === message))
      this.ctx.events.record(obj, 'Warning', reason, message);
    this.reported.set(key, signature);
    let value: string | null = null;
    if (reason) {
      const cond: SyncCondition = {
        type: 'Synced',
        status: 'False',
        reason,
        message,
        lastTransitionTime:
          previous?.status === 'False'
            ? previous.lastTransitionTime
            : new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
      };
      if (previous && isEqual(previous, cond)) return;
      value = JSON.stringify([cond]);
    } else if (current === undefined) {
      return;
    }
    const { namespace, name } = splitKey(key);
    await this.ctx.federation.patch(
      this.kind.apiVersion,
      this.kind.kind,
      this.kind.namespaced ? namespace : undefined,
      name,
      { metadata: { annotations: { [CONDITIONS_ANNOTATION]: value } } },
    );
  }

  /**
   * Starts `op` for `key` in `cluster` through the member's queue unless one is in flight
   * (then the key is reconciled again when it ends). Success and failure are Events; a
   * failure requeues the key with backoff.
   */
  private dispatch(
    cluster: string,
    key: string,
    fed: KubeObject,
    op: Op,
    build: () => KubeObject,
    after?: () => Promise<void>,
  ): void {
    const id = `${cluster}\u0000${key}`;
    const running = this.inflight.get(id);
    if (running) {
      running.again = true;
      return;
    }
    const state = { again: false };
    this.inflight.set(id, state);
    const kindName = `${fed.kind} "${key}"`;
    const r = OP_REASONS[op];
    void this.ctx.members
      .run(cluster, async (client) => {
        const obj = build();
        const { namespace, name } = splitKey(key);
        const ns = this.kind.namespaced ? namespace : undefined;
        try {
          if (op === 'create') await client.create(obj);
          else if (op === 'delete')
            await client.delete(this.kind.apiVersion, this.kind.kind, ns, name, {
              propagationPolicy: 'Background',
              preconditions: obj.metadata.uid ? { uid: obj.metadata.uid } : undefined,
            });
          else await client.update(obj);
        } catch (err) {
          // Benign races with our own cache: the member informer brings the truth and a new reconcile.
          if (
            err instanceof KitfedError &&
            ((op === 'create' && err.code === 409) ||
              (op === 'delete' && err.code === 404) ||
              ((op === 'update' || op === 'orphan' || op === 'adopt') && err.code === 409))
          )
            return false;
          throw err;
        }
        await after?.();
        return true;
      })
      .then(
        (wrote) => {
          if (!wrote) return;
          this.ctx.events.record(fed, 'Normal', r.ok, `${r.verb} ${kindName}`, cluster);
          const since = this.observedAt.get(key);
          if (since !== undefined && (op === 'create' || op === 'update'))
            this.ctx.metrics.propagationSeconds.observe({ kind: this.kind.kind }, (Date.now() - since) / 1000);
        },
        (err: unknown) => {
          const waitingForNamespace = op === 'create' && err instanceof KitfedError && err.code === 404;
          if (!waitingForNamespace)
            this.ctx.events.record(fed, 'Warning', r.failed, `Failed to ${op} ${kindName}: ${messageOf(err)}`, cluster);
          state.again = false;
          this.queue.addRateLimited(key);
        },
      )
      .finally(() => {
        this.inflight.delete(id);
        if (state.again) this.queue.add(key);
      });
  }

  private inflightFor(key: string): boolean {
    for (const id of this.inflight.keys()) if (id.endsWith(`\u0000${key}`)) return true;
    return false;
  }

  /**
   * A federated object being deleted: cascade (delete member copies kitfed made) or orphan
   * (remove the ownership markers), in every available member; unavailable members get the
   * work remembered in kitfed-system and done when they return. Then our finalizer goes.
   */
  private async finalize(key: string, fed: KubeObject): Promise<{ requeueAfterMs?: number } | void> {
    const finalizers = fed.metadata.finalizers ?? [];
    if (!finalizers.includes(FEDERATION_FINALIZER)) return;
    const orphan = finalizers.includes(ORPHAN_FINALIZER);
    const uid = fed.metadata.uid ?? '';
    const { namespace, name } = splitKey(key);
    const entry: CleanupEntry = {
      apiVersion: this.kind.apiVersion,
      kind: this.kind.kind,
      namespace: this.kind.namespaced ? namespace : undefined,
      name,
      uid,
      action: orphan ? 'orphan' : 'delete',
    };
    const available = new Set(this.available());
    let waiting = false;
    for (const cluster of this.ctx.members.names()) {
      if (!available.has(cluster)) {
        const id = `${cluster}|${uid}|${entry.action}`;
        if (!this.deferred.has(id)) {
          await this.ctx.cleanups.remember(cluster, entry);
          this.deferred.add(id);
          this.ctx.events.record(
            fed,
            'Normal',
            Reasons.CleanupDeferred,
            `Cluster unavailable: ${orphan ? 'releasing' : 'deleting'} ${fed.kind} "${key}" there is remembered and done when it returns`,
            cluster,
          );
        }
        continue;
      }
      const local = this.memberInformers.get(cluster)!.get(key);
      if (!local || !isManaged(local) || originUid(local) !== uid) continue;
      if (!orphan && local.metadata.deletionTimestamp) continue;
      waiting = true;
      if (orphan) this.dispatch(cluster, key, fed, 'orphan', () => withoutMarkers(local));
      else if (this.kind.kind === 'Namespace') await this.deleteMemberNamespace(cluster, key, fed, local);
      else this.dispatch(cluster, key, fed, 'delete', () => local);
    }
    if (waiting || this.inflightFor(key)) return { requeueAfterMs: 1000 };
    await this.ctx.federation.update({
      ...fed,
      metadata: { ...fed.metadata, finalizers: finalizers.filter((f) => f !== FEDERATION_FINALIZER) },
    });
    for (const id of [...this.deferred]) if (id.includes(`|${uid}|`)) this.deferred.delete(id);
  }

  /** A member namespace kitfed created is deleted only when it holds nothing kitfed did not create. */
  private async deleteMemberNamespace(cluster: string, key: string, fed: KubeObject, local: KubeObject): Promise<void> {
    const foreign = await this.ctx.members.run(cluster, (client) => foreignObjectsIn(client, key, this.ctx.kinds));
    if (foreign.length === 0) {
      this.dispatch(cluster, key, fed, 'delete', () => local);
      return;
    }
    this.ctx.events.record(
      fed,
      'Normal',
      Reasons.NamespaceKept,
      `Namespace "${key}" kept (ownership released): it holds objects kitfed did not create (${foreign.slice(0, 5).join(', ')}${foreign.length > 5 ? ', ...' : ''})`,
      cluster,
    );
    this.dispatch(cluster, key, fed, 'orphan', () => withoutMarkers(local));
  }

  /** Deferred cleanups owed to `cluster` for this kind, done as soon as its informer has synced. */
  private async runCleanups(cluster: string, inf: Informer): Promise<void> {
    const store = this.ctx.cleanups;
    for (const e of await store.entries(cluster)) {
      if (e.kind !== this.kind.kind || e.apiVersion !== this.kind.apiVersion) continue;
      const key = e.namespace ? `${e.namespace}/${e.name}` : e.name;
      const local = inf.get(key);
      if (local && isManaged(local) && originUid(local) === e.uid) {
        await this.ctx.members.run(cluster, async (client) => {
          try {
            if (e.action === 'delete')
              await client.delete(e.apiVersion, e.kind, e.namespace, e.name, {
                propagationPolicy: 'Background',
                preconditions: local.metadata.uid ? { uid: local.metadata.uid } : undefined,
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
        this.ctx.events.record(
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
}

const IGNORED_FOREIGN = new Set(['ConfigMap/kube-root-ca.crt', 'ServiceAccount/default']);

async function foreignObjectsIn(
  client: import('../core/kube-client.js').KubeClient,
  namespace: string,
  kinds: readonly SyncKind[],
): Promise<string[]> {
  const out: string[] = [];
  for (const k of kinds) {
    if (!k.namespaced) continue;
    let list;
    try {
      list = await client.list(k.apiVersion, k.kind, namespace);
    } catch (err) {
      if (err instanceof KitfedError && err.code === 404) continue;
      throw err;
    }
    for (const o of list.items) {
      const id = `${k.kind}/${o.metadata.name}`;
      if (
        isManaged(o) ||
        IGNORED_FOREIGN.has(id) ||
        (k.kind === 'Secret' && o.type === 'kubernetes.io/service-account-token')
      )
        continue;
      out.push(id);
    }
  }
  return out;
}
