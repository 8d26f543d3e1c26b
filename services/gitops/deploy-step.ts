/**
 * The deploy step: the deployer's `deploy()` (in a worker thread) over the run's rendered folders, with the run's
 * commit
 * and commit time (the deployer's never-backwards guard), per-cluster results mapped onto the run.
 * Without `deploy:` in the config there is no deploy step and runs say "deploy: not configured".
 */
import type { Logger } from '../core/log.js';
import type { ClusterReport, DeployReport, HoldReport } from '../deployer/index.js';
import { gitClient } from '../core/git-client.js';
import type { WebhooksConfig } from './config.js';
import type { WorkerEvent, WorkerReply, WorkerRequest } from './deploy-worker.js';
import type { DeployedCluster, DeployStep, StepContext } from './pipeline-steps.js';
import { StepThread } from './step-thread.js';

export type DeployConfig = NonNullable<WebhooksConfig['deploy']>;

export async function loadDeployStep(
  config: WebhooksConfig['deploy'],
  log: Logger,
  timeoutMs = 600_000,
): Promise<DeployStep | undefined> {
  if (!config?.kubeconfig) {
    if (config) log.warn('deploy has no kubeconfig: runs stop after render');
    return undefined;
  }
  return deployerStep(config, timeoutMs);
}

/**
 * The deployer in a worker thread (its apply, health waits and YAML work never block webhook
 * acceptance); aborting the step (timeout, shutdown) cancels the deploy in the worker.
 */
export function deployerStep(config: DeployConfig, timeoutMs: number): DeployStep {
  const thread = new StepThread<WorkerRequest, WorkerReply, WorkerEvent>('deploy-worker', 'message');
  const targets = {
    ...(config.kubeconfig ? { kubeconfig: config.kubeconfig } : {}),
    target: config.target ?? 'clusters',
    ...(config.context ? { context: config.context } : {}),
    ...(config.folder ? { folder: config.folder } : {}),
  } as const;
  const commitTimes = new Map<string, string>();
  const commitTime = async (ctx: StepContext): Promise<string> => {
    let t = commitTimes.get(ctx.commit);
    if (!t) {
      t = (await gitClient(ctx.checkoutDir, 30_000).raw(['show', '-s', '--format=%cI', ctx.commit])).trim();
      if (commitTimes.size > 100) commitTimes.clear();
      commitTimes.set(ctx.commit, t);
    }
    return t;
  };
  const step: DeployStep = async (ctx, _rendered, scope = {}) => {
    const req: WorkerRequest = {
      op: 'deploy',
      dir: ctx.outDir,
      ...targets,
      ...(scope.clusters ? { clusters: scope.clusters } : {}),
      ...(scope.force ? { force: true } : {}),
      prune: config.prune === true,
      commit: ctx.commit,
      commitTime: await commitTime(ctx),
      // The per-cluster deadline sits inside the step's own deadline.
      timeoutMs: Math.max(1000, Math.floor(timeoutMs * 0.9)),
    };
    const report = (await thread.call(req, {
      signal: ctx.signal,
      onEvent: (e) => {
        if (e.type === 'cluster-done')
          ctx.log.info(
            { cluster: e.cluster, result: e.result, counts: e.counts, durationMs: e.durationMs, error: e.error },
            'Cluster deployed',
          );
      },
    })) as DeployReport;
    if (report.missingFolders.length > 0)
      ctx.log.warn(
        { clusters: report.missingFolders },
        'Clusters in the kubeconfig have no rendered folder: nothing deployed there',
      );
    return resultsOf(report, config.target ?? 'clusters');
  };
  step.hold = async (ctx, scope) => {
    const req: WorkerRequest = {
      op: 'hold',
      dir: ctx.outDir,
      ...targets,
      clusters: scope.clusters,
      durationMs: scope.durationMs,
    };
    // Aborting the call ends the hold early; the worker still answers with its judgement.
    const ended = new AbortController();
    const onEnd = (): void => ended.abort();
    scope.end?.addEventListener('abort', onEnd, { once: true });
    ctx.signal.addEventListener('abort', onEnd, { once: true });
    if (scope.end?.aborted || ctx.signal.aborted) onEnd();
    try {
      const report = (await thread.call(req, {
        signal: ended.signal,
        onEvent: (e) => {
          if (e.type === 'cluster-failed') scope.onFailed?.(e.cluster, e.error);
        },
      })) as HoldReport;
      return report.clusters.map((c) => ({
        cluster: c.folder,
        result: c.result,
        ...(c.error ? { error: c.error } : {}),
      }));
    } finally {
      scope.end?.removeEventListener('abort', onEnd);
      ctx.signal.removeEventListener('abort', onEnd);
    }
  };
  step.close = () => thread.stop();
  thread.warm();
  return step;
}

function resultOf(r: ClusterReport): DeployedCluster {
  const base = { cluster: r.folder, durationMs: r.durations.totalMs };
  if (r.result === 'succeeded') return { ...base, status: 'applied' };
  if (r.result === 'refused')
    return { ...base, status: 'skipped', error: r.error ?? `${r.cluster} has a newer commit` };
  if (r.allowFailure) return { ...base, status: 'skipped', error: `allowed failure: ${r.error ?? r.result}` };
  return { ...base, status: 'failed', error: r.error ?? r.result };
}

/** Every rendered folder gets a result: deployed, or why not. */
export function resultsOf(report: DeployReport, target: 'clusters' | 'federation'): DeployedCluster[] {
  const out = report.clusters.map(resultOf);
  for (const folder of report.unknownFolders) {
    out.push(
      target === 'federation'
        ? { cluster: folder, status: 'skipped', error: 'not the folder applied to the federation' }
        : { cluster: folder, status: 'failed', error: `no cluster (kubeconfig context) named ${folder}` },
    );
  }
  return out;
}
