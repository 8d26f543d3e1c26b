import PQueue from 'p-queue';
import { hasCode } from '../../core/errors.js';
import { createLogger } from '../../core/log.js';
import type { KubeObject } from '../../core/kube.js';
import type { Registry } from '../registry.js';
import { keyPrefix, type ResourceType } from '../resources.js';
import type { CachedEvent } from '../watch-cache.js';
import {
  CLEANUP_FINALIZER,
  CRD_GROUP,
  CRD_KIND,
  crdTypes,
  specOf,
  statusOf,
  type CrdCondition,
  type CrdNames,
  type CrdStatus,
} from './definition.js';
import { kubeTime } from '../../core/time.js';

const log = createLogger('crd');

interface GroupNames {
  /** plural, singular and short names → who holds them */
  resources: Map<string, string>;
  /** kind and listKind → who holds them */
  kinds: Map<string, string>;
}

interface Desired {
  acceptedNames: Partial<CrdNames>;
  conditions: CrdCondition[];
}

const BUILTIN = '<built-in>';

function created(o: KubeObject): string {
  return o.metadata.creationTimestamp ?? '';
}

function fullNames(n: Partial<CrdNames>): CrdNames {
  const kind = n.kind ?? '';
  return {
    plural: n.plural ?? '',
    singular: n.singular || kind.toLowerCase(),
    kind,
    listKind: n.listKind || `${kind}List`,
    ...(n.shortNames?.length ? { shortNames: [...n.shortNames] } : {}),
    ...(n.categories?.length ? { categories: [...n.categories] } : {}),
  };
}

/**
 * The CustomResourceDefinition controllers every API server runs (kube's apiextensions naming,
 * establishing and finalizer controllers, in one): for each CRD it decides which names are
 * accepted (first come, first served within a group; built-in resources always hold theirs),
 * serves the CRD's versions through the ResourceCatalog at once, reports NamesAccepted and
 * Established in the CRD status, and when a CRD is deleted removes its custom resources, then
 * the cleanup finalizer. Driven by the watch cache, so every API server on one etcd follows.
 */
export class CrdController {
  private crdType: ResourceType | undefined;
  /** The CRDs as the watch cache last saw them. */
  private readonly crds = new Map<string, KubeObject>();
  /** What each CRD serves (spec, accepted names, terminating), to rebuild its types only on change. */
  private readonly served = new Map<string, string>();
  private readonly desired = new Map<string, Desired>();
  private readonly queue = new PQueue({ concurrency: 1 });
  private readonly pendingStatus = new Set<string>();
  private readonly cleaning = new Map<string, () => void>();
  private stopWatch: (() => void) | undefined;
  private stopped = false;

  constructor(private readonly registry: Registry) {}

  async start(): Promise<void> {
    const t = this.registry.catalog.byKind(CRD_GROUP, 'v1', CRD_KIND);
    if (!t) return;
    this.crdType = t;
    // Rebuilt from storage on every start: CRDs are stored objects like any other.
    const list = await this.registry.list(t, undefined);
    for (const o of list.items) this.crds.set(o.metadata.name!, o);
    this.reconcile();
    const prefix = keyPrefix(t);
    this.stopWatch = this.registry.cache.subscribe(prefix, Number(list.metadata.resourceVersion), (e) =>
      this.onEvent(e),
    );
    log.info({ crds: this.crds.size }, 'serving custom resources');
  }

  stop(): void {
    this.stopped = true;
    this.stopWatch?.();
    for (const stop of this.cleaning.values()) stop();
    this.cleaning.clear();
    this.queue.clear();
  }

  private onEvent(e: CachedEvent): void {
    if (e.revision < 0 || this.stopped) return;
    const name = e.object.metadata.name!;
    if (e.type === 'DELETED') {
      this.crds.delete(name);
      this.served.delete(name);
      this.desired.delete(name);
      this.cleaning.get(name)?.();
      this.cleaning.delete(name);
      this.registry.catalog.set(name, []);
      log.info({ crd: name }, 'custom resource definition removed');
    } else this.crds.set(name, e.object);
    this.reconcile();
  }

  /** Names taken by the built-in (non-custom) types, by group. */
  private builtinNames(): Map<string, GroupNames> {
    const groups = new Map<string, GroupNames>();
    for (const t of this.registry.catalog.all) {
      if (t.custom) continue;
      for (const gv of [{ group: t.group }, ...(t.aliases ?? [])]) {
        const g = groupOf(groups, gv.group);
        for (const r of [t.plural, t.singular, ...(t.shortNames ?? [])]) g.resources.set(r, BUILTIN);
        g.kinds.set(t.kind, BUILTIN);
        g.kinds.set(`${t.kind}List`, BUILTIN);
      }
    }
    return groups;
  }

  /** Decides names, serving and status for every CRD; cheap enough to run on every CRD event. */
  private reconcile(): void {
    const groups = this.builtinNames();
    const holds = (o: KubeObject) => (statusOf(o).acceptedNames?.plural ? 0 : 1);
    const order = [...this.crds.values()].sort(
      (a, b) =>
        holds(a) - holds(b) || created(a).localeCompare(created(b)) || a.metadata.name!.localeCompare(b.metadata.name!),
    );
    for (const crd of order) this.reconcileOne(crd, groups);
  }

  private reconcileOne(crd: KubeObject, groups: Map<string, GroupNames>): void {
    const name = crd.metadata.name!;
    const spec = specOf(crd);
    if (!spec.group || !spec.names?.plural || !Array.isArray(spec.versions)) return;
    const g = groupOf(groups, spec.group);
    const requested = fullNames(spec.names);
    const conflict = findConflict(requested, g, name);
    const previous = statusOf(crd).acceptedNames;
    let accepted: CrdNames | undefined;
    if (!conflict) accepted = requested;
    else if (previous?.plural && previous.kind && !findConflict(fullNames(previous), g, name))
      accepted = fullNames(previous);
    let namesCondition: CrdCondition = conflict
      ? { type: 'NamesAccepted', status: 'False', reason: conflict.reason, message: conflict.message }
      : { type: 'NamesAccepted', status: 'True', reason: 'NoConflicts', message: 'no conflicts found' };

    const terminating = !!crd.metadata.deletionTimestamp;
    const fingerprint = JSON.stringify([spec, accepted ?? null, terminating]);
    if (this.served.get(name) !== fingerprint) {
      try {
        this.registry.catalog.set(name, accepted ? crdTypes(crd, accepted) : []);
        this.served.set(name, fingerprint);
        if (accepted)
          log.info(
            { crd: name, versions: spec.versions.filter((v) => v.served).map((v) => v.name) },
            'serving custom resource',
          );
      } catch (err) {
        // A resource served by other means (it should have been caught as a conflict above).
        this.registry.catalog.set(name, []);
        this.served.set(name, JSON.stringify([spec, null, terminating]));
        accepted = undefined;
        namesCondition = {
          type: 'NamesAccepted',
          status: 'False',
          reason: 'PluralConflict',
          message: (err as Error).message,
        };
      }
    }
    if (accepted) {
      for (const r of [accepted.plural, accepted.singular ?? '', ...(accepted.shortNames ?? [])])
        if (r) g.resources.set(r, name);
      g.kinds.set(accepted.kind, name);
      g.kinds.set(accepted.listKind ?? `${accepted.kind}List`, name);
    }

    const conditions: CrdCondition[] = [namesCondition];
    conditions.push(
      accepted
        ? {
            type: 'Established',
            status: 'True',
            reason: 'InitialNamesAccepted',
            message: 'the initial names have been accepted',
          }
        : { type: 'Established', status: 'False', reason: 'NotAccepted', message: 'not all names are accepted' },
    );
    if (terminating)
      conditions.push({
        type: 'Terminating',
        status: 'True',
        reason: 'InstanceDeletionInProgress',
        message: 'CustomResource deletion is in progress',
      });
    const desired: Desired = { acceptedNames: accepted ?? previous ?? { plural: '', kind: '' }, conditions };
    this.desired.set(name, desired);
    if (!statusMatches(statusOf(crd), desired)) this.writeStatus(name);
    if (terminating && (crd.metadata.finalizers ?? []).includes(CLEANUP_FINALIZER) && !this.cleaning.has(name))
      this.cleanup(name);
  }

  private writeStatus(name: string): void {
    if (this.pendingStatus.has(name) || this.stopped) return;
    this.pendingStatus.add(name);
    void this.queue.add(async () => {
      this.pendingStatus.delete(name);
      const want = this.desired.get(name);
      if (!want || !this.crdType) return;
      try {
        await this.registry.mutate(
          this.crdType,
          undefined,
          name,
          (o) => {
            const status = { ...statusOf(o) };
            status.acceptedNames = want.acceptedNames;
            status.conditions = mergeConditions(status.conditions ?? [], want.conditions);
            return { ...o, status };
          },
          'status',
        );
      } catch (err) {
        if (!hasCode(err, 404)) log.warn({ crd: name, err: (err as Error).message }, 'writing CRD status failed');
      }
    });
  }

  /** Deletes every custom resource of a CRD being deleted, then its cleanup finalizer. */
  private cleanup(name: string): void {
    let stopWaiting: (() => void) | undefined;
    let timer: NodeJS.Timeout | undefined;
    const stop = () => {
      stopWaiting?.();
      clearTimeout(timer);
    };
    this.cleaning.set(name, stop);
    const run = async (): Promise<void> => {
      const crd = this.crds.get(name);
      if (this.stopped || !crd?.metadata.deletionTimestamp || !this.crdType) return;
      const spec = specOf(crd);
      const types = this.registry.catalog.ownedBy(name);
      const t = types[0] ?? crdTypes(crd, fullNames(spec.names))[0];
      if (t) {
        const list = await this.registry.list(t, undefined);
        for (const o of list.items) {
          if (o.metadata.deletionTimestamp) continue;
          try {
            await this.registry.delete(t, o.metadata.namespace, o.metadata.name!, { propagationPolicy: 'Background' });
          } catch (err) {
            if (!hasCode(err, 404)) throw err;
          }
        }
        if (!(await this.registry.isEmpty(t, undefined))) {
          // Objects with finalizers of their own: try again when one goes (and every 5 s regardless).
          if (!stopWaiting) {
            stopWaiting = this.registry.cache.subscribe(keyPrefix(t), this.registry.cache.revision, (e) => {
              if (e.type === 'DELETED') again(100);
            });
          }
          again(5000);
          return;
        }
      }
      stop();
      await this.registry.mutate(this.crdType, undefined, name, (o) => ({
        ...o,
        metadata: { ...o.metadata, finalizers: (o.metadata.finalizers ?? []).filter((f) => f !== CLEANUP_FINALIZER) },
      }));
      log.info({ crd: name }, 'custom resources deleted; removing the cleanup finalizer');
    };
    const again = (ms: number) => {
      clearTimeout(timer);
      timer = setTimeout(() => void this.queue.add(attempt), ms);
      timer.unref();
    };
    const attempt = async () => {
      try {
        await run();
      } catch (err) {
        log.warn({ crd: name, err: (err as Error).message }, 'custom resource cleanup failed; retrying');
        again(1000);
      }
    };
    void this.queue.add(attempt);
  }
}

function groupOf(groups: Map<string, GroupNames>, group: string): GroupNames {
  let g = groups.get(group);
  if (!g) groups.set(group, (g = { resources: new Map(), kinds: new Map() }));
  return g;
}

/**
 * kube's naming conflicts within a group: plural, singular and short names share one space, kind and listKind another.
 */
function findConflict(n: CrdNames, g: GroupNames, self: string): { reason: string; message: string } | undefined {
  const taken = (m: Map<string, string>, v: string | undefined) => !!v && m.has(v) && m.get(v) !== self;
  if (taken(g.resources, n.plural)) return { reason: 'PluralConflict', message: `"${n.plural}" is already in use` };
  if (taken(g.resources, n.singular))
    return { reason: 'SingularConflict', message: `"${n.singular ?? ''}" is already in use` };
  for (const s of n.shortNames ?? [])
    if (taken(g.resources, s)) return { reason: 'ShortNamesConflict', message: `"${s}" is already in use` };
  if (taken(g.kinds, n.kind)) return { reason: 'KindConflict', message: `"${n.kind}" is already in use` };
  if (taken(g.kinds, n.listKind))
    return { reason: 'ListKindConflict', message: `"${n.listKind ?? ''}" is already in use` };
  return undefined;
}

function sameCondition(a: CrdCondition, b: CrdCondition): boolean {
  return a.status === b.status && a.reason === b.reason && a.message === b.message;
}

function statusMatches(status: CrdStatus, want: Desired): boolean {
  if (JSON.stringify(status.acceptedNames ?? {}) !== JSON.stringify(want.acceptedNames)) return false;
  const have = status.conditions ?? [];
  return want.conditions.every((c) => {
    const h = have.find((x) => x.type === c.type);
    return !!h && sameCondition(h, c);
  });
}

/** The wanted conditions, keeping the transition time of those whose status did not change. */
function mergeConditions(have: CrdCondition[], want: CrdCondition[]): CrdCondition[] {
  const now = kubeTime();
  const out = have.filter((h) => !want.some((w) => w.type === h.type));
  for (const w of want) {
    const h = have.find((x) => x.type === w.type);
    out.push({
      ...w,
      lastTransitionTime: h && h.status === w.status && h.lastTransitionTime ? h.lastTransitionTime : now,
    });
  }
  const order = ['NamesAccepted', 'Established', 'Terminating'];
  return out.sort((a, b) => order.indexOf(a.type) - order.indexOf(b.type));
}
