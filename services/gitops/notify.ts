/**
 * Notifications: what a run and its rollout report, and to whom. Each state change writes its
 * messages to the outbox (SQLite, the same transaction as the state), and one dispatcher per sink
 * delivers them in order with retries, so nothing is lost to a crash or an unreachable receiver:
 *
 * - `webhook`: signed JSON (`X-Kitfed-Signature-256`, HMAC-SHA256 as the image webhook): `run.finished`
 *   for every finished run, `rollout.stage` for every stage transition;
 * - `slack`: a Slack-compatible incoming webhook (`{text}`) for stage results, approvals, pauses,
 *   finished rollouts and rollbacks;
 * - `github`: commit statuses (`POST /repos/{owner}/{repo}/statuses/{sha}` through @octokit/core, any
 *   API base URL: GitHub Enterprise): one context per rollout stage, or `kitfed/deploy` without a rollout.
 *
 * Network errors, 429 and 5xx are retried with backoff (0.5 s doubling, 6 attempts, cockatiel); other
 * 4xx are refused and not resent. What is undelivered at shutdown is delivered on the next start.
 * Credentials (webhook secret, Slack URL, GitHub token) are never logged.
 */
import { Octokit } from '@octokit/core';
import { ExponentialBackoff, handleWhen, retry } from 'cockatiel';
import type { Logger } from '../core/log.js';
import { IMAGE_SIGNATURE_HEADER, signImageBody } from '../image-deployer/index.js';
import type { RolloutStatus, RunRecord, StageStatus } from './api.js';
import type { WebhooksConfig } from './config.js';
import type { EventStore, OutboxItem, OutboxRow } from './event-store.js';

export type NotifyConfig = NonNullable<WebhooksConfig['notify']>;

const short = (sha: string): string => sha.slice(0, 12);

/** GitHub limits a status description to 140 characters. */
const clip = (s: string, n = 140): string => (s.length <= n ? s : `${s.slice(0, n - 1)}…`);

/** What notifications name of a run. */
export type RunRef = Pick<RunRecord, 'id' | 'kind' | 'repo' | 'ref' | 'commit' | 'status'>;

export type GithubState = 'pending' | 'success' | 'failure' | 'error';

interface GithubPayload {
  owner: string;
  repo: string;
  sha: string;
  state: GithubState;
  context: string;
  description: string;
  target_url?: string;
}

function runSummary(run: RunRef): Record<string, unknown> {
  return { id: run.id, kind: run.kind, repo: run.repo, ref: run.ref, commit: run.commit, status: run.status };
}

function stageStatusOf(s: StageStatus, rollout: RolloutStatus): { state: GithubState; description: string } {
  switch (s.state) {
    case 'Succeeded':
      return {
        state: 'success',
        description: `${s.clusters.length} cluster(s) healthy${s.bakeSeconds ? ` through a ${s.bakeSeconds}s bake` : ''}`,
      };
    case 'Failed':
      return { state: 'failure', description: s.message ?? 'failed' };
    case 'Progressing':
      return {
        state: 'pending',
        description: `deploying batch ${s.batch + 1}/${s.batches.length}: ${(s.batches[s.batch] ?? []).join(', ')}`,
      };
    case 'Baking':
      return { state: 'pending', description: `baking until ${s.bakeEndsAt ?? '?'}` };
    case 'WaitingForApproval':
      return { state: 'pending', description: 'waiting for approval (kitfed rollout promote)' };
    case 'Paused':
      return { state: 'pending', description: 'paused (kitfed rollout resume)' };
    case 'Pending':
      if (rollout.phase === 'Failed' || rollout.phase === 'Aborted' || rollout.phase === 'Superseded')
        return {
          state: 'error',
          description: `not started: rollout ${rollout.phase.toLowerCase()}${rollout.supersededBy ? ` by ${short(rollout.supersededBy)}` : ''}`,
        };
      return { state: 'pending', description: 'waiting for earlier stages' };
  }
}

/** Maps run and rollout events to outbox items for the configured sinks (pure apart from the config). */
export class Notifications {
  constructor(
    private readonly config: NotifyConfig | undefined,
    private readonly repos: ReadonlyArray<{ name: string }>,
  ) {}

  get sinks(): string[] {
    const c = this.config;
    return [...(c?.url ? ['webhook'] : []), ...(c?.slack ? ['slack'] : []), ...(c?.github ? ['github'] : [])];
  }

  private github(run: RunRef, context: string, state: GithubState, description: string): OutboxItem[] {
    const gh = this.config?.github;
    if (!gh) return [];
    const [owner = '', repo = ''] = run.repo.split('/');
    const ctx = `${gh.context}/${context}`;
    const payload: GithubPayload = {
      owner,
      repo,
      sha: run.commit,
      state,
      context: ctx,
      description: clip(description),
    };
    if (gh.targetUrl) payload.target_url = gh.targetUrl.replaceAll('{run}', String(run.id));
    return [
      {
        sink: 'github',
        event: 'status',
        delivery: `status-${run.id}-${ctx}-${state}`,
        key: `${run.commit}|${ctx}`,
        payload,
      },
    ];
  }

  private slack(text: string, delivery: string): OutboxItem[] {
    if (!this.config?.slack) return [];
    return [{ sink: 'slack', event: 'message', delivery, payload: { text } }];
  }

  /** A deploy without a rollout started: a pending status for its commit (a rollout reports per stage). */
  runStarted(run: RunRef): OutboxItem[] {
    if (run.kind === 'rollback') return [];
    return this.github(run, 'deploy', 'pending', 'deploying');
  }

  /** A stage changed state (`webhook`: every change; statuses: every change; Slack: the ones people act on). */
  stage(run: RunRef, rollout: RolloutStatus, s: StageStatus, webhook = true): OutboxItem[] {
    const out: OutboxItem[] = [];
    const seq = rollout.history.length;
    if (webhook && this.config?.url)
      out.push({
        sink: 'webhook',
        event: 'rollout.stage',
        delivery: `run-${run.id}-stage-${s.name}-${s.state}-${seq}`,
        payload: { event: 'rollout.stage', run: runSummary(run), phase: rollout.phase, stage: s },
      });
    const st = stageStatusOf(s, rollout);
    out.push(...this.github(run, `rollout/${s.name}`, st.state, st.description));
    const who = `${run.repo} ${short(run.commit)} (run ${run.id})`;
    const text: Partial<Record<StageStatus['state'], string>> = {
      Succeeded: `:white_check_mark: ${who}: stage ${s.name} succeeded on ${s.clusters.join(', ') || 'no clusters'}`,
      Failed: `:x: ${who}: stage ${s.name} failed: ${s.message ?? ''}`,
      WaitingForApproval: `:raised_hand: ${who}: stage ${s.name} waits for approval — kitfed rollout promote ${run.id}`,
      Paused: `:double_vertical_bar: ${who}: rollout paused before ${s.name} — kitfed rollout resume ${run.id}`,
    };
    const t = text[s.state];
    if (t) out.push(...this.slack(t, `run-${run.id}-stage-${s.name}-${s.state}-${seq}`));
    return out;
  }

  /** A run finished (with its rollout's last word, if it had one). */
  runFinished(run: RunRecord): OutboxItem[] {
    const out: OutboxItem[] = [];
    if (this.config?.url)
      out.push({
        sink: 'webhook',
        event: 'run.finished',
        delivery: `run-${run.id}`,
        payload: { event: 'run.finished', run },
      });
    const who = `${run.repo} ${short(run.commit)} (run ${run.id})`;
    if (run.kind === 'rollback') {
      const names = run.clusters.map((c) => c.cluster).join(', ');
      const ok = run.status === 'succeeded';
      out.push(
        ...this.slack(
          ok
            ? `:rewind: ${run.repo}: ${names} rolled back to ${short(run.commit)} (run ${run.id}, after run ${run.parentRun})`
            : `:rotating_light: ${run.repo}: rollback of ${names} to ${short(run.commit)} failed (run ${run.id}): ${run.error ?? ''}`,
          `run-${run.id}`,
        ),
      );
      return out;
    }
    if (run.rollout) {
      for (const s of run.rollout.stages)
        if (s.state === 'Pending')
          out.push(...this.stage(run, run.rollout, s, false).filter((i) => i.sink === 'github'));
      const icon =
        run.status === 'succeeded' ? ':rocket:' : run.status === 'superseded' ? ':fast_forward:' : ':no_entry:';
      out.push(
        ...this.slack(
          `${icon} ${who}: rollout ${run.rollout.phase.toLowerCase()}${run.error ? `: ${run.error}` : ''}`,
          `run-${run.id}`,
        ),
      );
      return out;
    }
    if (run.status === 'skipped') return out;
    const state: GithubState =
      run.status === 'succeeded' || run.status === 'rendered'
        ? 'success'
        : run.status === 'failed'
          ? 'failure'
          : 'error';
    const n = run.clusters.length;
    out.push(
      ...this.github(
        run,
        'deploy',
        state,
        run.error ?? (run.status === 'rendered' ? `rendered ${n} cluster(s)` : `${n} cluster(s) applied and healthy`),
      ),
    );
    if (run.status === 'failed')
      out.push(...this.slack(`:x: ${who}: deploy failed: ${run.error ?? ''}`, `run-${run.id}`));
    return out;
  }
}

class Refused extends Error {}

type Sender = (row: OutboxRow) => Promise<void>;

function webhookSender(url: string, secret: string, timeoutMs: number): Sender {
  return async (row) => {
    const res = await fetch(url, {
      method: 'POST',
      body: row.payload,
      headers: {
        'content-type': 'application/json',
        'x-kitfed-event': row.event,
        'x-kitfed-delivery': row.delivery,
        [IMAGE_SIGNATURE_HEADER]: signImageBody(secret, row.payload),
      },
      signal: AbortSignal.timeout(timeoutMs),
    });
    await res.arrayBuffer();
    check(res.status);
  };
}

function slackSender(url: string, timeoutMs: number): Sender {
  return async (row) => {
    const res = await fetch(url, {
      method: 'POST',
      body: row.payload,
      headers: { 'content-type': 'application/json' },
      signal: AbortSignal.timeout(timeoutMs),
    });
    await res.arrayBuffer();
    check(res.status);
  };
}

function githubSender(gh: NonNullable<NotifyConfig['github']>, timeoutMs: number): Sender {
  const octokit = new Octokit({ auth: gh.token, baseUrl: gh.apiUrl, userAgent: 'kitfed', request: { retries: 0 } });
  return async (row) => {
    const p = JSON.parse(row.payload) as GithubPayload;
    try {
      await octokit.request('POST /repos/{owner}/{repo}/statuses/{sha}', {
        ...p,
        request: { signal: AbortSignal.timeout(timeoutMs) },
      });
    } catch (err) {
      const status = (err as { status?: unknown }).status;
      if (typeof status === 'number' && status > 0) check(status);
      // Octokit's message may name the URL; it never holds the token.
      throw new Error((err as Error).message.split('\n')[0]);
    }
  };
}

function check(status: number): void {
  if (status >= 200 && status < 300) return;
  if (status === 429 || status >= 500 || status === 408) throw new Error(`HTTP ${status}`);
  throw new Refused(`HTTP ${status}`);
}

export interface DispatcherOptions {
  readonly config: NotifyConfig;
  readonly store: EventStore;
  readonly log: Logger;
  readonly maxAttempts?: number;
  /** First retry delay, doubling (default 500 ms, capped at 30 s). */
  readonly backoffMs?: number;
  readonly timeoutMs?: number;
}

/** Delivers the outbox: one ordered loop per sink, woken by `kick()`. */
export class OutboxDispatcher {
  private readonly senders = new Map<string, Sender>();
  private readonly loops = new Map<string, Promise<void>>();
  private readonly again = new Set<string>();
  private readonly stopping = new AbortController();

  constructor(private readonly opts: DispatcherOptions) {
    const c = opts.config;
    const t = opts.timeoutMs ?? 10_000;
    if (c.url && c.secret) this.senders.set('webhook', webhookSender(c.url, c.secret, t));
    if (c.slack) this.senders.set('slack', slackSender(c.slack.url, t));
    if (c.github) this.senders.set('github', githubSender(c.github, t));
  }

  /** Delivers what is pending (at start: what an earlier process left undelivered). */
  kick(): void {
    for (const sink of this.senders.keys()) {
      if (this.loops.has(sink)) {
        this.again.add(sink);
        continue;
      }
      const loop = this.drainSink(sink).finally(() => {
        this.loops.delete(sink);
        if (this.again.delete(sink) && !this.stopping.signal.aborted) this.kick();
      });
      this.loops.set(sink, loop);
    }
  }

  /** Waits (bounded) for pending deliveries, then stops retrying. */
  async drain(timeoutMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      (async () => {
        while (this.loops.size > 0) await Promise.allSettled([...this.loops.values()]);
      })(),
      new Promise((r) => (timer = setTimeout(r, timeoutMs))),
    ]);
    clearTimeout(timer);
    this.stopping.abort();
    await Promise.allSettled([...this.loops.values()]);
  }

  private async drainSink(sink: string): Promise<void> {
    const send = this.senders.get(sink)!;
    const { store } = this.opts;
    const max = this.opts.maxAttempts ?? 6;
    const policy = retry(
      handleWhen((e) => !(e instanceof Refused)),
      {
        maxAttempts: max - 1,
        backoff: new ExponentialBackoff({ initialDelay: this.opts.backoffMs ?? 500, maxDelay: 30_000, exponent: 2 }),
      },
    );
    const failed = new Set<number>();
    for (;;) {
      const rows = store.pendingOutbox(sink).filter((r) => !failed.has(r.id));
      if (rows.length === 0) return;
      for (const row of rows) {
        if (this.stopping.signal.aborted) return;
        const log = this.opts.log.child({ sink, event: row.event, delivery: row.delivery });
        if (store.outboxSuperseded(row)) {
          store.markOutbox(row.id, 'superseded');
          continue;
        }
        let attempt = 0;
        try {
          await policy.execute(async () => {
            attempt++;
            if (attempt > 1) log.warn({ attempt, max }, 'Notification failed, retrying');
            await send(row);
          }, this.stopping.signal);
          store.markOutbox(row.id, 'delivered');
          log.info({ attempt }, 'Notification delivered');
        } catch (err) {
          if (err instanceof Refused) {
            store.markOutbox(row.id, 'refused'); // a 4xx will not get better: do not resend forever
            log.error({ attempt, why: err.message }, 'Notification refused by the receiver');
          } else {
            store.markOutbox(row.id, 'attempt-failed');
            failed.add(row.id); // left for the next start
            if (!this.stopping.signal.aborted)
              log.error(
                { attempts: attempt, why: (err as Error).message },
                'Notification not delivered; it is retried on next start',
              );
          }
        }
      }
    }
  }
}
