import type { Command } from 'commander';
import { intFlag } from '../lib/flags.js';
import { UsageError } from '../lib/usage.js';

interface CreateUserFlags {
  clusterrole?: string;
  role?: string;
  namespace?: string;
  group?: string[];
  days: string;
  dataDir: string;
  kubeconfig?: string;
  context: string;
  kubeconfigOut?: string;
  contextName?: string;
}

export function register(program: Command): void {
  const create = program
    .command('create')
    .description('Create things in the federation that kubectl cannot')
    .addHelpText(
      'after',
      '\nExamples:\n  kitfed create user alice --clusterrole view --namespace team-a --kubeconfig-out alice.kubeconfig\n',
    );
  create
    .command('user')
    .description(
      'Mint a user of the federation API: a client certificate signed by its CA in a new kubeconfig, and optionally a role binding',
    )
    .argument('<name>', 'user name (the certificate CN; RBAC subjects name it)')
    .option('--clusterrole <name>', 'bind this ClusterRole (in --namespace, else cluster-wide)')
    .option('--role <name>', 'bind this Role of --namespace')
    .option('-n, --namespace <ns>', 'grant the role in this namespace (a RoleBinding) and make it the default')
    .option('--group <name>', 'a group of the user (certificate O; repeatable)', (v: string, p: string[] = []) => [
      ...p,
      v,
    ])
    .option('--days <n>', 'certificate lifetime in days', '365')
    .option('--data-dir <dir>', 'the API server data directory holding the CA (pki/ca.key)', '.kitfed')
    .option('--kubeconfig <file>', 'an admin kubeconfig of the federation (default: <data-dir>/kubeconfig)')
    .option('--context <name>', 'context of the federation in --kubeconfig', 'federation')
    .option('--kubeconfig-out <file>', 'write the new kubeconfig here (0600) instead of to stdout')
    .option('--context-name <name>', 'context (and cluster, user) name in the new kubeconfig (default: NAME)')
    .addHelpText(
      'after',
      [
        '\nExamples:',
        '  kitfed create user alice --clusterrole view --namespace team-a --kubeconfig-out alice.kubeconfig',
        '  kitfed create user ci --clusterrole edit --kubeconfig-out ci.kubeconfig',
        '  kitfed create user kitfed:deployer --kubeconfig-out deployer.kubeconfig   # bound by the bootstrap policy\n',
      ].join('\n'),
    )
    .action(async (name: string, opts: CreateUserFlags) => {
      if (opts.clusterrole && opts.role) throw new UsageError('give --clusterrole or --role, not both');
      if (opts.role && !opts.namespace) throw new UsageError('--role needs --namespace (a Role lives in a namespace)');
      const days = intFlag('--days', opts.days, 1, 3650);
      const { join, dirname } = await import('node:path');
      const { mkdir, writeFile } = await import('node:fs/promises');
      const { KubeClient } = await import('../../core/kube-client.js');
      const { loadCredentials } = await import('../../apiserver/index.js');
      const { loadPki, ensureBinding, userBinding, userKubeconfig } = await loadCredentials();
      const pki = await loadPki(opts.dataDir);
      const admin = await KubeClient.fromKubeconfig(
        { file: opts.kubeconfig ?? join(opts.dataDir, 'kubeconfig') },
        opts.context,
      );
      try {
        const role = opts.clusterrole ?? opts.role;
        let bound = '';
        if (role) {
          const binding = userBinding(name, {
            kind: opts.clusterrole ? 'ClusterRole' : 'Role',
            name: role,
            ...(opts.namespace ? { namespace: opts.namespace } : {}),
          });
          const outcome = await ensureBinding(admin, binding);
          bound = `${binding.kind} ${binding.metadata.name}${opts.namespace ? ` in ${opts.namespace}` : ''} (${outcome})`;
        }
        const { kubeconfig, notAfter } = userKubeconfig({
          pki,
          server: admin.server,
          user: name,
          groups: opts.group ?? [],
          days,
          ...(opts.contextName ? { context: opts.contextName } : {}),
          ...(opts.namespace ? { namespace: opts.namespace } : {}),
        });
        if (opts.kubeconfigOut) {
          await mkdir(dirname(opts.kubeconfigOut), { recursive: true });
          await writeFile(opts.kubeconfigOut, kubeconfig, { mode: 0o600 });
        } else process.stdout.write(kubeconfig);
        const groups = opts.group?.length ? `, groups ${opts.group.join(',')}` : '';
        process.stderr.write(
          `user ${name}${groups}: client certificate valid until ${notAfter.toISOString()}` +
            `${bound ? `; ${bound}` : '; no binding created'}` +
            `${opts.kubeconfigOut ? `; kubeconfig written to ${opts.kubeconfigOut}` : ''}\n`,
        );
      } finally {
        admin.close();
      }
    });
}
