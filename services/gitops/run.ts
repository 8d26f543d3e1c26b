/** `kitfed webhooks`: runs the webhook service until SIGINT/SIGTERM, then drains and stops. */
import { createLogger } from '../core/log.js';
import { runUntilSignal } from '../core/process.js';
import { loadConfig } from './config.js';
import { loadDeployStep } from './deploy-step.js';
import { startWebhookService } from './webhook-service.js';

export async function runWebhooks(opts: { config: string }): Promise<void> {
  const config = loadConfig(opts.config);
  const log = createLogger('webhooks');
  const deploy = await loadDeployStep(config.deploy, log, config.timeouts.deployMs);
  const service = await startWebhookService({ config, log, processMetrics: true, ...(deploy ? { deploy } : {}) });
  const w = service.wiring;
  process.stdout.write(
    `kitfed webhooks listening on ${service.url}\n` +
      `  POST /hooks/image   ${w.image}\n` +
      `  POST /hooks/github  ${w.github}\n` +
      `  render: ${w.render}\n` +
      `  deploy: ${w.deploy}\n` +
      `  notify: ${w.notify}\n` +
      `  poll:   ${w.poll}\n` +
      `  api:    ${w.api}\n` +
      `  data:   ${config.dataDir}\n`,
  );
  log.info({ url: service.url, ...w, dataDir: config.dataDir }, 'Webhook service started');
  await runUntilSignal(() => service.close(), log, {
    message: 'Stopping: finishing image bumps and the runs in flight',
  });
}
