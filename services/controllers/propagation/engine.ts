/**
 * The propagation engine: one controller for every federated kind (docs/federation.md).
 *
 *   create  a federated object changes (or a member copy, a Cluster, an Override, a dependent)
 *           → its key is queued;
 *   plan    `reconcile` reads the caches into `plan()` (plan.ts, pure): what each member must
 *           hold, the writes, the status;
 *   propagate  the finalizer and the status go out in one write to the federated object,
 *           alongside each member write through that member's queue (server-side apply, field
 *           manager `kitfed-federation`), not awaited: member watches bring the result back;
 *   aggregate  the next pass sees the members in sync and writes the status (one write).
 *
 * The shell owns the machinery every kind shares: informers (federated, and per member for the
 * kinds that have federated objects), the finalizer, the one guarded write path, deletion
 * (cascade, orphan, deferred for offline members), leftovers, Events and metrics.
 */
import { hasCode, messageOf } from '../../core/errors.js';
import { createLogger } from '../../core/log.js';
import { isObject, parseApiVersion, type KubeObject } from '../../core/kube.js';
import { ALL_NAMESPACES, resourcePath, type KubeClient } from '../../core/kube-client.js';
import {
  Informer,
  keyOf,
  runController,
  splitKey,
  WorkQueue,
  type RunningController,
} from '../../core/controller/index.js';
import { selectorMatches } from '../../planner/index.js';
import type { CleanupEntry } from '../cleanups.js';
import {
  FEDERATION_FINALIZER,
  MANAGED_BY_LABEL,
  ORIGIN_UID_ANNOTATION,
  ORPHAN_FINALIZER,
  Reasons,
} from '../constants.js';
import type { ControllerContext, StartedController } from '../registry.js';
import {
  CRD_KIND_ID,
  crdEstablished,
  discoverKinds,
  excludedKind,
  excludedObject,
  kindFromCrd,
  kindId,
  DEFAULT_EXCLUSIONS,
  type ExclusionRule,
  type KindInfo,
} from './catalog.js';
import { DependencyIndex, parseQueueKey, queueKey } from './dependencies.js';
import { APPLIED_HASH_ANNOTATION, FIELD_MANAGER, HPA_KIND_ID, POD_OWNING_KINDS, scaleTargetOf } from './kinds.js';
import { OVERRIDE_API_VERSION, OVERRIDE_KIND, orderOverrides, targets, type OverrideObject } from './overrides.js';
import { isManaged, originUid, plan, recordedStatus, type ClusterView, type MemberView, type Write } from './plan.js';
import { fullyReady, ownedPods } from './scale.js';

export interface PropagationOptions {
  /** What is never propagated. @default DEFAULT_EXCLUSIONS */
  exclusions?: readonly ExclusionRule[];
  /** Concurrent reconciles. @default 16 */
  workers?: number;
  /** A scalable kind waits this long for a just-Ready cluster's caches. @default 5000 */
  syncGraceMs?: number;
}

interface FederatedKind {
  info: KindInfo;
  informer: Informer;
  /** Has (had) an object in the federation: members watch this kind. */
  active: boolean;
}

interface MemberCaches {
  name: string;
  client: KubeClient;
  readySince: number;
  informers: Map<string, Informer>;
  /** When each kind's informer started (a scalable kind waits a little for a new cache). */
  startedAt: Map<string, number>;
  /** Member pods (pod-owning scalable kinds); null: the member serves no Pods. */
  pods?: Informer | null;
  /** Deferred cleanups done since it became Ready (leftovers may be collected). */
  cleanupsDone: boolean;
}

interface Failure {
  hash: string;
  message: string;
  attempts: number;
  retryAt: number;
}

const log = createLogger('controller:propagation');
const MEMBER_EVENT_COALESCE_MS = 10;

/** Member objects as cached: no managedFields, except when kitfed last wrote (for the scheduler). */
function compact(o: KubeObject): KubeObject {
  const mf = o.metadata.managedFields;
  if (!mf) return o;
  const mine = mf
    .filter((f) => f.manager === FIELD_MANAGER && !f.subresource)
    .map((f) => ({
      manager: f.manager,
      operation: f.operation,
      apiVersion: f.apiVersion,
      time: f.time,
      fieldsType: f.fieldsType,
      fieldsV1: {},
    }));
  const { managedFields: _m, ...metadata } = o.metadata;
  void _m;
  return { ...o, metadata: mine.length > 0 ? { ...metadata, managedFields: mine } : metadata };
}

/** Pods as cached: what the scheduler reads (owners, age, phase, conditions, container states). */
function compactPod(p: KubeObject): KubeObject {
  const m = p.metadata;
  const metadata: KubeObject['metadata'] = {
    name: m.name,
    namespace: m.namespace,
    uid: m.uid,
    resourceVersion: m.resourceVersion,
  };
  if (m.labels) metadata.labels = m.labels;
  if (m.ownerReferences) metadata.ownerReferences = m.ownerReferences;
  if (m.creationTimestamp) metadata.creationTimestamp = m.creationTimestamp;
  if (m.deletionTimestamp) metadata.deletionTimestamp = m.deletionTimestamp;
  return { apiVersion: p.apiVersion, kind: p.kind, metadata, status: p.status };
}

const OP_REASONS = {
  create: { ok: Reasons.CreateInCluster, failed: Reasons.CreateInClusterFailed, verb: 'Created' },
  update: { ok: Reasons.UpdateInCluster, failed: Reasons.UpdateInClusterFailed, verb: 'Updated' },
  adopt: { ok: Reasons.Adopted, failed: Reasons.UpdateInClusterFailed, verb: 'Adopted' },
  delete: { ok: Reasons.DeleteInCluster, failed: Reasons.DeleteInClusterFailed, verb: 'Deleted' },
  release: {
    ok: Reasons.OrphanInCluster,
    failed: Reasons.OrphanInClusterFailed,
    verb: 'Released (ownership markers removed)',
  },
} as const;

/** Objects a cluster creates in every namespace itself (never "foreign" when deciding to delete a namespace). */
const IGNORED_FOREIGN = new Set(['ConfigMap/kube-root-ca.crt', 'ServiceAccount/default']);

export class PropagationEngine implements StartedController {
  readonly queue = new WorkQueue<string>();
  private readonly kinds = new Map<string, FederatedKind>();
  private readonly members = new Map<string, MemberCaches>();
  private overrides: Informer<OverrideObject> | undefined;
  private readonly exclusions: readonly ExclusionRule[];
  private readonly inflight = new Map<string, { again: boolean }>();
  private readonly expectations = new Map<string, { written: KubeObject | null; previousRv: string | undefined }>();
  private readonly failures = new Map<string, Failure>();
  private readonly deps = new DependencyIndex();
  private readonly observedAt = new Map<string, number>();
  /** What this engine last wrote (status annotation, native status): a stale cache does not cause a rewrite. */
  private readonly lastStatus = new Map<string, { text: string; baseRv: string | undefined }>();
  /** Native status: compared without the object version, so a server pruning fields it does not know cannot loop. */
  private readonly lastNative = new Map<string, string>();
  /** The pass events last recorded per key: a pass on a cache behind kitfed's own status write does not repeat them. */
  private readonly lastEvents = new Map<string, Set<string>>();
  private readonly deferred = new Set<string>();
  private readonly clusterLabels = new Map<string, string>();
  private runner: RunningController | undefined;
  private stopped = false;

  constructor(
    private readonly ctx: ControllerContext,
    private readonly options: PropagationOptions = {},
  ) {
    this.exclusions = options.exclusions ?? DEFAULT_EXCLUSIONS;
  }

  /** The kinds propagated now. */
  kindInfos(): KindInfo[] {
    return [...this.kinds.values()].map((k) => k.info);
  }

  async start(): Promise<void> {
    const { federation, members } = this.ctx;
    const discovered = await discoverKinds(federation);
    for (const info of discovered) {
      if (info.group === 'federation.kitfed.io' && info.kind === OVERRIDE_KIND) this.watchOverrides();
      if (!excludedKind(this.exclusions, info)) this.addKind(info);
    }
    await Promise.all([...this.kinds.values()].map((k) => k.informer.synced));
    await this.overrides?.synced;
    // Custom resources get their scale paths from their CRD.
    for (const crd of this.kinds.get(CRD_KIND_ID)?.informer.list() ?? []) this.crdChanged(crd);
    members.onReadyChange((c) => {
      for (const name of c.removed) void this.dropMember(name);
      for (const name of c.added) this.addMember(name);
      this.enqueueAll();
    });
    for (const name of members.names())
      this.clusterLabels.set(name, JSON.stringify(members.cluster(name)?.metadata.labels ?? {}));
    members.onClusterChange((name, cluster) => {
      const labels = JSON.stringify(cluster?.metadata.labels ?? {});
      const before = this.clusterLabels.get(name);
      this.clusterLabels.set(name, labels);
      if (before !== undefined && before !== labels) this.enqueueAll();
      const m = this.members.get(name);
      if (!m) return;
      let client: KubeClient | undefined;
      try {
        client = members.client(name);
      } catch {
        client = undefined;
      }
      if (!cluster || client !== m.client)
        void this.dropMember(name).then(() => {
          if (cluster && members.isReady(name)) this.addMember(name);
          this.enqueueAll();
        });
    });
    for (const name of members.ready()) this.addMember(name);
    this.runner = runController({
      name: 'propagation',
      queue: this.queue,
      workers: this.options.workers ?? 16,
      reconcile: (key) => this.reconcile(key),
      metrics: this.ctx.metrics,
    });
    log.info({ kinds: [...this.kinds.keys()].sort() }, 'propagating');
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.runner?.stop();
    await Promise.all([...this.kinds.values()].map((k) => k.informer.stop()));
    await this.overrides?.stop();
    await Promise.all([...this.members.keys()].map((n) => this.dropMember(n)));
  }

  // ---- kinds ------------------------------------------------------------------------------

  private addKind(info: KindInfo): void {
    if (this.stopped) return;
    const existing = this.kinds.get(info.id);
    if (existing) {
      existing.info = info;
      return;
    }
    const informer = new Informer(this.ctx.federation, {
      apiVersion: info.apiVersion,
      kind: info.kind,
      name: `federation/${info.id}`,
      transform: compact,
    });
    const k: FederatedKind = { info, informer, active: false };
    const changed = (o: KubeObject) => {
      const key = queueKey(k.info.id, keyOf(o));
      if (k.info.id === HPA_KIND_ID) this.enqueueScaleTarget(o);
      // A kind with objects in the federation (even only its own, e.g. Secrets in kitfed-system)
      // is watched in members from then on; kinds nobody uses cost no member watches.
      if (!k.active) this.activate(k);
      this.observedAt.set(key, Date.now());
      this.queue.add(key);
      if (k.info.id === CRD_KIND_ID) this.crdChanged(o);
    };
    informer
      .onAdd(changed)
      .onUpdate((a, b) => {
        // An HPA that changed its target leaves the old one to the plan again.
        if (k.info.id === HPA_KIND_ID) this.enqueueScaleTarget(a);
        changed(b);
      })
      .onDelete((o) => {
        const key = queueKey(k.info.id, keyOf(o));
        if (k.info.id === HPA_KIND_ID) this.enqueueScaleTarget(o);
        this.observedAt.delete(key);
        this.queue.add(key);
        if (k.info.id === CRD_KIND_ID) this.crdDeleted(o);
      });
    this.kinds.set(info.id, k);
    informer.start();
  }

  /** A federated HorizontalPodAutoscaler targets `fed` (see PlanInput.autoscaled). */
  private autoscaled(fed: KubeObject): boolean {
    const hpas = this.kinds.get(HPA_KIND_ID)?.informer.list() ?? [];
    const { group } = parseApiVersion(fed.apiVersion);
    return hpas.some((h) => {
      if (h.metadata.namespace !== fed.metadata.namespace || h.metadata.deletionTimestamp) return false;
      const ref = scaleTargetOf(h);
      return ref?.kind === fed.kind && ref.name === fed.metadata.name && ref.group === group;
    });
  }

  /** An HPA came, changed or went: the object it scales is planned again. */
  private enqueueScaleTarget(hpa: KubeObject): void {
    const ref = scaleTargetOf(hpa);
    if (ref) this.queue.add(queueKey(kindId(ref.group, ref.kind), `${hpa.metadata.namespace}/${ref.name}`));
  }

  /** A kind gets its first object to propagate: members start watching it. */
  private activate(k: FederatedKind): void {
    k.active = true;
    // A Deployment's pods belong to the member's ReplicaSets: the scheduler reads those too.
    if (k.info.id === 'apps/Deployment') {
      const rs = this.kinds.get('apps/ReplicaSet');
      if (rs && !rs.active) this.activate(rs);
    }
    for (const m of this.members.values()) this.ensureMemberInformer(m, k);
  }

  /** A federated CRD changed: once Established, its custom resources are a kind like any other. */
  private crdChanged(crd: KubeObject): void {
    const info = kindFromCrd(crd);
    if (!info || excludedKind(this.exclusions, info)) return;
    const had = this.kinds.has(info.id);
    this.addKind(info);
    // Its custom resources follow the CRD's own state in each member (Established, refused).
    if (had) this.enqueueKind(info.id);
    else void this.kinds.get(info.id)!.informer.synced.then(() => this.enqueueKind(info.id));
  }

  private crdDeleted(crd: KubeObject): void {
    const spec = isObject(crd.spec) ? crd.spec : {};
    const names = isObject(spec.names) ? spec.names : {};
    const id = kindId(String(spec.group ?? ''), String(names.kind ?? ''));
    const k = this.kinds.get(id);
    if (!k || !k.info.crd) return;
    this.kinds.delete(id);
    void k.informer.stop();
    for (const m of this.members.values()) {
      const inf = m.informers.get(id);
      m.informers.delete(id);
      void inf?.stop();
    }
  }

  private watchOverrides(): void {
    if (this.overrides) return;
    const inf = new Informer<OverrideObject>(this.ctx.federation, {
      apiVersion: OVERRIDE_API_VERSION,
      kind: OVERRIDE_KIND,
      name: 'federation/overrides',
      transform: compact,
    });
    const changed = (o: OverrideObject) => this.enqueueTargets(o);
    inf
      .onAdd(changed)
      .onUpdate((a, b) => (this.enqueueTargets(a), this.enqueueTargets(b)))
      .onDelete(changed);
    this.overrides = inf;
    inf.start();
  }

  /** Every federated object an Override targets is planned again. */
  private enqueueTargets(o: OverrideObject): void {
    const selectors = Array.isArray(o.spec?.resourceSelectors) ? o.spec.resourceSelectors : [];
    for (const k of this.kinds.values()) {
      if (!selectors.some((s) => isObject(s) && s.kind === k.info.kind)) continue;
      for (const obj of k.informer.list())
        if (targets(o, { ...obj, apiVersion: k.info.apiVersion, kind: k.info.kind }))
          this.queue.add(queueKey(k.info.id, keyOf(obj)));
    }
  }

  private overridesFor(fed: KubeObject): OverrideObject[] {
    const list = this.overrides?.list() ?? [];
    return list.length === 0 ? [] : orderOverrides(list.filter((o) => isObject(o.spec) && targets(o, fed)));
  }

  private enqueueKind(id: string): void {
    const k = this.kinds.get(id);
    if (k) for (const key of k.informer.keys()) this.queue.add(queueKey(id, key));
  }

  private enqueueAll(): void {
    for (const id of this.kinds.keys()) this.enqueueKind(id);
  }

  // ---- members ------------------------------------------------------------------------------

  private addMember(name: string): void {
    if (this.stopped || this.members.has(name)) return;
    let client: KubeClient;
    try {
      client = this.ctx.members.client(name);
    } catch (err) {
      log.warn({ cluster: name, err: messageOf(err) }, 'no client for a Ready cluster');
      return;
    }
    const m: MemberCaches = {
      name,
      client,
      readySince: Date.now(),
      informers: new Map(),
      startedAt: new Map(),
      cleanupsDone: false,
    };
    this.members.set(name, m);
    for (const k of this.kinds.values()) if (k.active) this.ensureMemberInformer(m, k);
    void this.memberReturned(m);
  }

  private async dropMember(name: string): Promise<void> {
    const m = this.members.get(name);
    if (!m) return;
    this.members.delete(name);
    for (const id of [...this.expectations.keys()]) if (id.startsWith(`${name}|`)) this.expectations.delete(id);
    await Promise.all([...m.informers.values(), ...(m.pods ? [m.pods] : [])].map((i) => i.stop()));
  }

  /** Starts the member's informer for `k` (a custom resource: once its CRD is Established there). */
  private ensureMemberInformer(m: MemberCaches, k: FederatedKind): void {
    if (m.informers.has(k.info.id) || this.members.get(m.name) !== m) return;
    if (k.info.crd && !crdEstablished(m.informers.get(CRD_KIND_ID)?.get(k.info.crd))) return;
    const inf = new Informer(m.client, {
      apiVersion: k.info.apiVersion,
      kind: k.info.kind,
      name: `${m.name}/${k.info.id}`,
      transform: compact,
    });
    const changed = (o: KubeObject) => {
      const key = keyOf(o);
      const kk = this.kinds.get(k.info.id);
      if (kk && (kk.informer.get(key) || isManaged(o)))
        this.queue.addAfter(queueKey(k.info.id, key), MEMBER_EVENT_COALESCE_MS);
      if (k.info.id === CRD_KIND_ID) this.memberCrdChanged(m, o);
    };
    inf
      .onAdd(changed)
      .onUpdate((_a, b) => changed(b))
      .onDelete(changed);
    m.informers.set(k.info.id, inf);
    m.startedAt.set(k.info.id, Date.now());
    inf.start();
    void inf.synced.then(() => {
      if (this.members.get(m.name) !== m) return;
      this.enqueueKind(k.info.id);
      // kitfed's copies whose federated object is gone are collected (once deferred cleanups ran).
      for (const o of inf.list())
        if (isManaged(o) && !k.informer.get(keyOf(o))) this.queue.add(queueKey(k.info.id, keyOf(o)));
    });
    if (POD_OWNING_KINDS.has(k.info.id) && m.pods === undefined) {
      const pods = new Informer(m.client, {
        apiVersion: 'v1',
        kind: 'Pod',
        name: `${m.name}/Pod`,
        transform: compactPod,
      });
      const podChanged = (p: KubeObject) => this.enqueueForPod(p);
      pods
        .onAdd(podChanged)
        .onUpdate((_a, p) => podChanged(p))
        .onDelete(podChanged);
      m.pods = pods;
      // A member that serves no Pods (a bare API server) has none to count.
      void m.client.resource('v1', 'Pod').then(
        () => pods.start(),
        (err: unknown) => {
          if (hasCode(err, 404) && m.pods === pods) {
            m.pods = null;
            this.enqueueKind(k.info.id);
          } else pods.start();
        },
      );
    }
  }

  /** A member's CRD changed: custom resources of an Established CRD can be written there now. */
  private memberCrdChanged(m: MemberCaches, crd: KubeObject): void {
    if (!crdEstablished(crd)) return;
    for (const k of this.kinds.values())
      if (k.info.crd === crd.metadata.name && k.active && !m.informers.has(k.info.id)) this.ensureMemberInformer(m, k);
  }

  /** A member pod changed: the federated workloads of its namespace whose selector matches are planned again. */
  private enqueueForPod(pod: KubeObject): void {
    const ns = pod.metadata.namespace ?? '';
    for (const id of POD_OWNING_KINDS) {
      const k = this.kinds.get(id);
      if (!k?.active) continue;
      for (const fed of k.informer.list()) {
        if ((fed.metadata.namespace ?? '') !== ns) continue;
        const spec = isObject(fed.spec) ? fed.spec : undefined;
        if (spec && selectorMatches(spec.selector, pod.metadata.labels)) this.queue.add(queueKey(id, keyOf(fed)));
      }
    }
  }

  /**
   * A member became Ready: the cleanups owed to it first (retried while it stays Ready), then
   * kitfed's copies whose federated object is gone are collected, then everything is planned.
   */
  private async memberReturned(m: MemberCaches): Promise<void> {
    for (let attempt = 0; this.members.get(m.name) === m && !this.stopped; attempt++) {
      try {
        await this.runCleanups(m);
        m.cleanupsDone = true;
        break;
      } catch (err) {
        log.warn({ cluster: m.name, attempt, err: messageOf(err) }, 'deferred cleanups failed; retrying');
        await new Promise((r) => setTimeout(r, Math.min(100 * 2 ** attempt, 30_000)));
      }
    }
    if (this.members.get(m.name) !== m) return;
    try {
      await this.sweepLeftovers(m);
    } catch (err) {
      if (this.members.get(m.name) === m && !this.stopped)
        log.warn({ cluster: m.name, err: messageOf(err) }, 'looking for leftovers failed');
    }
    this.enqueueAll();
  }

  /** Deferred cleanups owed to the member: done only where its copy still carries that uid. */
  private async runCleanups(m: MemberCaches): Promise<void> {
    const store = this.ctx.cleanups;
    for (const e of await store.entries(m.name)) {
      const key = e.namespace ? `${e.namespace}/${e.name}` : e.name;
      const local = await this.ctx.members.run(m.name, (client) =>
        client.tryGet(e.apiVersion, e.kind, e.namespace, e.name).catch((err: unknown) => {
          if (hasCode(err, 404)) return undefined;
          throw err;
        }),
      );
      if (local && isManaged(local) && originUid(local) === e.uid) {
        await this.ctx.members.run(m.name, async (client) => {
          try {
            if (e.action === 'delete')
              await client.delete(e.apiVersion, e.kind, e.namespace, e.name, {
                propagationPolicy: 'Background',
                preconditions: { uid: local.metadata.uid! },
              });
            else
              await client.patch(e.apiVersion, e.kind, e.namespace, e.name, releasePatch(local), 'json', {
                fieldManager: FIELD_MANAGER,
              });
          } catch (err) {
            if (!hasCode(err, 404, 409, 422)) throw err;
          }
        });
        this.ctx.events.record(
          { apiVersion: e.apiVersion, kind: e.kind, metadata: { name: e.name, namespace: e.namespace, uid: e.uid } },
          'Normal',
          Reasons.DeferredCleanupDone,
          `${e.action === 'delete' ? 'Deleted' : 'Released'} ${e.kind} "${key}" ` +
            'left behind while the cluster was unavailable',
          m.name,
        );
      }
      await store.forget(m.name, e);
    }
  }

  /** kitfed's copies (any propagated kind) whose federated object no longer exists are deleted. */
  private async sweepLeftovers(m: MemberCaches): Promise<void> {
    for (const k of [...this.kinds.values()]) {
      if (k.info.crd && !crdEstablished(m.informers.get(CRD_KIND_ID)?.get(k.info.crd))) continue;
      let items: KubeObject[];
      try {
        items = await this.ctx.members.run(m.name, async (client) => {
          const list = await client.request<{ items: KubeObject[] }>('GET', resourcePath(k.info, ALL_NAMESPACES), {
            query: { labelSelector: `${MANAGED_BY_LABEL}=kitfed` },
          });
          return list.items ?? [];
        });
      } catch (err) {
        if (hasCode(err, 404, 405)) continue;
        throw err;
      }
      for (const o of items) {
        const key = keyOf(o);
        if (k.informer.get(key) || o.metadata.deletionTimestamp || excludedObject(this.exclusions, k.info, o)) continue;
        const ghost: KubeObject = {
          apiVersion: k.info.apiVersion,
          kind: k.info.kind,
          metadata: { name: o.metadata.name, namespace: o.metadata.namespace, uid: originUid(o) },
        };
        this.dispatch(k, queueKey(k.info.id, key), ghost, { op: 'delete', cluster: m.name, object: o });
      }
    }
  }

  /** How `name` can be used for kind `k` now. */
  private clusterView(name: string, k: FederatedKind): ClusterView {
    const cluster = this.ctx.members.cluster(name);
    const view: ClusterView = { name, labels: cluster?.metadata.labels, availability: 'NotReady' };
    const m = this.members.get(name);
    if (!this.ctx.members.isReady(name) || !m) {
      const ready = cluster?.status?.conditions?.find((c) => c.type === 'Ready');
      const why = this.ctx.members.clientError(name) ?? ready?.message ?? ready?.reason;
      if (why) view.message = why;
      return view;
    }
    if (k.info.crd && !crdEstablished(m.informers.get(CRD_KIND_ID)?.get(k.info.crd))) {
      view.availability = 'WaitingForCRD';
      // The CRD's own propagation to this cluster failed (the member refused it): so does this.
      const fedCrd = this.kinds.get(CRD_KIND_ID)?.informer.get(k.info.crd);
      const crdHere = fedCrd ? recordedStatus(fedCrd)?.clusters.find((c) => c.cluster === name) : undefined;
      if (crdHere?.state === 'Failed') {
        view.failed = true;
        const why = crdHere.message ?? crdHere.reason ?? 'failed';
        view.message = `CustomResourceDefinition ${k.info.crd} is not in the cluster: ${why}`;
      } else view.message = `waiting for CustomResourceDefinition ${k.info.crd} to be Established in the cluster`;
      return view;
    }
    if (!m.informers.has(k.info.id)) this.ensureMemberInformer(m, k);
    const inf = m.informers.get(k.info.id);
    view.readySince = Math.max(m.readySince, m.startedAt.get(k.info.id) ?? Date.now());
    const synced = inf?.hasSynced() && (!POD_OWNING_KINDS.has(k.info.id) || m.pods === null || m.pods?.hasSynced());
    view.availability = synced ? 'Available' : 'Syncing';
    if (!synced) view.message = 'reading the cluster';
    return view;
  }

  /** The member's object: its cache, unless a write of ours is newer than it. */
  private memberObject(cluster: string, k: FederatedKind, objKey: string): KubeObject | undefined {
    const cached = this.members.get(cluster)?.informers.get(k.info.id)?.get(objKey);
    const id = `${cluster}|${queueKey(k.info.id, objKey)}`;
    const e = this.expectations.get(id);
    if (!e) return cached;
    if (cached && cached.metadata.resourceVersion === e.previousRv) return e.written ?? undefined;
    if (!cached && e.written !== null && e.previousRv === undefined) return e.written;
    this.expectations.delete(id);
    return cached;
  }

  private podsFor(cluster: string, k: FederatedKind, object: KubeObject | undefined): KubeObject[] | undefined {
    if (!object || !POD_OWNING_KINDS.has(k.info.id) || fullyReady(k.info, object)) return undefined;
    const m = this.members.get(cluster);
    const ns = object.metadata.namespace ?? '';
    const pods = (m?.pods?.list() ?? []).filter((p) => (p.metadata.namespace ?? '') === ns);
    const rs = k.info.id === 'apps/Deployment' ? (m?.informers.get('apps/ReplicaSet')?.list() ?? []) : [];
    return ownedPods(object, pods, rs);
  }

  // ---- reconcile --------------------------------------------------------------------------------

  private async reconcile(key: string): Promise<{ requeueAfterMs?: number } | void> {
    try {
      return await this.reconcileKey(key);
    } catch (err) {
      // The cache was behind the federation (409), or the object went away meanwhile (404).
      if (hasCode(err, 409, 404)) return { requeueAfterMs: 100 };
      throw err;
    }
  }

  private async reconcileKey(key: string): Promise<{ requeueAfterMs?: number } | void> {
    const { kindId: id, objKey } = parseQueueKey(key);
    const k = this.kinds.get(id);
    if (!k) return;
    const stored = k.informer.get(objKey);
    if (!stored) return this.collectLeftovers(k, key, objKey);
    const fed: KubeObject = { ...stored, apiVersion: k.info.apiVersion, kind: k.info.kind };
    if (excludedObject(this.exclusions, k.info, fed)) return;
    if (fed.metadata.deletionTimestamp) return this.finalize(k, key, fed);
    const now = Date.now();
    const clusters = this.ctx.members.names().map((name) => this.clusterView(name, k));
    const members: Record<string, MemberView> = {};
    for (const c of clusters) {
      if (c.availability !== 'Available') continue;
      const object = this.memberObject(c.name, k, objKey);
      const id = `${c.name}|${key}`;
      const f = this.failures.get(id);
      members[c.name] = {
        object,
        pods: this.podsFor(c.name, k, object),
        writing: this.inflight.has(id),
        failure: f ? { hash: f.hash, message: f.message } : undefined,
      };
    }
    const p = plan({
      kind: k.info,
      federated: fed,
      clusters,
      members,
      overrides: this.overridesFor(fed),
      requiredIn: this.deps.requiredIn(key),
      autoscaled: k.info.scale !== undefined && this.autoscaled(fed),
      now,
      ...(this.options.syncGraceMs !== undefined ? { syncGraceMs: this.options.syncGraceMs } : {}),
    });
    if (p.wait) return { requeueAfterMs: 100 };
    for (const d of this.deps.update(key, p.dependencies, p.placement)) this.queue.add(d);

    // The finalizer goes out with the status, alongside the pass's member writes (a round trip
    // less per object): an object deleted before it lands leaves copies without a federated
    // object, which collectLeftovers deletes.
    const finalizers = fed.metadata.finalizers ?? [];
    const needsFinalizer = p.writes.some((w) => w.op === 'apply') && !finalizers.includes(FEDERATION_FINALIZER);
    const rv = fed.metadata.resourceVersion;
    const annotation =
      p.statusAnnotation !== undefined && !sameWrite(this.lastStatus.get(key), p.statusAnnotation, rv)
        ? p.statusAnnotation
        : undefined;
    const statusWrites: Array<Promise<unknown>> = [];
    if (needsFinalizer || annotation !== undefined) {
      const metadata: Record<string, unknown> = { uid: fed.metadata.uid };
      if (needsFinalizer) {
        metadata.resourceVersion = fed.metadata.resourceVersion;
        metadata.finalizers = [...finalizers, FEDERATION_FINALIZER];
      }
      if (annotation !== undefined) metadata.annotations = { [STATUS_KEY]: annotation };
      statusWrites.push(
        this.ctx.federation
          .request('PATCH', resourcePath(k.info, fed.metadata.namespace, fed.metadata.name), {
            body: { metadata },
            contentType: 'application/merge-patch+json',
            query: { fieldManager: FIELD_MANAGER },
          })
          .then(() => {
            if (annotation !== undefined) this.lastStatus.set(key, { text: annotation, baseRv: rv });
          }),
      );
    }
    const sig = p.nativeStatus ? nativeSignature(p.nativeStatus) : undefined;
    if (p.nativeStatus && this.lastNative.get(key) !== sig)
      statusWrites.push(
        this.ctx.federation
          .request('PATCH', `${resourcePath(k.info, fed.metadata.namespace, fed.metadata.name)}/status`, {
            body: [
              { op: 'test', path: '/metadata/uid', value: fed.metadata.uid },
              { op: 'add', path: '/status', value: p.nativeStatus },
            ],
            contentType: 'application/json-patch+json',
            query: { fieldManager: FIELD_MANAGER },
          })
          .then(() => this.lastNative.set(key, sig!)),
      );
    if (p.events.length > 0) {
      const seen = this.lastEvents.get(key);
      const emitted = new Set(p.events.map((e) => `${e.reason}|${e.cluster ?? ''}|${e.message}`));
      for (const e of p.events)
        if (!seen?.has(`${e.reason}|${e.cluster ?? ''}|${e.message}`))
          this.ctx.events.record(fed, e.type, e.reason, e.message, e.cluster);
      this.lastEvents.set(key, emitted);
    }
    let next = p.recheckAt ?? Infinity;
    for (const w of p.writes) {
      const f = this.failures.get(`${w.cluster}|${key}`);
      if (f && f.hash === writeHash(w) && f.retryAt > now) {
        next = Math.min(next, f.retryAt);
        continue;
      }
      this.dispatch(k, key, fed, w);
    }
    const failed = (await Promise.allSettled(statusWrites)).find(
      (r): r is PromiseRejectedResult => r.status === 'rejected',
    );
    if (failed) throw failed.reason;
    if (next !== Infinity) return { requeueAfterMs: Math.max(0, next - Date.now()) + 10 };
  }

  /**
   * A federated object being deleted: cascade (delete the copies made from it) or orphan
   * (remove kitfed's markers) in every Ready member; the work owed to the others is stored in
   * kitfed-system and done when they return. Then the finalizer goes.
   */
  private async finalize(k: FederatedKind, key: string, fed: KubeObject): Promise<{ requeueAfterMs?: number } | void> {
    const finalizers = fed.metadata.finalizers ?? [];
    if (!finalizers.includes(FEDERATION_FINALIZER)) return;
    const orphan = finalizers.includes(ORPHAN_FINALIZER);
    const uid = fed.metadata.uid ?? '';
    const { namespace, name } = splitKey(splitObjKey(key));
    const entry: CleanupEntry = {
      apiVersion: k.info.apiVersion,
      kind: k.info.kind,
      namespace: k.info.namespaced ? namespace : undefined,
      name,
      uid,
      action: orphan ? 'orphan' : 'delete',
    };
    let waiting = false;
    for (const cluster of this.ctx.members.names()) {
      const view = this.clusterView(cluster, k);
      if (view.availability === 'NotReady') {
        const id = `${cluster}|${uid}|${entry.action}`;
        if (!this.deferred.has(id)) {
          await this.ctx.cleanups.remember(cluster, entry);
          this.deferred.add(id);
          this.ctx.events.record(
            fed,
            'Normal',
            Reasons.CleanupDeferred,
            `Cluster unavailable: ${orphan ? 'releasing' : 'deleting'} ${fed.kind} "${splitObjKey(key)}" ` +
              'there is remembered and done when it returns',
            cluster,
          );
          // It may have returned while this was being remembered.
          const m = this.members.get(cluster);
          if (m && m.cleanupsDone) void this.runCleanups(m).catch(() => undefined);
        }
        continue;
      }
      if (view.availability === 'WaitingForCRD') continue; // nothing of this kind can be there
      if (view.availability !== 'Available') {
        waiting = true;
        continue;
      }
      const local = this.memberObject(cluster, k, splitObjKey(key));
      if (!local || !isManaged(local) || originUid(local) !== uid) continue;
      if (!orphan && local.metadata.deletionTimestamp) continue;
      waiting = true;
      this.dispatch(
        k,
        key,
        fed,
        orphan ? { op: 'release', cluster, object: local } : { op: 'delete', cluster, object: local },
      );
    }
    if (waiting || this.inflightFor(key)) return { requeueAfterMs: 200 };
    await this.ctx.federation.request('PATCH', resourcePath(k.info, fed.metadata.namespace, fed.metadata.name), {
      body: {
        metadata: {
          uid,
          resourceVersion: fed.metadata.resourceVersion,
          finalizers: finalizers.filter((f) => f !== FEDERATION_FINALIZER),
        },
      },
      contentType: 'application/merge-patch+json',
      query: { fieldManager: FIELD_MANAGER },
    });
    for (const id of [...this.deferred]) if (id.includes(`|${uid}|`)) this.deferred.delete(id);
    this.forgetKey(key);
  }

  /** kitfed's copies of an object whose federated object is gone without the finalizer having run. */
  private collectLeftovers(k: FederatedKind, key: string, objKey: string): void {
    this.forgetKey(key);
    for (const m of this.members.values()) {
      if (!m.cleanupsDone) continue; // an orphaned copy must lose its markers first, not be deleted
      const inf = m.informers.get(k.info.id);
      if (!inf?.hasSynced()) continue;
      const local = this.memberObject(m.name, k, objKey);
      if (
        !local ||
        !isManaged(local) ||
        local.metadata.deletionTimestamp ||
        excludedObject(this.exclusions, k.info, local)
      )
        continue;
      const ghost: KubeObject = {
        apiVersion: k.info.apiVersion,
        kind: k.info.kind,
        metadata: { name: local.metadata.name, namespace: local.metadata.namespace, uid: originUid(local) },
      };
      this.dispatch(k, key, ghost, { op: 'delete', cluster: m.name, object: local });
    }
  }

  private forgetKey(key: string): void {
    for (const d of this.deps.remove(key)) this.queue.add(d);
    this.lastStatus.delete(key);
    this.lastNative.delete(key);
    this.lastEvents.delete(key);
    this.observedAt.delete(key);
  }

  private inflightFor(key: string): boolean {
    for (const id of this.inflight.keys()) if (id.endsWith(`|${key}`)) return true;
    return false;
  }

  // ---- the write path ---------------------------------------------------------------------------

  /**
   * Starts `w` through the member's queue unless a write of this object there is in flight
   * (then the key is planned again when it ends). Not awaited: a slow member delays only
   * itself. Success and failure are Events; the key is planned again either way.
   */
  private dispatch(k: FederatedKind, key: string, fed: KubeObject, w: Write): void {
    const id = `${w.cluster}|${key}`;
    const running = this.inflight.get(id);
    if (running) {
      running.again = true;
      return;
    }
    this.inflight.set(id, { again: false });
    const previousRv = this.members.get(w.cluster)?.informers.get(k.info.id)?.get(splitObjKey(key))
      ?.metadata.resourceVersion;
    const action = w.op === 'apply' ? w.action : w.op;
    const r = OP_REASONS[action];
    const what = `${fed.kind} "${splitObjKey(key)}"`;
    void this.ctx.members
      .run(w.cluster, (client) => this.write(client, k, key, fed, w))
      .then(
        (written) => {
          this.failures.delete(id);
          if (written === 'kept') return;
          this.expectations.set(id, { written: written ? compact(written) : null, previousRv });
          const detail =
            w.op === 'apply' && w.replicas !== undefined
              ? w.action === 'create'
                ? ` with ${w.replicas} replica(s)`
                : w.previousReplicas !== undefined && w.previousReplicas !== w.replicas
                  ? ` (replicas ${w.previousReplicas} → ${w.replicas})`
                  : ''
              : '';
          this.ctx.events.record(fed, 'Normal', r.ok, `${r.verb} ${what}${detail}`, w.cluster);
          const since = this.observedAt.get(key);
          if (since !== undefined && w.op === 'apply')
            this.ctx.metrics.propagationSeconds.observe({ kind: k.info.kind }, (Date.now() - since) / 1000);
        },
        (err: unknown) => {
          const message = messageOf(err);
          const prev = this.failures.get(id);
          const hash = writeHash(w);
          const attempts = prev && prev.hash === hash ? prev.attempts + 1 : 1;
          // A create racing the namespace's own creation (404) is retried quickly and quietly at first.
          const quiet = w.op === 'apply' && w.action === 'create' && hasCode(err, 404) && attempts < 5;
          const conflict = hasCode(err, 409);
          this.failures.set(id, {
            hash,
            message,
            attempts,
            retryAt: Date.now() + Math.min(50 * 2 ** (attempts - 1), 300_000),
          });
          if (!quiet && !conflict && (prev?.message !== message || prev.hash !== hash))
            this.ctx.events.record(fed, 'Warning', r.failed, `Failed to ${action} ${what}: ${message}`, w.cluster);
        },
      )
      .finally(() => {
        this.inflight.delete(id);
        this.queue.add(key);
      });
  }

  /** One member write: server-side apply, a uid-guarded delete, or a uid-guarded release patch. */
  private async write(
    client: KubeClient,
    k: FederatedKind,
    key: string,
    fed: KubeObject,
    w: Write,
  ): Promise<KubeObject | null | 'kept'> {
    const o = w.object;
    const path = resourcePath(k.info, o.metadata.namespace, o.metadata.name);
    if (w.op === 'apply') {
      const body = w.uid ? { ...o, metadata: { ...o.metadata, uid: w.uid } } : o;
      return client.request<KubeObject>('PATCH', path, {
        body,
        contentType: 'application/apply-patch+yaml',
        query: { fieldManager: FIELD_MANAGER, force: true },
      });
    }
    if (w.op === 'delete' && k.info.id === 'Namespace') {
      const foreign = await this.foreignObjectsIn(client, o.metadata.name!);
      if (foreign.length > 0) {
        this.ctx.events.record(
          fed,
          'Normal',
          Reasons.NamespaceKept,
          `Namespace "${o.metadata.name}" kept (ownership released): it holds objects kitfed did not create ` +
            `(${foreign.slice(0, 5).join(', ')}${foreign.length > 5 ? ', ...' : ''})`,
          w.cluster,
        );
        await client.request('PATCH', path, {
          body: releasePatch(o),
          contentType: 'application/json-patch+json',
          query: { fieldManager: FIELD_MANAGER },
        });
        return 'kept';
      }
    }
    if (w.op === 'release')
      return client.request<KubeObject>('PATCH', path, {
        body: releasePatch(o),
        contentType: 'application/json-patch+json',
        query: { fieldManager: FIELD_MANAGER },
      });
    try {
      await client.request('DELETE', path, {
        body: {
          apiVersion: 'v1',
          kind: 'DeleteOptions',
          propagationPolicy: 'Background',
          preconditions: { uid: o.metadata.uid },
        },
      });
    } catch (err) {
      if (!hasCode(err, 404, 409)) throw err;
    }
    void key;
    return null;
  }

  /** What a member namespace holds that kitfed did not create (and no owner will take away). */
  private async foreignObjectsIn(client: KubeClient, namespace: string): Promise<string[]> {
    const out: string[] = [];
    for (const k of this.kinds.values()) {
      if (!k.info.namespaced || k.info.crd) continue;
      let items: KubeObject[];
      try {
        items = (await client.request<{ items: KubeObject[] }>('GET', resourcePath(k.info, namespace))).items ?? [];
      } catch (err) {
        if (hasCode(err, 404, 405)) continue;
        throw err;
      }
      for (const o of items) {
        const id = `${k.info.kind}/${o.metadata.name}`;
        if (
          isManaged(o) ||
          IGNORED_FOREIGN.has(id) ||
          (o.metadata.ownerReferences ?? []).length > 0 ||
          o.metadata.deletionTimestamp ||
          (k.info.kind === 'Secret' && o.type === 'kubernetes.io/service-account-token')
        )
          continue;
        out.push(id);
      }
    }
    return out;
  }
}

const STATUS_KEY = 'kitfed.io/status';

/** The object key part of a queue key. */
function splitObjKey(key: string): string {
  return parseQueueKey(key).objKey;
}

/**
 * This status was written from this very version of the object: the cache has not caught up
 * with the write yet, so writing it again would change nothing.
 */
function sameWrite(
  last: { text: string; baseRv: string | undefined } | undefined,
  text: string,
  rv: string | undefined,
): boolean {
  return last !== undefined && last.text === text && last.baseRv === rv;
}

function writeHash(w: Write): string {
  return w.op === 'apply' ? w.hash : `${w.op}:${w.object.metadata.uid ?? ''}`;
}

/** A JSON patch removing kitfed's markers, guarded by the object's uid. */
function releasePatch(local: KubeObject): unknown[] {
  const ops: unknown[] = [{ op: 'test', path: '/metadata/uid', value: local.metadata.uid }];
  if (local.metadata.labels?.[MANAGED_BY_LABEL] !== undefined)
    ops.push({ op: 'remove', path: `/metadata/labels/${pointer(MANAGED_BY_LABEL)}` });
  for (const a of [ORIGIN_UID_ANNOTATION, APPLIED_HASH_ANNOTATION])
    if (local.metadata.annotations?.[a] !== undefined)
      ops.push({ op: 'remove', path: `/metadata/annotations/${pointer(a)}` });
  return ops;
}

function pointer(token: string): string {
  return token.replace(/~/g, '~0').replace(/\//g, '~1');
}

/** A native status without condition times: a server that prunes what it does not know does not cause rewrites. */
function nativeSignature(status: Record<string, unknown>): string {
  return JSON.stringify(status, (k, v: unknown) => (k === 'lastTransitionTime' ? undefined : v));
}

/** Starts the engine on the controller manager's context. */
export async function startPropagation(
  ctx: ControllerContext,
  options: PropagationOptions = {},
): Promise<PropagationEngine> {
  const engine = new PropagationEngine(ctx, options);
  await engine.start();
  return engine;
}
