/**
 * `kitfed`: one binary, one subcommand per job. The command table (`commands/index.ts`) names
 * every subcommand; only the module of the one being run is imported, and each module imports
 * its service only inside its action, so `kitfed --help` loads commander and nothing else.
 *
 * Exit codes: 0 ok, 1 failure, 2 usage error.
 */
import { Command, CommanderError } from 'commander';
import { commands } from './commands/index.js';

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

/** Thrown by commands for bad flags or input: exit code 2 with the message. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** The subcommand a command line runs (also under `kitfed help NAME`): the first word that is not a flag. */
export function commandName(argv: readonly string[]): string | undefined {
  const words = argv.filter((a) => !a.startsWith('-'));
  return words[0] === 'help' ? words[1] : words[0];
}

/**
 * The program with every subcommand listed; the commands in `load` (default: all) are registered
 * from their modules, the others are name-and-summary placeholders for `kitfed --help`.
 */
export async function buildProgram(load: 'all' | readonly string[] = 'all'): Promise<Command> {
  const program = new Command('kitfed')
    .description('Run many Kubernetes clusters as one: federation control plane and GitOps pipeline.')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  const wanted = (name: string) => load === 'all' || load.includes(name);
  const modules = await Promise.all(commands.map((c) => (wanted(c.name) ? c.load() : undefined)));
  commands.forEach((entry, i) => {
    const mod = modules[i];
    if (!mod) program.command(entry.name).summary(entry.summary);
    else {
      mod.register(program);
      program.commands.find((c) => c.name() === entry.name)?.summary(entry.summary);
    }
  });
  for (const sub of program.commands) sub.exitOverride();
  return program;
}

export async function main(argv: string[]): Promise<number> {
  try {
    const name = commandName(argv);
    const program = await buildProgram(name === undefined ? [] : [name]);
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
    process.stderr.write(`error: ${err instanceof Error ? err.message : String(err)}\n`);
    return EXIT_FAILURE;
  }
}
