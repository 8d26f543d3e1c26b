import type { Command } from 'commander';
import { UsageError } from '../lib/usage.js';
import { durationFlag, intFlag } from '../lib/flags.js';
import { connect, serviceOptions, type ServiceFlags } from '../lib/webhooks.js';

type Flags = ServiceFlags & { output: string; reason?: string; by?: string };

async function who(by: string | undefined): Promise<string> {
  if (by) return by;
  const { userInfo } = await import('node:os');
  try {
    return userInfo().username;
  } catch {
    return 'kitfed-cli';
  }
}

/** RUN: a run id, or `latest` (the newest run with a rollout). */
async function runId(arg: string, client: Awaited<ReturnType<typeof connect>>): Promise<number> {
  if (arg === 'latest') {
    const run = (await client.listRuns(200)).find((r) => r.rollout);
    if (!run) throw new Error('no run with a rollout yet');
    return run.id;
  }
  return intFlag('RUN', arg, 1);
}

export function register(program: Command): void {
  const rollout = program
    .command('rollout')
    .description('Show and steer progressive rollouts (kit.yaml rollout:) of a running `kitfed webhooks`')
    .addHelpText(
      'after',
      '\nExamples:\n  kitfed rollout status 12 --config webhooks.yaml\n  kitfed rollout promote ' +
        '12 --config webhooks.yaml --reason "canary looks good"\n  kitfed rollout abort latest --config webhooks.yaml\n',
    );
  serviceOptions(rollout.command('status').description('Stages, gates and bake countdown of the rollout of run RUN'))
    .argument('<run>', 'run id, or latest')
    .option('-o, --output <format>', 'table or json', 'table')
    .option('-w, --watch', 'print again on every change until the rollout finishes')
    .option('--timeout <duration>', 'with --watch: give up after this long', '30m')
    .action(async (arg: string, opts: Flags & { watch?: boolean; timeout: string }) => {
      if (opts.output !== 'table' && opts.output !== 'json')
        throw new UsageError(`--output must be table or json, got ${opts.output}`);
      const deadline = Date.now() + durationFlag('--timeout', opts.timeout);
      const client = await connect(opts);
      const id = await runId(arg, client);
      const { formatRollout } = await import('../../gitops/index.js');
      let last = '';
      for (;;) {
        const run = await client.getRun(id);
        if (!run.rollout) throw new Error(`run ${id} has no rollout (its repo has no kit.yaml rollout: plan)`);
        const text = opts.output === 'json' ? JSON.stringify(run.rollout, null, 2) : formatRollout(run, run.rollout);
        if (!opts.watch) {
          process.stdout.write(`${text}\n`);
          return;
        }
        const key = run.rollout.updatedAt + run.status;
        if (key !== last) process.stdout.write(`${text}\n\n`);
        last = key;
        if (run.status !== 'running') {
          if (run.status !== 'succeeded') process.exitCode = 1;
          return;
        }
        if (Date.now() > deadline) throw new Error(`run ${id} still running after --timeout ${opts.timeout}`);
        await new Promise((r) => setTimeout(r, 1000));
      }
    });
  const actions: Array<[name: 'pause' | 'resume' | 'promote' | 'abort', text: string]> = [
    ['pause', 'Stop the rollout at the next batch or stage boundary (the batch in flight finishes its bake)'],
    ['resume', 'Continue a paused rollout'],
    ['promote', 'Approve a stage waiting for approval, end a bake now, or resume a pause'],
    ['abort', 'Stop now; the stage under way is rolled back as the plan says (rollback: auto)'],
  ];
  for (const [name, text] of actions) {
    serviceOptions(rollout.command(name).description(text))
      .argument('<run>', 'run id, or latest')
      .option('--reason <text>', 'recorded in the rollout history')
      .option('--by <name>', 'who acts (default: your user name)')
      .option('-o, --output <format>', 'table or json', 'table')
      .action(async (arg: string, opts: Flags) => {
        if (opts.output !== 'table' && opts.output !== 'json')
          throw new UsageError(`--output must be table or json, got ${opts.output}`);
        const client = await connect(opts);
        const id = await runId(arg, client);
        const run = await client.act(id, name, {
          by: await who(opts.by),
          ...(opts.reason ? { reason: opts.reason } : {}),
        });
        const { formatRollout } = await import('../../gitops/index.js');
        process.stdout.write(
          opts.output === 'json' ? `${JSON.stringify(run, null, 2)}\n` : `${formatRollout(run, run.rollout!)}\n`,
        );
      });
  }
}
