import type { KubeObject } from '../core/kube.js';
import { keyPrefix, type Registry, type ResourceType, type CachedEvent } from '../apiserver/index.js';

export type ChangeType = 'ADDED' | 'MODIFIED' | 'DELETED';
export type ChangeHandler = (type: ChangeType, kind: string, obj: KubeObject, prev: KubeObject | undefined) => void;
/** Every other change in the store (kinds the simulator does not cache): its key and namespace. */
export type OtherHandler = (key: string, namespace: string | undefined, resourceVersion: string | undefined) => void;

export function keyOf(o: KubeObject): string {
  return o.metadata.namespace ? `${o.metadata.namespace}/${o.metadata.name}` : o.metadata.name!;
}

/**
 * The simulator's informer: the current objects of the kinds it controls, kept from the
 * registry's watch cache (in process, no HTTP), indexed by controller owner uid.
 */
export class ObjectCache {
  private readonly byKind = new Map<string, Map<string, KubeObject>>();
  private readonly byOwner = new Map<string, Map<string, KubeObject>>();
  private readonly kinds = new Set<string>();
  private stop: (() => void) | undefined;

  constructor(
    private readonly registry: Registry,
    private readonly types: ResourceType[],
  ) {
    for (const t of types) {
      this.byKind.set(t.kind, new Map());
      this.kinds.add(keyPrefix(t));
    }
  }

  async start(onChange: ChangeHandler, onOther?: OtherHandler): Promise<void> {
    const rev = this.registry.cache.revision;
    const initial: Array<[string, KubeObject]> = [];
    for (const t of this.types) {
      for (const o of (await this.registry.list(t, undefined)).items) {
        this.put(t.kind, o);
        initial.push([t.kind, o]);
      }
    }
    this.stop = this.registry.cache.subscribe('/registry/', rev, (e) => this.onEvent(e, onChange, onOther));
    for (const [kind, o] of initial) onChange('ADDED', kind, o, undefined);
  }

  close(): void {
    this.stop?.();
  }

  private onEvent(e: CachedEvent, onChange: ChangeHandler, onOther: OtherHandler | undefined): void {
    if (e.revision < 0) return;
    const t = this.registry.catalog.typeOfKey(e.key);
    if (!t) return;
    if (!this.kinds.has(keyPrefix(t)) || !this.byKind.has(t.kind)) {
      onOther?.(e.key, t.namespaced ? e.object.metadata.namespace : undefined, e.object.metadata.resourceVersion);
      return;
    }
    const prev = this.byKind.get(t.kind)!.get(keyOf(e.object));
    if (e.type === 'DELETED') this.remove(t.kind, e.object);
    else this.put(t.kind, e.object);
    onChange(e.type, t.kind, e.object, prev);
  }

  private ownerKey(kind: string, o: KubeObject): string {
    return `${kind}|${keyOf(o)}`;
  }

  private put(kind: string, o: KubeObject): void {
    const map = this.byKind.get(kind)!;
    const prev = map.get(keyOf(o));
    if (prev) this.unindex(kind, prev);
    map.set(keyOf(o), o);
    const owner = o.metadata.ownerReferences?.find((r) => r.controller)?.uid;
    if (owner) {
      let m = this.byOwner.get(owner);
      if (!m) this.byOwner.set(owner, (m = new Map()));
      m.set(this.ownerKey(kind, o), o);
    }
  }

  private unindex(kind: string, o: KubeObject): void {
    const owner = o.metadata.ownerReferences?.find((r) => r.controller)?.uid;
    if (!owner) return;
    const m = this.byOwner.get(owner);
    m?.delete(this.ownerKey(kind, o));
    if (m?.size === 0) this.byOwner.delete(owner);
  }

  private remove(kind: string, o: KubeObject): void {
    const map = this.byKind.get(kind)!;
    const prev = map.get(keyOf(o));
    if (prev) this.unindex(kind, prev);
    map.delete(keyOf(o));
  }

  get(kind: string, key: string): KubeObject | undefined {
    return this.byKind.get(kind)?.get(key);
  }

  list(kind: string): KubeObject[] {
    return [...(this.byKind.get(kind)?.values() ?? [])];
  }

  /** Objects of `kind` in `namespace`. */
  inNamespace(kind: string, namespace: string | undefined): KubeObject[] {
    const out: KubeObject[] = [];
    for (const o of this.byKind.get(kind)?.values() ?? []) if (o.metadata.namespace === namespace) out.push(o);
    return out;
  }

  count(kind: string): number {
    return this.byKind.get(kind)?.size ?? 0;
  }

  /** Objects of `kind` whose controller ownerReference is `uid`. */
  owned(uid: string | undefined, kind: string): KubeObject[] {
    if (!uid) return [];
    const out: KubeObject[] = [];
    for (const [k, o] of this.byOwner.get(uid) ?? []) if (k.startsWith(`${kind}|`)) out.push(o);
    return out;
  }
}
