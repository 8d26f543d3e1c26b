import type { Command } from 'commander';
import { UsageError } from '../main.js';
import { intFlag } from '../lib/flags.js';
import { connect, serviceOptions, type ServiceFlags } from '../lib/webhooks.js';

export function register(program: Command): void {
  serviceOptions(
    program.command('runs').description('List pipeline runs of a running `kitfed webhooks` (newest first)'),
  )
    .option('-o, --output <format>', 'table or json', 'table')
    .option('--limit <n>', 'at most this many runs', '20')
    .addHelpText(
      'after',
      '\nExamples:\n  kitfed runs --config webhooks.yaml\n  kitfed runs --url http://127.0.0.1:8090 --token-file .kitfed/webhooks-token -o json\n',
    )
    .action(async (opts: ServiceFlags & { output: string; limit: string }) => {
      if (opts.output !== 'table' && opts.output !== 'json')
        throw new UsageError(`--output must be table or json, got ${opts.output}`);
      const limit = intFlag('--limit', opts.limit, 1);
      const client = await connect(opts);
      const runs = await client.listRuns(limit);
      const { formatRuns } = await import('../../gitops/index.js');
      process.stdout.write(opts.output === 'json' ? `${JSON.stringify(runs, null, 2)}\n` : `${formatRuns(runs)}\n`);
    });
}
