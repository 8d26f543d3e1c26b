/** The production pipeline steps: git cache fetch + worktree checkout, deploymentizer render, optional deploy. */
import type { DeployStep, PipelineSteps } from './pipeline-steps.js';
import { GitCache } from './git-cache.js';
import { renderStep, type RenderFn } from './render-step.js';

export interface DefaultStepsOptions {
  readonly dataDir: string;
  readonly gitTimeoutMs: number;
  readonly render: RenderFn;
  readonly deploy: DeployStep | undefined;
}

export function defaultSteps(opts: DefaultStepsOptions): PipelineSteps {
  const cache = new GitCache(opts.dataDir, opts.gitTimeoutMs);
  return {
    async fetch(ctx) {
      await cache.fetch(ctx.repo, ctx.commit);
      await cache.checkout(ctx.repo, ctx.commit, ctx.checkoutDir);
    },
    render: renderStep(opts.render),
    deploy: opts.deploy,
    isAncestor: (repo, older, newer) => cache.isAncestor(repo, older, newer),
    cleanup: (ctx) => cache.removeWorktree(ctx.repo, ctx.checkoutDir),
  };
}
