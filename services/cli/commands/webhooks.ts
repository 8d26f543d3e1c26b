import type { Command } from 'commander';
import { UsageError } from '../lib/usage.js';

export function register(program: Command): void {
  program
    .command('webhooks')
    .description(
      'Run the webhook service: CI image webhooks (commit new images to git) and GitHub push webhooks (render and deploy)',
    )
    .requiredOption('--config <file>', 'YAML configuration (listen, dataDir, secrets, repos, deploy)')
    .addHelpText(
      'after',
      '\nExamples:\n  GITHUB_WEBHOOK_SECRET=… IMAGE_WEBHOOK_SECRET=… kitfed webhooks --config ' +
        'webhooks.yaml\n\nSee docs/gitops.md for the configuration reference.\n',
    )
    .action(async (opts: { config: string }) => {
      const { runWebhooks, ConfigError } = await import('../../gitops/index.js');
      try {
        await runWebhooks(opts);
      } catch (err) {
        if (err instanceof ConfigError) throw new UsageError(err.message);
        throw err;
      }
    });
}
