/**
 * `kitfed`: one binary, one subcommand per job. The command table (`commands/index.ts`) names
 * every subcommand; only the module of the one being run is imported, and each module imports
 * its service only inside its action, so `kitfed --help` loads commander and nothing else.
 *
 * Exit codes: 0 ok, 1 failure, 2 usage error (`lib/usage.ts`).
 */
import { Command, CommanderError, Option } from 'commander';
import { commands } from './commands/index.js';
import { LOG_FORMATS, LOG_LEVELS } from '../core/log-settings.js';
import { applyLogFlags, globalOptions } from './lib/log-flags.js';
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, UsageError } from './lib/usage.js';

/**
 * The subcommand a command line runs (also under `kitfed help NAME`): its first word that is no option
 * or option value.
 */
export function commandName(program: Command, argv: readonly string[]): string | undefined {
  const words: string[] = [];
  for (let i = 0; i < argv.length && words.length < 2; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      words.push(...argv.slice(i + 1, i + 3));
      break;
    }
    if (!arg.startsWith('-')) {
      words.push(arg);
      if (arg !== 'help') break;
      continue;
    }
    const option = program.options.find((o) => o.long === arg || o.short === arg);
    if (option?.required || (option?.optional && !argv[i + 1]?.startsWith('-'))) i++;
  }
  return words[0] === 'help' ? words[1] : words[0];
}

function skeleton(): Command {
  return (
    new Command('kitfed')
      .description('Run many Kubernetes clusters as one: federation control plane and GitOps pipeline.')
      .option('-V, --version', "print kitfed's version, git commit and Node version (kitfed version)")
      .addOption(
        new Option(
          '--log-format <format>',
          'log lines as text or JSON (default: text on a terminal; KITFED_LOG_FORMAT)',
        ).choices(LOG_FORMATS),
      )
      .addOption(
        new Option('--log-level <level>', 'least severe level logged (default: info; KITFED_LOG_LEVEL)').choices(
          LOG_LEVELS,
        ),
      )
      // Every command's --help lists the log flags under "Global Options" (not -V, which only works first).
      .configureHelp({ showGlobalOptions: true, visibleGlobalOptions: globalOptions })
      .enablePositionalOptions()
      .showHelpAfterError('(run with --help for usage)')
      .exitOverride()
  );
}

/**
 * The program with every subcommand listed; the commands in `load` (default: all) are registered
 * from their modules, the others are name-and-summary placeholders for `kitfed --help`.
 */
export async function buildProgram(load: 'all' | readonly string[] = 'all', program = skeleton()): Promise<Command> {
  const wanted = (name: string) => load === 'all' || load.includes(name);
  const modules = await Promise.all(commands.map((c) => (wanted(c.name) ? c.load() : Promise.resolve(undefined))));
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
    const program = skeleton();
    // The completion scripts' helper: its words are a command line to complete, not to parse.
    if (argv[0] === '__complete') {
      const { printCompletion } = await import('./lib/completion.js');
      await printCompletion(await buildProgram(argv[1] && argv.length > 2 ? [argv[1]] : [], program), argv.slice(1));
      return EXIT_OK;
    }
    const words = applyLogFlags(argv);
    // `kitfed --version [flags]` is `kitfed version [flags]`.
    const args = words[0] === '--version' || words[0] === '-V' ? ['version', ...words.slice(1)] : words;
    const name = commandName(program, args);
    await buildProgram(name === undefined ? [] : [name], program);
    await program.parseAsync(args, { from: 'user' });
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
