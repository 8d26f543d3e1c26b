/**
 * `kitfed`: one binary, one subcommand per job. Each command module registers itself
 * and imports its service only when run, so `kitfed --help` stays fast.
 *
 * Exit codes: 0 ok, 1 failure, 2 usage error.
 */
import { Command, CommanderError } from 'commander';
import { KitfedError } from '../core/errors.js';
import { commands } from './commands/index.js';

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

/** Thrown by commands for bad flags or input: exit code 2 with the message. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export function buildProgram(): Command {
  const program = new Command('kitfed')
    .description('Run many Kubernetes clusters as one: federation control plane and GitOps pipeline.')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  for (const register of commands) register(program);
  for (const sub of program.commands) sub.exitOverride();
  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: 'user' });
    return process.exitCode === undefined ? EXIT_OK : Number(process.exitCode);
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help')
        return EXIT_OK;
      return EXIT_USAGE;
    }
    if (err instanceof UsageError) {
      process.stderr.write(`error: ${err.message}\n`);
      return EXIT_USAGE;
    }
    process.stderr.write(`error: ${err instanceof KitfedError || err instanceof Error ? err.message : String(err)}\n`);
    return EXIT_FAILURE;
  }
}
