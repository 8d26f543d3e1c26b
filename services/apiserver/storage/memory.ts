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

interface Watcher {
  prefix: string;
  options: WatchOptions;
}

/**
 * An in-memory store for tests and sandbox clusters: sorted keys for prefix listing,
 * a bounded event history for watch resumption. Nothing is durable.
 */
export class MemoryStore implements Store {
  readonly backend = 'memory';
  private readonly data = new Map<string, KeyValue>();
  private sortedKeys: string[] | undefined = [];
  private rev = 0;
  private readonly history: StoreEvent[] = [];
  private readonly historySize: number;
  private compacted = 0;
  private readonly watchers = new Set<Watcher>();

  constructor(options: MemoryStoreOptions = {}) {
    this.historySize = options.historySize ?? 10_000;
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
    const keys = this.keys();
    let i = lowerBound(
      keys,
      options.startAfter !== undefined && options.startAfter >= prefix ? options.startAfter + '\u0000' : prefix,
    );
    const items: KeyValue[] = [];
    const limit = options.limit && options.limit > 0 ? options.limit : Infinity;
    for (; i < keys.length && keys[i]!.startsWith(prefix); i++) {
      if (items.length >= limit) {
        const end = lowerBound(keys, `${prefix}\uffff`);
        return { items, revision: this.rev, more: true, remaining: end - i };
      }
      items.push(this.data.get(keys[i]!)!);
    }
    return { items, revision: this.rev, more: false };
  }

  async create(key: string, value: string): Promise<number> {
    if (this.data.has(key)) throw new StoreError('KeyExists', `key ${key} already exists`, this.data.get(key));
    const revision = ++this.rev;
    this.data.set(key, { key, value, modRevision: revision, createRevision: revision });
    this.insertKey(key);
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
    if (this.sortedKeys) {
      const i = lowerBound(this.sortedKeys, key);
      if (this.sortedKeys[i] === key) this.sortedKeys.splice(i, 1);
    }
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
    for (const event of this.history) {
      if (event.revision > options.sinceRevision && event.key.startsWith(prefix)) options.onEvent(event);
    }
    const watcher: Watcher = { prefix, options };
    this.watchers.add(watcher);
    return () => {
      this.watchers.delete(watcher);
    };
  }

  async compact(revision: number): Promise<void> {
    this.compacted = Math.max(this.compacted, Math.min(revision, this.rev));
    while (this.history.length > 0 && this.history[0]!.revision <= this.compacted) this.history.shift();
  }

  async close(): Promise<void> {
    this.watchers.clear();
  }

  private emit(event: StoreEvent): void {
    this.history.push(event);
    if (this.history.length > this.historySize) {
      const dropped = this.history.splice(0, this.history.length - this.historySize);
      this.compacted = dropped[dropped.length - 1]!.revision;
    }
    for (const w of this.watchers) {
      if (event.key.startsWith(w.prefix)) w.options.onEvent(event);
    }
  }

  private keys(): string[] {
    this.sortedKeys ??= [...this.data.keys()].sort();
    return this.sortedKeys;
  }

  private insertKey(key: string): void {
    if (!this.sortedKeys) return;
    const i = lowerBound(this.sortedKeys, key);
    this.sortedKeys.splice(i, 0, key);
  }
}

/** First index whose key is >= `key`. */
function lowerBound(keys: string[], key: string): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (keys[mid]! < key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
