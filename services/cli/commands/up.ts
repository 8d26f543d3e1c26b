import type { Command } from 'commander';
import { intFlag } from '../lib/flags.js';

interface Flags {
  dataDir: string;
  portBase: string;
  clusters: string;
  readyDelay: string;
}

export function register(program: Command): void {
  program
    .command('up')
    .description(
      'Bring up the embedded default: federation API server, controllers, sandbox member ' +
        'clusters, webhooks, a local manifests repo, then an initial render + deploy',
    )
    .option('--data-dir <dir>', 'state directory (SQLite, PKI, kubeconfig, manifests repo, webhook queue)', '.kitfed')
    .option(
      '--port-base <port>',
      'federation API port; members use the next ports, webhooks +90 (0: free ports)',
      '6443',
    )
    .option('--clusters <n>', 'number of sandbox member clusters', '3')
    .option('--ready-delay <ms>', 'simulated pod start-up time', '500')
    .addHelpText('after', '\nExamples:\n  kitfed up\n  kitfed up --clusters 5 --data-dir /tmp/kf --port-base 17000\n')
    .action(async (flags: Flags) => {
      const opts = {
        dataDir: flags.dataDir,
        portBase: intFlag('--port-base', flags.portBase, 0, 65000),
        clusters: intFlag('--clusters', flags.clusters, 1, 100),
        readyDelayMs: intFlag('--ready-delay', flags.readyDelay, 0, 600_000),
      };
      const { startEmbedded, summary } = await import('../embedded.js');
      const embedded = await startEmbedded(opts);
      process.stdout.write(`${summary(embedded)}\n`);
      const { runUntilSignal } = await import('../../core/process.js');
      const { createLogger } = await import('../../core/log.js');
      await runUntilSignal(async () => {
        process.stdout.write('stopping…\n');
        await embedded.stop();
      }, createLogger('up'));
    });
}
