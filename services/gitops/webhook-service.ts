/**
 * Assembles the webhook service: event store, image writer, pipeline runner and HTTP server.
 * `startWebhookService` is what `kitfed webhooks` runs and what tests and benchmarks start.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { errors, KitfedError } from '../core/errors.js';
import { createLogger, type Logger } from '../core/log.js';
import { createImageHook } from '../image-deployer/index.js';
import { RepoWriter, RevertRefused } from '../image-deployer/index.js';
import { PermanentWriteError, WriteRetriesExhaustedError } from '../core/write-errors.js';
import type { RollbackRequest, RollbackResponse } from './api.js';
import { API_TOKEN_FILE } from './client.js';
import type { WebhooksConfig } from './config.js';
import { defaultSteps } from './default-steps.js';
import { BranchPoller } from './branch-poller.js';
import { EventStore } from './event-store.js';
import { createGithubHook, githubVerifier } from './github-hook.js';
import { createHttpServer, type Hook } from './http-server.js';
import { createMetrics } from './metrics.js';
import { Notifications, OutboxDispatcher } from './notify.js';
import { PipelineRunner } from './pipeline-runner.js';
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
  readonly wiring: {
    render: string;
    deploy: string;
    image: string;
    github: string;
    notify: string;
    poll: string;
    api: string;
  };
  /** The bearer token clients use (the first configured, or the generated `<dataDir>/api-token`). */
  readonly apiToken: string;
  close(graceMs?: number): Promise<void>;
}

export async function startWebhookService(opts: WebhookServiceOptions): Promise<WebhookService> {
  const { config } = opts;
  const log = opts.log ?? createLogger('webhooks');
  await mkdir(config.dataDir, { recursive: true });
  const store = new EventStore(config.dataDir);
  const tokens = config.apiTokens.length > 0 ? config.apiTokens : [await generatedToken(config.dataDir)];
  const metrics = createMetrics(() => store.pendingCount(), opts.processMetrics ?? false);
  const writers = new Map<string, RepoWriter>();
  const writerFor = (name: string): RepoWriter | undefined => {
    let w = writers.get(name);
    if (!w) {
      w = repoWriter(config, name, log, () => metrics.imageCommits.inc());
      if (w) writers.set(name, w);
    }
    return w;
  };
  const writer = config.image.repo ? writerFor(config.image.repo) : undefined;
  const thread =
    opts.render || opts.steps ? undefined : new StepThread<RenderRequest, RenderReply>('render-worker', 'terminate');
  const render: RenderFn =
    opts.render ??
    ((o) =>
      (thread as StepThread<RenderRequest, RenderReply>).call({ repo: o.repo, out: o.out }, { signal: o.signal }));
  const steps =
    opts.steps ??
    defaultSteps({ dataDir: config.dataDir, gitTimeoutMs: config.timeouts.fetchMs, render, deploy: opts.deploy });
  const notifications = new Notifications(config.notify, config.repos);
  const dispatcher = config.notify
    ? new OutboxDispatcher({ config: config.notify, store, log: log.child({ part: 'notify' }) })
    : undefined;
  // Runs finished by a version before the outbox and never notified.
  if (dispatcher) store.queueUnnotified((run) => notifications.runFinished(run));
  const runner = new PipelineRunner({
    store,
    steps,
    repos: config.repos,
    dataDir: config.dataDir,
    timeouts: config.timeouts,
    log: log.child({ part: 'pipeline' }),
    metrics,
    notifications,
    notified: () => dispatcher?.kick(),
    metricSources: config.metricSources,
    rollouts: config.deploy?.target !== 'federation',
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
    notify: notifications.sinks.join(', ') || 'off',
    poll: config.pollMs > 0 ? `every ${config.pollMs / 1000}s` : 'off',
    api:
      config.apiTokens.length > 0
        ? 'bearer token (config api.token)'
        : `bearer token (${join(config.dataDir, API_TOKEN_FILE)})`,
  };
  const rollback = async (body: RollbackRequest): Promise<RollbackResponse> => {
    const repo = body.repo ? config.repos.find((r) => r.name === body.repo) : config.repos[0];
    if (!repo)
      throw errors.badRequest(
        `repo: ${body.repo} is not configured (repos: ${config.repos.map((r) => r.name).join(', ')})`,
        [{ field: 'repo', message: 'not configured' }],
      );
    const w = writerFor(repo.name)!;
    let r;
    try {
      r = await w.revertTo(body.to, { by: body.by, reason: body.reason });
    } catch (err) {
      if (err instanceof RevertRefused)
        throw err.kind === 'unchanged'
          ? errors.conflict({ group: '', plural: 'rollbacks', name: body.to }, err.message)
          : errors.badRequest(err.message, [{ field: 'to', message: err.message }]);
      if (err instanceof PermanentWriteError) throw new KitfedError(err.message, 502, 'BadGateway');
      if (err instanceof WriteRetriesExhaustedError) throw errors.unavailable(err.message);
      throw err;
    }
    // Queued at once (no need to wait for GitHub's push webhook, which then is a duplicate).
    const accepted = await store.acceptDurably({
      delivery: `rollback-${r.commit}`,
      repo: repo.name,
      ref: `refs/heads/${repo.branch}`,
      after: r.commit,
      before: r.previous,
      trigger: `rollback --to ${r.to.slice(0, 12)}${body.by ? ` by ${body.by}` : ''}`,
    });
    runner.kick(repo.name);
    log.warn(
      { repo: repo.name, commit: r.commit, to: r.to, reverted: r.reverted.length, by: body.by },
      'Rollback commit pushed',
    );
    return {
      repo: repo.name,
      branch: repo.branch,
      commit: r.commit,
      to: r.to,
      reverted: r.reverted.map((c) => c.sha),
      eventId: accepted.eventId,
    };
  };
  const server = createHttpServer({
    hooks: { image: imageHook, github: githubHook },
    store,
    metrics,
    log,
    health: () => ({ queued: store.pendingCount(), ...wiring }),
    tokens,
    control: (runId, action, body) => runner.control(runId, action, body),
    rollback,
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.listen.port, config.listen.host, () => resolve());
  });
  thread?.warm();
  runner.start();
  dispatcher?.kick();
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
    apiToken: tokens[0]!,
    close(graceMs = 10_000) {
      closed ??= (async () => {
        const stopped = new Promise<void>((r) => server.close(() => r()));
        // Held long polls (`GET /runs?wait=…`) are answered now, not at the end of their wait.
        store.changes.close();
        server.closeIdleConnections();
        await poller?.stop();
        await Promise.all([...writers.values()].map((w) => w.idle()));
        await runner.stop(graceMs);
        await dispatcher?.drain(graceMs);
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

async function generatedToken(dataDir: string): Promise<string> {
  const file = join(dataDir, API_TOKEN_FILE);
  if (!existsSync(file))
    await writeFile(file, `${randomBytes(24).toString('hex')}\n`, { mode: 0o600, flag: 'wx' }).catch(() => undefined);
  const token = (await readFile(file, 'utf8')).trim();
  if (!token) throw new Error(`${file} is empty: delete it (a new token is generated) or set api.token`);
  return token;
}

/** The single writer of a repo's branch: image bumps and rollback commits. */
function repoWriter(config: WebhooksConfig, name: string, log: Logger, onCommit: () => void): RepoWriter | undefined {
  const repo = config.repos.find((r) => r.name === name);
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
