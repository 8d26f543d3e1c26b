import { randomUUID } from 'node:crypto';
import YAML from 'yaml';
import { errors, KitfedError, hasCode } from '../core/errors.js';
import {
  cloneJson,
  isObject,
  parseApiVersion,
  type KubeList,
  type KubeObject,
  type StatusCause,
} from '../core/kube.js';
import { convertForServing, convertForStorage } from './serving.js';
import { applySchemaDefaults, pruneCustomResource, resourceTypeRef } from './crd/schema.js';
import { applyDefaults, prepareServiceUpdate } from './defaults.js';
import { recordUpdate, serverSideApply } from './fields.js';
import { jsonPatch, mergePatch, strategicMergePatch } from './patch.js';
import { keyPrefix, storageKey, type ResourceCatalog, type ResourceType } from './resources.js';
import { pruneUnknownFields, type TypeRef } from './schema.js';
import {
  fromLabelSelector,
  matchesFields,
  matchesLabels,
  parseFieldSelector,
  parseLabelSelector,
  selectorToString,
  type FieldRequirement,
  type Selector,
} from './selectors.js';
import { StoreError, type KeyValue, type Store } from './storage/types.js';
import { foldStringData, validateKindRules, validateMetadata, validateName, validateSchema } from './validation.js';
import { WatchCache, type CachedEvent, type CachedObject } from './watch-cache.js';
import type { UserInfo } from './auth/user.js';
import { kubeTime } from '../core/time.js';

export type PatchType = 'json' | 'merge' | 'strategic' | 'apply';
export type FieldValidation = 'Strict' | 'Warn' | 'Ignore';
export type Operation = 'CREATE' | 'UPDATE';
export type Propagation = 'Orphan' | 'Background' | 'Foreground';

export interface WriteOptions {
  dryRun?: boolean;
  fieldManager?: string;
  fieldValidation?: FieldValidation;
  /** Server-side apply: take ownership of conflicting fields. */
  force?: boolean;
  subresource?: 'status' | 'scale' | 'ephemeralcontainers' | 'approval';
  /** The group/version the client spoke (for conversion of the request body). */
  group?: string;
  version?: string;
  /** Warnings collected for the `Warning` response header. */
  warnings?: string[];
  /** Internal: this update starts a graceful deletion (sets deletionTimestamp). */
  deleting?: boolean;
  /** Internal: a server-side apply, whose managedFields are already computed. */
  applying?: boolean;
  /** Internal: an update of the object through its scale subresource (its managedFields entry says so). */
  viaScale?: boolean;
  /** Who asks (RBAC escalation checks); undefined for the API server's own housekeeping. */
  user?: UserInfo;
}

export interface DeleteOptions {
  propagationPolicy?: Propagation;
  orphanDependents?: boolean;
  preconditions?: { uid?: string; resourceVersion?: string };
  dryRun?: boolean;
  gracePeriodSeconds?: number;
}

export interface ListOptions {
  labelSelector?: string;
  fieldSelector?: string;
  limit?: number;
  continue?: string;
  /**
   * Unset or "": the latest state (consistent); "0": any (the cache as it is); N: not older than N (or exactly N, see
   * below).
   */
  resourceVersion?: string;
  /** `NotOlderThan` (the default with a resourceVersion) or `Exact`. */
  resourceVersionMatch?: string;
}

export interface WatchOptions {
  labelSelector?: string;
  fieldSelector?: string;
  /** "" or undefined: current state as ADDED then changes; "0": same; a revision: changes after it. */
  resourceVersion?: string;
  sendInitialEvents?: boolean;
}

export interface WatchEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  object: KubeObject;
  /** The cached object behind `object` (its serialized forms are reused by every watcher). */
  entry?: CachedObject;
}

/**
 * Admission: plugins mutate and validate objects before they are stored. Returning
 * causes rejects the write with 422 naming the fields.
 */
export interface AdmissionPlugin {
  name: string;
  kinds?: string[];
  /** May also throw a KitfedError (e.g. 403 for an RBAC escalation attempt by `opts.user`). */
  admit(
    op: Operation,
    t: ResourceType,
    obj: KubeObject,
    old: KubeObject | undefined,
    opts?: WriteOptions,
  ): StatusCause[] | void;
}

export interface RegistryOptions {
  admission?: AdmissionPlugin[];
  now?: () => Date;
  /** Events the watch cache keeps for resumption. @default 20000 */
  watchCacheSize?: number;
}

const MAX_RETRIES = 16;

/** Namespaces kube's NamespaceLifecycle admission never lets go. */
const IMMORTAL_NAMESPACES = new Set(['default', 'kube-system', 'kube-public']);

function typeRef(t: ResourceType, group = t.group, version = t.version): TypeRef {
  if (t.custom && t.schema) return resourceTypeRef(t.schema);
  const model =
    group === t.group && version === t.version
      ? t.model
      : (t.aliases?.find((a) => a.group === group && a.version === version)?.model ?? t.model);
  return model ? { kind: 'object', name: model } : { kind: 'any' };
}

/** Defaulting: a custom resource's from its schema, a built-in kind's from kube's defaulters. */
function defaulting(t: ResourceType, obj: KubeObject, op: 'CREATE' | 'UPDATE'): void {
  if (t.custom) {
    if (t.schema) applySchemaDefaults(obj, t.schema);
  } else applyDefaults(obj, op);
}

/** Everything except metadata and status: what bumps `generation` when it changes. */
function specOf(o: KubeObject): string {
  const { metadata: _m, status: _s, apiVersion: _a, kind: _k, ...rest } = o;
  (void _m, _s, _a, _k);
  return JSON.stringify(rest);
}

/** Compares two objects ignoring resourceVersion and managedFields timestamps. */
function sameObject(a: KubeObject, b: KubeObject): boolean {
  const norm = (o: KubeObject) => {
    const m = { ...o.metadata };
    delete m.resourceVersion;
    if (m.managedFields) m.managedFields = m.managedFields.map((e) => ({ ...e, time: '' }));
    return JSON.stringify({ ...o, metadata: m });
  };
  return norm(a) === norm(b);
}

/**
 * The API server's object registry: every verb on every served kind, over a Store.
 * Used by the HTTP layer and, in-process, by the sandbox simulator.
 */
export class Registry {
  readonly cache: WatchCache;
  private readonly admission: AdmissionPlugin[];
  private readonly now: () => Date;

  constructor(
    readonly store: Store,
    readonly catalog: ResourceCatalog,
    options: RegistryOptions = {},
  ) {
    this.admission = options.admission ?? [];
    this.now = options.now ?? (() => new Date());
    this.cache = new WatchCache(store, (value, revision) => this.decode(value, revision), options.watchCacheSize);
  }

  /** Namespaces as the watch cache last saw them: admission reads them here, not from the store. */
  private readonly namespaces = new Map<string, KubeObject>();

  async start(): Promise<void> {
    await this.cache.start();
    const ns = this.catalog.byKind('', 'v1', 'Namespace');
    if (ns) {
      const list = await this.list(ns, undefined);
      for (const o of list.items) this.namespaces.set(o.metadata.name!, o);
      const prefix = keyPrefix(ns);
      this.cache.subscribe(prefix, Number(list.metadata.resourceVersion), (e) => {
        if (e.revision < 0 || !e.key.startsWith(prefix)) return;
        if (e.type === 'DELETED') this.namespaces.delete(e.object.metadata.name!);
        else this.namespaces.set(e.object.metadata.name!, e.object);
      });
      for (const name of ['default', 'kube-system', 'kube-public', 'kube-node-lease']) {
        try {
          await this.create(ns, undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
        } catch (err) {
          if (!hasCode(err, 409)) throw err;
        }
      }
    }
  }

  close(): void {
    this.cache.close();
  }

  decode(value: string, revision: number): KubeObject {
    const obj = JSON.parse(value) as KubeObject;
    obj.metadata.resourceVersion = String(revision);
    return obj;
  }

  private encode(obj: KubeObject): string {
    const { resourceVersion: _rv, ...meta } = obj.metadata;
    void _rv;
    return JSON.stringify({ ...obj, metadata: meta });
  }

  private ref(t: ResourceType, name: string) {
    return { group: t.group, plural: t.plural, kind: t.kind, name };
  }

  private mapStoreError(err: unknown, t: ResourceType, name: string): never {
    if (err instanceof StoreError) {
      switch (err.code) {
        case 'KeyExists':
          throw errors.alreadyExists(this.ref(t, name));
        case 'NotFound':
          throw errors.notFound(this.ref(t, name));
        case 'Conflict':
          throw errors.conflict(
            this.ref(t, name),
            'the object has been modified; please apply your changes to the latest version and try again',
          );
        case 'Compacted':
          throw errors.gone(err.message);
        case 'Unavailable':
          throw errors.unavailable(`storage unavailable: ${err.message}`, err);
        default:
          throw errors.internal(err.message, err);
      }
    }
    throw err;
  }

  // ---- reads -------------------------------------------------------------------------
  //
  // GET and LIST are served by the watch cache. A read without resourceVersion is consistent:
  // the cache first catches up with the store's current revision (`WatchCache.sync`), so it
  // never misses a write acknowledged before the read started; "0" takes the cache as it is; a
  // number N waits (3 s at most) until the cache has seen N. When the cache cannot answer (its
  // store watch is down, or it did not catch up in time), the store does.

  /** One object, as the cache holds it (shared: copy before changing it). */
  async read(
    t: ResourceType,
    namespace: string | undefined,
    name: string,
    opts: { resourceVersion?: string } = {},
  ): Promise<CachedObject> {
    const key = storageKey(t, namespace, name);
    let entry: CachedObject | undefined;
    if (await this.fresh(opts.resourceVersion)) entry = this.cache.get(key);
    else {
      try {
        const kv = await this.store.get(key);
        if (kv) entry = { key, object: this.decode(kv.value, kv.modRevision), revision: kv.modRevision };
      } catch (err) {
        this.mapStoreError(err, t, name);
      }
    }
    if (!entry) throw errors.notFound(this.ref(t, name));
    return entry;
  }

  /** One object (the caller's own copy). */
  async get(t: ResourceType, namespace: string | undefined, name: string): Promise<KubeObject> {
    return cloneJson((await this.read(t, namespace, name)).object);
  }

  async tryGet(t: ResourceType, namespace: string | undefined, name: string): Promise<KubeObject | undefined> {
    try {
      return await this.get(t, namespace, name);
    } catch (err) {
      if (hasCode(err, 404)) return undefined;
      throw err;
    }
  }

  /**
   * Brings the cache to what `resourceVersion` asks for (see above). False: the store must
   * answer. Throws 504 when a specific revision does not arrive in time.
   */
  private async fresh(resourceVersion: string | undefined): Promise<boolean> {
    if (resourceVersion === '0') return this.cache.ready;
    if (resourceVersion === undefined || resourceVersion === '') {
      try {
        return await this.cache.sync();
      } catch (err) {
        if (err instanceof StoreError) throw errors.unavailable(`storage unavailable: ${err.message}`, err);
        throw err;
      }
    }
    const rv = parseResourceVersion(resourceVersion);
    if (!this.cache.ready) return false;
    if (await this.cache.waitFor(rv)) return true;
    throw tooLargeResourceVersion(rv, this.cache.revision);
  }

  private selectors(
    t: ResourceType,
    opts: { labelSelector?: string; fieldSelector?: string },
  ): { labels: Selector; fields: FieldRequirement[] } {
    return {
      labels: opts.labelSelector ? parseLabelSelector(opts.labelSelector) : [],
      fields: opts.fieldSelector
        ? parseFieldSelector(opts.fieldSelector, ['metadata.name', 'metadata.namespace', ...(t.fieldSelectors ?? [])])
        : [],
    };
  }

  private prefix(t: ResourceType, namespace: string | undefined): string {
    return t.namespaced && namespace ? `${keyPrefix(t)}${namespace}/` : keyPrefix(t);
  }

  /** A list whose items are the caller's own copies. */
  async list(t: ResourceType, namespace: string | undefined, opts: ListOptions = {}): Promise<KubeList> {
    const page = await this.listCached(t, namespace, opts);
    return { ...page.list, items: page.items.map((e) => cloneJson(e.object)) };
  }

  /**
   * True when no object of `t` is stored in `namespace` (undefined: in any), read as a consistent
   * LIST is: a check that stops at the first object instead of counting them all.
   */
  async isEmpty(t: ResourceType, namespace: string | undefined): Promise<boolean> {
    const page = await this.listCached(t, namespace, { limit: 1 }, false);
    return page.items.length === 0;
  }

  /**
   * A list as the cache holds it (items shared: copy before changing them), with kube's
   * resourceVersion / resourceVersionMatch semantics and snapshot-consistent `continue` tokens:
   * every page of one list is read at the revision of its first page.
   */
  async listCached(
    t: ResourceType,
    namespace: string | undefined,
    opts: ListOptions = {},
    /** Count the objects after a cut-short page (remainingItemCount): a walk to the end. */
    count = true,
  ): Promise<{ list: Omit<KubeList, 'items'>; items: CachedObject[] }> {
    const { labels, fields } = this.selectors(t, opts);
    const prefix = this.prefix(t, namespace);
    const rv = opts.resourceVersion;
    const match = opts.resourceVersionMatch;
    validateListOptions(rv, match, opts.continue);
    let after: string | undefined;
    let at: number | undefined;
    if (opts.continue) {
      const token = parseContinue(opts.continue, prefix);
      after = token.start;
      at = token.rv;
    } else if (match === 'Exact') at = parseResourceVersion(rv!);
    const limit = opts.limit && opts.limit > 0 ? opts.limit : 0;
    const filter =
      labels.length > 0 || fields.length > 0
        ? (o: KubeObject) =>
            (labels.length === 0 || matchesLabels(labels, o.metadata.labels)) &&
            (fields.length === 0 || matchesFields(fields, o))
        : undefined;
    let page: { items: CachedObject[]; revision: number; more: boolean; remaining?: number; lastKey?: string };
    const useCache = at === undefined ? await this.fresh(rv) : await this.reaches(at);
    if (useCache && (at === undefined || at >= this.cache.oldestRevision)) {
      page = this.cache.list(prefix, { revision: at, after, limit, filter, count });
    } else {
      page = await this.listStore(t, prefix, { revision: at, after, limit, filter }, opts.continue !== undefined);
    }
    const list: Omit<KubeList, 'items'> = {
      apiVersion: t.group ? `${t.group}/${t.version}` : t.version,
      kind: `${t.kind}List`,
      metadata: { resourceVersion: String(page.revision) },
    };
    if (page.more && page.lastKey) {
      list.metadata.continue = Buffer.from(JSON.stringify({ start: page.lastKey, prefix, rv: page.revision })).toString(
        'base64url',
      );
      if (page.remaining !== undefined) list.metadata.remainingItemCount = page.remaining;
    }
    return { list, items: page.items };
  }

  /** For a read at exactly `rev`: true when the cache has (or gets, within 3 s) that far. */
  private async reaches(rev: number): Promise<boolean> {
    if (!this.cache.ready) return false;
    if (await this.cache.waitFor(rev)) return true;
    throw tooLargeResourceVersion(rev, this.cache.revision);
  }

  /** A page read from the store (at `revision` when given): when the cache cannot serve it. */
  private async listStore(
    t: ResourceType,
    prefix: string,
    opts: { revision?: number; after?: string; limit: number; filter?: (o: KubeObject) => boolean },
    continuing: boolean,
  ): Promise<{ items: CachedObject[]; revision: number; more: boolean; remaining?: number; lastKey?: string }> {
    const { limit, filter } = opts;
    const items: CachedObject[] = [];
    let revision = opts.revision;
    let startAfter = opts.after;
    let lastKey: string | undefined;
    try {
      for (;;) {
        const page = await this.store.list(prefix, {
          limit: limit ? limit - items.length + (filter ? 50 : 0) : 0,
          startAfter,
          revision,
        });
        revision ??= page.revision;
        let i = 0;
        for (; i < page.items.length && !(limit && items.length >= limit); i++) {
          const kv = page.items[i]!;
          lastKey = kv.key;
          const object = this.decode(kv.value, kv.modRevision);
          if (!filter || filter(object)) items.push({ key: kv.key, object, revision: kv.modRevision });
        }
        const left = page.items.length - i + (page.more ? (page.remaining ?? 1) : 0);
        if (limit && items.length >= limit) {
          if (left === 0) return { items, revision, more: false };
          return { items, revision, more: true, lastKey, remaining: filter ? undefined : left };
        }
        if (!page.more || page.items.length === 0) return { items, revision, more: false };
        startAfter = page.items.at(-1)!.key;
      }
    } catch (err) {
      if (err instanceof StoreError && err.code === 'Compacted' && continuing)
        throw errors.gone(
          'The provided continue parameter is too old to display a consistent list result. You can ' +
            'start a new list without the continue parameter, or use the continue token in this response ' +
            'to retrieve the remainder of the results. Continuing with the provided token results in an ' +
            'inconsistent list - objects that were created, modified, or deleted between the time the ' +
            'first chunk was returned and now may show up in the list.',
        );
      if (err instanceof StoreError && err.code === 'Compacted')
        throw errors.gone(`too old resource version: ${opts.revision ?? 0} (${this.cache.oldestRevision})`);
      this.mapStoreError(err, t, '');
    }
  }

  // ---- watch -------------------------------------------------------------------------

  /**
   * Watches a type (optionally one namespace) with selectors. Returns a stop function.
   * Throws 410 when `resourceVersion` is older than the retained history.
   */
  async watch(
    t: ResourceType,
    namespace: string | undefined,
    opts: WatchOptions,
    onEvent: (e: WatchEvent) => void,
  ): Promise<() => void> {
    const { labels, fields } = this.selectors(t, opts);
    const matches = (o: KubeObject | undefined) =>
      !!o &&
      (labels.length === 0 || matchesLabels(labels, o.metadata.labels)) &&
      (fields.length === 0 || matchesFields(fields, o));
    const prefix = this.prefix(t, namespace);
    const rv = opts.resourceVersion;
    const initial = rv === undefined || rv === '' || rv === '0' || opts.sendInitialEvents === true;
    let since: number;
    if (!initial) {
      since = Number(rv);
      if (!Number.isInteger(since) || since < 0) throw errors.badRequest(`invalid resourceVersion: ${rv}`);
    }
    const handler = (e: CachedEvent) => {
      if (e.revision < 0) {
        onEvent({ type: 'DELETED', object: e.object, entry: e.entry });
        return;
      }
      const now = e.type === 'DELETED' ? false : matches(e.object);
      const before = e.type === 'ADDED' ? false : matches(e.prev ?? (e.type === 'DELETED' ? e.object : undefined));
      if (e.type === 'DELETED') {
        if (before || matches(e.object)) onEvent({ type: 'DELETED', object: e.object, entry: e.entry });
      } else if (now && before) onEvent({ type: 'MODIFIED', object: e.object, entry: e.entry });
      else if (now && !before) onEvent({ type: 'ADDED', object: e.object, entry: e.entry });
      else if (!now && before) onEvent({ type: 'DELETED', object: e.object, entry: e.entry });
    };
    // A watch without resourceVersion starts from the latest state (consistent, like a read).
    if (initial && (rv === undefined || rv === '') && !(await this.cache.sync()) && !this.cache.ready)
      throw errors.unavailable('the watch cache is re-synchronising with the store; retry');
    try {
      if (initial) {
        // The current state and the subscription, in one turn: no event falls between them.
        const state = this.cache.list(prefix, { filter: (o) => matches(o) });
        since = state.revision;
        if (rv !== undefined && rv !== '' && rv !== '0') since = Number(rv);
        for (const e of state.items) onEvent({ type: 'ADDED', object: e.object, entry: e });
      }
      return this.cache.subscribe(prefix, since!, handler);
    } catch (err) {
      if (err instanceof StoreError && err.code === 'Compacted')
        throw errors.gone(`too old resource version: ${since!} (${this.cache.oldestRevision})`);
      this.mapStoreError(err, t, '');
    }
  }

  // ---- writes ------------------------------------------------------------------------

  private async admit(
    op: Operation,
    t: ResourceType,
    obj: KubeObject,
    old: KubeObject | undefined,
    opts: WriteOptions,
  ): Promise<void> {
    const causes: StatusCause[] = [];
    if (!opts.subresource) {
      causes.push(...validateMetadata(obj, t));
      for (const plugin of this.admission) {
        // Plugins for named kinds are for built-in kinds: a custom resource may share the kind name.
        if (plugin.kinds && (t.custom || !plugin.kinds.includes(t.kind))) continue;
        causes.push(...(plugin.admit(op, t, obj, old, opts) ?? []));
      }
    }
    if (causes.length === 0) causes.push(...validateSchema(obj, t));
    if (causes.length === 0 && !t.custom) {
      if (t.kind === 'Secret') foldStringData(obj);
      causes.push(...validateKindRules(t, obj, old));
    }
    if (causes.length > 0)
      throw errors.invalid({ group: t.group, kind: t.kind, name: obj.metadata.name ?? '' }, causes);
  }

  /** Parses and normalises a request body into the storage version of `t`. */
  decodeBody(t: ResourceType, body: unknown, opts: WriteOptions, expectName?: string): KubeObject {
    if (!isObject(body)) throw errors.badRequest('the request body must be a Kubernetes object');
    const obj = body as KubeObject;
    const { group, version } = obj.apiVersion
      ? parseApiVersion(String(obj.apiVersion))
      : { group: opts.group ?? t.group, version: opts.version ?? t.version };
    if (obj.kind === undefined || obj.apiVersion === undefined) {
      obj.kind ??= t.kind;
      obj.apiVersion ??= group ? `${group}/${version}` : version;
    }
    const served = this.catalog.byKind(group, version, String(obj.kind));
    if (!served || served !== t) {
      throw errors.badRequest(
        `the API version in the data (${String(obj.apiVersion)}) does not match the expected API ` +
          `version (${t.group ? `${t.group}/` : ''}${t.version}) or kind ${String(obj.kind)} does not match ${t.kind}`,
      );
    }
    if (!isObject(obj.metadata)) obj.metadata = {};
    const stored = convertForStorage(obj, t);
    const warnings: string[] = [];
    const pruned =
      t.custom && t.schema
        ? pruneCustomResource(stored, t.schema)
        : t.model
          ? pruneUnknownFields(stored, typeRef(t))
          : [];
    if (pruned.length > 0) {
      const validation = opts.fieldValidation ?? 'Warn';
      if (validation === 'Strict') {
        throw errors.badRequest(
          `strict decoding error: ${pruned.map((p) => `unknown field "${p}"`).join(', ')}`,
          pruned.map((p) => ({ reason: 'FieldValueInvalid', field: p, message: `unknown field "${p}"` })),
        );
      }
      if (validation === 'Warn') warnings.push(...pruned.map((p) => `unknown field "${p}"`));
    }
    opts.warnings?.push(...warnings);
    if (expectName !== undefined && stored.metadata.name !== undefined && stored.metadata.name !== expectName) {
      throw errors.badRequest(
        `the name of the object (${stored.metadata.name}) does not match the name on the URL (${expectName})`,
      );
    }
    return stored;
  }

  private checkNamespace(t: ResourceType, namespace: string | undefined, obj: KubeObject): void {
    if (!t.namespaced) {
      delete obj.metadata.namespace;
      return;
    }
    if (!namespace) throw errors.badRequest('namespace is required for a namespaced resource');
    if (obj.metadata.namespace && obj.metadata.namespace !== namespace) {
      throw errors.badRequest('the namespace of the provided object does not match the namespace sent on the request');
    }
    obj.metadata.namespace = namespace;
  }

  private async namespaceAcceptsWrites(t: ResourceType, namespace: string | undefined): Promise<void> {
    if (!t.namespaced || !namespace) return;
    const nsType = this.catalog.byKind('', 'v1', 'Namespace');
    if (!nsType) return;
    // The cache answers without a storage round trip; a namespace it has not seen yet (another
    // API server on the same etcd created it a moment ago) is read from the store.
    const ns = this.namespaces.get(namespace) ?? (await this.tryGet(nsType, undefined, namespace));
    if (!ns) throw errors.notFound({ group: '', plural: 'namespaces', name: namespace });
    if (ns.metadata.deletionTimestamp) {
      throw new KitfedError(
        `${t.kind.toLowerCase()}s "${''}" is forbidden: unable to create new content in namespace ${namespace} because it is being terminated`.replace(
          '"" ',
          '',
        ),
        403,
        'Forbidden',
        {
          kind: t.plural,
          causes: [
            {
              reason: 'NamespaceTerminating',
              message: `namespace ${namespace} is being terminated`,
              field: 'metadata.namespace',
            },
          ],
        },
      );
    }
  }

  async create(
    t: ResourceType,
    namespace: string | undefined,
    body: unknown,
    opts: WriteOptions = {},
  ): Promise<KubeObject> {
    const obj = this.decodeBody(t, body, opts);
    this.checkNamespace(t, namespace, obj);
    return this.createDecoded(t, obj, opts);
  }

  private async createDecoded(t: ResourceType, obj: KubeObject, opts: WriteOptions): Promise<KubeObject> {
    if (t.custom?.terminating)
      throw errors.methodNotAllowed('create not allowed while custom resource definition is terminating');
    const meta = obj.metadata;
    if (!meta.name && meta.generateName) {
      const causes = validateName(`${meta.generateName}a`, 'dns1123-subdomain', 'metadata.generateName');
      if (causes.length) throw errors.invalid({ group: t.group, kind: t.kind, name: '' }, causes);
      meta.name = `${meta.generateName}${randomSuffix()}`;
    }
    await this.namespaceAcceptsWrites(t, meta.namespace);
    const now = this.now();
    meta.uid = randomUUID();
    meta.creationTimestamp = kubeTime(now);
    delete meta.resourceVersion;
    delete meta.deletionTimestamp;
    delete meta.deletionGracePeriodSeconds;
    if (t.hasStatus || t.custom) meta.generation = 1;
    else delete meta.generation;
    if (t.hasStatus) delete obj.status;
    if (t.kind === 'Namespace' && !t.custom) obj.status = { phase: 'Active' };
    defaulting(t, obj, 'CREATE');
    await this.admit('CREATE', t, obj, undefined, opts);
    if (!opts.applying) {
      delete obj.metadata.managedFields;
      recordUpdate(undefined, obj, typeRef(t), opts.fieldManager ?? 'unknown');
    }
    if (opts.dryRun) return obj;
    const key = storageKey(t, meta.namespace, meta.name!);
    try {
      const rev = await this.store.create(key, this.encode(obj));
      meta.resourceVersion = String(rev);
      return obj;
    } catch (err) {
      this.mapStoreError(err, t, meta.name!);
    }
  }

  /**
   * Read-modify-write with compare-and-swap, retried on conflicts unless the caller pinned
   * a resourceVersion. `mutate` returns the desired object (or the same one for no change).
   * With `allowCreate`, `mutate` is called with undefined when the object is absent.
   */
  private async guaranteedUpdate(
    t: ResourceType,
    namespace: string | undefined,
    name: string,
    opts: WriteOptions,
    mutate: (current: KubeObject | undefined) => KubeObject,
    allowCreate = false,
  ): Promise<KubeObject> {
    const key = storageKey(t, namespace, name);
    // The cache's copy is a suggestion, as in kube's GuaranteedUpdate: the write compares its
    // revision, so a stale copy costs one retry with the store's state, never a lost update.
    // A decision only a stale copy could cause (a conflict with a pinned resourceVersion, an
    // error, no change to write) is checked against the store before it is answered.
    const cached = this.cache.ready ? this.cache.get(key) : undefined;
    let state: { object: KubeObject; revision: number } | undefined = cached;
    let fresh = false;
    const refetch = async () => {
      let kv: KeyValue | undefined;
      try {
        kv = await this.store.get(key);
      } catch (err) {
        this.mapStoreError(err, t, name);
      }
      state = kv && { object: this.decode(kv.value, kv.modRevision), revision: kv.modRevision };
      fresh = true;
    };
    for (let attempt = 0; attempt < MAX_RETRIES; attempt++) {
      if (!state && !fresh) await refetch();
      if (!state) {
        if (!allowCreate) throw errors.notFound(this.ref(t, name));
        const created = mutate(undefined);
        this.checkNamespace(t, namespace, created);
        try {
          return await this.createDecoded(t, created, opts);
        } catch (err) {
          if (err instanceof KitfedError && err.reason === 'AlreadyExists') {
            fresh = false;
            continue;
          }
          throw err;
        }
      }
      const { object: current, revision } = state;
      let next: KubeObject;
      let pinned: string | undefined;
      try {
        const desired = mutate(cloneJson(current));
        pinned = desired.metadata.resourceVersion;
        if (pinned !== undefined && pinned !== '' && pinned !== current.metadata.resourceVersion) {
          throw errors.conflict(
            this.ref(t, name),
            'the object has been modified; please apply your changes to the latest version and try again',
          );
        }
        next = await this.prepareUpdate(t, current, desired, opts);
      } catch (err) {
        if (!fresh) {
          await refetch();
          continue;
        }
        throw err;
      }
      if (sameObject(current, next) || opts.dryRun) {
        if (!fresh) {
          await refetch();
          continue;
        }
        return opts.dryRun ? next : cloneJson(current);
      }
      try {
        if (
          next.metadata.deletionTimestamp &&
          (next.metadata.finalizers ?? []).length === 0 &&
          !(t.kind === 'Namespace' && namespaceFinalizers(next).length > 0)
        ) {
          const deleted = await this.store.delete(key, revision);
          next.metadata.resourceVersion = String(deleted.revision);
          return next;
        }
        const rev = await this.store.update(key, this.encode(next), revision);
        next.metadata.resourceVersion = String(rev);
        return next;
      } catch (err) {
        if (err instanceof StoreError && err.code === 'Conflict' && (pinned === undefined || pinned === '')) {
          // The store's answer carries its current state: the next attempt needs no read.
          const now = err.current;
          state = now && { object: this.decode(now.value, now.modRevision), revision: now.modRevision };
          fresh = !!now;
          continue;
        }
        if (err instanceof StoreError && err.code === 'NotFound') {
          if (!fresh) {
            await refetch();
            continue;
          }
          throw errors.notFound(this.ref(t, name));
        }
        this.mapStoreError(err, t, name);
      }
    }
    throw errors.conflict(this.ref(t, name), `too many concurrent updates (gave up after ${MAX_RETRIES} attempts)`);
  }

  /** Applies kind semantics to an update: immutable metadata, status vs main resource, generation. */
  private async prepareUpdate(
    t: ResourceType,
    current: KubeObject,
    desired: KubeObject,
    opts: WriteOptions,
  ): Promise<KubeObject> {
    const next = desired;
    const m = next.metadata;
    const c = current.metadata;
    m.name = c.name;
    m.namespace = c.namespace;
    m.uid = c.uid;
    m.creationTimestamp = c.creationTimestamp;
    m.resourceVersion = c.resourceVersion;
    if (c.deletionTimestamp) m.deletionTimestamp = c.deletionTimestamp;
    else if (!opts.deleting) delete m.deletionTimestamp;
    if (c.deletionGracePeriodSeconds !== undefined) m.deletionGracePeriodSeconds = c.deletionGracePeriodSeconds;
    if (opts.subresource === 'ephemeralcontainers' || opts.subresource === 'approval') {
      const merged = cloneJson(current);
      const causes: StatusCause[] = [];
      if (opts.subresource === 'ephemeralcontainers') {
        const want = isObject(next.spec) ? next.spec.ephemeralContainers : undefined;
        const had =
          isObject(current.spec) && Array.isArray(current.spec.ephemeralContainers)
            ? current.spec.ephemeralContainers
            : [];
        for (const old of had as Array<{ name?: string }>) {
          const now = (Array.isArray(want) ? (want as Array<{ name?: string }>) : []).find((c) => c.name === old.name);
          if (JSON.stringify(now) !== JSON.stringify(old))
            causes.push({
              reason: 'FieldValueForbidden',
              field: 'spec.ephemeralContainers',
              message: `Forbidden: existing ephemeral containers "${old.name ?? ''}" may not be changed`,
            });
        }
        (merged.spec as Record<string, unknown>).ephemeralContainers = want;
        applyDefaults(merged, 'UPDATE');
      } else {
        const conditions = isObject(next.status) ? next.status.conditions : undefined;
        merged.status = { ...(isObject(merged.status) ? merged.status : {}), conditions };
      }
      if (causes.length > 0)
        throw errors.invalid({ group: t.group, kind: t.kind, name: current.metadata.name ?? '' }, causes);
      merged.metadata.managedFields = next.metadata.managedFields ?? current.metadata.managedFields;
      recordUpdate(current, merged, typeRef(t), opts.fieldManager ?? 'unknown', opts.subresource);
      await this.admit('UPDATE', t, merged, current, opts);
      return merged;
    }
    if (opts.subresource === 'status') {
      const status = next.status;
      const merged: KubeObject = { ...cloneJson(current), status };
      if (status === undefined) delete merged.status;
      merged.metadata.managedFields = next.metadata.managedFields ?? current.metadata.managedFields;
      if (t.kind === 'Namespace' && isObject(status) && current.metadata.deletionTimestamp)
        (merged.status as Record<string, unknown>).phase = 'Terminating';
      recordUpdate(current, merged, typeRef(t), opts.fieldManager ?? 'unknown', 'status');
      await this.admit('UPDATE', t, merged, current, opts);
      return merged;
    }
    if (t.hasStatus) {
      if (current.status === undefined) delete next.status;
      else next.status = cloneJson(current.status);
      // kube's namespace strategy: a namespace being deleted is Terminating (set by the delete itself).
      if (t.kind === 'Namespace' && !t.custom && m.deletionTimestamp)
        next.status = { ...(isObject(next.status) ? next.status : {}), phase: 'Terminating' };
    }
    if (t.hasStatus || t.custom) {
      // A custom resource without a status subresource counts status changes too, as kube does.
      const changed =
        t.custom && !t.hasStatus
          ? JSON.stringify({ ...next, metadata: undefined }) !== JSON.stringify({ ...current, metadata: undefined })
          : specOf(next) !== specOf(current);
      m.generation = changed ? (c.generation ?? 1) + 1 : (c.generation ?? 1);
    } else delete m.generation;
    if (m.deletionTimestamp && !opts.deleting) {
      const added = (m.finalizers ?? []).filter((f) => !(c.finalizers ?? []).includes(f));
      if (added.length > 0) {
        throw errors.invalid({ group: t.group, kind: t.kind, name: m.name ?? '' }, [
          {
            reason: 'FieldValueForbidden',
            field: 'metadata.finalizers',
            message: `Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers ${JSON.stringify(added)}`,
          },
        ]);
      }
    }
    if (t.kind === 'Service' && !t.custom) prepareServiceUpdate(next, current);
    defaulting(t, next, 'UPDATE');
    await this.admit('UPDATE', t, next, current, opts);
    if (!opts.applying)
      recordUpdate(current, next, typeRef(t), opts.fieldManager ?? 'unknown', opts.viaScale ? 'scale' : undefined);
    return next;
  }

  async update(
    t: ResourceType,
    namespace: string | undefined,
    name: string,
    body: unknown,
    opts: WriteOptions = {},
  ): Promise<KubeObject> {
    if (opts.subresource === 'scale') return this.updateScale(t, namespace, name, body, opts);
    const obj = this.decodeBody(t, body, opts, name);
    this.checkNamespace(t, namespace, obj);
    const rv = obj.metadata.resourceVersion;
    return this.guaranteedUpdate(t, namespace, name, opts, (current) => {
      if (!current) return obj;
      return { ...obj, metadata: { ...obj.metadata, resourceVersion: rv ?? '' } };
    });
  }

  async patch(
    t: ResourceType,
    namespace: string | undefined,
    name: string,
    type: PatchType,
    patchBody: string,
    opts: WriteOptions = {},
  ): Promise<KubeObject> {
    if (opts.subresource === 'scale') {
      const scale = await this.getScale(t, namespace, name);
      const patched = applyPatch(type, scale, parsePatchBody(type, patchBody), { kind: 'object', name: 'V1Scale' });
      return this.updateScale(t, namespace, name, patched, opts);
    }
    if (type === 'apply') return this.apply(t, namespace, name, patchBody, opts);
    if (type === 'strategic' && t.custom) {
      // kube serves no strategic merge patch for custom resources (no patch strategies in a schema).
      throw new KitfedError(
        'the body of the request was in an unknown format - accepted media types include: ' +
          'application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml',
        415,
        'UnsupportedMediaType',
      );
    }
    if (type === 'strategic' && !t.model) {
      throw errors.unsupportedMediaType(
        `application/strategic-merge-patch+json is not supported for ${t.kind} (use a JSON merge patch)`,
      );
    }
    const patch = parsePatchBody(type, patchBody);
    const servedGroup = opts.group ?? t.group;
    const servedVersion = opts.version ?? t.version;
    return this.guaranteedUpdate(t, namespace, name, opts, (current) => {
      const served = convertForServing(current!, t, servedGroup, servedVersion);
      const rvBefore = served.metadata.resourceVersion;
      const patched = applyPatch(type, served, patch, typeRef(t, servedGroup, servedVersion));
      if (!isObject(patched)) throw errors.badRequest('the patch produced a value that is not an object');
      const obj = this.decodeBody(t, patched, { ...opts, fieldValidation: opts.fieldValidation ?? 'Ignore' }, name);
      // A resourceVersion in the patch is a precondition; otherwise the update is unconditional.
      if (obj.metadata.resourceVersion === rvBefore) obj.metadata.resourceVersion = '';
      return obj;
    });
  }

  private async apply(
    t: ResourceType,
    namespace: string | undefined,
    name: string,
    body: string,
    opts: WriteOptions,
  ): Promise<KubeObject> {
    if (!opts.fieldManager)
      throw errors.badRequest('PATCH with application/apply-patch+yaml requires the fieldManager query parameter');
    let parsed: unknown;
    try {
      parsed = parseYamlOrJson(body);
    } catch (err) {
      throw errors.badRequest(`error decoding YAML: ${(err as Error).message}`);
    }
    const applied = this.decodeBody(t, parsed, opts, name);
    if (!applied.metadata.name) applied.metadata.name = name;
    const manager = opts.fieldManager;
    const tr = typeRef(t);
    const merge = (target: unknown, patch: unknown) => strategicMergePatch(target, patch, tr);
    return this.guaranteedUpdate(
      t,
      namespace,
      name,
      { ...opts, fieldManager: manager, applying: true },
      (current) => {
        const pinned = applied.metadata.resourceVersion;
        const result = serverSideApply(current, applied, tr, manager, opts.force === true, merge);
        result.metadata.resourceVersion = pinned ?? '';
        if (!current) {
          result.metadata.name = name;
          if (t.namespaced) result.metadata.namespace = namespace;
        }
        return result;
      },
      true,
    );
  }

  async getScale(t: ResourceType, namespace: string | undefined, name: string): Promise<KubeObject> {
    const obj = await this.get(t, namespace, name);
    const spec = (obj.spec ?? {}) as Record<string, unknown>;
    const status = (obj.status ?? {}) as Record<string, unknown>;
    const scaled = t.scale
      ? {
          // Custom resources: replicas and the selector (a string) where the CRD says.
          spec: { replicas: valueAtPath(obj, t.scale.specReplicasPath) ?? 0 },
          status: {
            replicas: valueAtPath(obj, t.scale.statusReplicasPath) ?? 0,
            selector: t.scale.labelSelectorPath ? (valueAtPath(obj, t.scale.labelSelectorPath) ?? '') : '',
          },
        }
      : {
          spec: { replicas: spec.replicas ?? 0 },
          status: {
            replicas: status.replicas ?? 0,
            selector: selectorToString(fromLabelSelector(spec.selector as Parameters<typeof fromLabelSelector>[0])),
          },
        };
    return {
      apiVersion: 'autoscaling/v1',
      kind: 'Scale',
      metadata: {
        name,
        namespace,
        uid: obj.metadata.uid,
        resourceVersion: obj.metadata.resourceVersion,
        creationTimestamp: obj.metadata.creationTimestamp,
      },
      ...scaled,
    };
  }

  private async updateScale(
    t: ResourceType,
    namespace: string | undefined,
    name: string,
    body: unknown,
    opts: WriteOptions,
  ): Promise<KubeObject> {
    if (!isObject(body) || !isObject(body.spec)) throw errors.badRequest('expected an autoscaling/v1 Scale object');
    const replicas = body.spec.replicas;
    if (typeof replicas !== 'number' || !Number.isInteger(replicas) || replicas < 0) {
      throw errors.invalid({ group: 'autoscaling', kind: 'Scale', name }, [
        {
          reason: 'FieldValueInvalid',
          field: 'spec.replicas',
          message: `Invalid value: ${JSON.stringify(replicas)}: must be greater than or equal to 0`,
        },
      ]);
    }
    const rv = isObject(body.metadata) ? (body.metadata.resourceVersion as string | undefined) : undefined;
    await this.guaranteedUpdate(t, namespace, name, { ...opts, subresource: undefined, viaScale: true }, (current) => {
      const next = cloneJson(current!);
      if (t.scale) setAtPath(next, t.scale.specReplicasPath, replicas);
      else (next.spec as Record<string, unknown>).replicas = replicas;
      next.metadata.resourceVersion = rv ?? '';
      return next;
    });
    return this.getScale(t, namespace, name);
  }

  // ---- delete ------------------------------------------------------------------------

  async delete(
    t: ResourceType,
    namespace: string | undefined,
    name: string,
    opts: DeleteOptions = {},
  ): Promise<KubeObject> {
    if (t.kind === 'Namespace' && !t.custom && IMMORTAL_NAMESPACES.has(name)) {
      throw new KitfedError(`namespaces "${name}" is forbidden: this namespace may not be deleted`, 403, 'Forbidden', {
        name,
        kind: 'namespaces',
      });
    }
    const current = await this.get(t, namespace, name);
    const pre = opts.preconditions;
    if (pre?.uid && pre.uid !== current.metadata.uid) {
      throw errors.conflict(
        this.ref(t, name),
        `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${current.metadata.uid ?? ''}`,
      );
    }
    if (pre?.resourceVersion && pre.resourceVersion !== current.metadata.resourceVersion) {
      throw errors.conflict(
        this.ref(t, name),
        `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ` +
          `ResourceVersion in object meta: ${current.metadata.resourceVersion ?? ''}`,
      );
    }
    const policy: Propagation = opts.propagationPolicy ?? (opts.orphanDependents === true ? 'Orphan' : 'Background');
    const addFinalizer = policy === 'Orphan' ? 'orphan' : policy === 'Foreground' ? 'foregroundDeletion' : undefined;
    const finalizers = current.metadata.finalizers ?? [];
    const graceful =
      (t.kind === 'Namespace' && !t.custom) ||
      finalizers.length > 0 ||
      addFinalizer !== undefined ||
      t.deletionFinalizer !== undefined;
    if (opts.dryRun) return current;
    if (!graceful) {
      try {
        const { revision } = await this.store.delete(
          storageKey(t, namespace, name),
          Number(current.metadata.resourceVersion),
        );
        return { ...current, metadata: { ...current.metadata, resourceVersion: String(revision) } };
      } catch (err) {
        if (err instanceof StoreError && err.code === 'Conflict') return this.delete(t, namespace, name, opts);
        this.mapStoreError(err, t, name);
      }
    }
    return this.guaranteedUpdate(t, namespace, name, { fieldManager: 'kitfed-apiserver', deleting: true }, (cur) => {
      const next = cloneJson(cur!);
      next.metadata.resourceVersion = '';
      if (!next.metadata.deletionTimestamp) {
        next.metadata.deletionTimestamp = kubeTime(this.now());
        next.metadata.deletionGracePeriodSeconds = 0;
      }
      const f = next.metadata.finalizers ?? [];
      if (addFinalizer && !f.includes(addFinalizer) && !cur!.metadata.deletionTimestamp)
        next.metadata.finalizers = [...f, addFinalizer];
      // The type's own cleanup finalizer (a CRD's), added by the first delete request as kube does.
      const own = t.deletionFinalizer;
      if (own && !cur!.metadata.deletionTimestamp && !(next.metadata.finalizers ?? []).includes(own))
        next.metadata.finalizers = [...(next.metadata.finalizers ?? []), own];
      return next;
    });
  }

  async deleteCollection(
    t: ResourceType,
    namespace: string | undefined,
    listOpts: ListOptions,
    opts: DeleteOptions = {},
  ): Promise<KubeList> {
    const list = await this.list(t, namespace, listOpts);
    const deleted: KubeObject[] = [];
    for (const item of list.items) {
      try {
        deleted.push(await this.delete(t, item.metadata.namespace, item.metadata.name!, opts));
      } catch (err) {
        if (!hasCode(err, 404)) throw err;
      }
    }
    return { ...list, items: deleted };
  }

  /** Internal write used by controllers in the API server process (GC, namespace lifecycle). */
  async mutate(
    t: ResourceType,
    namespace: string | undefined,
    name: string,
    fn: (o: KubeObject) => KubeObject | undefined,
    subresource?: 'status',
  ): Promise<KubeObject | undefined> {
    try {
      return await this.guaranteedUpdate(
        t,
        namespace,
        name,
        { fieldManager: 'kitfed-apiserver', subresource },
        (cur) => {
          const next = fn(cloneJson(cur!)) ?? cur!;
          next.metadata.resourceVersion = '';
          return next;
        },
      );
    } catch (err) {
      if (hasCode(err, 404)) return undefined;
      throw err;
    }
  }
}

/** A resourceVersion parameter: a store revision. */
function parseResourceVersion(rv: string): number {
  const n = Number(rv);
  if (!/^\d+$/.test(rv) || !Number.isSafeInteger(n)) throw errors.badRequest(`invalid resourceVersion: ${rv}`);
  return n;
}

/** kube's answer when a requested revision has not reached the cache in time. */
function tooLargeResourceVersion(rv: number, current: number): KitfedError {
  return new KitfedError(`Timeout: Too large resource version: ${rv}, current: ${current}`, 504, 'Timeout', {
    causes: [{ reason: 'ResourceVersionTooLarge', message: 'Too large resource version' }],
    retryAfterSeconds: 1,
  });
}

/** kube's ListOptions validation of resourceVersion, resourceVersionMatch and continue. */
function validateListOptions(rv: string | undefined, match: string | undefined, cont: string | undefined): void {
  const causes: StatusCause[] = [];
  const forbidden = (message: string) =>
    causes.push({ reason: 'FieldValueForbidden', field: 'resourceVersionMatch', message: `Forbidden: ${message}` });
  if (match) {
    if (!rv) forbidden('resourceVersionMatch is forbidden unless resourceVersion is provided');
    if (cont) forbidden('resourceVersionMatch is forbidden when continue is provided');
    if (match !== 'Exact' && match !== 'NotOlderThan')
      causes.push({
        reason: 'FieldValueNotSupported',
        field: 'resourceVersionMatch',
        message: `Unsupported value: ${JSON.stringify(match)}: supported values: "Exact", "NotOlderThan"`,
      });
    if (match === 'Exact' && rv === '0') forbidden('resourceVersionMatch "exact" is forbidden for resourceVersion "0"');
  }
  if (causes.length > 0) throw errors.invalid({ group: 'meta.k8s.io', kind: 'ListOptions', name: '' }, causes);
  if (cont && rv) throw errors.badRequest('specifying resource version is not allowed when using continue');
}

/** A continue token of a list under `prefix`: the last key of the previous page and the revision of the first. */
function parseContinue(token: string, prefix: string): { start: string; rv: number } {
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as {
      start?: unknown;
      prefix?: unknown;
      rv?: unknown;
    };
    if (
      typeof parsed.start !== 'string' ||
      parsed.prefix !== prefix ||
      typeof parsed.rv !== 'number' ||
      !Number.isSafeInteger(parsed.rv) ||
      parsed.rv < 0
    )
      throw new Error('mismatch');
    return { start: parsed.start, rv: parsed.rv };
  } catch {
    throw errors.badRequest('continue key is not valid: the provided continue parameter is invalid for this request');
  }
}

/** The value at a simple JSON path (`.spec.replicas`). */
function valueAtPath(obj: unknown, path: string): unknown {
  let cur = obj;
  for (const part of path.split('.').filter(Boolean)) cur = isObject(cur) ? cur[part] : undefined;
  return cur;
}

function setAtPath(obj: Record<string, unknown>, path: string, value: unknown): void {
  const parts = path.split('.').filter(Boolean);
  let cur = obj;
  for (const part of parts.slice(0, -1)) {
    if (!isObject(cur[part])) cur[part] = {};
    cur = cur[part] as Record<string, unknown>;
  }
  cur[parts.at(-1)!] = value;
}

function namespaceFinalizers(ns: KubeObject): string[] {
  const spec = ns.spec;
  return isObject(spec) && Array.isArray(spec.finalizers) ? (spec.finalizers as string[]) : [];
}

/** YAML that is JSON (what most apply clients send) takes the fast JSON parser. */
function parseYamlOrJson(body: string): unknown {
  const first = body.trimStart()[0];
  if (first === '{' || first === '[') {
    try {
      return JSON.parse(body);
    } catch {
      // flow-style YAML that is not JSON: fall through
    }
  }
  return YAML.parse(body);
}

function randomSuffix(): string {
  const alphabet = 'bcdfghjklmnpqrstvwxz2456789';
  let s = '';
  for (let i = 0; i < 5; i++) s += alphabet[Math.floor(Math.random() * alphabet.length)];
  return s;
}

function parsePatchBody(type: PatchType, body: string): unknown {
  try {
    return type === 'apply' ? parseYamlOrJson(body) : JSON.parse(body);
  } catch (err) {
    throw errors.badRequest(`error decoding patch: ${(err as Error).message}`);
  }
}

function applyPatch(type: PatchType, target: KubeObject, patch: unknown, t: TypeRef): unknown {
  switch (type) {
    case 'json':
      return jsonPatch(target, patch);
    case 'merge':
      return mergePatch(target, patch);
    case 'strategic':
      return strategicMergePatch(target, patch, t);
    default:
      throw errors.unsupportedMediaType(type);
  }
}
