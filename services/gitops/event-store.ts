/**
 * The durable side of the pipeline: accepted push events (the queue), delivery ids (dedupe) and
 * run history, in one SQLite file (WAL, synchronous=FULL: a 202 means the event is on disk).
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { VersionWatch } from '../core/long-poll.js';
import type { ClusterResult, RolloutStatus, RunKind, RunRecord, RunStatus } from './api.js';

export interface PushEventInput {
  delivery: string;
  repo: string;
  ref: string;
  after: string;
  before: string;
  trigger: string;
  pusher?: string;
  message?: string;
}

export type AcceptOutcome =
  | { outcome: 'accepted'; eventId: number; coalesced: number }
  | { outcome: 'duplicate'; eventId: number; by: 'delivery' | 'commit' };

export type { ClusterResult, RunRecord, RunStatus } from './api.js';

export interface ClaimedEvent {
  eventId: number;
  runId: number;
  repo: string;
  ref: string;
  after: string;
  trigger: string;
}

/** A rollback run claimed from the rollback queue. */
export interface ClaimedRollback {
  rollbackId: number;
  runId: number;
  repo: string;
  ref: string;
  /** The commit the clusters go back to. */
  commit: string;
  clusters: string[];
  parentRun: number;
  trigger: string;
}

/** Clusters of a failed run to put back on `commit` (their last good commit), queued durably. */
export interface RollbackJob {
  commit: string;
  clusters: string[];
}

/** A notification to deliver (the outbox): written in the same transaction as the state it reports. */
export interface OutboxItem {
  /** `webhook`, `slack`, `github`. */
  sink: string;
  /** X-Kitfed-Event / kind of message. */
  event: string;
  /** Idempotency key the receiver may dedupe on. */
  delivery: string;
  /** Rows with the same key: only the newest is delivered (a commit status superseded before delivery). */
  key?: string;
  payload: unknown;
}

export interface OutboxRow {
  id: number;
  sink: string;
  event: string;
  delivery: string;
  key: string | null;
  payload: string;
  attempts: number;
}

export interface RunOutcome {
  status: Exclude<RunStatus, 'running' | 'interrupted'>;
  durations: Record<string, number>;
  clusters: ClusterResult[];
  error?: string;
  /** Whether this commit becomes the repo's newest completed commit (the never-backwards mark). */
  advanceHead: boolean;
  rollout?: RolloutStatus | null;
  /**
   * Clusters on which this commit becomes the last good commit (what a rollback goes back to).
   * Default: every cluster the run applied.
   */
  goodClusters?: string[];
  /** Rollbacks to queue with the outcome (one transaction). */
  rollbacks?: RollbackJob[];
  /** Notifications of the finished run (given the record as stored), queued in the same transaction. */
  notify?: (run: RunRecord) => OutboxItem[];
}

interface RunRow {
  id: number;
  event_id: number;
  kind: RunKind | null;
  repo: string;
  ref: string;
  commit_sha: string;
  trigger: string;
  status: RunStatus;
  started_at: string;
  finished_at: string | null;
  durations: string;
  clusters: string;
  error: string | null;
  parent_run: number | null;
  rollout: string | null;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS events (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  repo TEXT NOT NULL, ref TEXT NOT NULL, after TEXT NOT NULL, before TEXT NOT NULL,
  trigger TEXT NOT NULL, info TEXT NOT NULL, received_at TEXT NOT NULL,
  status TEXT NOT NULL, superseded_by INTEGER,
  UNIQUE (repo, ref, after)
);
CREATE INDEX IF NOT EXISTS events_pending ON events (repo, status);
CREATE TABLE IF NOT EXISTS deliveries (delivery TEXT PRIMARY KEY, event_id INTEGER NOT NULL, received_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  event_id INTEGER NOT NULL, repo TEXT NOT NULL, ref TEXT NOT NULL, commit_sha TEXT NOT NULL, trigger TEXT NOT NULL,
  status TEXT NOT NULL, started_at TEXT NOT NULL, finished_at TEXT,
  durations TEXT NOT NULL DEFAULT '{}', clusters TEXT NOT NULL DEFAULT '[]', error TEXT,
  notified_at TEXT
);
CREATE TABLE IF NOT EXISTS heads (repo TEXT PRIMARY KEY, commit_sha TEXT NOT NULL, run_id INTEGER NOT NULL, updated_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS cluster_heads (
  repo TEXT NOT NULL, cluster TEXT NOT NULL, commit_sha TEXT NOT NULL, run_id INTEGER NOT NULL, updated_at TEXT NOT NULL,
  PRIMARY KEY (repo, cluster)
);
CREATE TABLE IF NOT EXISTS rollbacks (
  id INTEGER PRIMARY KEY AUTOINCREMENT, repo TEXT NOT NULL, ref TEXT NOT NULL, parent_run INTEGER NOT NULL,
  commit_sha TEXT NOT NULL, clusters TEXT NOT NULL, status TEXT NOT NULL, run_id INTEGER, created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS outbox (
  id INTEGER PRIMARY KEY AUTOINCREMENT, sink TEXT NOT NULL, event TEXT NOT NULL, delivery TEXT NOT NULL, key TEXT,
  payload TEXT NOT NULL, created_at TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, delivered_at TEXT, result TEXT
);
CREATE INDEX IF NOT EXISTS outbox_pending ON outbox (sink, delivered_at, id);
`;

/** Columns added to `runs` after its first release (ALTER TABLE on older databases). */
const RUN_COLUMNS: Array<[name: string, decl: string]> = [
  ['kind', "TEXT NOT NULL DEFAULT 'deploy'"],
  ['parent_run', 'INTEGER'],
  ['rollout', 'TEXT'],
];

/**
 * Two connections to one WAL database: `db` (synchronous=FULL) for accepting events, so a 202 means
 * the event survives power loss; `runDb` (synchronous=NORMAL) for run bookkeeping, which survives
 * any process crash and, on power loss, at worst makes an event run again (apply is idempotent).
 */
export class EventStore {
  private readonly db: Database.Database;
  private readonly runDb: Database.Database;
  private batch: Array<{ e: PushEventInput; resolve: (o: AcceptOutcome) => void; reject: (err: unknown) => void }> = [];
  /** Tells this store's versions from those of an earlier process on the same database. */
  private readonly epoch = randomBytes(6).toString('hex');
  private readonly versionOf: { db: Database.Statement; runDb: Database.Statement; other: Database.Statement };
  /**
   * Requests held until the runs change (`GET /runs?wait=…`, services/core/long-poll.ts): every
   * write to events or runs (`writing()`) pokes it. Outbox bookkeeping does not (it moves `version()` but
   * no run); nor do writes by another process, which a held request sees at the end of its wait.
   */
  readonly changes = new VersionWatch(() => this.version());

  constructor(dataDir: string) {
    mkdirSync(dataDir, { recursive: true });
    const file = join(dataDir, 'webhooks.db');
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    this.db.pragma('busy_timeout = 5000');
    this.db.exec(SCHEMA);
    const have = new Set(
      (this.db.prepare('PRAGMA table_info(runs)').all() as Array<{ name: string }>).map((c) => c.name),
    );
    for (const [name, decl] of RUN_COLUMNS)
      if (!have.has(name)) this.db.exec(`ALTER TABLE runs ADD COLUMN ${name} ${decl}`);
    this.runDb = new Database(file);
    this.runDb.pragma('synchronous = NORMAL');
    this.runDb.pragma('busy_timeout = 5000');
    this.versionOf = {
      db: this.db.prepare('SELECT total_changes() AS n').pluck(),
      runDb: this.runDb.prepare('SELECT total_changes() AS n').pluck(),
      other: this.db.prepare('PRAGMA data_version').pluck(),
    };
  }

  /**
   * A token that changes whenever anything in the database may have changed: every row either
   * connection wrote (SQLite's `total_changes()`) and every commit by another connection or process
   * (`PRAGMA data_version`), prefixed by this process' epoch. Equal tokens mean the runs are what
   * they were, so `GET /runs` answers a matching `If-None-Match` with 304 without reading a row.
   * Costs three tiny statements, no table access.
   */
  version(): string {
    const n = (s: Database.Statement) => String(s.get());
    return `${this.epoch}.${n(this.versionOf.other)}.${n(this.versionOf.db)}.${n(this.versionOf.runDb)}`;
  }

  /**
   * A transaction that may change what `GET /runs` shows: every write to events or runs goes through
   * here, so held long polls look at the version again once it has committed (the poke is deferred
   * to the next turn of the event loop, after this synchronous transaction).
   */
  private writing<T>(db: Database.Database, fn: () => T): T {
    this.changes.changed();
    return db.transaction(fn)();
  }

  close(): void {
    this.changes.close();
    this.runDb.close();
    this.db.close();
  }

  /**
   * Group commit: events accepted in the same turn of the event loop (a burst arriving while the
   * previous fsync blocked) are written in one transaction, one fsync for all. Resolves once durable.
   */
  acceptDurably(e: PushEventInput): Promise<AcceptOutcome> {
    return new Promise((resolve, reject) => {
      this.batch.push({ e, resolve, reject });
      if (this.batch.length === 1) setImmediate(() => this.flush());
    });
  }

  private flush(): void {
    const batch = this.batch;
    this.batch = [];
    let outcomes: AcceptOutcome[];
    try {
      outcomes = this.db.transaction(() => batch.map((b) => this.accept(b.e)))();
    } catch (err) {
      for (const b of batch) b.reject(err);
      return;
    }
    batch.forEach((b, i) => b.resolve(outcomes[i] as AcceptOutcome));
  }

  /**
   * Persists a push event unless its delivery id or (repo, ref, after) is known; older pending events of the same
   * repo+ref are superseded.
   */
  accept(e: PushEventInput): AcceptOutcome {
    const now = new Date().toISOString();
    return this.writing(this.db, (): AcceptOutcome => {
      const byDelivery = this.db.prepare('SELECT event_id FROM deliveries WHERE delivery = ?').get(e.delivery) as
        { event_id: number } | undefined;
      if (byDelivery) return { outcome: 'duplicate', eventId: byDelivery.event_id, by: 'delivery' };
      const byCommit = this.db
        .prepare('SELECT id FROM events WHERE repo = ? AND ref = ? AND after = ?')
        .get(e.repo, e.ref, e.after) as { id: number } | undefined;
      if (byCommit) {
        this.db
          .prepare('INSERT INTO deliveries (delivery, event_id, received_at) VALUES (?, ?, ?)')
          .run(e.delivery, byCommit.id, now);
        return { outcome: 'duplicate', eventId: byCommit.id, by: 'commit' };
      }
      const info = JSON.stringify({ pusher: e.pusher, message: e.message, delivery: e.delivery });
      const id = Number(
        this.db
          .prepare(
            "INSERT INTO events (repo, ref, after, before, trigger, info, received_at, status) VALUES (?, ?, ?, ?, ?, ?, ?, 'pending')",
          )
          .run(e.repo, e.ref, e.after, e.before, e.trigger, info, now).lastInsertRowid,
      );
      this.db
        .prepare('INSERT INTO deliveries (delivery, event_id, received_at) VALUES (?, ?, ?)')
        .run(e.delivery, id, now);
      const coalesced = this.db
        .prepare(
          "UPDATE events SET status = 'superseded', superseded_by = ? WHERE repo = ? AND ref = ? AND status = 'pending' AND id <> ?",
        )
        .run(id, e.repo, e.ref, id).changes;
      return { outcome: 'accepted', eventId: id, coalesced };
    });
  }

  /** Marks runs cut short by a crash as interrupted and puts their events back in the queue. */
  recover(): number {
    return this.writing(this.runDb, () => {
      const now = new Date().toISOString();
      this.runDb
        .prepare(
          "UPDATE runs SET status = 'interrupted', finished_at = ?, error = 'interrupted by a restart; the event is run again' WHERE status = 'running'",
        )
        .run(now);
      const n = this.runDb.prepare("UPDATE events SET status = 'pending' WHERE status = 'running'").run().changes;
      // A rollback cut short is run again (it re-deploys the same commit: idempotent).
      this.runDb.prepare("UPDATE rollbacks SET status = 'pending', run_id = NULL WHERE status = 'running'").run();
      // If a newer event arrived while one was running, only the newest of each repo+ref stays pending.
      this.runDb
        .prepare(
          `UPDATE events SET status = 'superseded', superseded_by = (SELECT MAX(id) FROM events n
             WHERE n.repo = events.repo AND n.ref = events.ref AND n.status = 'pending')
           WHERE status = 'pending' AND id < (SELECT MAX(id) FROM events n WHERE n.repo = events.repo AND n.ref = events.ref AND n.status = 'pending')`,
        )
        .run();
      return n;
    });
  }

  /** Repos with queued work (push events or rollbacks). */
  pendingRepos(): string[] {
    return (
      this.db
        .prepare(
          "SELECT repo FROM events WHERE status = 'pending' UNION SELECT repo FROM rollbacks WHERE status = 'pending'",
        )
        .all() as Array<{ repo: string }>
    ).map((r) => r.repo);
  }

  /** The commit of a push queued for `repo`+`ref` after `eventId` (a rollout in flight is superseded by it). */
  newerPending(repo: string, ref: string, eventId: number): string | undefined {
    return (
      this.runDb
        .prepare(
          "SELECT after FROM events WHERE repo = ? AND ref = ? AND status = 'pending' AND id > ? ORDER BY id DESC LIMIT 1",
        )
        .get(repo, ref, eventId) as { after: string } | undefined
    )?.after;
  }

  /** Takes the oldest queued rollback of a repo and opens its run. */
  claimRollback(repo: string): ClaimedRollback | undefined {
    return this.writing(this.runDb, (): ClaimedRollback | undefined => {
      const job = this.runDb
        .prepare("SELECT * FROM rollbacks WHERE repo = ? AND status = 'pending' ORDER BY id LIMIT 1")
        .get(repo) as
        { id: number; repo: string; ref: string; parent_run: number; commit_sha: string; clusters: string } | undefined;
      if (!job) return undefined;
      const trigger = `rollback of run ${job.parent_run}`;
      const runId = Number(
        this.runDb
          .prepare(
            'INSERT INTO runs (event_id, kind, parent_run, repo, ref, commit_sha, trigger, status, ' +
              "started_at) VALUES (0, 'rollback', ?, ?, ?, ?, ?, 'running', ?)",
          )
          .run(job.parent_run, job.repo, job.ref, job.commit_sha, trigger, new Date().toISOString()).lastInsertRowid,
      );
      this.runDb.prepare("UPDATE rollbacks SET status = 'running', run_id = ? WHERE id = ?").run(runId, job.id);
      return {
        rollbackId: job.id,
        runId,
        repo: job.repo,
        ref: job.ref,
        commit: job.commit_sha,
        clusters: JSON.parse(job.clusters) as string[],
        parentRun: job.parent_run,
        trigger,
      };
    });
  }

  /** Records a rollback run's outcome; the parent run's clusters and rollout name it. */
  finishRollback(claim: ClaimedRollback, outcome: RunOutcome): void {
    const now = new Date().toISOString();
    this.writing(this.runDb, () => {
      this.writeFinished(claim.runId, outcome, now);
      this.runDb.prepare("UPDATE rollbacks SET status = 'done' WHERE id = ?").run(claim.rollbackId);
      const parent = this.getRunOn(this.runDb, claim.parentRun);
      if (parent) {
        const mine = new Set(claim.clusters);
        const clusters = parent.clusters.map((c) => (mine.has(c.cluster) ? { ...c, rolledBackBy: claim.runId } : c));
        const rollout = parent.rollout
          ? { ...parent.rollout, rollbackRuns: [...new Set([...parent.rollout.rollbackRuns, claim.runId])] }
          : null;
        this.runDb
          .prepare('UPDATE runs SET clusters = ?, rollout = ? WHERE id = ?')
          .run(JSON.stringify(clusters), rollout ? JSON.stringify(rollout) : null, parent.id);
      }
      this.setClusterHeads(claim.repo, this.goodOf(outcome), claim.commit, claim.runId, now);
      this.notifyFinished(claim.runId, outcome);
    });
  }

  /** The last commit that succeeded on each cluster of `repo` (what a rollback goes back to). */
  clusterHeads(repo: string): Map<string, { commit: string; runId: number }> {
    const rows = this.runDb
      .prepare('SELECT cluster, commit_sha, run_id FROM cluster_heads WHERE repo = ?')
      .all(repo) as Array<{ cluster: string; commit_sha: string; run_id: number }>;
    return new Map(rows.map((r) => [r.cluster, { commit: r.commit_sha, runId: r.run_id }]));
  }

  private setClusterHeads(repo: string, clusters: string[], commit: string, runId: number, now: string): void {
    const put = this.runDb.prepare(
      'INSERT INTO cluster_heads (repo, cluster, commit_sha, run_id, updated_at) VALUES (?, ?, ?, ' +
        '?, ?) ON CONFLICT (repo, cluster) DO UPDATE SET commit_sha = excluded.commit_sha, run_id = ' +
        'excluded.run_id, updated_at = excluded.updated_at',
    );
    for (const c of clusters) put.run(repo, c, commit, runId, now);
  }

  private goodOf(outcome: RunOutcome): string[] {
    return outcome.goodClusters ?? outcome.clusters.filter((c) => c.deploy === 'applied').map((c) => c.cluster);
  }

  /**
   * A rollout's progress (stage states, per-cluster results) and what it reports, in one transaction;
   * `good`: clusters whose stage just succeeded (their last good commit is now this run's).
   */
  saveRollout(
    runId: number,
    rollout: RolloutStatus,
    clusters: ClusterResult[],
    opts: { outbox?: OutboxItem[]; good?: { repo: string; commit: string; clusters: string[] } } = {},
  ): void {
    this.writing(this.runDb, () => {
      this.runDb
        .prepare('UPDATE runs SET rollout = ?, clusters = ? WHERE id = ?')
        .run(JSON.stringify(rollout), JSON.stringify(clusters), runId);
      if (opts.good)
        this.setClusterHeads(opts.good.repo, opts.good.clusters, opts.good.commit, runId, new Date().toISOString());
      this.addOutbox(opts.outbox ?? []);
    });
  }

  /** The rollout of the newest run of `eventId` cut short by a restart, to resume from. */
  interruptedRollout(
    eventId: number,
  ): { runId: number; rollout: RolloutStatus; clusters: ClusterResult[] } | undefined {
    const row = this.runDb
      .prepare(
        "SELECT id, rollout, clusters FROM runs WHERE event_id = ? AND status = 'interrupted' AND rollout IS NOT NULL ORDER BY id DESC LIMIT 1",
      )
      .get(eventId) as { id: number; rollout: string; clusters: string } | undefined;
    if (!row || eventId === 0) return undefined;
    return {
      runId: row.id,
      rollout: JSON.parse(row.rollout) as RolloutStatus,
      clusters: JSON.parse(row.clusters) as ClusterResult[],
    };
  }

  /** Queues notifications (inside the caller's transaction when there is one). */
  addOutbox(items: OutboxItem[]): void {
    if (items.length === 0) return;
    const now = new Date().toISOString();
    const put = this.runDb.prepare(
      'INSERT INTO outbox (sink, event, delivery, key, payload, created_at) VALUES (?, ?, ?, ?, ?, ?)',
    );
    this.runDb.transaction(() => {
      for (const i of items) put.run(i.sink, i.event, i.delivery, i.key ?? null, JSON.stringify(i.payload), now);
    })();
  }

  /** Undelivered notifications of a sink, oldest first. */
  pendingOutbox(sink: string, limit = 100): OutboxRow[] {
    return this.runDb
      .prepare(
        'SELECT id, sink, event, delivery, key, payload, attempts FROM outbox WHERE sink = ? AND delivered_at IS NULL ORDER BY id LIMIT ?',
      )
      .all(sink, limit) as OutboxRow[];
  }

  /** True when a newer notification with the same key exists (this one is stale). */
  outboxSuperseded(row: OutboxRow): boolean {
    if (!row.key) return false;
    return (
      this.runDb
        .prepare('SELECT 1 FROM outbox WHERE sink = ? AND key = ? AND id > ? LIMIT 1')
        .get(row.sink, row.key, row.id) !== undefined
    );
  }

  /** Marks a notification done (`result`: delivered, refused, superseded) or counts a failed attempt. */
  markOutbox(id: number, result: 'delivered' | 'refused' | 'superseded' | 'attempt-failed'): void {
    if (result === 'attempt-failed')
      this.runDb.prepare('UPDATE outbox SET attempts = attempts + 1 WHERE id = ?').run(id);
    else
      this.runDb
        .prepare('UPDATE outbox SET delivered_at = ?, result = ?, attempts = attempts + 1 WHERE id = ?')
        .run(new Date().toISOString(), result, id);
  }

  /** Delivered/refused/superseded counts per sink (diagnostics, tests). */
  outboxCounts(): Array<{ sink: string; result: string | null; n: number }> {
    return this.runDb
      .prepare('SELECT sink, result, COUNT(*) AS n FROM outbox GROUP BY sink, result ORDER BY sink, result')
      .all() as Array<{ sink: string; result: string | null; n: number }>;
  }

  pendingCount(): number {
    return (
      this.db.prepare("SELECT COUNT(*) AS n FROM events WHERE status IN ('pending', 'running')").get() as { n: number }
    ).n;
  }

  /** Takes the oldest pending event of a repo and opens a run for it. */
  claimNext(repo: string): ClaimedEvent | undefined {
    return this.writing(this.runDb, (): ClaimedEvent | undefined => {
      const ev = this.runDb
        .prepare(
          "SELECT id, repo, ref, after, trigger FROM events WHERE repo = ? AND status = 'pending' ORDER BY id LIMIT 1",
        )
        .get(repo) as { id: number; repo: string; ref: string; after: string; trigger: string } | undefined;
      if (!ev) return undefined;
      this.runDb.prepare("UPDATE events SET status = 'running' WHERE id = ?").run(ev.id);
      const runId = Number(
        this.runDb
          .prepare(
            "INSERT INTO runs (event_id, repo, ref, commit_sha, trigger, status, started_at) VALUES (?, ?, ?, ?, ?, 'running', ?)",
          )
          .run(ev.id, ev.repo, ev.ref, ev.after, ev.trigger, new Date().toISOString()).lastInsertRowid,
      );
      return { eventId: ev.id, runId, repo: ev.repo, ref: ev.ref, after: ev.after, trigger: ev.trigger };
    });
  }

  /** Progress written while a run goes (per-cluster results so far), and what it reports. */
  updateRun(
    runId: number,
    clusters: ClusterResult[],
    durations: Record<string, number>,
    outbox: OutboxItem[] = [],
  ): void {
    this.writing(this.runDb, () => {
      this.runDb
        .prepare('UPDATE runs SET clusters = ?, durations = ? WHERE id = ?')
        .run(JSON.stringify(clusters), JSON.stringify(durations), runId);
      this.addOutbox(outbox);
    });
  }

  private writeFinished(runId: number, outcome: RunOutcome, now: string): void {
    this.runDb
      .prepare(
        'UPDATE runs SET status = ?, finished_at = ?, durations = ?, clusters = ?, error = ?, notified_at = ?' +
          (outcome.rollout !== undefined ? ', rollout = ?' : '') +
          ' WHERE id = ?',
      )
      .run(
        outcome.status,
        now,
        JSON.stringify(outcome.durations),
        JSON.stringify(outcome.clusters),
        outcome.error ?? null,
        now,
        ...(outcome.rollout !== undefined ? [outcome.rollout ? JSON.stringify(outcome.rollout) : null] : []),
        runId,
      );
  }

  private notifyFinished(runId: number, outcome: RunOutcome): void {
    const run = outcome.notify ? this.getRunOn(this.runDb, runId) : undefined;
    if (run) this.addOutbox(outcome.notify!(run));
  }

  /** Records a run's outcome, the marks it moves, its rollbacks and notifications: one transaction. */
  finishRun(claim: ClaimedEvent, outcome: RunOutcome): void {
    const now = new Date().toISOString();
    this.writing(this.runDb, () => {
      this.writeFinished(claim.runId, outcome, now);
      this.runDb.prepare("UPDATE events SET status = 'done' WHERE id = ?").run(claim.eventId);
      this.setClusterHeads(claim.repo, this.goodOf(outcome), claim.after, claim.runId, now);
      const addRollback = this.runDb.prepare(
        "INSERT INTO rollbacks (repo, ref, parent_run, commit_sha, clusters, status, created_at) VALUES (?, ?, ?, ?, ?, 'pending', ?)",
      );
      for (const r of outcome.rollbacks ?? [])
        addRollback.run(claim.repo, claim.ref, claim.runId, r.commit, JSON.stringify(r.clusters), now);
      this.notifyFinished(claim.runId, outcome);
      if (outcome.advanceHead) {
        this.runDb
          .prepare(
            'INSERT INTO heads (repo, commit_sha, run_id, updated_at) VALUES (?, ?, ?, ?) ON CONFLICT ' +
              '(repo) DO UPDATE SET commit_sha = excluded.commit_sha, run_id = excluded.run_id, updated_at = excluded.updated_at',
          )
          .run(claim.repo, claim.after, claim.runId, now);
      }
    });
  }

  /** The newest commit a run completed for this repo (deployed, or rendered when no deployer is wired). */
  head(repo: string): string | undefined {
    return (
      this.db.prepare('SELECT commit_sha FROM heads WHERE repo = ?').get(repo) as { commit_sha: string } | undefined
    )?.commit_sha;
  }

  /**
   * Finished runs never handed to the outbox (`notified_at` unset: finished by a version before
   * the outbox), queued now with `items(run)`, once.
   */
  queueUnnotified(items: (run: RunRecord) => OutboxItem[]): number {
    return this.writing(this.runDb, () => {
      const rows = this.runDb
        .prepare("SELECT * FROM runs WHERE notified_at IS NULL AND status NOT IN ('running') ORDER BY id")
        .all() as RunRow[];
      const now = new Date().toISOString();
      for (const r of rows) {
        this.addOutbox(items(toRecord(r)));
        this.runDb.prepare('UPDATE runs SET notified_at = ? WHERE id = ?').run(now, r.id);
      }
      return rows.length;
    });
  }

  /** Per-cluster results of the run that set the repo's head. */
  headClusters(repo: string): ClusterResult[] {
    const row = this.db
      .prepare('SELECT r.clusters FROM heads h JOIN runs r ON r.id = h.run_id WHERE h.repo = ?')
      .get(repo) as { clusters: string } | undefined;
    return row ? (JSON.parse(row.clusters) as ClusterResult[]) : [];
  }

  listRuns(limit = 100): RunRecord[] {
    return (this.db.prepare('SELECT * FROM runs ORDER BY id DESC LIMIT ?').all(limit) as RunRow[]).map(toRecord);
  }

  getRun(id: number): RunRecord | undefined {
    return this.getRunOn(this.db, id);
  }

  private getRunOn(db: Database.Database, id: number): RunRecord | undefined {
    const row = db.prepare('SELECT * FROM runs WHERE id = ?').get(id) as RunRow | undefined;
    return row ? toRecord(row) : undefined;
  }

  /** Event queue state, for tests and diagnostics. */
  events(): Array<{
    id: number;
    repo: string;
    ref: string;
    after: string;
    status: string;
    supersededBy: number | null;
  }> {
    return (
      this.db.prepare('SELECT id, repo, ref, after, status, superseded_by FROM events ORDER BY id').all() as Array<{
        id: number;
        repo: string;
        ref: string;
        after: string;
        status: string;
        superseded_by: number | null;
      }>
    ).map((r) => ({
      id: r.id,
      repo: r.repo,
      ref: r.ref,
      after: r.after,
      status: r.status,
      supersededBy: r.superseded_by,
    }));
  }
}

function toRecord(r: RunRow): RunRecord {
  return {
    id: r.id,
    eventId: r.event_id,
    kind: r.kind ?? 'deploy',
    repo: r.repo,
    ref: r.ref,
    commit: r.commit_sha,
    trigger: r.trigger,
    status: r.status,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
    durations: JSON.parse(r.durations) as Record<string, number>,
    clusters: JSON.parse(r.clusters) as ClusterResult[],
    error: r.error,
    parentRun: r.parent_run,
    rollout: r.rollout ? (JSON.parse(r.rollout) as RolloutStatus) : null,
  };
}
