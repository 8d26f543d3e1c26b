/**
 * The shape of a served resource type and lookups over a table of them. The tables
 * themselves are in `builtin/` (Kubernetes 1.32's kinds, by group, and kitfed's Cluster).
 * Adding a kind is one entry there: discovery, routing, storage keys, OpenAPI, validation and
 * `kubectl get` columns all derive from it.
 */

/**
 * Subresources kube serves. `status`, `scale`, `ephemeralcontainers`, `binding`, `eviction`,
 * `approval` and `finalize` are served; the streaming and proxy ones (`log`, `exec`, `attach`,
 * `portforward`, `proxy`) are listed in discovery as kube lists them and answer with a Status.
 */
export type Subresource =
  | 'status'
  | 'scale'
  | 'finalize'
  | 'ephemeralcontainers'
  | 'binding'
  | 'eviction'
  | 'approval'
  | 'log'
  | 'exec'
  | 'attach'
  | 'portforward'
  | 'proxy'
  | 'token';

export type Verb = 'create' | 'delete' | 'deletecollection' | 'get' | 'list' | 'patch' | 'update' | 'watch';

/** Another group/version the same stored objects are served in. */
export interface ServedAlias {
  group: string;
  version: string;
  /** The client-node model of this version when its schema differs from the storage version's. */
  model?: string;
  /** Short names and categories are listed in this version's discovery too (same group: true). */
  shortNames?: boolean;
}

export interface TableColumn {
  name: string;
  type: 'string' | 'integer' | 'date' | 'number' | 'boolean';
  format?: string;
  description?: string;
  priority?: number;
  /** Dotted path into the object, or a function computing the cell. */
  value: string | ((obj: Record<string, unknown>) => unknown);
}

export interface ResourceType {
  group: string;
  /** The storage (preferred) version. */
  version: string;
  kind: string;
  plural: string;
  singular: string;
  shortNames?: string[];
  categories?: string[];
  namespaced: boolean;
  subresources?: Subresource[];
  /**
   * Other group/versions accepted and served for this type (stored as `group/version`, converted by
   * `core/conversion`).
   */
  aliases?: ServedAlias[];
  /**
   * Printer columns. With a `Name` column they are the whole row; without one, NAME is put first
   * and AGE last unless an `Age` column is placed (`builtin/columns.ts` has both) or `ageColumn` is false.
   */
  columns?: TableColumn[];
  /** Discovery verbs. @default all eight (create, delete, deletecollection, get, list, patch, update, watch) */
  verbs?: Verb[];
  /** Not stored (create-only reviews, Bindings) or served from elsewhere (ComponentStatuses). */
  virtual?: boolean;
  /** Name of the client-node model for the schema (e.g. `V1Deployment`). */
  model?: string;
  /** Kinds whose `spec` changes bump `metadata.generation` (true for kinds with a spec and status). */
  hasStatus?: boolean;
  /** Field selector paths beyond metadata.name and metadata.namespace. */
  fieldSelectors?: string[];
  /**
   * OpenAPI v3 schema of the whole object, for types without a client-node `model` (custom
   * resources). OpenAPI documents and `kubectl explain` use it; for `custom` types it also
   * drives pruning, defaulting and validation.
   */
  schema?: JSONSchemaProps;
  /** Set on the types a CustomResourceDefinition serves (one per served version). */
  custom?: CustomResourceInfo;
  /** Where the `scale` subresource reads and writes replicas. @default spec.replicas, status.replicas, spec.selector */
  scale?: ScalePaths;
  /** false: `columns` are the whole table after NAME (no AGE column is added), as for custom resources. */
  ageColumn?: boolean;
  /** A finalizer the server adds on the first delete request, so a controller cleans up before the object goes. */
  deletionFinalizer?: string;
}

/** An OpenAPI v3 schema as a CustomResourceDefinition carries it (`JSONSchemaProps`). */
export interface JSONSchemaProps {
  type?: string;
  format?: string;
  description?: string;
  properties?: Record<string, JSONSchemaProps>;
  additionalProperties?: JSONSchemaProps | boolean;
  items?: JSONSchemaProps;
  required?: string[];
  enum?: unknown[];
  default?: unknown;
  nullable?: boolean;
  [keyword: string]: unknown;
}

/** JSON paths (`.spec.replicas`) of a custom resource's scale subresource. */
export interface ScalePaths {
  specReplicasPath: string;
  statusReplicasPath: string;
  labelSelectorPath?: string;
}

export interface CustomResourceInfo {
  /** metadata.name of the CustomResourceDefinition. */
  crd: string;
  /** The version objects are stored in (every served version reads and writes the same objects). */
  storageVersion: string;
  /** The CRD is being deleted: creating objects is refused (405), as in kube. */
  terminating?: boolean;
}

/** Dotted-path read of plain JSON. */
export function get(obj: unknown, dotted: string): unknown {
  let cur: unknown = obj;
  for (const part of dotted.split('.')) {
    if (typeof cur !== 'object' || cur === null) return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

/** What changed in a catalog: types whose group/version/resource appeared, disappeared or was redefined. */
export interface CatalogChange {
  added: readonly ResourceType[];
  removed: readonly ResourceType[];
  updated: readonly ResourceType[];
}

function gvrKeys(t: ResourceType): string[] {
  return [{ group: t.group, version: t.version }, ...(t.aliases ?? [])].map(
    (gv) => `${gv.group}/${gv.version}/${t.plural}`,
  );
}

/**
 * Lookups over the served resource types: the built-in table (the federation's, or a member
 * cluster's) plus types added and removed at run time by an owner (a CustomResourceDefinition).
 * Every change is announced to `onChange` listeners, synchronously, after the lookups reflect
 * it: discovery, OpenAPI, routing and the garbage collector follow without polling.
 */
export class ResourceCatalog {
  private readonly builtin: readonly ResourceType[];
  private readonly owned = new Map<string, readonly ResourceType[]>();
  private types: readonly ResourceType[] = [];
  private byGvr = new Map<string, ResourceType>();
  private byGvk = new Map<string, ResourceType>();
  private byPrefix = new Map<string, ResourceType>();
  private readonly listeners = new Set<(change: CatalogChange) => void>();
  private gen = 0;

  constructor(types: readonly ResourceType[]) {
    this.builtin = [...types];
    this.reindex();
  }

  /** Every served type, built-in first, then the dynamic ones in the order their owners were added. */
  get all(): readonly ResourceType[] {
    return this.types;
  }

  /** Bumped on every change (cache keys). */
  get generation(): number {
    return this.gen;
  }

  private reindex(): void {
    const types = [...this.builtin, ...[...this.owned.values()].flat()];
    const byGvr = new Map<string, ResourceType>();
    const byGvk = new Map<string, ResourceType>();
    const byPrefix = new Map<string, ResourceType>();
    for (const t of types) {
      for (const gv of [{ group: t.group, version: t.version }, ...(t.aliases ?? [])]) {
        byGvr.set(`${gv.group}/${gv.version}/${t.plural}`, t);
        byGvk.set(`${gv.group}/${gv.version}/${t.kind}`, t);
      }
      const prefix = keyPrefix(t);
      // One type answers for a storage prefix: the one whose version is the storage version.
      const prev = byPrefix.get(prefix);
      if (!prev || (t.custom && t.version === t.custom.storageVersion && prev.custom?.storageVersion !== prev.version))
        byPrefix.set(prefix, t);
    }
    this.types = types;
    this.byGvr = byGvr;
    this.byGvk = byGvk;
    this.byPrefix = byPrefix;
    this.gen++;
  }

  byResource(group: string, version: string, plural: string): ResourceType | undefined {
    return this.byGvr.get(`${group}/${version}/${plural}`);
  }

  byKind(group: string, version: string, kind: string): ResourceType | undefined {
    return this.byGvk.get(`${group}/${version}/${kind}`);
  }

  /** The type whose objects live under a storage key (`/registry/<group>/<plural>/…`). */
  typeOfKey(key: string): ResourceType | undefined {
    // Prefixes are `/registry/<a>/` or `/registry/<a>/<b>/`: try the longer first.
    const second = key.indexOf('/', key.indexOf('/', 10) + 1);
    if (second > 0) {
      const t = this.byPrefix.get(key.slice(0, second + 1));
      if (t) return t;
    }
    const first = key.indexOf('/', 10);
    return first > 0 ? this.byPrefix.get(key.slice(0, first + 1)) : undefined;
  }

  /** One type per storage prefix (several served versions of a custom resource share one). */
  storageTypes(): ResourceType[] {
    return [...this.byPrefix.values()];
  }

  /** The types `owner` added (empty when none). */
  ownedBy(owner: string): readonly ResourceType[] {
    return this.owned.get(owner) ?? [];
  }

  /**
   * Sets the types served on behalf of `owner` (e.g. a CRD's name), replacing what it served
   * before; an empty list removes them. Throws when a group/version/resource is already served
   * by someone else (callers check names first, as kube's naming controller does).
   */
  set(owner: string, types: readonly ResourceType[]): CatalogChange {
    const before = new Map<string, ResourceType>();
    for (const t of this.owned.get(owner) ?? []) for (const k of gvrKeys(t)) before.set(k, t);
    for (const t of types) {
      for (const k of gvrKeys(t)) {
        const holder = this.byGvr.get(k);
        if (holder && !before.has(k)) throw new Error(`resource ${k} is already served`);
      }
    }
    if (types.length === 0) this.owned.delete(owner);
    else this.owned.set(owner, [...types]);
    this.reindex();
    const after = new Set(types.flatMap(gvrKeys));
    const change: CatalogChange = {
      added: types.filter((t) => gvrKeys(t).some((k) => !before.has(k))),
      updated: types.filter((t) => gvrKeys(t).every((k) => before.has(k))),
      removed: [...new Set([...before].filter(([k]) => !after.has(k)).map(([, t]) => t))],
    };
    for (const l of [...this.listeners]) l(change);
    return change;
  }

  /** Calls `listener` after every change; returns the unsubscribe function. */
  onChange(listener: (change: CatalogChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Every group/version served, with its resource types. */
  groupVersions(): Map<string, { group: string; version: string; types: ResourceType[] }> {
    const out = new Map<string, { group: string; version: string; types: ResourceType[] }>();
    for (const t of this.all) {
      for (const gv of [{ group: t.group, version: t.version }, ...(t.aliases ?? [])]) {
        const k = `${gv.group}/${gv.version}`;
        let entry = out.get(k);
        if (!entry) out.set(k, (entry = { ...gv, types: [] }));
        entry.types.push(t);
      }
    }
    return out;
  }
}

/** Storage key prefix of a type, kube's etcd layout: `/registry/<plural>/` (core), `/registry/<group>/<plural>/`. */
export function keyPrefix(t: ResourceType): string {
  return t.group ? `/registry/${t.group}/${t.plural}/` : `/registry/${t.plural}/`;
}

export function storageKey(t: ResourceType, namespace: string | undefined, name: string): string {
  return t.namespaced ? `${keyPrefix(t)}${namespace}/${name}` : `${keyPrefix(t)}${name}`;
}
