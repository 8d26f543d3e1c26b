/**
 * The deploy step: the deployer's `deploy()` (in a worker thread) over the run's rendered folders, with the run's commit
 * and commit time (the deployer's never-backwards guard), per-cluster results mapped onto the run.
 * Without `deploy:` in the config there is no deploy step and runs say "deploy: not configured".
 */
import type { Logger } from '../core/log.js';
import type { ClusterReport, DeployEvent, DeployReport } from '../deployer/index.js';
import { gitClient } from '../image-deployer/git-client.js';
import type { WebhooksConfig } from './config.js';
import type { DeployRequest } from './deploy-worker.js';
import type { DeployedCluster, DeployStep } from './pipeline-steps.js';
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
  const thread = new StepThread<DeployRequest, DeployReport, DeployEvent>('deploy-worker', 'message');
  const step: DeployStep = async (ctx) => {
    const commitTime = (
      await gitClient(ctx.checkoutDir, 30_000).raw(['show', '-s', '--format=%cI', ctx.commit])
    ).trim();
    const req: DeployRequest = {
      dir: ctx.outDir,
      ...(config.kubeconfig ? { kubeconfig: config.kubeconfig } : {}),
      target: config.target ?? 'clusters',
      ...(config.context ? { context: config.context } : {}),
      ...(config.folder ? { folder: config.folder } : {}),
      prune: config.prune === true,
      commit: ctx.commit,
      commitTime,
      // The per-cluster deadline sits inside the step's own deadline.
      timeoutMs: Math.max(1000, Math.floor(timeoutMs * 0.9)),
    };
    const report = await thread.call(req, {
      signal: ctx.signal,
      onEvent: (e) => {
        if (e.type === 'cluster-done')
          ctx.log.info(
            { cluster: e.cluster, result: e.result, counts: e.counts, durationMs: e.durationMs, error: e.error },
            'Cluster deployed',
          );
      },
    });
    if (report.missingFolders.length > 0)
      ctx.log.warn(
        { clusters: report.missingFolders },
        'Clusters in the kubeconfig have no rendered folder: nothing deployed there',
      );
    return resultsOf(report, config.target ?? 'clusters');
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
