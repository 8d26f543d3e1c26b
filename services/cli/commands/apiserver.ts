import type { Command } from 'commander';

export function register(program: Command): void {
  program
    .command('apiserver')
    .description('Run the Kubernetes-compatible federation API server')
    .option('--listen <host:port>', 'address to listen on', '127.0.0.1:6443')
    .option('--kubeconfig-out <file>', 'write a kubeconfig for this server (context "federation")')
    .addHelpText('after', '\nExamples:\n  kitfed apiserver --listen 127.0.0.1:8001 --kubeconfig-out .kitfed/kubeconfig\n')
    .action(async (opts: { listen: string; kubeconfigOut?: string }) => {
      const { runApiServer } = await import('../../apiserver/run.js');
      await runApiServer(opts);
    });
}
