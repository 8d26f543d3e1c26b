import type { Command } from 'commander';

export function register(program: Command): void {
  program
    .command('controllers')
    .description('Run the federation controller manager (cluster health, propagation of every kind, events)')
    .requiredOption('--kubeconfig <file>', 'kubeconfig of the federation API')
    .option('--context <name>', 'context of the federation API', 'federation')
    .option(
      '--leader-elect',
      'campaign for the kitfed-system/kitfed-controllers Lease and act only while leading (default)',
      true,
    )
    .option('--no-leader-elect', 'act at once, without leader election (one replica only)')
    .option('--leader-elect-lease-duration <duration>', 'how long a lease holds without renewal', '15s')
    .option(
      '--leader-elect-renew-deadline <duration>',
      'the leader stops acting when it could not renew for this long',
      '10s',
    )
    .option('--leader-elect-retry-period <duration>', 'pause between acquire/renew attempts', '2s')
    .option('--cluster-monitor-period <duration>', 'how often member health is probed', '10s')
    .option('--metrics-listen <host:port>', 'serve Prometheus /metrics here')
    .option(
      '--exclude <rule...>',
      'never propagate this (repeatable): RESOURCE[.GROUP], RESOURCE[.GROUP]/NAME or ' +
        'RESOURCE[.GROUP]/NAMESPACE/NAME, * as wildcard',
    )
    .option(
      '--include <id...>',
      'drop a default exclusion by id (repeatable), e.g. rbac-defaults (see docs/federation.md)',
    )
    .addHelpText(
      'after',
      [
        '\nExamples:',
        '  kitfed controllers --kubeconfig .kitfed/kubeconfig --context federation',
        '  kitfed controllers --kubeconfig kc --cluster-monitor-period 5s --metrics-listen 127.0.0.1:9464',
        '  kitfed controllers --kubeconfig kc --exclude secrets/prod/* --include rbac-defaults\n',
      ].join('\n'),
    )
    .action(
      async (opts: {
        kubeconfig: string;
        context: string;
        leaderElect: boolean;
        leaderElectLeaseDuration: string;
        leaderElectRenewDeadline: string;
        leaderElectRetryPeriod: string;
        clusterMonitorPeriod: string;
        metricsListen?: string;
        exclude?: string[];
        include?: string[];
      }) => {
        const { runControllers } = await import('../../controllers/index.js');
        await runControllers(opts);
      },
    );
}
