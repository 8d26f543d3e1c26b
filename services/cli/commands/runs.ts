import type { Command } from 'commander';
import { UsageError } from '../lib/usage.js';
import { intFlag } from '../lib/flags.js';
import { connect, serviceOptions, type ServiceFlags } from '../lib/webhooks.js';

export function register(program: Command): void {
  serviceOptions(
    program
      .command('runs')
      .description('List pipeline runs of a running `kitfed webhooks` (newest first), or show one run per cluster')
      .argument('[run]', 'a run id: that run, cluster by cluster'),
  )
    .option('-o, --output <format>', 'table or json', 'table')
    .option('--limit <n>', 'at most this many runs', '20')
    .addHelpText(
      'after',
      '\nExamples:\n  kitfed runs --config webhooks.yaml\n  kitfed runs 2 --config webhooks.yaml\n' +
        '  kitfed runs --url http://127.0.0.1:8090 --token-file .kitfed/webhooks-token -o json\n',
    )
    .action(async (run: string | undefined, opts: ServiceFlags & { output: string; limit: string }) => {
      if (opts.output !== 'table' && opts.output !== 'json')
        throw new UsageError(`--output must be table or json, got ${opts.output}`);
      const limit = intFlag('--limit', opts.limit, 1);
      if (run !== undefined && !/^\d+$/.test(run))
        throw new UsageError(`run must be a run id (got ${JSON.stringify(run)})`);
      const client = await connect(opts);
      const { formatRuns } = await import('../../gitops/index.js');
      if (run === undefined) {
        const runs = await client.listRuns(limit);
        process.stdout.write(opts.output === 'json' ? `${JSON.stringify(runs, null, 2)}\n` : `${formatRuns(runs)}\n`);
        return;
      }
      const record = await client.getRun(Number(run));
      if (opts.output === 'json') return void process.stdout.write(`${JSON.stringify(record, null, 2)}\n`);
      const { printTable } = await import('../lib/federation.js');
      process.stdout.write(`${formatRuns([record])}\n\n`);
      printTable(
        ['CLUSTER', 'RENDER', 'DEPLOY', 'FILES', 'CHANGED', 'DURATION', 'ERROR'],
        record.clusters.map((c) => [
          c.cluster,
          c.render,
          c.deploy,
          c.files === undefined ? '-' : String(c.files),
          c.changed === undefined ? '-' : c.changed ? 'yes' : 'no',
          c.durationMs === undefined ? '-' : `${(c.durationMs / 1000).toFixed(2)}s`,
          (c.error ?? '').split('\n')[0] ?? '',
        ]),
      );
    });
}
