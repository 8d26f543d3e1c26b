import { Option, type Command } from 'commander';
import type { RenderOptions } from '../../deploymentizer/index.js';
import { UsageError } from '../lib/usage.js';

interface RenderFlags {
  repo?: string;
  workdir?: string;
  out?: string;
  conf?: string;
  cluster?: string[];
  clusterName?: string;
  type?: string[];
  clusterType?: string;
  resource?: string[];
  deployId?: string;
  fastRollback?: boolean | string;
  inlineExternalEnv?: boolean;
  check?: boolean;
  strict?: boolean;
  save?: string;
  clean?: string;
  debug?: string;
  output: string;
}

const collect = (value: string, prior: string[] = []): string[] => [
  ...prior,
  ...value
    .split(',')
    .map((v) => v.trim())
    .filter(Boolean),
];

/** kit's booleans are the literal strings `true`/`false`. */
function bool(value: string | boolean | undefined, flag: string): boolean | undefined {
  if (value === undefined || typeof value === 'boolean') return value;
  if (value === 'true') return true;
  if (value === 'false' || value === '') return false;
  throw new UsageError(`${flag} must be true or false (got ${JSON.stringify(value)})`);
}

/** Values of a list flag plus its kit spelling; the kit env variable only when neither flag is given. */
function list(flag: string[] | undefined, kitFlag: string | undefined, envName: string): string[] | undefined {
  const all = [...(flag ?? []), ...(kitFlag ? collect(kitFlag) : [])];
  if (all.length > 0) return all;
  const fromEnv = process.env[envName];
  return fromEnv ? collect(fromEnv) : undefined;
}

/** Flags first, then kit's flag spellings, then kit's environment variables. */
function toOptions(f: RenderFlags): RenderOptions {
  const env = process.env;
  const deployId = f.deployId ?? (env.DEPLOY_ID || undefined);
  const fastRollback = bool(f.fastRollback ?? env.FAST_ROLLBACK, '--fast-rollback') ?? false;
  const resources = list(f.resource, undefined, 'RESOURCE');
  if (deployId !== undefined && !resources)
    throw new UsageError('You must include the resource if deploying a specific id (--resource with --deploy-id)');
  if (fastRollback && deployId === undefined)
    throw new UsageError('You must include the id if configuring fastRollbacks (--deploy-id with --fast-rollback)');
  if (f.output !== 'text' && f.output !== 'json')
    throw new UsageError(`--output must be text or json (got ${JSON.stringify(f.output)})`);
  const save = bool(f.save ?? env.SAVE, '--save');
  bool(f.clean ?? env.CLEAN, '--clean');
  const opts: RenderOptions = {
    repo: f.repo ?? f.workdir ?? (env.WORKDIR || process.cwd()),
    check: f.check === true || save === false,
    fastRollback,
    inlineExternalEnv: f.inlineExternalEnv === true,
  };
  if (f.strict) opts.strict = true;
  const conf = f.conf ?? (env.CONF || undefined);
  if (conf) opts.conf = conf;
  if (f.out) opts.out = f.out;
  const clusters = list(f.cluster, f.clusterName, 'CLUSTER_NAME');
  const types = list(f.type, f.clusterType, 'CLUSTER_TYPE');
  if (clusters) opts.clusters = clusters;
  if (types) opts.types = types;
  if (resources) opts.resources = resources;
  if (deployId !== undefined) opts.deployId = deployId;
  return opts;
}

export function register(program: Command): void {
  program
    .command('render')
    .description('Render per-cluster manifests from a kit-format manifests repo (the deploymentizer)')
    .option('--repo <dir>', 'manifests repo (kit --workdir; env WORKDIR)')
    .option('--out <dir>', 'output dir (default: kit.yaml output.path, else <repo>/.kitfed/rendered)')
    .option('-k, --conf <file>', 'kit.yaml (default: <repo>/kit.yaml, then <repo>/templates/kit.yaml; env CONF)')
    .option('--cluster <name>', 'only this cluster metadata.name; repeatable (env CLUSTER_NAME)', collect)
    .option('-t, --type <type>', 'only clusters of this metadata.type; repeatable (env CLUSTER_TYPE)', collect)
    .option('-r, --resource <name>', 'only this resource; repeatable (env RESOURCE)', collect)
    .option('--deploy-id <id>', 'set deployment.id in the view; needs --resource (env DEPLOY_ID)')
    .option('--fast-rollback', 'set deployment.fastRollback; needs --deploy-id (env FAST_ROLLBACK=true)')
    .option(
      '--inline-external-env',
      'write external env values into manifests as kit did (default: a Secret + secretKeyRef)',
    )
    .option('--check', 'validate and render in memory; write nothing (env SAVE=false)')
    .option('--strict', 'undefined template variables are errors (also kit.yaml kitfed.strict: true)')
    .option('-o, --output <format>', 'text or json', 'text')
    .addOption(new Option('-w, --workdir <dir>').hideHelp())
    .addOption(new Option('--clusterName <name>').hideHelp())
    .addOption(new Option('--clusterType <type>').hideHelp())
    .addOption(new Option('--deployId <id>').hideHelp())
    .addOption(new Option('--fastRollback <boolean>').hideHelp())
    .addOption(new Option('-s, --save <boolean>').hideHelp())
    .addOption(new Option('-c, --clean <boolean>').hideHelp())
    .addOption(new Option('-d, --debug <boolean>').hideHelp())
    .addHelpText(
      'after',
      `
kit's flag spellings (--workdir, --clusterName, --clusterType, --deployId, --fastRollback true, --save, --clean,
--debug) and environment variables (WORKDIR, CONF, CLUSTER_NAME, CLUSTER_TYPE, RESOURCE, DEPLOY_ID, FAST_ROLLBACK,
SAVE, CLEAN) are accepted too; --clean and --debug are ignored. Exit codes: 0 ok, 1 render/validation error (every problem listed), 2 usage.

Examples:
  kitfed render --repo . --out /tmp/rendered
  kitfed render --repo . --check
  kitfed render --repo . --type staging --resource hello --deploy-id abc123 --fast-rollback
`,
    )
    .action(async (flags: RenderFlags) => {
      const options = toOptions(flags);
      const { render } = await import('../../deploymentizer/index.js');
      const result = await render(options);
      if (flags.output === 'json') {
        process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
        return;
      }
      for (const c of result.clusters) {
        process.stdout.write(`${c.name} (${c.type}): ${c.files.length} objects ${c.digest.slice(0, 19)}\n`);
      }
      for (const w of result.warnings)
        process.stderr.write(`warning: ${[w.file, w.path, w.message].filter(Boolean).join(': ')}\n`);
      process.stdout.write(result.written ? `wrote ${result.out}\n` : `check ok: nothing written\n`);
    });
}
