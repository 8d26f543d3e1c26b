/**
 * Assembles the webhook service: event store, image writer, pipeline runner and HTTP server.
 * `startWebhookService` is what `kitfed webhooks` runs and what tests and benchmarks start.
 */
import { mkdir } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { errors } from '../core/errors.js';
import { createLogger, type Logger } from '../core/log.js';
import { createImageHook } from '../image-deployer/image-hook.js';
import { RepoWriter } from '../image-deployer/repo-writer.js';
import type { WebhooksConfig } from './config.js';
import { defaultSteps } from './default-steps.js';
import { BranchPoller } from './branch-poller.js';
import { EventStore, type RunRecord } from './event-store.js';
import { createGithubHook, githubVerifier } from './github-hook.js';
import { createHttpServer, type Hook } from './http-server.js';
import { createMetrics } from './metrics.js';
import { PipelineRunner } from './pipeline-runner.js';
import { RunNotifier } from './run-notifier.js';
import type { DeployStep, PipelineSteps } from './pipeline-steps.js';
import type { RenderFn } from './render-step.js';
import type { RenderReply, RenderRequest } from './render-worker.js';
import { StepThread } from './step-thread.js';

export interface WebhookServiceOptions {
  readonly config: WebhooksConfig;
  /** Replaces every pipeline step (tests of the runner itself). */
  readonly steps?: PipelineSteps;
  /** The render function; default: the deploymentizer's `render`. */
  readonly render?: RenderFn;
  /** The deploy step; without one, runs stop after render ("deploy: not configured"). */
  readonly deploy?: DeployStep;
  readonly log?: Logger;
  /** Collect process metrics too (the CLI does; tests do not). */
  readonly processMetrics?: boolean;
}

export interface WebhookService {
  readonly url: string;
  readonly store: EventStore;
  readonly runner: PipelineRunner;
  readonly writer: RepoWriter | undefined;
  /** What each part is wired to, as `kitfed webhooks` prints it. */
  readonly wiring: { render: string; deploy: string; image: string; github: string; notify: string; poll: string };
  close(graceMs?: number): Promise<void>;
}

export async function startWebhookService(opts: WebhookServiceOptions): Promise<WebhookService> {
  const { config } = opts;
  const log = opts.log ?? createLogger('webhooks');
  await mkdir(config.dataDir, { recursive: true });
  const store = new EventStore(config.dataDir);
  const metrics = createMetrics(() => store.pendingCount(), opts.processMetrics ?? false);
  const writer = imageWriter(config, log, () => metrics.imageCommits.inc());
  const thread =
    opts.render || opts.steps ? undefined : new StepThread<RenderRequest, RenderReply>('render-worker', 'terminate');
  const render: RenderFn =
    opts.render ??
    ((o) =>
      (thread as StepThread<RenderRequest, RenderReply>).call({ repo: o.repo, out: o.out }, { signal: o.signal }));
  const steps =
    opts.steps ??
    defaultSteps({ dataDir: config.dataDir, gitTimeoutMs: config.timeouts.fetchMs, render, deploy: opts.deploy });
  const notifier = config.notify
    ? new RunNotifier({ ...config.notify, store, log: log.child({ part: 'notify' }) })
    : undefined;
  const runner = new PipelineRunner({
    store,
    steps,
    repos: config.repos,
    dataDir: config.dataDir,
    timeouts: config.timeouts,
    log: log.child({ part: 'pipeline' }),
    metrics,
    ...(notifier ? { onFinished: (run: RunRecord) => notifier.notify(run) } : {}),
  });

  const imageHook: Hook =
    writer && config.imageSecrets.length > 0
      ? createImageHook({
          secrets: config.imageSecrets,
          verifyGithub: githubVerifier(config.githubSecrets),
          writer,
          packageBranch: config.image.packageBranch,
          log: log.child({ part: 'image-deployer' }),
          onResult: (r) => {
            metrics.deliveries.inc({ hook: 'image', result: r });
            if (r !== 'rejected') metrics.imageBumps.inc({ result: r });
          },
        })
      : () => Promise.reject(errors.notFound({ group: '', plural: 'hooks', name: 'image' }));
  const githubHook = createGithubHook({
    secrets: config.githubSecrets,
    store,
    repos: config.repos,
    log: log.child({ part: 'github' }),
    onAccepted: (repo) => runner.kick(repo),
    onPackage: imageHook,
    onResult: (r) => metrics.deliveries.inc({ hook: 'github', result: r }),
  });
  const wiring = {
    render: opts.steps || opts.render ? 'custom' : 'deploymentizer (worker thread)',
    deploy: opts.steps
      ? opts.steps.deploy
        ? 'custom'
        : 'not configured'
      : opts.deploy
        ? 'deployer'
        : 'not configured',
    image:
      writer && config.imageSecrets.length > 0
        ? `${config.image.repo} (${config.repos.find((r) => r.name === config.image.repo)?.branch})`
        : 'off',
    github: config.githubSecrets.length > 0 ? `${config.repos.length} repo(s)` : 'off',
    notify: config.notify ? new URL(config.notify.url).origin : 'off',
    poll: config.pollMs > 0 ? `every ${config.pollMs / 1000}s` : 'off',
  };
  const server = createHttpServer({
    hooks: { image: imageHook, github: githubHook },
    store,
    metrics,
    log,
    health: () => ({ queued: store.pendingCount(), ...wiring }),
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.listen.port, config.listen.host, () => resolve());
  });
  thread?.warm();
  runner.start();
  notifier?.resume();
  const poller =
    config.pollMs > 0
      ? new BranchPoller({
          repos: config.repos,
          store,
          intervalMs: config.pollMs,
          log: log.child({ part: 'poll' }),
          onAccepted: (repo) => runner.kick(repo),
        })
      : undefined;
  poller?.start();
  const addr = server.address() as AddressInfo;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  let closed: Promise<void> | undefined;
  return {
    url: `http://${host}:${addr.port}`,
    store,
    runner,
    writer,
    wiring,
    close(graceMs = 10_000) {
      closed ??= (async () => {
        const stopped = new Promise<void>((r) => server.close(() => r()));
        server.closeIdleConnections();
        await poller?.stop();
        await writer?.idle();
        await runner.stop(graceMs);
        await notifier?.drain(graceMs);
        thread?.stop();
        (opts.deploy ?? opts.steps?.deploy)?.close?.();
        server.closeAllConnections();
        await stopped;
        store.close();
      })();
      return closed;
    },
  };
}

function imageWriter(config: WebhooksConfig, log: Logger, onCommit: () => void): RepoWriter | undefined {
  const repo = config.repos.find((r) => r.name === config.image.repo);
  if (!repo) return undefined;
  return new RepoWriter({
    url: repo.url,
    branch: repo.branch,
    workDir: join(config.dataDir, 'image-writer', repo.name.replace(/[^A-Za-z0-9._-]/g, '_')),
    committer: config.image.committer,
    maxAttempts: config.image.maxAttempts,
    log: log.child({ part: 'image-deployer', repo: repo.name }),
    onCommit,
  });
}
