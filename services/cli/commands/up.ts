import type { Command } from 'commander';

export function register(program: Command): void {
  program
    .command('up')
    .description('Bring up the embedded default: the federation API server (more services join as they land)')
    .option('--data-dir <dir>', 'state directory', '.kitfed')
    .option('--port-base <port>', 'first port to use', '6443')
    .addHelpText('after', '\nExamples:\n  kitfed up\n  kitfed up --data-dir /tmp/kf --port-base 17000\n')
    .action(async (opts: { dataDir: string; portBase: string }) => {
      const { runApiServer } = await import('../../apiserver/run.js');
      await runApiServer({ listen: `127.0.0.1:${opts.portBase}`, dataDir: opts.dataDir, kubeconfigOut: `${opts.dataDir}/kubeconfig` });
    });
}
