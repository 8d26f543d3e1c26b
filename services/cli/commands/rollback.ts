import type { Command } from 'commander';
import { UsageError } from '../lib/usage.js';
import { connect, serviceOptions, type ServiceFlags } from '../lib/webhooks.js';

export function register(program: Command): void {
  serviceOptions(
    program
      .command('rollback')
      .description(
        'Put the manifests repo back to COMMIT: the webhook service pushes a revert commit (git ' +
          'stays the source of truth) and deploys it like any push',
      ),
  )
    .requiredOption('--to <commit>', 'a commit of the branch history whose content to restore')
    .option('--repo <name>', 'repos[].name (default: the first configured repo)')
    .option('--reason <text>', 'recorded in the commit message')
    .option('--by <name>', 'who asks (default: your user name)')
    .option('-o, --output <format>', 'text or json', 'text')
    .addHelpText(
      'after',
      '\nExamples:\n  kitfed rollback --to 1a2b3c4d --config webhooks.yaml --reason "bad ' +
        'release"\n  kitfed runs --config webhooks.yaml     # the revert commit is deployed like any push\n',
    )
    .action(
      async (opts: ServiceFlags & { to: string; repo?: string; reason?: string; by?: string; output: string }) => {
        if (opts.output !== 'text' && opts.output !== 'json')
          throw new UsageError(`--output must be text or json, got ${opts.output}`);
        if (!/^[0-9a-f]{4,64}$/i.test(opts.to)) throw new UsageError(`--to must be a commit SHA, got ${opts.to}`);
        const client = await connect(opts);
        let by = opts.by;
        if (!by) {
          const { userInfo } = await import('node:os');
          by = userInfo().username;
        }
        const r = await client.rollback({
          to: opts.to,
          by,
          ...(opts.repo ? { repo: opts.repo } : {}),
          ...(opts.reason ? { reason: opts.reason } : {}),
        });
        process.stdout.write(
          opts.output === 'json'
            ? `${JSON.stringify(r, null, 2)}\n`
            : `pushed ${r.commit.slice(0, 12)} to ${r.repo} ${r.branch}: content of ${r.to.slice(0, 12)}, ` +
                `reverting ${r.reverted.length} commit(s)\nqueued as event ${r.eventId}: kitfed runs shows its run\n`,
        );
      },
    );
}
