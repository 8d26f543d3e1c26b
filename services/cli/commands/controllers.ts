import type { Command } from 'commander';

export function register(program: Command): void {
  program
    .command('controllers')
    .description('Run the federation controller manager (cluster health, sync, deletion, events)')
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
    .option('--sync-kind <apiVersion/Kind[:cluster]...>', 'also sync this kind (repeatable), e.g. v1/ServiceAccount')
    .addHelpText(
      'after',
      '\nExamples:\n  kitfed controllers --kubeconfig .kitfed/kubeconfig --context federation\n  kitfed controllers --kubeconfig kc --cluster-monitor-period 5s --metrics-listen 127.0.0.1:9464\n',
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
        syncKind?: string[];
      }) => {
        const { runControllers } = await import('../../controllers/run.js');
        await runControllers({ ...opts, syncKinds: opts.syncKind });
      },
    );
}
