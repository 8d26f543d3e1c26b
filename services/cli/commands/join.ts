import type { Command } from 'commander';

interface JoinOpts {
  kubeconfig: string;
  context?: string;
  federationKubeconfig?: string;
  federationContext: string;
  label?: string[];
}

export function register(program: Command): void {
  program
    .command('join')
    .description(
      'Join a member cluster: store its credentials in the federation (kitfed-system) and create its Cluster',
    )
    .argument('<name>', 'cluster name (DNS label)')
    .requiredOption('--kubeconfig <file>', 'kubeconfig holding the member cluster')
    .option(
      '--context <name>',
      'context of the member in --kubeconfig (default: NAME if present, else current-context)',
    )
    .option('--federation-kubeconfig <file>', 'kubeconfig of the federation (default: --kubeconfig)')
    .option('--federation-context <name>', 'context of the federation', 'federation')
    .option('--label <key=value...>', 'labels for the Cluster (cluster selectors match them)')
    .addHelpText(
      'after',
      '\nExamples:\n  kitfed join us-east --kubeconfig ~/.kube/config --context us-east\n  kitfed ' +
        'join eu --kubeconfig eu.kubeconfig --federation-kubeconfig .kitfed/kubeconfig --label location=europe\n',
    )
    .action(async (name: string, opts: JoinOpts) => {
      const { KubeClient } = await import('../../core/kube-client.js');
      const { joinCluster } = await import('../../controllers/index.js');
      const contexts = KubeClient.contexts({ file: opts.kubeconfig });
      const context = opts.context ?? (contexts.includes(name) ? name : undefined);
      const labels: Record<string, string> = {};
      for (const l of opts.label ?? []) {
        const i = l.indexOf('=');
        if (i <= 0) throw new Error(`--label wants key=value (got ${JSON.stringify(l)})`);
        labels[l.slice(0, i)] = l.slice(i + 1);
      }
      const federation = await KubeClient.fromKubeconfig(
        { file: opts.federationKubeconfig ?? opts.kubeconfig },
        opts.federationContext,
      );
      try {
        await joinCluster(federation, name, { file: opts.kubeconfig, context }, labels);
        process.stdout.write(`cluster.federation.kitfed.io/${name} joined\n`);
      } finally {
        federation.close();
      }
    });
}
