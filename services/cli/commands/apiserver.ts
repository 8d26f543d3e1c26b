import type { Command } from 'commander';

interface Flags {
  listen: string;
  dataDir: string;
  storage?: string;
  tlsCert?: string;
  tlsKey?: string;
  tokenAuthFile?: string;
  encryptionProviderConfig?: string;
  insecure?: boolean;
  kubeconfigOut?: string;
  etcdCafile?: string;
  etcdCertfile?: string;
  etcdKeyfile?: string;
  console?: boolean;
  consoleWebhooksUrl?: string;
  authorizationMode?: string;
  serviceAccountSigningKeyFile?: string;
  serviceAccountKeyFile?: string[];
}

export function register(program: Command): void {
  program
    .command('apiserver')
    .description(
      'Run the Kubernetes-compatible federation API server (HTTPS, tokens, SQLite or etcd, Secrets encrypted at rest)',
    )
    .option('--listen <host:port>', 'address to listen on', '127.0.0.1:6443')
    .option('--data-dir <dir>', 'state directory: SQLite database, PKI, token file, encryption key', '.kitfed')
    .option(
      '--storage <url>',
      'sqlite://FILE (default: <data-dir>/federation.db), etcd://HOST:PORT[,HOST:PORT...] (etcds:// for TLS), or memory://',
    )
    .option('--tls-cert <file>', 'serving certificate (default: generated in <data-dir>/pki)')
    .option('--tls-key <file>', 'serving key')
    .option(
      '--token-auth-file <file>',
      'static bearer tokens, kube CSV format (default: <data-dir>/tokens.csv with an admin token)',
    )
    .option(
      '--encryption-provider-config <file>',
      'EncryptionConfiguration for data at rest (default: generated AES-GCM key for Secrets)',
    )
    .option('--etcd-cafile <file>', 'CA of an etcd served over TLS (etcds://)')
    .option('--etcd-certfile <file>', 'client certificate for etcd')
    .option('--etcd-keyfile <file>', 'client key for etcd')
    .option('--insecure', 'plain HTTP without authentication (loopback development only)')
    .option('--authorization-mode <mode>', 'RBAC, or AlwaysAllow (any authenticated user may do anything)', 'RBAC')
    .option(
      '--service-account-signing-key-file <file>',
      'PEM private key signing ServiceAccount tokens (default: <data-dir>/pki/sa.key, generated)',
    )
    .option(
      '--service-account-key-file <file>',
      'PEM public key that also verifies ServiceAccount tokens (repeatable; <data-dir>/pki/sa.*.pub are read too)',
      (v: string, prev: string[] = []) => [...prev, v],
    )
    .option('--kubeconfig-out <file>', 'write a kubeconfig for this server (context "federation")')
    .option('--console', 'serve the web console under /console/ (docs/console.md)')
    .option('--console-webhooks-url <url>', 'the webhook service whose pipeline runs the console shows')
    .addHelpText(
      'after',
      '\nExamples:\n  kitfed apiserver --listen 127.0.0.1:6443 --kubeconfig-out ' +
        '.kitfed/kubeconfig\n  kitfed apiserver --storage etcd://127.0.0.1:2379,127.0.0.1:22379 --listen 0.0.0.0:6443\n',
    )
    .action(async (opts: Flags) => {
      const { runApiServer } = await import('../../apiserver/index.js');
      await runApiServer(opts);
    });
}
