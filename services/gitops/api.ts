/**
 * The webhook service's JSON API: the shapes of every answer and request body, shared by the
 * service, `kitfed runs|rollout|rollback` and the web console (exported from `index.ts`).
 * Documented in docs/gitops.md ("HTTP API"). Every route but `/healthz` and `/hooks/*` needs
 * `Authorization: Bearer <token>`; errors are Kubernetes `Status` objects.
 */

/** Final or current status of a pipeline run. */
export type RunStatus =
  | 'running'
  | 'succeeded'
  | 'rendered'
  | 'failed'
  | 'skipped'
  | 'interrupted'
  /** A newer push took over at a stage boundary; stages not started got no writes. */
  | 'superseded'
  /** An operator aborted the rollout. */
  | 'aborted';

/** `deploy`: a commit pushed to the repo; `rollback`: clusters put back on the last commit that succeeded there. */
export type RunKind = 'deploy' | 'rollback';

export type ClusterDeployState =
  /** Applied and healthy (and, in a rollout, its stage held through its gates). */
  | 'applied'
  | 'failed'
  /** The cluster runs a newer commit (never-backwards guard), or it is in kit's allowFailure. */
  | 'skipped'
  /** No deployer configured: rendered only. */
  | 'not-configured'
  /** Deploy under way or not yet reached. */
  | 'pending'
  /** The rollout stopped before this cluster's stage: nothing was written to it. */
  | 'not-started';

export interface ClusterResult {
  cluster: string;
  render: 'ok' | 'failed';
  deploy: ClusterDeployState;
  files?: number;
  digest?: string;
  /** False when the cluster's rendered files are identical to the previous completed run's. */
  changed?: boolean;
  durationMs?: number;
  error?: string;
  /** The rollout stage the cluster belongs to. */
  stage?: string;
  /** The run that rolled this cluster back after this run failed. */
  rolledBackBy?: number;
}

export interface RunRecord {
  id: number;
  /** The push event the run is for (0 for rollback runs). */
  eventId: number;
  kind: RunKind;
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
  /** Rollback runs: the run whose failure they undo. */
  parentRun: number | null;
  /** The rollout of this run when the repo's kit.yaml has a `rollout:` plan; null otherwise. */
  rollout: RolloutStatus | null;
}

/** State of one rollout stage. */
export type StageState =
  'Pending' | 'Progressing' | 'Baking' | 'Succeeded' | 'Failed' | 'Paused' | 'WaitingForApproval';

/** State of the rollout as a whole. */
export type RolloutPhase =
  'Progressing' | 'Paused' | 'WaitingForApproval' | 'Succeeded' | 'Failed' | 'Aborted' | 'Superseded';

export type GateState = 'pending' | 'passing' | 'passed' | 'failed';

export interface HealthGateStatus {
  state: GateState;
  message: string | null;
}

export interface MetricGateStatus {
  state: GateState;
  message: string | null;
  /** `prometheus` (instant query) or `url` (an HTTP GET answering a number). */
  source: 'prometheus' | 'url';
  /** The Prometheus base URL or the URL queried (no credentials). */
  url: string;
  query: string | null;
  min: number | null;
  max: number | null;
  intervalSeconds: number;
  /** Last value read, per cluster (`*` when the query does not use `{{cluster}}`). */
  lastValues: Record<string, number>;
  lastSampleAt: string | null;
}

export interface StageStatus {
  name: string;
  state: StageState;
  /** Every cluster of the stage, in deploy order. */
  clusters: string[];
  /** The stage's clusters in batches, deployed one batch after the other. */
  batches: string[][];
  /** Index of the batch in progress (or last finished); -1 before the stage starts. */
  batch: number;
  /** Bake time per batch. */
  bakeSeconds: number;
  bakeStartedAt: string | null;
  /** When the current bake ends (a countdown for UIs); null when not baking. */
  bakeEndsAt: string | null;
  /** The stage waits for `promote` before it starts. */
  approval: boolean;
  approvedBy: string | null;
  approvedAt: string | null;
  /** Clusters of the stage that may fail without failing it (resolved from a count or percentage). */
  maxFailures: number;
  /** Clusters of this stage that failed (deploy, health or metric). */
  failed: string[];
  gates: { health: HealthGateStatus; metric: MetricGateStatus | null };
  startedAt: string | null;
  finishedAt: string | null;
  message: string | null;
}

/** An operator action or notable transition, oldest first. */
export interface RolloutEvent {
  at: string;
  /** `pause`, `resume`, `promote`, `abort`, `approve`, `stage`, `rollback`, `supersede`, `resume-after-restart`. */
  type: string;
  stage: string | null;
  by: string | null;
  message: string;
}

export interface RolloutStatus {
  phase: RolloutPhase;
  /** Index into `stages` of the stage in progress (or where the rollout stopped); null before the first. */
  currentStage: number | null;
  /** Set by `pause`: the rollout stops at the next batch or stage boundary until `resume`. */
  paused: boolean;
  /** `auto`: failed clusters are put back on their last good commit; `manual`: left as they are. */
  rollback: 'auto' | 'manual';
  /** `stage`: the failed stage's clusters are rolled back; `rollout`: every cluster this rollout changed. */
  rollbackScope: 'stage' | 'rollout';
  /** Each cluster's last good commit before this rollout (null: none): where a rollback puts it. */
  rollbackTargets: Record<string, string | null>;
  /** Runs that rolled clusters back after this rollout failed or was aborted. */
  rollbackRuns: number[];
  /** The newer commit that superseded this rollout. */
  supersededBy: string | null;
  /** The run (interrupted by a restart of the service) this one resumed. */
  resumedFrom: number | null;
  message: string | null;
  stages: StageStatus[];
  history: RolloutEvent[];
  updatedAt: string;
}

export type RolloutAction = 'pause' | 'resume' | 'promote' | 'abort';

/** Body of `POST /runs/{id}/rollout/{action}` (optional). */
export interface RolloutActionRequest {
  /** Who acts, for the rollout's history (the CLI sends the OS user name). */
  by?: string;
  reason?: string;
}

/** Body of `POST /rollbacks`: write a revert commit that puts the repo's branch back to `to`'s content. */
export interface RollbackRequest {
  /** A commit of the branch's history (full or abbreviated SHA). */
  to: string;
  /** `repos[].name`; default: the first configured repo. */
  repo?: string;
  by?: string;
  reason?: string;
}

/** Answer of `POST /rollbacks` (201). */
export interface RollbackResponse {
  repo: string;
  branch: string;
  /** The revert commit now at the branch head. */
  commit: string;
  /** The commit whose content it restores. */
  to: string;
  /** Commits whose changes it reverts, newest first. */
  reverted: string[];
  /** The push event queued for the revert commit (runs like any push). */
  eventId: number;
}

/** Answer of `GET /runs`. */
export interface RunList {
  runs: RunRecord[];
}

/** Answer of `GET /healthz` (open, no token). */
export interface HealthAnswer {
  status: 'ok';
  queued: number;
  [part: string]: unknown;
}

/** The routes, for clients. */
export const API = {
  runs: '/runs',
  run: (id: number): string => `/runs/${id}`,
  rollout: (id: number): string => `/runs/${id}/rollout`,
  rolloutAction: (id: number, action: RolloutAction): string => `/runs/${id}/rollout/${action}`,
  rollbacks: '/rollbacks',
  metrics: '/metrics',
  healthz: '/healthz',
} as const;

export const ROLLOUT_ACTIONS: readonly RolloutAction[] = ['pause', 'resume', 'promote', 'abort'];
