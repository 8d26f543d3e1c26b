import btree from 'sorted-btree';
import { EventWindow } from './event-window.js';
import {
  StoreError,
  type KeyValue,
  type ListOptions,
  type ListResult,
  type Store,
  type StoreEvent,
  type WatchOptions,
} from './types.js';

export interface MemoryStoreOptions {
  /** Events kept for watch resumption. @default 10000 */
  historySize?: number;
}

// A CommonJS package: its `exports.default` is the class.
const BTree = btree.default;

interface Watcher {
  prefix: string;
  options: WatchOptions;
}

/**
 * An in-memory store for tests and sandbox clusters: keys in one B+ tree for prefix listing
 * (a write costs O(log n) however many keys there are), a bounded event history for watch
 * resumption. Nothing is durable.
 */
export class MemoryStore implements Store {
  readonly backend = 'memory';
  private readonly data = new BTree<string, KeyValue>();
  private rev = 0;
  private readonly history: EventWindow<StoreEvent>;
  private compacted = 0;
  private readonly watchers = new Set<Watcher>();

  constructor(options: MemoryStoreOptions = {}) {
    this.history = new EventWindow(options.historySize ?? 10_000);
  }

  async get(key: string): Promise<KeyValue | undefined> {
    return this.data.get(key);
  }

  async list(prefix: string, options: ListOptions = {}): Promise<ListResult> {
    if (options.revision !== undefined && options.revision !== this.rev)
      throw new StoreError(
        'Compacted',
        `revision ${options.revision} is not the current one (${this.rev}): no old versions are kept`,
      );
    const start =
      options.startAfter !== undefined && options.startAfter >= prefix ? options.startAfter + '\u0000' : prefix;
    const items: KeyValue[] = [];
    const limit = options.limit && options.limit > 0 ? options.limit : Infinity;
    let remaining = 0;
    for (const [key, kv] of this.data.entries(start)) {
      if (!key.startsWith(prefix)) break;
      if (items.length < limit) items.push(kv);
      else remaining++;
    }
    return remaining > 0
      ? { items, revision: this.rev, more: true, remaining }
      : { items, revision: this.rev, more: false };
  }

  async create(key: string, value: string): Promise<number> {
    if (this.data.has(key)) throw new StoreError('KeyExists', `key ${key} already exists`, this.data.get(key));
    const revision = ++this.rev;
    this.data.set(key, { key, value, modRevision: revision, createRevision: revision });
    this.emit({ type: 'ADDED', key, value, revision });
    return revision;
  }

  async update(key: string, value: string, expectedModRevision?: number): Promise<number> {
    const current = this.data.get(key);
    if (!current) throw new StoreError('NotFound', `key ${key} not found`);
    if (expectedModRevision !== undefined && current.modRevision !== expectedModRevision) {
      throw new StoreError(
        'Conflict',
        `key ${key} is at revision ${current.modRevision}, not ${expectedModRevision}`,
        current,
      );
    }
    const revision = ++this.rev;
    this.data.set(key, { key, value, modRevision: revision, createRevision: current.createRevision });
    this.emit({ type: 'MODIFIED', key, value, prevValue: current.value, revision });
    return revision;
  }

  async delete(key: string, expectedModRevision?: number): Promise<{ revision: number; prev: KeyValue }> {
    const current = this.data.get(key);
    if (!current) throw new StoreError('NotFound', `key ${key} not found`);
    if (expectedModRevision !== undefined && current.modRevision !== expectedModRevision) {
      throw new StoreError(
        'Conflict',
        `key ${key} is at revision ${current.modRevision}, not ${expectedModRevision}`,
        current,
      );
    }
    const revision = ++this.rev;
    this.data.delete(key);
    this.emit({ type: 'DELETED', key, value: current.value, prevValue: current.value, revision });
    return { revision, prev: current };
  }

  async revision(): Promise<number> {
    return this.rev;
  }

  async compactedRevision(): Promise<number> {
    return this.compacted;
  }

  async watch(prefix: string, options: WatchOptions): Promise<() => void> {
    if (options.sinceRevision < this.compacted) {
      throw new StoreError(
        'Compacted',
        `revision ${options.sinceRevision} has been compacted (oldest: ${this.compacted})`,
      );
    }
    // Replay retained history first, then go live: both happen synchronously, so no write can slip between.
    this.history.forEachAfter(options.sinceRevision, (event) => {
      if (event.key.startsWith(prefix)) options.onEvent(event);
    });
    const watcher: Watcher = { prefix, options };
    this.watchers.add(watcher);
    return () => {
      this.watchers.delete(watcher);
    };
  }

  async compact(revision: number): Promise<void> {
    this.compacted = Math.max(this.compacted, Math.min(revision, this.rev));
    this.history.dropThrough(this.compacted);
  }

  async close(): Promise<void> {
    this.watchers.clear();
  }

  private emit(event: StoreEvent): void {
    const dropped = this.history.push(event);
    if (dropped !== undefined) this.compacted = dropped;
    for (const w of this.watchers) {
      if (event.key.startsWith(w.prefix)) w.options.onEvent(event);
    }
  }
}
