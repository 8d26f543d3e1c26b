import type { Command } from 'commander';
import { UsageError } from '../lib/usage.js';

interface Common {
  config: string;
  url?: string;
}

async function config(file: string) {
  const { loadConfig, ConfigError } = await import('../../gitops/index.js');
  try {
    return await loadConfig(file);
  } catch (err) {
    if (err instanceof ConfigError) throw new UsageError(err.message);
    throw err;
  }
}

function report(res: { status: number; body: unknown; delivery?: string }): void {
  process.stdout.write(
    `${res.status}${res.delivery ? ` (delivery ${res.delivery})` : ''}\n${JSON.stringify(res.body, null, 2)}\n`,
  );
  if (res.status >= 400) process.exitCode = 1;
}

export function register(program: Command): void {
  const sim = program
    .command('simulate')
    .description('Send correctly signed webhooks to a running `kitfed webhooks` (secrets from its config)')
    .addHelpText(
      'after',
      '\nExamples:\n  kitfed simulate push --config .kitfed/webhooks.yaml\n  kitfed simulate ' +
        'image ghcr.io/kitfed-demo/hello:master-9f8e7d6 --config .kitfed/webhooks.yaml\n',
    );
  sim
    .command('push')
    .description('Send a GitHub push event for a configured repo (default: the first) at its branch head or --commit')
    .requiredOption('--config <file>', 'the webhook service config')
    .option('--url <url>', 'service URL (default: from the config listen address)')
    .option('--repo <name>', 'repos[].name to push for')
    .option('--commit <sha>', 'the pushed commit (default: the branch head, read with git ls-remote)')
    .addHelpText(
      'after',
      '\nExamples:\n  kitfed simulate push --config webhooks.yaml\n  kitfed simulate push ' +
        '--config webhooks.yaml --commit 9ce261f04bcec09831cb966200c0c40f8130054c\n',
    )
    .action(async (opts: Common & { repo?: string; commit?: string }) => {
      const cfg = await config(opts.config);
      const { simulatePush } = await import('../../gitops/index.js');
      report(await simulatePush(cfg, opts));
    });
  sim
    .command('image')
    .description(
      'Send a CI "image built" webhook for NAME:TAG (repository, branch and commit derived from it unless given)',
    )
    .argument('<image>', 'full image reference, e.g. registry.example/acme/web:master-1a2b3c4')
    .requiredOption('--config <file>', 'the webhook service config')
    .option('--url <url>', 'service URL (default: from the config listen address)')
    .option('--repository <org/name>', 'image repository (default: the image name without registry)')
    .option('--branch <branch>', 'service branch (default: from a <branch>-<sha> tag, else master)')
    .option('--commit <sha>', 'service commit (default: from a <branch>-<sha> tag)')
    .option('--message <text>', 'added to the manifests commit message')
    .addHelpText(
      'after',
      '\nExamples:\n  kitfed simulate image registry.example/acme/web:master-1a2b3c4 --config webhooks.yaml\n',
    )
    .action(
      async (
        image: string,
        opts: Common & { repository?: string; branch?: string; commit?: string; message?: string },
      ) => {
        if (!/^[^\s:@/][^\s]*:[^\s/]+$/.test(image)) throw new UsageError(`image ${image}: expected NAME:TAG`);
        const cfg = await config(opts.config);
        const { simulateImage } = await import('../../gitops/index.js');
        report(await simulateImage(cfg, image, opts));
      },
    );
}
