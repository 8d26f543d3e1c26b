/**
 * The storage interface behind the API server: a revisioned key-value store, the same
 * model etcd v3 offers, so memory, SQLite and etcd implement it alike.
 *
 * - Keys are strings like `/registry/apps/replicasets/default/web`; values are the
 *   object's JSON text (the API server owns encoding; a transformer may encrypt values).
 * - Every successful write gets a new store-wide revision, strictly increasing; the API
 *   server serves it as `metadata.resourceVersion`.
 * - Writes are acknowledged only once durable for the backend (memory: never durable).
 * - `watch` delivers, in revision order, every change under a prefix after a revision;
 *   asking for a revision older than the retained history throws `StoreError('Compacted')`.
 */

export interface KeyValue {
  key: string;
  value: string;
  /** Revision of the last write to this key. */
  modRevision: number;
  /** Revision at which this key was created. */
  createRevision: number;
}

export type StoreEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface StoreEvent {
  type: StoreEventType;
  key: string;
  /**
   * New value (for DELETED: the value as it was when deleted; may be empty when the watch was
   * opened with `withoutPrevious`).
   */
  value: string;
  /** Value before the write (MODIFIED and DELETED), unless the watch was opened with `withoutPrevious`. */
  prevValue?: string;
  /** Revision of the write. */
  revision: number;
}

export interface ListOptions {
  /** Return at most this many items (0 or undefined: all). */
  limit?: number;
  /** Only keys strictly greater than this one (pagination). */
  startAfter?: string;
  /**
   * Read as of this revision (a snapshot, for paging through one revision). etcd serves any
   * revision it has not compacted; memory and SQLite keep no old versions and serve only their
   * current revision. Either throws `Compacted` when it cannot.
   */
  revision?: number;
}

export interface ListResult {
  items: KeyValue[];
  /** Store revision at which the list is consistent. */
  revision: number;
  /** True when `limit` cut the result short. */
  more: boolean;
  /** Number of keys left after this page, when `more`. */
  remaining?: number;
}

export interface WatchOptions {
  /** Deliver events with revision strictly greater than this. */
  sinceRevision: number;
  /**
   * The caller keeps every key's last value itself (the watch cache): the store may leave out
   * `prevValue`, and a DELETED event's value. etcd then does not read each changed key's previous
   * revision for the event (≈ 20 % of etcd's CPU per write, docs/benchmarks.md). Memory and SQLite
   * have the values at hand and send them anyway.
   */
  withoutPrevious?: boolean;
  onEvent(event: StoreEvent): void;
  /**
   * The store has delivered every change under the prefix up to `revision`, although none
   * happened at it (etcd: a write that only moved the store's revision). Optional.
   */
  onProgress?(revision: number): void;
  /** The watch ended abnormally (backend lost, compaction passed it); no more events follow. */
  onError(err: StoreError): void;
}

export type StoreErrorCode = 'KeyExists' | 'NotFound' | 'Conflict' | 'Compacted' | 'Unavailable' | 'Internal';

/** The only error kind a store throws. The API server maps codes to Status errors. */
export class StoreError extends Error {
  override readonly name = 'StoreError';
  constructor(
    readonly code: StoreErrorCode,
    message: string,
    /** For Conflict: the current value, when the store knows it. */
    readonly current?: KeyValue,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

export interface Store {
  /** Backend name for logs and metrics: `memory`, `sqlite`, `etcd`. */
  readonly backend: string;
  get(key: string): Promise<KeyValue | undefined>;
  list(prefix: string, options?: ListOptions): Promise<ListResult>;
  /** Creates `key`; throws `KeyExists` when it exists. Returns the new revision. */
  create(key: string, value: string): Promise<number>;
  /**
   * Replaces `key`'s value. With `expectedModRevision`, only if the key's modRevision still
   * equals it (else `Conflict`). Throws `NotFound` when the key does not exist.
   */
  update(key: string, value: string, expectedModRevision?: number): Promise<number>;
  /**
   * Deletes `key` (optionally only at `expectedModRevision`); returns the deleted entry and the revision of the
   * delete.
   */
  delete(key: string, expectedModRevision?: number): Promise<{ revision: number; prev: KeyValue }>;
  /**
   * Current store revision: the revision of the latest write acknowledged by this store (by any
   * process sharing it), 0 for an empty store; read linearizably, so a watch that has delivered
   * up to it (events or `onProgress`) has seen every write acknowledged before the call.
   */
  revision(): Promise<number>;
  /** Oldest revision a watch can still start from (sinceRevision >= this). */
  compactedRevision(): Promise<number>;
  /** Starts a watch; resolves once it is established. The returned function stops it. */
  watch(prefix: string, options: WatchOptions): Promise<() => void>;
  /** Drops history up to `revision` (watches starting before it get `Compacted`). */
  compact(revision: number): Promise<void>;
  close(): Promise<void>;
}
