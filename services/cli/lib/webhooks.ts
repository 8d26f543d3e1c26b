/** How CLI commands reach a running `kitfed webhooks`: its URL and bearer token, from flags or its config. */
import type { Command } from 'commander';
import type { GitopsClient } from '../../gitops/index.js';
import { UsageError } from './usage.js';

export interface ServiceFlags {
  url?: string;
  config?: string;
  token?: string;
  tokenFile?: string;
}

/** The flags every command that talks to the webhook service takes. */
export function serviceOptions(cmd: Command): Command {
  return cmd
    .option('--url <url>', 'service URL (default: from --config, else http://127.0.0.1:8090)')
    .option('--config <file>', 'the webhook service config: its listen address and API token')
    .option(
      '--token <token>',
      'API bearer token (default: --token-file, $KITFED_WEBHOOKS_TOKEN, the config, .kitfed/webhooks-token)',
    )
    .option('--token-file <file>', 'file holding the API bearer token');
}

export async function connect(flags: ServiceFlags): Promise<GitopsClient> {
  const { serviceUrl, loadConfig, ConfigError, GitopsClient, resolveToken } = await import('../../gitops/index.js');
  let cfg;
  try {
    cfg = flags.config ? await loadConfig(flags.config) : undefined;
  } catch (err) {
    if (err instanceof ConfigError) throw new UsageError(err.message);
    throw err;
  }
  const token = resolveToken({ token: flags.token, tokenFile: flags.tokenFile, config: cfg });
  if (!token)
    throw new UsageError(
      'no API token: give --token, --token-file, --config (its api.token or the token in its dataDir), or set KITFED_WEBHOOKS_TOKEN',
    );
  return new GitopsClient(serviceUrl(cfg, flags.url), token);
}
