import { hasCode } from '../core/errors.js';
import type { KubeObject } from '../core/kube.js';
import type { AdmissionPlugin } from '../apiserver/index.js';
import type { parseQuantity } from '../core/quantity.js';
import { cmp, tryQuantity } from '../core/quantity.js';
import { CONTROLLER_MANAGER, type SimContext } from './context.js';
import { keyOf } from './informer.js';
import { asObj, specOf, statusOf, type Obj } from './util.js';

/**
 * Storage as a kind cluster has it: a default StorageClass `standard` (provisioner
 * `kitfed.io/sandbox`, Immediate binding, reclaim Delete), kube's DefaultStorageClass admission
 * (a claim without `storageClassName` gets the default class), and the PersistentVolume
 * controller: claims bind to a matching Available volume, or a volume is provisioned for them
 * (`pvc-<claim uid>`, a hostPath nothing mounts); released volumes are deleted or kept per their
 * reclaim policy. WaitForFirstConsumer classes provision once the scheduler picked a node.
 */

export const DEFAULT_CLASS = 'standard';
export const PROVISIONER = 'kitfed.io/sandbox';
const DEFAULT_ANNOTATION = 'storageclass.kubernetes.io/is-default-class';
const BETA_DEFAULT_ANNOTATION = 'storageclass.beta.kubernetes.io/is-default-class';
export const SELECTED_NODE = 'volume.kubernetes.io/selected-node';
const NO_PROVISIONER = 'kubernetes.io/no-provisioner';

export async function ensureStorageClass(ctx: SimContext): Promise<void> {
  const t = ctx.types.StorageClass;
  if (await ctx.registry.tryGet(t, undefined, DEFAULT_CLASS)) return;
  try {
    await ctx.registry.create(
      t,
      undefined,
      {
        apiVersion: 'storage.k8s.io/v1',
        kind: 'StorageClass',
        metadata: {
          name: DEFAULT_CLASS,
          annotations: { [DEFAULT_ANNOTATION]: 'true', 'kitfed.io/simulated': 'true' },
        },
        provisioner: PROVISIONER,
        reclaimPolicy: 'Delete',
        volumeBindingMode: 'Immediate',
        allowVolumeExpansion: true,
      },
      { fieldManager: CONTROLLER_MANAGER },
    );
  } catch (err) {
    if (!hasCode(err, 409)) throw err;
  }
}

function isDefaultClass(sc: KubeObject): boolean {
  const a = sc.metadata.annotations ?? {};
  return a[DEFAULT_ANNOTATION] === 'true' || a[BETA_DEFAULT_ANNOTATION] === 'true';
}

/** The default StorageClass (the newest of several, as kube 1.26+ picks). */
export function defaultClass(ctx: SimContext): KubeObject | undefined {
  return ctx.cache
    .list('StorageClass')
    .filter((sc) => isDefaultClass(sc) && !sc.metadata.deletionTimestamp)
    .sort(
      (a, b) =>
        (b.metadata.creationTimestamp ?? '').localeCompare(a.metadata.creationTimestamp ?? '') ||
        (a.metadata.name ?? '').localeCompare(b.metadata.name ?? ''),
    )[0];
}

/** kube's DefaultStorageClass admission plugin. */
export function defaultStorageClassPlugin(context: () => SimContext | undefined): AdmissionPlugin {
  return {
    name: 'DefaultStorageClass',
    kinds: ['PersistentVolumeClaim'],
    admit(op, _t, obj) {
      const ctx = context();
      if (op !== 'CREATE' || !ctx) return;
      const spec = asObj(obj.spec);
      if (spec.storageClassName !== undefined && spec.storageClassName !== null) return;
      if (obj.metadata.annotations?.['volume.beta.kubernetes.io/storage-class'] !== undefined) return;
      const sc = defaultClass(ctx);
      if (sc) obj.spec = { ...spec, storageClassName: sc.metadata.name };
    },
  };
}

function requested(pvc: KubeObject): string | undefined {
  const v = asObj(asObj(specOf(pvc).resources).requests).storage;
  return typeof v === 'string' || typeof v === 'number' ? String(v) : undefined;
}

function classOf(o: KubeObject): string {
  const v = specOf(o).storageClassName ?? o.metadata.annotations?.['volume.beta.kubernetes.io/storage-class'];
  return typeof v === 'string' ? v : '';
}

const modesOf = (o: KubeObject) => (specOf(o).accessModes as string[] | undefined) ?? [];

/** Whether `pv` can serve `pvc`: class, access modes, volume mode and size. */
function fits(pv: KubeObject, pvc: KubeObject): boolean {
  if (classOf(pv) !== classOf(pvc)) return false;
  if (!modesOf(pvc).every((m) => modesOf(pv).includes(m))) return false;
  if ((specOf(pv).volumeMode ?? 'Filesystem') !== (specOf(pvc).volumeMode ?? 'Filesystem')) return false;
  const want = tryQuantity(requested(pvc) ?? '0');
  const has = tryQuantity(asObj(specOf(pv).capacity).storage);
  return !want || (has !== undefined && cmp(has, want) >= 0);
}

function claimRef(pv: KubeObject): Obj | undefined {
  const r = specOf(pv).claimRef;
  return r && typeof r === 'object' ? (r as Obj) : undefined;
}

/** The volume controller of one cluster (kube's PersistentVolume binder and a provisioner). */
export class VolumeBinder {
  /** Last event reason per claim uid, so a waiting claim is told once, not on every resync. */
  private readonly told = new Map<string, string>();

  constructor(private readonly ctx: SimContext) {}

  forget(pvc: KubeObject): void {
    if (pvc.metadata.uid) this.told.delete(pvc.metadata.uid);
  }

  private tell(pvc: KubeObject, type: 'Normal' | 'Warning', reason: string, message: string, component: string): void {
    const uid = pvc.metadata.uid ?? '';
    if (this.told.get(uid) === `${reason}:${message}`) return;
    this.told.set(uid, `${reason}:${message}`);
    this.ctx.events.emit(pvc, type, reason, message, component);
  }

  async syncClaim(pvc: KubeObject): Promise<void> {
    if (pvc.metadata.deletionTimestamp) return;
    const ctx = this.ctx;
    const volumeName = specOf(pvc).volumeName as string | undefined;
    if (volumeName) {
      const pv = ctx.cache.get('PersistentVolume', volumeName);
      if (!pv) {
        if (statusOf(pvc).phase === 'Bound') {
          await this.claimStatus(pvc, { phase: 'Lost' });
          this.tell(
            pvc,
            'Warning',
            'ClaimLost',
            'Bound claim has lost its PersistentVolume. Data on the volume is lost!',
            'persistentvolume-controller',
          );
        }
        return;
      }
      const ref = claimRef(pv);
      if (!ref) return this.bind(pv, pvc, false);
      if (
        ref.uid === pvc.metadata.uid ||
        (!ref.uid && ref.name === pvc.metadata.name && ref.namespace === pvc.metadata.namespace)
      )
        return this.finish(pv, pvc);
      return;
    }
    const pvs = ctx.cache.list('PersistentVolume').filter((pv) => !pv.metadata.deletionTimestamp);
    const preBound = pvs.find((pv) => {
      const r = claimRef(pv);
      return r && !r.uid && r.name === pvc.metadata.name && r.namespace === pvc.metadata.namespace;
    });
    if (preBound) return this.bind(preBound, pvc, true);
    const candidates = pvs
      .filter((pv) => !claimRef(pv) && fits(pv, pvc))
      .sort((a, b) => {
        const qa = tryQuantity(asObj(specOf(a).capacity).storage);
        const qb = tryQuantity(asObj(specOf(b).capacity).storage);
        return qa && qb ? cmp(qa, qb) : 0;
      });
    if (candidates[0]) return this.bind(candidates[0], pvc, true);
    const className = classOf(pvc);
    if (!className) {
      this.tell(
        pvc,
        'Normal',
        'FailedBinding',
        'no persistent volumes available for this claim and no storage class is set',
        'persistentvolume-controller',
      );
      return;
    }
    const sc = ctx.cache.get('StorageClass', className);
    if (!sc) {
      this.tell(
        pvc,
        'Warning',
        'ProvisioningFailed',
        `storageclass.storage.k8s.io "${className}" not found`,
        'persistentvolume-controller',
      );
      return;
    }
    const provisioner = String((sc as { provisioner?: unknown }).provisioner ?? '');
    const node = pvc.metadata.annotations?.[SELECTED_NODE];
    if ((sc as { volumeBindingMode?: unknown }).volumeBindingMode === 'WaitForFirstConsumer' && !node) {
      this.tell(
        pvc,
        'Normal',
        'WaitForFirstConsumer',
        'waiting for first consumer to be created before binding',
        'persistentvolume-controller',
      );
      return;
    }
    if (provisioner === NO_PROVISIONER) {
      this.tell(
        pvc,
        'Normal',
        'FailedBinding',
        'no persistent volumes available for this claim',
        'persistentvolume-controller',
      );
      return;
    }
    await this.provision(pvc, sc, provisioner, node);
  }

  private async provision(
    pvc: KubeObject,
    sc: KubeObject,
    provisioner: string,
    node: string | undefined,
  ): Promise<void> {
    const ctx = this.ctx;
    const name = `pvc-${pvc.metadata.uid}`;
    const size = requested(pvc);
    if (!size || !tryQuantity(size)) {
      this.tell(
        pvc,
        'Warning',
        'ProvisioningFailed',
        'failed to provision volume: the claim requests no storage size',
        provisioner,
      );
      return;
    }
    this.ctx.events.emit(
      pvc,
      'Normal',
      'Provisioning',
      `External provisioner is provisioning volume for claim "${keyOf(pvc)}"`,
      provisioner,
    );
    const pv: KubeObject = {
      apiVersion: 'v1',
      kind: 'PersistentVolume',
      metadata: { name, annotations: { 'pv.kubernetes.io/provisioned-by': provisioner } },
      spec: {
        capacity: { storage: size },
        accessModes: modesOf(pvc).length > 0 ? modesOf(pvc) : ['ReadWriteOnce'],
        persistentVolumeReclaimPolicy: String((sc as { reclaimPolicy?: unknown }).reclaimPolicy ?? 'Delete'),
        storageClassName: sc.metadata.name,
        volumeMode: specOf(pvc).volumeMode ?? 'Filesystem',
        hostPath: { path: `/var/lib/kitfed-sandbox/volumes/${name}`, type: 'DirectoryOrCreate' },
        ...((sc as { mountOptions?: unknown }).mountOptions
          ? { mountOptions: (sc as { mountOptions?: unknown }).mountOptions }
          : {}),
        ...(node
          ? {
              nodeAffinity: {
                required: {
                  nodeSelectorTerms: [
                    { matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: [node] }] },
                  ],
                },
              },
            }
          : {}),
        claimRef: this.refTo(pvc),
      },
    };
    let created: KubeObject;
    try {
      created = await ctx.registry.create(ctx.types.PersistentVolume, undefined, pv, { fieldManager: provisioner });
    } catch (err) {
      if (!hasCode(err, 409)) throw err;
      created = (await ctx.registry.tryGet(ctx.types.PersistentVolume, undefined, name)) ?? pv;
    }
    this.ctx.events.emit(
      pvc,
      'Normal',
      'ProvisioningSucceeded',
      `Successfully provisioned volume ${name}`,
      provisioner,
    );
    await this.finish(created, pvc, provisioner);
  }

  private refTo(pvc: KubeObject): Obj {
    return {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      namespace: pvc.metadata.namespace,
      name: pvc.metadata.name,
      uid: pvc.metadata.uid,
      resourceVersion: pvc.metadata.resourceVersion,
    };
  }

  /** Points a volume at a claim (the controller's half of a bind), then completes it. */
  private async bind(pv: KubeObject, pvc: KubeObject, byController: boolean): Promise<void> {
    const bound = await this.ctx.registry.mutate(this.ctx.types.PersistentVolume, undefined, pv.metadata.name!, (o) => {
      const ref = claimRef(o);
      if (ref && ref.uid && ref.uid !== pvc.metadata.uid) return undefined;
      (o.spec as Obj).claimRef = this.refTo(pvc);
      if (byController)
        o.metadata.annotations = { ...(o.metadata.annotations ?? {}), 'pv.kubernetes.io/bound-by-controller': 'yes' };
      return o;
    });
    if (bound && claimRef(bound)?.uid === pvc.metadata.uid) await this.finish(bound, pvc, undefined, byController);
  }

  /** The volume is the claim's: both say Bound. */
  private async finish(pv: KubeObject, pvc: KubeObject, provisioner?: string, byController = true): Promise<void> {
    const ctx = this.ctx;
    if (statusOf(pv).phase !== 'Bound')
      await ctx.registry.mutate(
        ctx.types.PersistentVolume,
        undefined,
        pv.metadata.name!,
        (o) => ({ ...o, status: { phase: 'Bound' } }),
        'status',
      );
    const name = pv.metadata.name!;
    if (specOf(pvc).volumeName !== name || pvc.metadata.annotations?.['pv.kubernetes.io/bind-completed'] !== 'yes') {
      const updated = await ctx.registry.mutate(
        ctx.types.PersistentVolumeClaim,
        pvc.metadata.namespace,
        pvc.metadata.name!,
        (o) => {
          if (o.metadata.uid !== pvc.metadata.uid) return undefined;
          (o.spec as Obj).volumeName = name;
          const annotations: Record<string, string> = {
            ...(o.metadata.annotations ?? {}),
            'pv.kubernetes.io/bind-completed': 'yes',
          };
          if (byController) annotations['pv.kubernetes.io/bound-by-controller'] = 'yes';
          if (provisioner) {
            annotations['volume.beta.kubernetes.io/storage-provisioner'] = provisioner;
            annotations['volume.kubernetes.io/storage-provisioner'] = provisioner;
          }
          o.metadata.annotations = annotations;
          return o;
        },
      );
      if (!updated) return;
      pvc = updated;
    }
    const status = { phase: 'Bound', accessModes: specOf(pv).accessModes, capacity: specOf(pv).capacity };
    if (JSON.stringify(statusOf(pvc)) !== JSON.stringify(status)) await this.claimStatus(pvc, status);
    this.told.delete(pvc.metadata.uid ?? '');
  }

  private async claimStatus(pvc: KubeObject, status: Obj): Promise<void> {
    await this.ctx.registry.mutate(
      this.ctx.types.PersistentVolumeClaim,
      pvc.metadata.namespace,
      pvc.metadata.name!,
      (o) => (o.metadata.uid === pvc.metadata.uid ? { ...o, status } : undefined),
      'status',
    );
  }

  async syncVolume(pv: KubeObject): Promise<void> {
    if (pv.metadata.deletionTimestamp) return;
    const ctx = this.ctx;
    const ref = claimRef(pv);
    const setPhase = async (phase: string) => {
      if (statusOf(pv).phase === phase) return;
      await ctx.registry.mutate(
        ctx.types.PersistentVolume,
        undefined,
        pv.metadata.name!,
        (o) => ({ ...o, status: { phase } }),
        'status',
      );
    };
    if (!ref) return setPhase('Available');
    const claim = ctx.cache.get('PersistentVolumeClaim', `${String(ref.namespace)}/${String(ref.name)}`);
    if (!ref.uid) {
      if (claim) ctx.enqueue('PersistentVolumeClaim', keyOf(claim));
      return setPhase('Available');
    }
    if (claim && claim.metadata.uid === ref.uid) {
      if (specOf(claim).volumeName !== pv.metadata.name || statusOf(claim).phase !== 'Bound')
        ctx.enqueue('PersistentVolumeClaim', keyOf(claim));
      return setPhase('Bound');
    }
    // The claim is gone: reclaim the volume.
    const policy = specOf(pv).persistentVolumeReclaimPolicy ?? 'Retain';
    if (policy === 'Delete') {
      await ctx.registry
        .delete(ctx.types.PersistentVolume, undefined, pv.metadata.name!, { preconditions: { uid: pv.metadata.uid } })
        .catch((err: unknown) => {
          if (!hasCode(err, 404) && !hasCode(err, 409)) throw err;
        });
      return;
    }
    if (policy === 'Recycle') {
      await ctx.registry.mutate(ctx.types.PersistentVolume, undefined, pv.metadata.name!, (o) => {
        delete (o.spec as Obj).claimRef;
        return o;
      });
      return;
    }
    return setPhase('Released');
  }

  /** Claims waiting for a volume or a class (re-checked when volumes or classes change). */
  pendingClaims(): KubeObject[] {
    return this.ctx.cache
      .list('PersistentVolumeClaim')
      .filter((c) => statusOf(c).phase !== 'Bound' && !c.metadata.deletionTimestamp);
  }
}

/** Whether parsing a storage size works (used by admission and quota). */
export function storageOf(pvc: KubeObject): ReturnType<typeof parseQuantity> | undefined {
  return tryQuantity(requested(pvc));
}
