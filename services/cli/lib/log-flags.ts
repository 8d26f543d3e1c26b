import type { Command, Option } from 'commander';
import { LOG_FORMATS, LOG_LEVELS } from '../../core/log-settings.js';
import { UsageError } from './usage.js';

/** The global logging flags: accepted anywhere before `--`, as `--flag value` or `--flag=value`. */
const LOG_FLAGS = {
  '--log-format': { env: 'KITFED_LOG_FORMAT', choices: LOG_FORMATS },
  '--log-level': { env: 'KITFED_LOG_LEVEL', choices: LOG_LEVELS },
} as const;

/**
 * Takes `--log-format` and `--log-level` out of a command line and sets `KITFED_LOG_FORMAT` /
 * `KITFED_LOG_LEVEL`, which services/core/log.ts reads when the first logger is made (and which
 * worker threads and child processes inherit). The flags are taken out before commander parses, so
 * they work before or after the subcommand (`kitfed up --log-format json`) without every command
 * declaring them; the program declares them for `--help` only.
 */
export function applyLogFlags(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): string[] {
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      rest.push(...argv.slice(i));
      break;
    }
    const eq = arg.indexOf('=');
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    if (!Object.hasOwn(LOG_FLAGS, name)) {
      rest.push(arg);
      continue;
    }
    const flag = LOG_FLAGS[name as keyof typeof LOG_FLAGS];
    const value = eq > 0 ? arg.slice(eq + 1) : argv[++i];
    if (value === undefined || value === '') throw new UsageError(`${name} needs a value: ${flag.choices.join(', ')}`);
    if (!(flag.choices as readonly string[]).includes(value))
      throw new UsageError(`${name} must be one of ${flag.choices.join(', ')} (got ${JSON.stringify(value)})`);
    env[flag.env] = value;
  }
  return rest;
}

/** The program's options that every command accepts (the log flags), for help and completion. */
export function globalOptions(command: Command): Option[] {
  let root = command;
  while (root.parent) root = root.parent;
  return root === command ? [] : root.options.filter((o) => o.long !== undefined && Object.hasOwn(LOG_FLAGS, o.long));
}
