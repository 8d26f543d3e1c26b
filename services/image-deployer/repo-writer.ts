/**
 * The single writer of one manifests repo branch. Bumps are queued (p-queue, concurrency 1);
 * every bump waiting when the writer becomes free goes into one commit. A push rejected because
 * the branch moved is rebased onto the new tip and retried with bounded exponential backoff;
 * permanent errors (auth, missing repo/branch) fail at once.
 */
import { existsSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import PQueue from 'p-queue';
import type { SimpleGit } from 'simple-git';
import { gitClient } from '../core/git-client.js';
import type { Logger } from '../core/log.js';
import type { ImageBump } from './image-bump.js';
import { imageFilePath, readImagesLayout, writeImage, type FileEdit } from './image-file.js';
import {
  isNonFastForward,
  isPermanentGitError,
  PermanentWriteError,
  redactUrls,
  WriteRetriesExhaustedError,
} from '../core/write-errors.js';

export interface RepoWriterOptions {
  readonly url: string;
  readonly branch: string;
  /** Working clone owned by this writer only. */
  readonly workDir: string;
  readonly committer: { name: string; email: string };
  /** Push attempts before giving up (default 5). */
  readonly maxAttempts?: number;
  /** First backoff delay; doubles per attempt, capped at 2 s (default 100 ms). */
  readonly backoffMs?: number;
  /** Per git command (default 60 s). */
  readonly gitTimeoutMs?: number;
  readonly log: Logger;
  /** Called once per pushed commit. */
  readonly onCommit?: (info: { sha: string; bumps: number; attempts: number }) => void;
}

export interface BumpResult {
  status: 'committed' | 'unchanged';
  path: string;
  previous: string | undefined;
  image: string;
  /** The manifests commit that holds the image (HEAD of the branch when unchanged). */
  commit: string;
  /** Bumps that went into the same commit. */
  batchSize: number;
  attempts: number;
}

export interface RevertResult {
  /** The new commit at the branch head; its tree is `to`'s. */
  commit: string;
  /** The commit whose content it restores (full SHA). */
  to: string;
  /** The branch head it was made on. */
  previous: string;
  /** Commits whose changes it reverts, newest first. */
  reverted: Array<{ sha: string; subject: string }>;
  attempts: number;
}

/** `to` is not a commit of the branch, or there is nothing to revert: the request is wrong, not the repo. */
export class RevertRefused extends Error {
  override readonly name = 'RevertRefused';
  constructor(
    message: string,
    readonly kind: 'unknown' | 'not-in-history' | 'unchanged',
  ) {
    super(message);
  }
}

interface Pending {
  bump: ImageBump;
  resolve: (r: BumpResult) => void;
  reject: (e: Error) => void;
}

export class RepoWriter {
  private readonly queue = new PQueue({ concurrency: 1 });
  private pending: Pending[] = [];
  private drainScheduled = false;
  private readonly git: SimpleGit;
  private cloned = false;

  constructor(private readonly opts: RepoWriterOptions) {
    this.git = gitClient(undefined, opts.gitTimeoutMs ?? 60_000);
  }

  /** Resolves once the image is committed and pushed (or was already there). */
  submit(bump: ImageBump): Promise<BumpResult> {
    return new Promise<BumpResult>((resolve, reject) => {
      this.pending.push({ bump, resolve, reject });
      if (!this.drainScheduled) {
        this.drainScheduled = true;
        void this.queue.add(() => this.drain());
      }
    });
  }

  /**
   * A new commit on the branch whose content is `to`'s (everything after `to` reverted), pushed
   * through the same serialized writer as image bumps. If the branch moves before the push lands,
   * the commit is made again on the new tip (so commits pushed meanwhile are reverted too, and
   * named in the result). Git stays the source of truth: the pipeline deploys it like any push.
   */
  revertTo(to: string, note: { by?: string | undefined; reason?: string | undefined }): Promise<RevertResult> {
    return this.queue.add(() => this.writeRevert(to, note));
  }

  private async writeRevert(
    to: string,
    note: { by?: string | undefined; reason?: string | undefined },
  ): Promise<RevertResult> {
    const repo = await this.ensureClone();
    const max = this.opts.maxAttempts ?? 5;
    const remoteRef = `origin/${this.opts.branch}`;
    let lastErr: unknown;
    for (let attempt = 1; attempt <= max; attempt++) {
      await this.gitStep(() => repo.fetch('origin', this.opts.branch));
      const head = (await repo.revparse([remoteRef])).trim();
      const target = await repo.revparse(['--verify', '--quiet', `${to}^{commit}`]).then(
        (v) => v.trim(),
        () => '',
      );
      if (!target) throw new RevertRefused(`commit ${to} is not in the manifests repo`, 'unknown');
      const inHistory = await repo.raw(['merge-base', '--is-ancestor', target, head]).then(
        () => true,
        () => false,
      );
      if (!inHistory)
        throw new RevertRefused(`commit ${to} is not in the history of branch ${this.opts.branch}`, 'not-in-history');
      const same = await repo.raw(['diff', '--quiet', target, head]).then(
        () => true,
        () => false,
      );
      if (same)
        throw new RevertRefused(
          `branch ${this.opts.branch} already has the content of ${target.slice(0, 12)}: nothing to revert`,
          'unchanged',
        );
      const log = (await repo.raw(['log', '--format=%H %s', `${target}..${head}`]))
        .split('\n')
        .filter(Boolean)
        .map((l) => ({ sha: l.slice(0, l.indexOf(' ')), subject: l.slice(l.indexOf(' ') + 1) }));
      const subject = (await repo.raw(['log', '-1', '--format=%s', target])).trim();
      const message = [
        `Roll back to ${target.slice(0, 12)}: revert ${log.length} commit${log.length === 1 ? '' : 's'}`,
        '',
        `Restores the content of ${target} (${subject}).`,
        '',
        'Reverted:',
        ...log.map((c) => `- ${c.sha.slice(0, 12)} ${c.subject}`),
        ...(note.by || note.reason
          ? ['', `Requested${note.by ? ` by ${note.by}` : ''}${note.reason ? `: ${note.reason}` : ''}`]
          : []),
        '',
      ].join('\n');
      const commit = (await repo.raw(['commit-tree', `${target}^{tree}`, '-p', head, '-m', message])).trim();
      try {
        await repo.push('origin', `${commit}:refs/heads/${this.opts.branch}`);
        await repo.raw(['reset', '--hard', commit]);
        this.opts.log.info({ commit, to: target, reverted: log.length, attempt }, 'Pushed rollback commit');
        return { commit, to: target, previous: head, reverted: log, attempts: attempt };
      } catch (err) {
        if (isPermanentGitError(err)) throw new PermanentWriteError(`push refused: ${redactUrls(firstLine(err))}`);
        lastErr = err;
        if (attempt < max) await sleep(backoff(attempt, this.opts.backoffMs ?? 100));
      }
    }
    throw new WriteRetriesExhaustedError(
      `rollback commit not pushed after ${max} attempts to branch ${this.opts.branch}: ${redactUrls(firstLine(lastErr))}`,
    );
  }

  /** Waits for every submitted bump to finish. */
  async idle(): Promise<void> {
    await this.queue.onIdle();
  }

  private async drain(): Promise<void> {
    this.drainScheduled = false;
    const batch = this.pending;
    this.pending = [];
    try {
      const results = await this.writeBatch(batch.map((p) => p.bump));
      batch.forEach((p, i) => {
        const r = results[i] as BumpResult | Error;
        if (r instanceof Error) p.reject(r);
        else p.resolve(r);
      });
    } catch (err) {
      const e = new Error(redactUrls((err as Error).message));
      e.name = (err as Error).name;
      batch.forEach((p) =>
        p.reject(err instanceof PermanentWriteError || err instanceof WriteRetriesExhaustedError ? err : e),
      );
    }
  }

  private async ensureClone(): Promise<SimpleGit> {
    if (this.cloned) return gitClient(this.opts.workDir, this.opts.gitTimeoutMs ?? 60_000);
    if (!existsSync(join(this.opts.workDir, '.git'))) {
      await rm(this.opts.workDir, { recursive: true, force: true });
      await mkdir(this.opts.workDir, { recursive: true });
      try {
        await this.git.clone(this.opts.url, this.opts.workDir, ['--branch', this.opts.branch, '--single-branch']);
      } catch (err) {
        await rm(this.opts.workDir, { recursive: true, force: true });
        throw new PermanentWriteError(
          `cannot clone manifests repo branch ${this.opts.branch}: ${redactUrls(firstLine(err))}`,
        );
      }
    }
    const repo = gitClient(this.opts.workDir, this.opts.gitTimeoutMs ?? 60_000);
    await repo.remote(['set-url', 'origin', this.opts.url]); // the config may have changed since the clone
    await repo.rebase(['--abort']).catch(() => undefined); // a rebase cut short by a crash
    await repo.addConfig('user.name', this.opts.committer.name);
    await repo.addConfig('user.email', this.opts.committer.email);
    this.cloned = true;
    return repo;
  }

  /** One commit for the whole batch; a bump whose own file cannot be edited fails alone. */
  private async writeBatch(bumps: ImageBump[]): Promise<Array<BumpResult | Error>> {
    const repo = await this.ensureClone();
    const max = this.opts.maxAttempts ?? 5;
    const remoteRef = `origin/${this.opts.branch}`;
    let edits: BatchEdit[] = [];
    let fresh = true;
    let lastErr: unknown;
    for (let attempt = 1; attempt <= max; attempt++) {
      await this.gitStep(() => repo.fetch('origin', this.opts.branch));
      if (fresh) {
        await repo.raw(['reset', '--hard', remoteRef]);
        await repo.raw(['clean', '-fdq']);
        edits = await this.applyAll(repo, bumps);
        if (!edits.some((e) => e.changed))
          return this.results(bumps, edits, await repo.revparse(['HEAD']), attempt, 'unchanged');
        await repo.add(edits.filter((e) => e.changed).map((e) => e.path));
        await repo.commit(commitMessage(bumps, edits));
        fresh = false;
      } else if (!(await this.rebase(repo, remoteRef))) {
        fresh = true; // the branch changed the same lines: start again from its tip
        continue;
      }
      const head = await repo.revparse(['HEAD']);
      if (head === (await repo.revparse([remoteRef]))) return this.results(bumps, edits, head, attempt, 'unchanged');
      try {
        await repo.push('origin', `HEAD:refs/heads/${this.opts.branch}`);
        this.opts.onCommit?.({ sha: head, bumps: bumps.length, attempts: attempt });
        this.opts.log.info({ commit: head, bumps: bumps.length, attempt }, 'Pushed image bump commit');
        return this.results(bumps, edits, head, attempt, 'committed');
      } catch (err) {
        if (isPermanentGitError(err)) throw new PermanentWriteError(`push refused: ${redactUrls(firstLine(err))}`);
        lastErr = err;
        if (attempt < max) {
          this.opts.log.warn(
            { attempt, max, nonFastForward: isNonFastForward(err), err: redactUrls(firstLine(err)) },
            'Push failed, retrying',
          );
          await sleep(backoff(attempt, this.opts.backoffMs ?? 100));
        }
      }
    }
    throw new WriteRetriesExhaustedError(
      `image bump not pushed after ${max} attempts to branch ${this.opts.branch}: ${redactUrls(firstLine(lastErr ?? 'rebase conflicts'))}`,
    );
  }

  /** Rebases the local commit onto the remote tip; false (and aborted) on conflict. */
  private async rebase(repo: SimpleGit, onto: string): Promise<boolean> {
    try {
      await repo.rebase([onto]);
      return true;
    } catch {
      await repo.rebase(['--abort']).catch(() => undefined);
      return false;
    }
  }

  private async gitStep<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (isPermanentGitError(err)) throw new PermanentWriteError(`manifests repo: ${redactUrls(firstLine(err))}`);
      throw err;
    }
  }

  /** Applies bumps in arrival order; a later bump of the same file wins. */
  private async applyAll(repo: SimpleGit, bumps: ImageBump[]): Promise<BatchEdit[]> {
    const dir = this.opts.workDir;
    const layout = await readImagesLayout(dir);
    const edits: BatchEdit[] = [];
    const firstPrevious = new Map<string, string | undefined>();
    for (const bump of bumps) {
      let edit: BatchEdit;
      try {
        edit = await writeImage(dir, layout, bump);
      } catch (err) {
        if (!(err instanceof PermanentWriteError)) throw err;
        edits.push({
          path: imageFilePath(layout, bump),
          previous: undefined,
          image: bump.image,
          changed: false,
          error: err,
        });
        continue;
      }
      if (!firstPrevious.has(edit.path)) firstPrevious.set(edit.path, edit.previous);
      edits.push(edit);
    }
    // A file bumped twice in one batch is changed iff its final content differs from the branch tip.
    const diff = new Set(
      (await repo.raw(['status', '--porcelain', '-uall']))
        .split('\n')
        .map((l) => l.slice(3).trim())
        .filter(Boolean),
    );
    return edits.map((e) => (e.error ? e : { ...e, previous: firstPrevious.get(e.path), changed: diff.has(e.path) }));
  }

  private results(
    bumps: ImageBump[],
    edits: BatchEdit[],
    commit: string,
    attempts: number,
    status: BumpResult['status'],
  ): Array<BumpResult | Error> {
    return bumps.map((_, i) => {
      const e = edits[i] as BatchEdit;
      if (e.error) return e.error;
      return {
        status: status === 'committed' && e.changed ? 'committed' : 'unchanged',
        path: e.path,
        previous: e.previous,
        image: e.image,
        commit,
        batchSize: bumps.length,
        attempts,
      };
    });
  }
}

/** A file edit, or why this bump's file could not be edited. */
type BatchEdit = FileEdit & { error?: PermanentWriteError };

function firstLine(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  return msg
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .slice(0, 3)
    .join(' | ');
}

function backoff(attempt: number, baseMs: number): number {
  const exp = Math.min(2000, baseMs * 2 ** (attempt - 1));
  return exp / 2 + Math.random() * (exp / 2);
}

/** `images: acme/web@master quay.io/acme/web:1 → quay.io/acme/web:2`, with source commits in the body. */
export function commitMessage(bumps: ImageBump[], edits: FileEdit[]): string {
  const lines: string[] = [];
  const changed = edits.map((e, i) => ({ e, b: bumps[i] as ImageBump })).filter(({ e }) => e.changed);
  const seen = new Set<string>();
  const last = changed.filter(
    ({ e }, i) => !changed.slice(i + 1).some((x) => x.e.path === e.path) && !seen.has(e.path) && seen.add(e.path),
  );
  for (const { e, b } of last) {
    lines.push(
      `- ${b.repository}@${b.branch}: ${e.previous ?? '(none)'} → ${e.image} (source commit ${b.commit})${b.message ? `\n  ${b.message.split('\n')[0]}` : ''}`,
    );
  }
  if (last.length === 1) {
    const { e, b } = last[0] as { e: FileEdit; b: ImageBump };
    return (
      `image: ${b.repository}@${b.branch} ${e.previous ?? '(none)'} → ${e.image}\n\nSource ` +
      `commit: ${b.commit}\nFile: ${e.path}${b.message ? `\n\n${b.message}` : ''}\n`
    );
  }
  return `images: ${last.length} updates\n\n${lines.join('\n')}\n`;
}
