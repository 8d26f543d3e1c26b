import { closeSync, fdatasync, fsyncSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { createLogger } from '../../core/log.js';
import {
  StoreError,
  type KeyValue,
  type ListOptions,
  type ListResult,
  type Store,
  type StoreEvent,
  type StoreEventType,
  type WatchOptions,
} from './types.js';

export interface SqliteStoreOptions {
  /** Events kept for watch resumption; older ones are compacted. @default 10000 */
  historySize?: number;
  /** How often the history is trimmed to `historySize` even without writes. @default 60000 */
  compactionIntervalMs?: number;
  /** Most writes sharing one transaction (one fsync). @default 512 */
  maxBatch?: number;
  /**
   * `FULL` (default): a write is acknowledged once on disk, surviving power loss. `NORMAL`: it
   * survives a crash of the process but not of the machine; for stores that can be rebuilt
   * (sandbox member clusters).
   */
  synchronous?: 'FULL' | 'NORMAL';
}

type Op =
  | { kind: 'create'; key: string; value: string }
  | { kind: 'update'; key: string; value: string; expected: number | undefined }
  | { kind: 'delete'; key: string; expected: number | undefined };

interface Pending {
  op: Op;
  resolve(result: OpResult): void;
  reject(err: StoreError): void;
}

type OpResult = { revision: number; prev?: KeyValue };

/** A transaction committed (not yet durable, under FULL): its callers, outcomes and events. */
interface Committed {
  batch: Pending[];
  outcomes: (OpResult | StoreError)[];
  events: StoreEvent[];
  revision: number;
}

interface Row {
  key: string;
  value: string;
  create_rev: number;
  mod_rev: number;
}

interface EventRow {
  rev: number;
  type: number;
  key: string;
  value: string;
  prev_value: string | null;
}

const TYPE_CODES: StoreEventType[] = ['ADDED', 'MODIFIED', 'DELETED'];
const log = createLogger('storage', { backend: 'sqlite' });

const SCHEMA = `
CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT NOT NULL, create_rev INTEGER NOT NULL, mod_rev INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS events (rev INTEGER PRIMARY KEY, type INTEGER NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, prev_value TEXT);
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
INSERT OR IGNORE INTO meta (name, value) VALUES ('revision', 0), ('compacted', 0);
`;

/**
 * The embedded, durable store: one SQLite file in WAL mode, a write acknowledged only after
 * its transaction is on disk. Writes issued in the same event-loop turn share one transaction
 * (group commit). With `synchronous: 'FULL'` (the default) the store makes the log durable
 * itself: SQLite commits into the page cache (`synchronous=OFF`), then one `fdatasync` of the
 * write-ahead log, on libuv's thread pool, covers every transaction committed before it started;
 * only then are callers answered and watchers fed, so readers never see a write that is not yet
 * durable. The event loop keeps serving while the disk syncs; writes issued meanwhile wait for
 * its end and then share one transaction and the next sync (they could not be acknowledged
 * sooner: a sync covers only what was committed before it started), so there is one transaction
 * per sync, however the writes trickle in. Checkpoints (which copy the log into the database) run with
 * `synchronous=FULL`, so SQLite syncs both files around them as it always does.
 * A bounded `events` table lets watches resume from a recent revision. One process owns a
 * database file at a time (an exclusive lock, held until close): a second opener fails with
 * `Unavailable`.
 */
export class SqliteStore implements Store {
  readonly backend = 'sqlite';
  private readonly db: Database.Database;
  private readonly stmts: ReturnType<typeof prepare>;
  private rev: number;
  private compacted: number;
  private readonly historySize: number;
  private readonly maxBatch: number;
  private queue: Pending[] = [];
  private flushScheduled = false;
  private closed = false;
  private readonly watchers = new WatcherSet();
  private readonly timer: NodeJS.Timeout;
  /** FULL: the write-ahead log's descriptor, synced by us (undefined: SQLite syncs, NORMAL). */
  private walFd: number | undefined;
  /** Committed transactions waiting for the sync that makes them durable, in commit order. */
  private unsynced: Committed[] = [];
  private syncing = false;
  /** Revision of the last durable (acknowledged) write. */
  private durableRev: number;
  private commitsSinceCheckpoint = 0;
  private failure: StoreError | undefined;
  private durableWaiters: Array<{ target: number; resolve: () => void }> = [];

  constructor(
    readonly path: string,
    options: SqliteStoreOptions = {},
  ) {
    this.historySize = options.historySize ?? 10_000;
    this.maxBatch = options.maxBatch ?? 512;
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    try {
      this.db = new Database(path);
    } catch (err) {
      throw new StoreError('Unavailable', `cannot open SQLite database ${path}: ${messageOf(err)}`, undefined, {
        cause: err,
      });
    }
    try {
      // One process owns the file (revisions and watches live in it): the exclusive lock is
      // taken by the first write below and held until close; the OS drops it if we crash.
      this.db.pragma('locking_mode = EXCLUSIVE');
      this.db.pragma('busy_timeout = 1000');
      this.db.pragma('journal_mode = WAL');
      const own = options.synchronous !== 'NORMAL' && path !== ':memory:';
      this.db.pragma(`synchronous = ${own ? 'OFF' : options.synchronous === 'NORMAL' ? 'NORMAL' : 'FULL'}`);
      if (own) this.db.pragma('wal_autocheckpoint = 0');
      this.db.exec(SCHEMA);
      if (own) {
        // The log exists once the schema is written (the exclusive lock keeps it): open it to sync it.
        this.walFd = openSync(`${path}-wal`, 'a');
        const dir = openSync(dirname(path), 'r');
        try {
          fsyncSync(dir);
        } finally {
          closeSync(dir);
        }
      }
    } catch (err) {
      this.db.close();
      const busy = (err as { code?: string }).code?.startsWith('SQLITE_BUSY');
      const why = busy
        ? 'it is in use by another process (one kitfed API server per SQLite file; use etcd for several)'
        : messageOf(err);
      throw new StoreError('Unavailable', `cannot open SQLite database ${path}: ${why}`, undefined, { cause: err });
    }
    this.stmts = prepare(this.db);
    this.rev = this.stmts.getMeta.get('revision') as number;
    this.durableRev = this.rev;
    this.compacted = this.stmts.getMeta.get('compacted') as number;
    this.timer = setInterval(() => this.trimHistory(), options.compactionIntervalMs ?? 60_000);
    this.timer.unref();
  }

  async get(key: string): Promise<KeyValue | undefined> {
    this.checkOpen();
    await this.durable();
    const row = this.stmts.get.get(key) as Row | undefined;
    return row && toKeyValue(row);
  }

  async list(prefix: string, options: ListOptions = {}): Promise<ListResult> {
    this.checkOpen();
    await this.durable();
    if (options.revision !== undefined && options.revision !== this.rev)
      throw new StoreError(
        'Compacted',
        `revision ${options.revision} is not the current one (${this.rev}): no old versions are kept`,
      );
    const end = prefixEnd(prefix);
    const after = options.startAfter !== undefined && options.startAfter >= prefix ? options.startAfter : undefined;
    const limit = options.limit && options.limit > 0 ? options.limit : -1;
    // Both statements run in one synchronous turn and this process is the only writer: consistent.
    const stmt = this.stmts.list[after === undefined ? 'from' : 'after'][end === undefined ? 'open' : 'bounded'];
    const rows = stmt.all({ start: after ?? prefix, end, limit: limit < 0 ? -1 : limit + 1 }) as Row[];
    const more = limit >= 0 && rows.length > limit;
    const items = (more ? rows.slice(0, limit) : rows).map(toKeyValue);
    const result: ListResult = { items, revision: this.rev, more };
    if (more) {
      const count = this.stmts.list.count[end === undefined ? 'open' : 'bounded'];
      result.remaining = count.get({ start: items[items.length - 1]!.key, end }) as number;
    }
    return result;
  }

  create(key: string, value: string): Promise<number> {
    return this.enqueue({ kind: 'create', key, value }).then((r) => r.revision);
  }

  update(key: string, value: string, expectedModRevision?: number): Promise<number> {
    return this.enqueue({ kind: 'update', key, value, expected: expectedModRevision }).then((r) => r.revision);
  }

  async delete(key: string, expectedModRevision?: number): Promise<{ revision: number; prev: KeyValue }> {
    const r = await this.enqueue({ kind: 'delete', key, expected: expectedModRevision });
    return { revision: r.revision, prev: r.prev! };
  }

  async revision(): Promise<number> {
    return this.durableRev;
  }

  async compactedRevision(): Promise<number> {
    return this.compacted;
  }

  async watch(prefix: string, options: WatchOptions): Promise<() => void> {
    this.checkOpen();
    if (options.sinceRevision < this.compacted) {
      throw new StoreError(
        'Compacted',
        `revision ${options.sinceRevision} has been compacted (oldest: ${this.compacted})`,
      );
    }
    // Replay (of durable writes: later ones are emitted when synced) and registration run
    // synchronously with no sync completing in between: no gap, no duplicate.
    const rows = this.stmts.history.all(options.sinceRevision, this.durableRev) as EventRow[];
    for (const row of rows) {
      if (row.key.startsWith(prefix)) options.onEvent(toEvent(row));
    }
    return this.watchers.add(prefix, options);
  }

  async compact(revision: number): Promise<void> {
    this.checkOpen();
    this.compactTo(Math.min(revision, this.rev));
  }

  /** Copies a consistent snapshot of the database to `destination` while the store keeps serving. */
  async backup(destination: string): Promise<void> {
    this.checkOpen();
    await this.db.backup(destination);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    if (this.queue.length > 0) this.flush();
    if (this.walFd !== undefined) {
      await this.durable();
      // A clean close folds the log into the database, synced.
      try {
        this.db.pragma('synchronous = FULL');
        this.db.pragma('wal_checkpoint(TRUNCATE)');
      } catch (err) {
        log.warn({ err: messageOf(err) }, 'sqlite checkpoint on close failed');
      }
      closeSync(this.walFd);
      this.walFd = undefined;
    }
    this.closed = true;
    clearInterval(this.timer);
    this.watchers.clear();
    this.db.close();
  }

  private enqueue(op: Op): Promise<OpResult> {
    if (this.closed) return Promise.reject(new StoreError('Unavailable', 'store is closed'));
    if (this.failure) return Promise.reject(this.failure);
    return new Promise<OpResult>((resolve, reject) => {
      this.queue.push({ op, resolve, reject });
      if (this.queue.length >= this.maxBatch) this.flush();
      // While the log syncs, writes wait for the sync's end and then share one transaction: a
      // write committed during a sync could not be acknowledged before the next sync anyway.
      else if (this.syncing) return;
      else if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /** Runs every queued write in one transaction, then answers callers and feeds watchers. */
  private flush(): void {
    this.flushScheduled = false;
    const batch = this.queue;
    this.queue = [];
    if (batch.length === 0 || this.closed) {
      for (const p of batch) p.reject(new StoreError('Unavailable', 'store is closed'));
      return;
    }
    const startRev = this.rev;
    const outcomes: (OpResult | StoreError)[] = [];
    const events: StoreEvent[] = [];
    try {
      this.db
        .transaction(() => {
          for (const p of batch) outcomes.push(this.apply(p.op, events));
          if (this.rev !== startRev) this.stmts.setMeta.run({ name: 'revision', value: this.rev });
        })
        .immediate();
    } catch (err) {
      this.rev = startRev;
      const failure = new StoreError('Unavailable', `SQLite write failed: ${messageOf(err)}`, undefined, {
        cause: err,
      });
      log.error({ err: messageOf(err), writes: batch.length }, 'sqlite transaction failed');
      for (const p of batch) p.reject(failure);
      return;
    }
    const committed: Committed = { batch, outcomes, events, revision: this.rev };
    if (this.walFd === undefined) this.acknowledge(committed);
    else {
      this.unsynced.push(committed);
      this.sync();
    }
    if (this.rev - this.compacted > this.historySize + Math.max(100, this.historySize / 10)) this.trimHistory();
  }

  /** Answers a durable transaction's callers and feeds watchers. */
  private acknowledge(c: Committed): void {
    this.durableRev = c.revision;
    for (const event of c.events) this.watchers.emit(event);
    c.batch.forEach((p, i) => {
      const outcome = c.outcomes[i]!;
      if (outcome instanceof StoreError) p.reject(outcome);
      else p.resolve(outcome);
    });
  }

  /** One fdatasync of the log for every transaction committed before it starts; then the next. */
  private sync(): void {
    if (this.syncing || this.unsynced.length === 0 || this.walFd === undefined) return;
    this.syncing = true;
    const covered = this.unsynced;
    this.unsynced = [];
    fdatasync(this.walFd, (err) => {
      this.syncing = false;
      if (err) return this.fail(covered, err);
      this.checkpointNow();
      // The writes queued during the sync: one transaction, and the next sync under way before the
      // covered writes are answered, so the disk works while the event loop writes the answers.
      if (this.queue.length > 0 && !this.flushScheduled) this.flush();
      this.sync();
      for (const c of covered) this.acknowledge(c);
      this.wakeDurable();
    });
  }

  /** Resolves once every write committed so far is durable (or the store failed). */
  private durable(): Promise<void> {
    if (this.walFd === undefined || (this.unsynced.length === 0 && !this.syncing)) return Promise.resolve();
    const target = this.rev;
    return new Promise((resolve) => this.durableWaiters.push({ target, resolve }));
  }

  private wakeDurable(): void {
    if (this.durableWaiters.length === 0) return;
    const waiting = this.durableWaiters;
    this.durableWaiters = [];
    for (const w of waiting) {
      if (this.durableRev >= w.target || this.failure) w.resolve();
      else this.durableWaiters.push(w);
    }
  }

  /** A failed sync: nothing after the last durable write can be trusted; the store stops. */
  private fail(covered: Committed[], err: Error): void {
    this.failure = new StoreError('Unavailable', `SQLite sync failed: ${err.message}`, undefined, { cause: err });
    log.error({ err: err.message }, 'sqlite fdatasync failed; the store stops accepting writes');
    for (const c of [...covered, ...this.unsynced]) for (const p of c.batch) p.reject(this.failure);
    this.unsynced = [];
    const queued = this.queue;
    this.queue = [];
    for (const p of queued) p.reject(this.failure);
    this.wakeDurable();
  }

  /** Folds the log into the database now and then (auto-checkpoint is off), synced as SQLite does. */
  private checkpointNow(): void {
    if (++this.commitsSinceCheckpoint < 2000 || this.syncing || this.unsynced.length > 0) return;
    this.commitsSinceCheckpoint = 0;
    try {
      this.db.pragma('synchronous = FULL');
      this.db.pragma('wal_checkpoint(RESTART)');
    } catch (err) {
      log.warn({ err: messageOf(err) }, 'sqlite checkpoint failed');
    } finally {
      this.db.pragma('synchronous = OFF');
    }
  }

  /** Applies one write inside the open transaction; a refused write returns its StoreError. */
  private apply(op: Op, events: StoreEvent[]): OpResult | StoreError {
    const current = this.stmts.get.get(op.key) as Row | undefined;
    if (op.kind === 'create') {
      if (current) return new StoreError('KeyExists', `key ${op.key} already exists`, toKeyValue(current));
      const revision = ++this.rev;
      this.stmts.upsert.run({ key: op.key, value: op.value, create_rev: revision, mod_rev: revision });
      return this.record(events, { type: 'ADDED', key: op.key, value: op.value, revision });
    }
    if (!current) return new StoreError('NotFound', `key ${op.key} not found`);
    if (op.expected !== undefined && current.mod_rev !== op.expected) {
      return new StoreError(
        'Conflict',
        `key ${op.key} is at revision ${current.mod_rev}, not ${op.expected}`,
        toKeyValue(current),
      );
    }
    const revision = ++this.rev;
    if (op.kind === 'update') {
      this.stmts.upsert.run({ key: op.key, value: op.value, create_rev: current.create_rev, mod_rev: revision });
      return this.record(events, {
        type: 'MODIFIED',
        key: op.key,
        value: op.value,
        prevValue: current.value,
        revision,
      });
    }
    this.stmts.remove.run(op.key);
    const result = this.record(events, {
      type: 'DELETED',
      key: op.key,
      value: current.value,
      prevValue: current.value,
      revision,
    });
    return { ...result, prev: toKeyValue(current) };
  }

  private record(events: StoreEvent[], event: StoreEvent): OpResult {
    this.stmts.addEvent.run({
      rev: event.revision,
      type: TYPE_CODES.indexOf(event.type),
      key: event.key,
      value: event.value,
      prev_value: event.type === 'MODIFIED' ? event.prevValue! : null,
    });
    events.push(event);
    return { revision: event.revision };
  }

  private trimHistory(): void {
    if (this.closed) return;
    const target = this.rev - this.historySize;
    if (target > this.compacted) {
      try {
        this.compactTo(target);
      } catch (err) {
        log.warn({ err: messageOf(err) }, 'sqlite history compaction failed');
      }
    }
  }

  private compactTo(revision: number): void {
    if (revision <= this.compacted) return;
    this.db.transaction(() => {
      this.stmts.dropEvents.run(revision);
      this.stmts.setMeta.run({ name: 'compacted', value: revision });
    })();
    this.compacted = revision;
  }

  private checkOpen(): void {
    if (this.closed) throw new StoreError('Unavailable', 'store is closed');
    if (this.failure) throw this.failure;
  }
}

function prepare(db: Database.Database) {
  return {
    get: db.prepare('SELECT key, value, create_rev, mod_rev FROM kv WHERE key = ?'),
    list: listStatements(db),
    upsert: db.prepare(
      'INSERT INTO kv (key, value, create_rev, mod_rev) VALUES (:key, :value, :create_rev, ' +
        ':mod_rev) ON CONFLICT (key) DO UPDATE SET value = excluded.value, mod_rev = excluded.mod_rev',
    ),
    remove: db.prepare('DELETE FROM kv WHERE key = ?'),
    addEvent: db.prepare(
      'INSERT INTO events (rev, type, key, value, prev_value) VALUES (:rev, :type, :key, :value, :prev_value)',
    ),
    history: db.prepare('SELECT rev, type, key, value, prev_value FROM events WHERE rev > ? AND rev <= ? ORDER BY rev'),
    dropEvents: db.prepare('DELETE FROM events WHERE rev <= ?'),
    getMeta: db.prepare('SELECT value FROM meta WHERE name = ?').pluck(),
    setMeta: db.prepare('UPDATE meta SET value = :value WHERE name = :name'),
  };
}

/** Range statements, one per bound shape, so SQLite always walks the primary key index. */
function listStatements(db: Database.Database) {
  const select = (lower: string, upper: string) =>
    db.prepare(
      `SELECT key, value, create_rev, mod_rev FROM kv WHERE key ${lower} :start ${upper} ORDER BY key LIMIT :limit`,
    );
  const count = (upper: string) => db.prepare(`SELECT count(*) FROM kv WHERE key > :start ${upper}`).pluck();
  const bounded = 'AND key < :end';
  return {
    from: { open: select('>=', ''), bounded: select('>=', bounded) },
    after: { open: select('>', ''), bounded: select('>', bounded) },
    count: { open: count(''), bounded: count(bounded) },
  };
}

/** The smallest string greater than every string starting with `prefix` (undefined: no bound). */
export function prefixEnd(prefix: string): string | undefined {
  for (let i = prefix.length - 1; i >= 0; i--) {
    const code = prefix.charCodeAt(i);
    if (code < 0xd7ff) return prefix.slice(0, i) + String.fromCharCode(code + 1);
  }
  return undefined;
}

interface Watcher {
  prefix: string;
  options: WatchOptions;
}

/** In-process watchers fed synchronously after each commit; a throwing handler harms no other. */
class WatcherSet {
  private readonly set = new Set<Watcher>();

  add(prefix: string, options: WatchOptions): () => void {
    const watcher = { prefix, options };
    this.set.add(watcher);
    return () => {
      this.set.delete(watcher);
    };
  }

  emit(event: StoreEvent): void {
    for (const w of this.set) {
      if (!event.key.startsWith(w.prefix)) continue;
      try {
        w.options.onEvent(event);
      } catch (err) {
        // Not the message: a handler's error (a JSON parse error, say) may quote the value, which may be Secret data.
        log.error(
          { error: err instanceof Error ? err.name : typeof err, key: event.key, revision: event.revision },
          'watch handler threw',
        );
      }
    }
  }

  clear(): void {
    this.set.clear();
  }
}

function toKeyValue(row: Row): KeyValue {
  return { key: row.key, value: row.value, modRevision: row.mod_rev, createRevision: row.create_rev };
}

function toEvent(row: EventRow): StoreEvent {
  const type = TYPE_CODES[row.type]!;
  const event: StoreEvent = { type, key: row.key, value: row.value, revision: row.rev };
  if (type === 'MODIFIED') event.prevValue = row.prev_value ?? undefined;
  if (type === 'DELETED') event.prevValue = row.value;
  return event;
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
