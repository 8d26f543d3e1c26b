import type { Command } from 'commander';
import { UsageError } from '../main.js';
import { intFlag } from '../lib/flags.js';

export function register(program: Command): void {
  program
    .command('runs')
    .description('List pipeline runs of a running `kitfed webhooks` (newest first)')
    .option('--url <url>', 'service URL (default: from --config, else http://127.0.0.1:8090)')
    .option('--config <file>', 'the webhook service config, to find its listen address')
    .option('-o, --output <format>', 'table or json', 'table')
    .option('--limit <n>', 'at most this many runs', '20')
    .addHelpText(
      'after',
      '\nExamples:\n  kitfed runs --config webhooks.yaml\n  kitfed runs --url http://127.0.0.1:8090 -o json\n',
    )
    .action(async (opts: { url?: string; config?: string; output: string; limit: string }) => {
      if (opts.output !== 'table' && opts.output !== 'json')
        throw new UsageError(`--output must be table or json, got ${opts.output}`);
      const limit = intFlag('--limit', opts.limit, 1);
      const { serviceUrl } = await import('../../gitops/simulate.js');
      const { loadConfig, ConfigError } = await import('../../gitops/config.js');
      let cfg;
      try {
        cfg = opts.config ? loadConfig(opts.config) : undefined;
      } catch (err) {
        if (err instanceof ConfigError) throw new UsageError(err.message);
        throw err;
      }
      const { listRuns, formatRuns } = await import('../../gitops/runs-client.js');
      const runs = await listRuns(serviceUrl(cfg, opts.url), limit);
      process.stdout.write(opts.output === 'json' ? `${JSON.stringify(runs, null, 2)}\n` : `${formatRuns(runs)}\n`);
    });
}
