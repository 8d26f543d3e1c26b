import { createLogger } from '../log.js';
import { messageOf, hasCode } from '../errors.js';
import type { KubeObject } from '../kube.js';
import { ALL_NAMESPACES, type KubeClient, type WatchHandle } from '../kube-client.js';

export interface InformerOptions {
  apiVersion: string;
  kind: string;
  /** Only this namespace; all namespaces when absent. */
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** Server-side watch timeout; the informer re-watches from its last resourceVersion. @default 300 */
  watchTimeoutSeconds?: number;
  /** Page size of the initial list. @default 1000 */
  pageSize?: number;
  /** For logs. */
  name?: string;
  /** Applied to every object before it is cached (e.g. `dropManagedFields` to save memory). */
  transform?: (obj: KubeObject) => KubeObject;
}

/** A transform that leaves `metadata.managedFields` out of the cache (often half an object's size). */
export function dropManagedFields(obj: KubeObject): KubeObject {
  if (!obj.metadata?.managedFields) return obj;
  const { managedFields: _m, ...metadata } = obj.metadata;
  void _m;
  return { ...obj, metadata };
}

/** The cache key: `namespace/name`, or `name` for cluster-scoped objects. */
export function keyOf(obj: KubeObject | { metadata: { namespace?: string; name?: string } }): string {
  const m = obj.metadata;
  return m.namespace ? `${m.namespace}/${m.name}` : (m.name ?? '');
}

/** Splits a key made by `keyOf`. */
export function splitKey(key: string): { namespace?: string; name: string } {
  const i = key.indexOf('/');
  return i < 0 ? { name: key } : { namespace: key.slice(0, i), name: key.slice(i + 1) };
}

type AddHandler<T> = (obj: T) => void;
type UpdateHandler<T> = (oldObj: T, newObj: T) => void;

/**
 * List+watch of one kind into a cache. Watches resume from the last resourceVersion seen
 * (bookmarks included); a 410 Gone or an ERROR event re-lists and reports the difference
 * to the handlers; connection failures back off (100 ms doubling to 5 s).
 */
export class Informer<T extends KubeObject = KubeObject> {
  private readonly cache = new Map<string, T>();
  private readonly adds: AddHandler<T>[] = [];
  private readonly updates: UpdateHandler<T>[] = [];
  private readonly deletes: AddHandler<T>[] = [];
  private resourceVersion = '';
  private watch: WatchHandle | undefined;
  private stopped = true;
  private synced_ = false;
  private resolveSynced!: () => void;
  private wake: (() => void) | undefined;
  private loop: Promise<void> | undefined;
  private readonly log;
  /** Resolves once the first list is in the cache. */
  readonly synced: Promise<void>;

  constructor(
    readonly client: KubeClient,
    readonly options: InformerOptions,
  ) {
    this.synced = new Promise((r) => (this.resolveSynced = r));
    this.log = createLogger(`informer:${options.name ?? options.kind}`);
  }

  onAdd(fn: AddHandler<T>): this {
    this.adds.push(fn);
    return this;
  }
  onUpdate(fn: UpdateHandler<T>): this {
    this.updates.push(fn);
    return this;
  }
  onDelete(fn: AddHandler<T>): this {
    this.deletes.push(fn);
    return this;
  }

  hasSynced(): boolean {
    return this.synced_;
  }

  get(key: string): T | undefined {
    return this.cache.get(key);
  }

  list(): T[] {
    return [...this.cache.values()];
  }

  keys(): IterableIterator<string> {
    return this.cache.keys();
  }

  get size(): number {
    return this.cache.size;
  }

  get lastResourceVersion(): string {
    return this.resourceVersion;
  }

  start(): this {
    if (!this.stopped) return this;
    this.stopped = false;
    this.loop = this.run();
    return this;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.watch?.stop();
    this.wake?.();
    await this.loop;
  }

  private async run(): Promise<void> {
    let backoff = 100;
    while (!this.stopped) {
      try {
        await this.relist();
        backoff = 100;
        const relist = await this.watchLoop();
        if (!relist) continue;
      } catch (err) {
        if (this.stopped) return;
        this.log.debug({ err: messageOf(err), server: this.client.server }, 'list failed; retrying');
        await this.sleep(backoff);
        backoff = Math.min(backoff * 2, 5000);
      }
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.wake = undefined;
        resolve();
      }, ms);
      this.wake = () => {
        clearTimeout(t);
        this.wake = undefined;
        resolve();
      };
    });
  }

  private async relist(): Promise<void> {
    const { apiVersion, kind, labelSelector, fieldSelector } = this.options;
    const namespace = this.options.namespace ?? ALL_NAMESPACES;
    const fresh = new Map<string, T>();
    let cont: string | undefined;
    let rv = '';
    do {
      const page = await this.client.list<T>(apiVersion, kind, namespace, {
        labelSelector,
        fieldSelector,
        limit: this.options.pageSize ?? 1000,
        continue: cont,
      });
      for (const item of page.items) {
        // Lists leave apiVersion/kind off items; handlers expect whole objects.
        const o = { ...item, apiVersion, kind };
        fresh.set(keyOf(item), (this.options.transform ? this.options.transform(o) : o) as T);
      }
      cont = page.metadata.continue || undefined;
      rv = page.metadata.resourceVersion ?? rv;
    } while (cont && !this.stopped);
    if (this.stopped) return;
    const old = new Map(this.cache);
    this.cache.clear();
    for (const [k, v] of fresh) this.cache.set(k, v);
    this.resourceVersion = rv;
    for (const [k, v] of fresh) {
      const prev = old.get(k);
      if (!prev) this.emit(this.adds, v);
      else if (prev.metadata.resourceVersion !== v.metadata.resourceVersion)
        for (const h of this.updates) this.call(() => h(prev, v));
    }
    for (const [k, v] of old) if (!fresh.has(k)) this.emit(this.deletes, v);
    if (!this.synced_) {
      this.synced_ = true;
      this.resolveSynced();
    }
  }

  /** Watches until stopped (false) or until a re-list is needed (true). */
  private async watchLoop(): Promise<boolean> {
    const { apiVersion, kind, labelSelector, fieldSelector } = this.options;
    const namespace = this.options.namespace ?? ALL_NAMESPACES;
    let failures = 0;
    while (!this.stopped) {
      let gone = false;
      let handle: WatchHandle;
      try {
        handle = await this.client.watch(
          apiVersion,
          kind,
          namespace,
          {
            resourceVersion: this.resourceVersion,
            labelSelector,
            fieldSelector,
            allowWatchBookmarks: true,
            timeoutSeconds: this.options.watchTimeoutSeconds ?? 300,
          },
          (type, obj) => {
            if (type === 'ERROR') {
              const code = (obj as unknown as { code?: number }).code;
              gone = true;
              if (code !== 410) this.log.debug({ code }, 'watch error event; re-listing');
              this.watch?.stop();
              return;
            }
            const rv = obj.metadata?.resourceVersion;
            if (rv) this.resourceVersion = rv;
            if (type === 'BOOKMARK') return;
            const raw = { ...obj, apiVersion: obj.apiVersion ?? apiVersion, kind: obj.kind ?? kind };
            const o = (this.options.transform ? this.options.transform(raw) : raw) as T;
            const key = keyOf(o);
            const prev = this.cache.get(key);
            if (type === 'DELETED') {
              this.cache.delete(key);
              this.emit(this.deletes, prev ?? o);
            } else {
              this.cache.set(key, o);
              if (prev) for (const h of this.updates) this.call(() => h(prev, o));
              else this.emit(this.adds, o);
            }
          },
        );
      } catch (err) {
        if (hasCode(err, 410)) return true;
        throw err;
      }
      this.watch = handle;
      if (this.stopped) handle.stop();
      const err = await handle.done;
      this.watch = undefined;
      if (this.stopped) return false;
      if (gone || (err && err.code === 410)) return true;
      if (err) {
        failures++;
        if (failures > 3) return true;
        await this.sleep(Math.min(100 * 2 ** failures, 5000));
      } else {
        failures = 0;
      }
    }
    return false;
  }

  private emit(handlers: AddHandler<T>[], obj: T): void {
    for (const h of handlers) this.call(() => h(obj));
  }

  private call(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.log.error({ err: messageOf(err) }, 'informer handler threw');
    }
  }
}
