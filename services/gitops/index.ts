/**
 * The GitOps service's public face for other services (the CLI, the web console): the JSON API's
 * types and routes, a typed client, where clients find the service and its token, and the
 * service's entry points.
 *
 * Importing this file stays cheap (the CLI's start-up and the console depend on it): the entry
 * points below load their modules (ajv, yaml, @octokit/webhooks, worker threads…) on first call.
 */
import type * as Config from './config.js';
import type * as DeployStep from './deploy-step.js';
import type * as Run from './run.js';
import type * as Simulate from './simulate.js';
import type * as Service from './webhook-service.js';

export * from './api.js';
export { API_TOKEN_FILE, EMBEDDED_TOKEN_FILE, GitopsClient, resolveToken, serviceUrl } from './client.js';
export { ConfigError } from './config-error.js';
export { formatRollout, formatRuns } from './format.js';
export type { RepoConfig, WebhooksConfig } from './config.js';
export type { SimulateResult } from './simulate.js';
export type { WebhookService, WebhookServiceOptions } from './webhook-service.js';

/** Reads, validates and resolves the secrets of a webhook service config; throws `ConfigError` naming the file. */
export async function loadConfig(...a: Parameters<typeof Config.loadConfig>): Promise<Config.WebhooksConfig> {
  return (await import('./config.js')).loadConfig(...a);
}

/** `kitfed webhooks`: the service as a process, until SIGINT/SIGTERM. */
export async function runWebhooks(...a: Parameters<typeof Run.runWebhooks>): Promise<void> {
  return (await import('./run.js')).runWebhooks(...a);
}

/** The webhook service in this process (`kitfed up` embeds it). */
export async function startWebhookService(
  ...a: Parameters<typeof Service.startWebhookService>
): Promise<Service.WebhookService> {
  return (await import('./webhook-service.js')).startWebhookService(...a);
}

/** The deploy step of a config (the deployer in a worker thread), or undefined when the config does not deploy. */
export async function loadDeployStep(
  ...a: Parameters<typeof DeployStep.loadDeployStep>
): ReturnType<typeof DeployStep.loadDeployStep> {
  return (await import('./deploy-step.js')).loadDeployStep(...a);
}

/** Sends a signed GitHub push webhook for a configured repo to a running service. */
export async function simulatePush(...a: Parameters<typeof Simulate.simulatePush>): Promise<Simulate.SimulateResult> {
  return (await import('./simulate.js')).simulatePush(...a);
}

/** Sends a signed CI "image built" webhook to a running service. */
export async function simulateImage(...a: Parameters<typeof Simulate.simulateImage>): Promise<Simulate.SimulateResult> {
  return (await import('./simulate.js')).simulateImage(...a);
}
