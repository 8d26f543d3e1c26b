/**
 * The three steps of a pipeline run behind one small interface, so the runner does not care
 * which deploymentizer or deployer is wired: fetch (checkout of the commit), render, deploy.
 */
import type { Logger } from '../core/log.js';
import type { RolloutPlan } from '../deploymentizer/index.js';
import type { RepoConfig } from './config.js';

export interface StepContext {
  readonly runId: number;
  readonly repo: RepoConfig;
  readonly commit: string;
  /** Where fetch places the checkout of `commit`. */
  readonly checkoutDir: string;
  /** Where render writes `<cluster>/<file>.yaml`. */
  readonly outDir: string;
  /** Aborted when the step's timeout passes or the service stops. */
  readonly signal: AbortSignal;
  readonly log: Logger;
}

export interface RenderedCluster {
  cluster: string;
  files: number;
  /** Content digest of the cluster's rendered files, when the renderer gives one. */
  digest?: string;
}

export interface RenderOutput {
  clusters: RenderedCluster[];
  /** kit.yaml `rollout:` resolved against the rendered clusters, when the repo has one. */
  rollout?: RolloutPlan;
}

export interface DeployedCluster {
  cluster: string;
  status: 'applied' | 'failed' | 'skipped';
  durationMs?: number;
  error?: string;
}

export interface DeployScope {
  /** Only these clusters (a rollout batch, a rollback); default every rendered cluster. */
  clusters?: string[];
  /** Deploy over a newer commit (a rollback to the last good commit). */
  force?: boolean;
}

export interface HeldCluster {
  cluster: string;
  result: 'held' | 'failed' | 'cancelled';
  error?: string;
}

export interface HoldScope {
  clusters: string[];
  durationMs: number;
  /** Ends the hold early (promote): each cluster is judged as it is then. */
  end?: AbortSignal;
  /** A cluster's health failed (before the hold ends). */
  onFailed?: (cluster: string, error: string) => void;
}

export type FetchStep = (ctx: StepContext) => Promise<void>;
export type RenderStep = (ctx: StepContext) => Promise<RenderOutput>;
export type DeployStep = ((
  ctx: StepContext,
  rendered: RenderOutput,
  scope?: DeployScope,
) => Promise<DeployedCluster[]>) & {
  /** Watches deployed clusters' health for a while (a rollout's bake); without it a bake only waits. */
  hold?: (ctx: StepContext, scope: HoldScope) => Promise<HeldCluster[]>;
  /** Releases what the step holds (its worker thread); called when the service stops. */
  close?: () => void;
};

export interface PipelineSteps {
  fetch: FetchStep;
  render: RenderStep;
  /** Undefined when no deployer is configured: runs stop after render and say so. */
  deploy: DeployStep | undefined;
  /** True when `older` is an ancestor of or equal to `newer` (after fetch). */
  isAncestor: (repo: RepoConfig, older: string, newer: string) => Promise<boolean>;
  cleanup: (ctx: StepContext) => Promise<void>;
}

export class StepTimeoutError extends Error {
  override readonly name = 'StepTimeoutError';
}

/** Runs one step with its own deadline; the step sees an AbortSignal that fires at the deadline. */
export async function withTimeout<T>(
  name: string,
  ms: number,
  parent: AbortSignal,
  fn: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const ctrl = new AbortController();
  const onAbort = (): void => ctrl.abort(parent.reason);
  parent.addEventListener('abort', onAbort, { once: true });
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const err = new StepTimeoutError(`${name} timed out after ${ms / 1000}s`);
      ctrl.abort(err);
      reject(err);
    }, ms);
  });
  try {
    return await Promise.race([fn(ctrl.signal), deadline]);
  } finally {
    clearTimeout(timer);
    parent.removeEventListener('abort', onAbort);
  }
}
