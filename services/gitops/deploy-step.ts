/**
 * The deploy step: wired to the deployer when this build has one and `deploy:` is configured.
 * Otherwise there is no deploy step and runs say "deploy: not configured": a deploy is never faked.
 */
import type { Logger } from '../core/log.js';
import type { WebhooksConfig } from './config.js';
import type { DeployStep } from './pipeline-steps.js';

export async function loadDeployStep(deploy: WebhooksConfig['deploy'], log: Logger): Promise<DeployStep | undefined> {
  if (!deploy) return undefined;
  log.warn({ target: deploy.target ?? 'clusters' }, 'deploy is configured but this build has no deployer: runs stop after render');
  return undefined;
}
