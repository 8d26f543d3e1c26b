/**
 * The deployer's public shapes: what `deploy()` takes, what it reports, and the progress
 * events it emits while it runs. Documented in docs/deployer.md.
 */
export interface DeployOptions {
  /** The deploymentizer's output: `<dir>/<cluster>/*.yaml` (+ `.kitfed-index.json`). */
  dir: string;
  /** Clusters = the contexts of this kubeconfig; folder name = context name. */
  kubeconfig?: string;
  /** kit layout: every file in this dir is a kubeconfig with a top-level `metadata.name` (= folder). */
  kubeconfigs?: string;
  /** `federation`: one folder to the federation API (`kubeconfig` + `context`) as one cluster. @default 'clusters' */
  target?: 'clusters' | 'federation';
  /** Federation target: the kubeconfig context. @default current-context */
  context?: string;
  /** Federation target: the folder to apply. @default `federation`, else the only folder */
  folder?: string;
  /** Only these clusters (folder names). */
  clusters?: string[];
  /** Source commit and its time (ISO 8601): recorded on objects and the inventory; the never-backwards guard. */
  commit?: string;
  commitTime?: string;
  /** Deploy even when the cluster has a newer commit (the guard) . */
  force?: boolean;
  /** Server-side dry run: every write with `dryRun=All`; nothing changes. */
  dryRun?: boolean;
  /** Compute per-cluster unified diffs of live vs desired; changes nothing. */
  diff?: boolean;
  /** Delete objects kitfed applied earlier that are no longer in the folder. */
  prune?: boolean;
  /** Wait for workloads to become healthy. @default true */
  wait?: boolean;
  /** Re-apply objects even when their digest says unchanged (reverts hand-made drift). */
  reapply?: boolean;
  /** Delete and re-create an object kitfed manages when its change touches an immutable field (Flux's `force`). */
  recreate?: boolean;
  /** Per-cluster deadline for the whole cluster (plan, apply, health, prune). @default 300000 */
  timeoutMs?: number;
  /** Per-request timeout. @default min(30000, timeoutMs) */
  requestTimeoutMs?: number;
  /** Concurrent requests per cluster. @default 8 */
  concurrency?: number;
  /** Cancel the other clusters on the first failure. */
  failFast?: boolean;
  /** Clusters whose failure does not fail the deploy (kit's allowFailure). */
  allowFailure?: string[];
  /** @default 'kitfed' */
  fieldManager?: string;
  /** Namespace of the per-cluster inventory ConfigMap. @default 'kube-system' */
  inventoryNamespace?: string;
  /**
   * Keep the parsed manifests between processes in this directory (one file per render dir, Secrets never
   * written), so that a redeploy of unchanged output reads none of its files; `kitfed deploy` uses the user's
   * cache dir. Without it they are remembered in memory, for the life of the process.
   */
  cacheDir?: string;
  onEvent?: (event: DeployEvent) => void;
  signal?: AbortSignal;
}

export interface ObjectRef {
  apiVersion: string;
  kind: string;
  namespace?: string;
  name: string;
}

export type ObjectAction = 'applied' | 'unchanged' | 'pruned' | 'kept' | 'failed' | 'pending';
export type HealthState = 'healthy' | 'progressing' | 'failed';

export interface ObjectReport extends ObjectRef {
  /** File in the cluster folder ('' for pruned objects). */
  file: string;
  action: ObjectAction;
  health?: HealthState;
  message?: string;
  /** E.g. the API version conversion applied because the cluster does not serve the manifest's. */
  warnings?: string[];
}

export type ClusterResult = 'succeeded' | 'failed' | 'refused' | 'cancelled';

export interface ClusterReport {
  cluster: string;
  /** API server URL (never credentials). */
  server: string;
  folder: string;
  result: ClusterResult;
  allowFailure: boolean;
  objects: ObjectReport[];
  counts: { objects: number; applied: number; unchanged: number; healthy: number; failed: number; pruned: number };
  /** Mutating requests sent (dry-run ones included). */
  writes: number;
  durations: { totalMs: number; planMs: number; applyMs: number; healthMs: number; pruneMs: number };
  /** The commit recorded in the cluster before this deploy. */
  previousCommit?: { commit?: string; commitTime?: string };
  /** Unified diff (diff mode); '' when identical. */
  diff?: string;
  error?: string;
}

export interface DeployReport {
  ok: boolean;
  mode: 'apply' | 'dry-run' | 'diff';
  commit?: string;
  commitTime?: string;
  startedAt: string;
  durationMs: number;
  clusters: ClusterReport[];
  /** Folders no target cluster matched. */
  unknownFolders: string[];
  /** Target clusters without a folder (nothing deployed there). */
  missingFolders: string[];
  /** Diff mode: true when any cluster differs. */
  changed: boolean;
}

export type DeployEvent =
  | {
      type: 'start';
      clusters: string[];
      unknownFolders: string[];
      missingFolders: string[];
      mode: DeployReport['mode'];
    }
  | { type: 'cluster'; cluster: string; phase: 'plan' | 'apply' | 'health' | 'prune' | 'done'; objects: number }
  | { type: 'object'; cluster: string; ref: ObjectRef; action: ObjectAction; health?: HealthState; message?: string }
  | { type: 'warning'; cluster: string; ref: ObjectRef; message: string }
  | {
      type: 'cluster-done';
      cluster: string;
      result: ClusterResult;
      error?: string;
      counts: ClusterReport['counts'];
      durationMs: number;
    }
  | { type: 'done'; ok: boolean; durationMs: number };
