/**
 * The durable side of the pipeline: accepted push events (the queue), delivery ids (dedupe) and
 * run history, in one SQLite file (WAL, synchronous=FULL: a 202 means the event is on disk).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';

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

export type RunStatus = 'running' | 'succeeded' | 'rendered' | 'failed' | 'skipped' | 'interrupted';

export interface ClusterResult {
  cluster: string;
  render: 'ok' | 'failed';
  /** `not-configured` when no deployer is wired: nothing was applied. */
  deploy: 'applied' | 'failed' | 'skipped' | 'not-configured' | 'pending';
  files?: number;
  digest?: string;
  /** False when the cluster's rendered files are identical to the previous completed run's. */
  changed?: boolean;
  durationMs?: number;
  error?: string;
}

export interface RunRecord {
  id: number;
  eventId: number;
  repo: string;
  ref: string;
  commit: string;
  trigger: string;
  status: RunStatus;
  startedAt: string;
  finishedAt: string | null;
  durations: Record<string, number>;
  clusters: ClusterResult[];
  error: string | null;
}

export interface ClaimedEvent {
  eventId: number;
  runId: number;
  repo: string;
  ref: string;
  after: string;
  trigger: string;
}

export interface RunOutcome {
  status: Exclude<RunStatus, 'running' | 'interrupted'>;
  durations: Record<string, number>;
  clusters: ClusterResult[];
  error?: string;
  /** Whether this commit becomes the repo's newest completed commit (the never-backwards mark). */
  advanceHead: boolean;
}

interface RunRow {
  id: number;
  event_id: number;
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
`;

/**
 * Two connections to one WAL database: `db` (synchronous=FULL) for accepting events, so a 202 means
 * the event survives power loss; `runDb` (synchronous=NORMAL) for run bookkeeping, which survives
 * any process crash and, on power loss, at worst makes an event run again (apply is idempotent).
 */
export class EventStore {
  private readonly db: Database.Database;
  private readonly runDb: Database.Database;
  private batch: Array<{ e: PushEventInput; resolve: (o: AcceptOutcome) => void; reject: (err: unknown) => void }> = [];

  constructor(dataDir: string) {
    mkdirSync(dataDir, { recursive: true });
    const file = join(dataDir, 'webhooks.db');
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    this.db.pragma('busy_timeout = 5000');
    this.db.exec(SCHEMA);
    this.runDb = new Database(file);
    this.runDb.pragma('synchronous = NORMAL');
    this.runDb.pragma('busy_timeout = 5000');
  }

  close(): void {
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

  /** Persists a push event unless its delivery id or (repo, ref, after) is known; older pending events of the same repo+ref are superseded. */
  accept(e: PushEventInput): AcceptOutcome {
    const now = new Date().toISOString();
    return this.db.transaction((): AcceptOutcome => {
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
    })();
  }

  /** Marks runs cut short by a crash as interrupted and puts their events back in the queue. */
  recover(): number {
    return this.runDb.transaction(() => {
      const now = new Date().toISOString();
      this.runDb
        .prepare(
          "UPDATE runs SET status = 'interrupted', finished_at = ?, error = 'interrupted by a restart; the event is run again' WHERE status = 'running'",
        )
        .run(now);
      const n = this.runDb.prepare("UPDATE events SET status = 'pending' WHERE status = 'running'").run().changes;
      // If a newer event arrived while one was running, only the newest of each repo+ref stays pending.
      this.runDb
        .prepare(
          `UPDATE events SET status = 'superseded', superseded_by = (SELECT MAX(id) FROM events n WHERE n.repo = events.repo AND n.ref = events.ref AND n.status = 'pending')
           WHERE status = 'pending' AND id < (SELECT MAX(id) FROM events n WHERE n.repo = events.repo AND n.ref = events.ref AND n.status = 'pending')`,
        )
        .run();
      return n;
    })();
  }

  /** Repos with queued work. */
  pendingRepos(): string[] {
    return (
      this.db.prepare("SELECT DISTINCT repo FROM events WHERE status = 'pending'").all() as Array<{ repo: string }>
    ).map((r) => r.repo);
  }

  pendingCount(): number {
    return (
      this.db.prepare("SELECT COUNT(*) AS n FROM events WHERE status IN ('pending', 'running')").get() as { n: number }
    ).n;
  }

  /** Takes the oldest pending event of a repo and opens a run for it. */
  claimNext(repo: string): ClaimedEvent | undefined {
    return this.runDb.transaction((): ClaimedEvent | undefined => {
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
    })();
  }

  /** Progress written while a run goes (per-cluster results so far). */
  updateRun(runId: number, clusters: ClusterResult[], durations: Record<string, number>): void {
    this.runDb
      .prepare('UPDATE runs SET clusters = ?, durations = ? WHERE id = ?')
      .run(JSON.stringify(clusters), JSON.stringify(durations), runId);
  }

  finishRun(claim: ClaimedEvent, outcome: RunOutcome): void {
    const now = new Date().toISOString();
    this.runDb.transaction(() => {
      this.runDb
        .prepare('UPDATE runs SET status = ?, finished_at = ?, durations = ?, clusters = ?, error = ? WHERE id = ?')
        .run(
          outcome.status,
          now,
          JSON.stringify(outcome.durations),
          JSON.stringify(outcome.clusters),
          outcome.error ?? null,
          claim.runId,
        );
      this.runDb.prepare("UPDATE events SET status = 'done' WHERE id = ?").run(claim.eventId);
      if (outcome.advanceHead) {
        this.runDb
          .prepare(
            'INSERT INTO heads (repo, commit_sha, run_id, updated_at) VALUES (?, ?, ?, ?) ON CONFLICT (repo) DO UPDATE SET commit_sha = excluded.commit_sha, run_id = excluded.run_id, updated_at = excluded.updated_at',
          )
          .run(claim.repo, claim.after, claim.runId, now);
      }
    })();
  }

  /** The newest commit a run completed for this repo (deployed, or rendered when no deployer is wired). */
  head(repo: string): string | undefined {
    return (
      this.db.prepare('SELECT commit_sha FROM heads WHERE repo = ?').get(repo) as { commit_sha: string } | undefined
    )?.commit_sha;
  }

  /** Finished runs whose notification was not delivered yet (oldest first). */
  unnotifiedRuns(limit = 100): RunRecord[] {
    return (
      this.runDb
        .prepare("SELECT * FROM runs WHERE notified_at IS NULL AND status NOT IN ('running') ORDER BY id LIMIT ?")
        .all(limit) as RunRow[]
    ).map(toRecord);
  }

  markNotified(runId: number): void {
    this.runDb.prepare('UPDATE runs SET notified_at = ? WHERE id = ?').run(new Date().toISOString(), runId);
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
    const row = this.db.prepare('SELECT * FROM runs WHERE id = ?').get(id) as RunRow | undefined;
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
  };
}
