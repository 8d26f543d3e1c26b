import { Option, type Command } from 'commander';
import type { FederationFlags } from '../lib/federation.js';

interface Flags extends FederationFlags {
  server?: boolean;
  output: string;
}

/** The API server's /version (Kubernetes' version.Info, plus kitfedVersion). */
interface ServerVersion {
  gitVersion?: string;
  gitCommit?: string;
  kitfedVersion?: string;
  [key: string]: unknown;
}

export function register(program: Command): void {
  program
    .command('version')
    .description(
      "Print kitfed's version, the git commit it was built from and Node's version; " +
        "with --server also the federation API server's",
    )
    .option('--server', "also print the federation API server's version (GET /version), as kubectl version does")
    .addOption(
      new Option('-o, --output <format>', 'text, json or yaml').choices(['text', 'json', 'yaml']).default('text'),
    )
    .option('--kubeconfig <file>', 'with --server: kubeconfig (default: $KUBECONFIG or .kitfed/kubeconfig)')
    .option('--context <name>', 'with --server: federation context', 'federation')
    .addHelpText('after', '\nExamples:\n  kitfed version\n  kitfed --version\n  kitfed version --server -o json\n')
    .action(async (flags: Flags) => {
      const { kitfedVersion } = await import('../../core/version.js');
      const v = kitfedVersion();
      const clientVersion = {
        kitfedVersion: v.version,
        gitCommit: v.commit,
        gitTreeState: v.treeState,
        buildDate: v.buildDate,
        compiler: v.compiler,
        nodeVersion: process.version,
        platform: `${process.platform}/${process.arch}`,
      };
      const lines = [
        `Client Version: kitfed ${v.version}`,
        `Git Commit: ${v.commit}${v.treeState === 'unknown' ? '' : ` (${v.treeState} tree)`}`,
        `Build Date: ${v.buildDate === 'source' ? 'none (running from source)' : v.buildDate}`,
        `Node Version: ${process.version} (${clientVersion.platform})`,
      ];
      if (!flags.server) return print(flags.output, { clientVersion }, lines);
      const { federationClient } = await import('../lib/federation.js');
      let server: { url: string; version: ServerVersion };
      try {
        const client = await federationClient(flags);
        try {
          server = { url: client.server, version: await client.request<ServerVersion>('GET', '/version') };
        } finally {
          client.close();
        }
      } catch (err) {
        // As kubectl: what is known locally is printed, then the server's failure (exit 1).
        if (flags.output === 'text') process.stdout.write(`${lines.join('\n')}\n`);
        throw err;
      }
      const s = server.version;
      const kitfed = s.kitfedVersion
        ? ` (kitfed ${s.kitfedVersion}${s.gitCommit ? `, commit ${String(s.gitCommit).slice(0, 12)}` : ''})`
        : '';
      lines.push(`Server Version: ${s.gitVersion ?? 'unknown'}${kitfed} at ${server.url}`);
      await print(flags.output, { clientVersion, serverVersion: s }, lines);
    });
}

async function print(format: string, data: object, lines: string[]): Promise<void> {
  if (format === 'text') return void process.stdout.write(`${lines.join('\n')}\n`);
  const { printData } = await import('../lib/federation.js');
  await printData(data, format as 'json' | 'yaml');
}
