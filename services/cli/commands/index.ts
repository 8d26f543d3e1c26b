import type { Command } from 'commander';

/**
 * One subcommand. `kitfed --help` lists `name` and `summary` without loading anything; `load`
 * imports the command's module (which registers the command with commander) only when the
 * command line names it, so each invocation pays for its own command alone.
 *
 * A new command is one module exporting `register(program)`, which adds that one top-level
 * command, and one entry below. Keep the module's top-level imports light (commander,
 * `../lib/*`, never `../main.js`, which imports this table) and import services inside the action:
 * `const { run } = await import('../../my-service/run.js')`.
 */
export interface CommandEntry {
  name: string;
  summary: string;
  load: () => Promise<{ register: (program: Command) => void }>;
  /**
   * Every TLS connection the command makes goes through `KubeClient` (or it makes none): the installed
   * binary may then defer NODE_EXTRA_CA_CERTS to the first connection (core/extra-ca.ts). Leave it unset
   * for a command that uses `fetch`, another client, or runs a service.
   */
  tlsThroughKubeClient?: true;
}

/** Every subcommand, in `kitfed --help` order. */
export const commands: CommandEntry[] = [
  {
    name: 'up',
    summary: 'Bring up the embedded default: federation, members, pipeline',
    load: () => import('./up.js'),
  },
  {
    name: 'apiserver',
    summary: 'Run the Kubernetes-compatible federation API server',
    load: () => import('./apiserver.js'),
  },
  {
    name: 'get',
    summary: 'List federated objects of any kind and their propagation',
    load: () => import('./get.js'),
    tlsThroughKubeClient: true,
  },
  {
    name: 'describe',
    summary: 'Describe a federated object of any kind, cluster by cluster',
    load: () => import('./describe.js'),
    tlsThroughKubeClient: true,
  },
  {
    name: 'logs',
    summary: "Print a workload's pod logs from every member cluster",
    load: () => import('./logs.js'),
    tlsThroughKubeClient: true,
  },
  {
    name: 'plan',
    summary: 'Spread replicas over clusters as Federation v1 does (JSON)',
    load: () => import('./plan.js'),
    tlsThroughKubeClient: true,
  },
  {
    name: 'render',
    summary: 'Render per-cluster manifests from a kit-format manifests repo',
    load: () => import('./render.js'),
    tlsThroughKubeClient: true,
  },
  {
    name: 'deploy',
    summary: 'Apply rendered manifests to every cluster in parallel',
    load: () => import('./deploy.js'),
    tlsThroughKubeClient: true,
  },
  {
    name: 'webhooks',
    summary: 'Run the webhook service (CI image and GitHub push webhooks)',
    load: () => import('./webhooks.js'),
  },
  {
    name: 'runs',
    summary: 'List pipeline runs of a running `kitfed webhooks`',
    load: () => import('./runs.js'),
  },
  {
    name: 'rollout',
    summary: 'Show and steer progressive rollouts: status, pause, resume, promote, abort',
    load: () => import('./rollout.js'),
  },
  {
    name: 'rollback',
    summary: 'Put the manifests repo back to a commit with a revert commit, deployed like any push',
    load: () => import('./rollback.js'),
  },
  {
    name: 'simulate',
    summary: 'Send correctly signed webhooks to a running `kitfed webhooks`',
    load: () => import('./simulate.js'),
  },
  {
    name: 'sandbox',
    summary: 'Run simulated member clusters; inject faults; show status',
    load: () => import('./sandbox.js'),
  },
  {
    name: 'controllers',
    summary: 'Run the federation controller manager',
    load: () => import('./controllers.js'),
  },
  {
    name: 'join',
    summary: 'Join a member cluster to the federation',
    load: () => import('./join.js'),
    tlsThroughKubeClient: true,
  },
  {
    name: 'unjoin',
    summary: 'Remove a member cluster from the federation',
    load: () => import('./unjoin.js'),
    tlsThroughKubeClient: true,
  },
  {
    name: 'create',
    summary: 'Create what kubectl cannot: `create user` (a scoped user and its kubeconfig)',
    load: () => import('./create.js'),
    tlsThroughKubeClient: true,
  },
  {
    name: 'version',
    summary: "Print kitfed's version, git commit and Node version",
    load: () => import('./version.js'),
    tlsThroughKubeClient: true,
  },
  {
    name: 'completion',
    summary: 'Print a shell completion script (bash, zsh or fish)',
    load: () => import('./completion.js'),
    tlsThroughKubeClient: true,
  },
];
