import os from 'node:os';
import path from 'node:path';
import { Option, type Command } from 'commander';
import type { DeployOptions } from '../../deployer/index.js';
import { UsageError } from '../lib/usage.js';
import { durationFlag, intFlag } from '../lib/flags.js';

interface DeployFlags {
  dir?: string;
  manifestsDir?: string;
  kubeconfig?: string;
  kubeconfigs?: string;
  target: string;
  context?: string;
  folder?: string;
  cluster?: string[];
  commit?: string;
  commitTime?: string;
  force?: boolean;
  dryRun?: boolean;
  diff?: boolean;
  exitCode?: boolean;
  prune?: boolean;
  wait: boolean;
  reapply?: boolean;
  recreate?: boolean;
  timeout: string;
  requestTimeout?: string;
  concurrency: string;
  failFast?: boolean;
  allowFailure?: string[];
  fieldManager: string;
  inventoryNamespace: string;
  report?: string;
  output: string;
}

const collect = (value: string, prior: string[] = []): string[] => [
  ...prior,
  ...value
    .split(',')
    .map((v) => v.trim())
    .filter(Boolean),
];

/**
 * Where `kitfed deploy` keeps parsed manifests between runs: `$KITFED_CACHE_DIR` (empty: nowhere), else
 * `$XDG_CACHE_HOME/kitfed`, else `~/.cache/kitfed`.
 */
function cacheDir(env = process.env): string | undefined {
  if (env.KITFED_CACHE_DIR !== undefined) return env.KITFED_CACHE_DIR || undefined;
  const base = env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(base, 'kitfed');
}

function toOptions(dirArg: string | undefined, f: DeployFlags): DeployOptions {
  const dir = dirArg ?? f.dir ?? f.manifestsDir ?? process.env.MANIFESTS_DIR;
  if (!dir) throw new UsageError('which manifests? kitfed deploy DIR (the render output: one folder per cluster)');
  if (f.target !== 'clusters' && f.target !== 'federation')
    throw new UsageError(`--target must be clusters or federation (got ${JSON.stringify(f.target)})`);
  if (f.target === 'clusters' && !f.kubeconfig && !f.kubeconfigs)
    throw new UsageError('give --kubeconfig FILE (one context per cluster) or --kubeconfigs DIR (kit layout)');
  if (f.kubeconfig && f.kubeconfigs) throw new UsageError('--kubeconfig and --kubeconfigs exclude each other');
  if (f.target === 'federation' && !f.kubeconfig) throw new UsageError('--target federation needs --kubeconfig FILE');
  if ((f.commit === undefined) !== (f.commitTime === undefined))
    throw new UsageError('--commit and --commit-time go together');
  if (f.commitTime !== undefined && !Number.isFinite(Date.parse(f.commitTime)))
    throw new UsageError(`--commit-time must be an ISO 8601 time (got ${JSON.stringify(f.commitTime)})`);
  if (f.diff && f.dryRun) throw new UsageError('--diff and --dry-run exclude each other');
  if (f.exitCode && !f.diff) throw new UsageError('--exit-code only goes with --diff');
  if (!['auto', 'json', 'text'].includes(f.output))
    throw new UsageError(`--output must be auto, json or text (got ${JSON.stringify(f.output)})`);
  const concurrency = intFlag('--concurrency', f.concurrency, 1);
  const o: DeployOptions = {
    dir,
    target: f.target,
    force: f.force === true,
    dryRun: f.dryRun === true,
    diff: f.diff === true,
    prune: f.prune === true,
    wait: f.wait,
    reapply: f.reapply === true,
    recreate: f.recreate === true,
    timeoutMs: durationFlag('--timeout', f.timeout),
    concurrency,
    failFast: f.failFast === true,
    fieldManager: f.fieldManager,
    inventoryNamespace: f.inventoryNamespace,
  };
  if (f.requestTimeout) o.requestTimeoutMs = durationFlag('--request-timeout', f.requestTimeout);
  if (f.kubeconfig) o.kubeconfig = f.kubeconfig;
  if (f.kubeconfigs) o.kubeconfigs = f.kubeconfigs;
  if (f.context) o.context = f.context;
  if (f.folder) o.folder = f.folder;
  if (f.cluster) o.clusters = f.cluster;
  if (f.allowFailure) o.allowFailure = f.allowFailure;
  if (f.commit !== undefined) o.commit = f.commit;
  if (f.commitTime !== undefined) o.commitTime = f.commitTime;
  const cache = cacheDir();
  if (cache) o.cacheDir = cache;
  return o;
}

export function register(program: Command): void {
  program
    .command('deploy')
    .description(
      'Apply rendered manifests (one folder per cluster) to every cluster in parallel: ordered, health-checked, pruned, never backwards',
    )
    .argument('[dir]', 'render output: <dir>/<cluster>/*.yaml')
    .option('--kubeconfig <file>', 'clusters = the contexts of this file; folder = context name')
    .option('--kubeconfigs <dir>', 'kit layout: one kubeconfig per file with a top-level metadata.name (the folder)')
    .option('--target <target>', 'clusters or federation (one folder to the federation API)', 'clusters')
    .option('--context <name>', 'federation target: kubeconfig context (default: federation, else current-context)')
    .option('--folder <name>', 'federation target: folder to apply (default: federation, else the only one)')
    .option('--cluster <name>', 'only this cluster; repeatable', collect)
    .option('--commit <sha>', 'source commit (recorded on objects; never-backwards guard; with --commit-time)')
    .option('--commit-time <iso>', "the commit's time, ISO 8601 (committer date)")
    .option('--force', 'deploy even over a newer commit')
    .option('--dry-run', 'server-side dry run: validate everything, change nothing')
    .option('--diff', 'print a unified diff of live vs desired per cluster; change nothing')
    .option('--exit-code', 'with --diff: exit 1 when anything differs')
    .option('--prune', 'delete objects kitfed applied before that are no longer in the folder')
    .option('--no-wait', 'do not wait for workloads to become healthy')
    .option('--reapply', 'apply every object even when unchanged since the last deploy (reverts hand-made drift)')
    .option('--recreate', 'delete and re-create an object whose change touches an immutable field (e.g. a selector)')
    .option('--timeout <duration>', 'per-cluster deadline (plan, apply, health, prune)', '5m')
    .option('--request-timeout <duration>', 'per-request timeout (default: min(30s, --timeout))')
    .option('--concurrency <n>', 'concurrent requests per cluster', '8')
    .option('--fail-fast', 'cancel the other clusters on the first failure')
    .option(
      '--allow-failure <cluster>',
      "a failure of this cluster does not fail the deploy (kit's allowFailure); repeatable",
      collect,
    )
    .option('--field-manager <name>', 'server-side apply field manager', 'kitfed')
    .option('--inventory-namespace <ns>', 'namespace of the per-cluster inventory ConfigMap', 'kube-system')
    .option('--report <file>', 'write the JSON report here')
    .option('-o, --output <format>', 'auto (bars on a terminal, JSON lines otherwise), json or text', 'auto')
    .addOption(new Option('-m, --manifests-dir <dir>').hideHelp())
    .addOption(new Option('--dir <dir>').hideHelp())
    .addHelpText(
      'after',
      `
Parsed manifests are remembered between runs (by file path, inode, mtime and size; files holding a Secret never)
in $KITFED_CACHE_DIR, default $XDG_CACHE_HOME/kitfed or ~/.cache/kitfed; KITFED_CACHE_DIR= (empty) turns it off.

Exit codes: 0 every cluster succeeded (clusters with --allow-failure may fail); 1 a cluster failed or was refused
(older commit), an invalid manifest (nothing deployed anywhere), or with --diff --exit-code: differences; 2 usage.

Examples:
  kitfed deploy .kitfed/rendered --kubeconfig .kitfed/kubeconfig --commit $SHA --commit-time $TIME --prune
  kitfed deploy out --kubeconfigs /kubeconfigs --diff --exit-code
  kitfed deploy out --target federation --kubeconfig .kitfed/kubeconfig --folder us-east
`,
    )
    .action(async (dirArg: string | undefined, flags: DeployFlags) => {
      const options = toOptions(dirArg, flags);
      const { runDeploy } = await import('../../deployer/index.js');
      const code = await runDeploy(options, {
        output: flags.output as 'auto' | 'json' | 'text',
        exitCode: flags.exitCode === true,
        ...(flags.report ? { reportFile: flags.report } : {}),
      });
      if (code !== 0) process.exitCode = code;
    });
}
