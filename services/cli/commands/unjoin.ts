import type { Command } from 'commander';

export function register(program: Command): void {
  program
    .command('unjoin')
    .description('Remove a member cluster from the federation')
    .argument('<cluster>', 'cluster name')
    .requiredOption('--kubeconfig <file>', 'kubeconfig of the federation')
    .option('--context <name>', 'context of the federation', 'federation')
    .option('--cleanup', 'first delete in the member what kitfed created there')
    .addHelpText(
      'after',
      '\nExamples:\n  kitfed unjoin us-east --kubeconfig .kitfed/kubeconfig\n  kitfed unjoin us-east --kubeconfig .kitfed/kubeconfig --cleanup\n',
    )
    .action(async (name: string, opts: { kubeconfig: string; context: string; cleanup?: boolean }) => {
      const { KubeClient } = await import('../../core/kube-client.js');
      const { unjoinCluster } = await import('../../controllers/index.js');
      const federation = await KubeClient.fromKubeconfig({ file: opts.kubeconfig }, opts.context);
      try {
        const deleted = await unjoinCluster(federation, name, { cleanup: opts.cleanup });
        for (const d of deleted) process.stdout.write(`deleted ${d} in ${name}\n`);
        process.stdout.write(`cluster.federation.kitfed.io/${name} unjoined\n`);
      } finally {
        federation.close();
      }
    });
}
