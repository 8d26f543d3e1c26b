/**
 * Polling backstop: GitHub does not redeliver failed webhooks, so every `pollSeconds` the head of
 * each configured branch is read with `git ls-remote`; a head no event has carried yet is queued as
 * if a push had arrived (trigger `poll`). The (repo, ref, commit) dedupe makes this idempotent.
 */
import type { Logger } from '../core/log.js';
import { redactUrls } from '../core/write-errors.js';
import { gitClient } from '../core/git-client.js';
import type { RepoConfig } from './config.js';
import type { EventStore } from './event-store.js';

export interface BranchPollerOptions {
  readonly repos: readonly RepoConfig[];
  readonly store: EventStore;
  readonly intervalMs: number;
  readonly log: Logger;
  readonly onAccepted: (repo: string) => void;
}

export class BranchPoller {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(private readonly opts: BranchPollerOptions) {}

  start(): void {
    this.timer = setInterval(() => {
      this.running ??= this.pollAll().finally(() => (this.running = undefined));
    }, this.opts.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  private async pollAll(): Promise<void> {
    for (const repo of this.opts.repos) {
      try {
        await this.poll(repo);
      } catch (err) {
        this.opts.log.warn(
          { repo: repo.name, err: redactUrls((err as Error).message.split('\n')[0] ?? '') },
          'Branch poll failed',
        );
      }
    }
  }

  private async poll(repo: RepoConfig): Promise<void> {
    const ref = `refs/heads/${repo.branch}`;
    const out = await gitClient(undefined, 30_000).listRemote([repo.url, ref]);
    const head = out.split(/\s+/)[0] ?? '';
    if (!/^[0-9a-f]{40,64}$/.test(head)) return;
    const outcome = await this.opts.store.acceptDurably({
      delivery: `poll-${repo.name}-${head}`,
      repo: repo.name,
      ref,
      after: head,
      before: '',
      trigger: 'poll',
    });
    if (outcome.outcome === 'accepted') {
      this.opts.log.info(
        { repo: repo.name, after: head, eventId: outcome.eventId },
        'Branch head found by polling (no webhook for it)',
      );
      this.opts.onAccepted(repo.name);
    }
  }
}
