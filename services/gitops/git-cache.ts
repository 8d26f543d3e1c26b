/**
 * One bare clone per manifests repo under `<dataDir>/repos`, fetched before every run; each run
 * checks its commit out into its own detached worktree, removed afterwards.
 */
import { existsSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { SimpleGit } from 'simple-git';
import { gitClient } from '../core/git-client.js';
import { redactUrls } from '../core/write-errors.js';
import type { RepoConfig } from './config.js';

export class GitCache {
  constructor(
    private readonly root: string,
    private readonly timeoutMs: number,
  ) {}

  private git(baseDir?: string): SimpleGit {
    return gitClient(baseDir, this.timeoutMs);
  }

  private mirrorDir(repo: RepoConfig): string {
    return join(this.root, 'repos', `${repo.name.replace(/[^A-Za-z0-9._-]/g, '_')}.git`);
  }

  /**
   * Clones on first use, fetches the branch after; throws when `commit` is not on the remote. A
   * commit the mirror already has (a rollback to an earlier commit, a re-run) needs no fetch.
   */
  async fetch(repo: RepoConfig, commit: string): Promise<void> {
    const dir = this.mirrorDir(repo);
    if (existsSync(join(dir, 'HEAD')) && (await this.has(repo, commit))) return;
    if (!existsSync(join(dir, 'HEAD'))) {
      await rm(dir, { recursive: true, force: true });
      await mkdir(join(this.root, 'repos'), { recursive: true });
      await this.git()
        .clone(repo.url, dir, ['--bare'])
        .catch((err: unknown) => {
          throw new Error(
            `cannot clone ${repo.name}: ${redactUrls(String((err as Error).message).split('\n')[0] ?? '')}`,
          );
        });
    }
    const git = this.git(dir);
    await git.raw(['worktree', 'prune']);
    await git
      .raw(['fetch', '--prune', repo.url, `+refs/heads/${repo.branch}:refs/heads/${repo.branch}`])
      .catch((err: unknown) => {
        throw new Error(
          `cannot fetch ${repo.name} branch ${repo.branch}: ${redactUrls(String((err as Error).message).split('\n')[0] ?? '')}`,
        );
      });
    if (!(await this.has(repo, commit)))
      throw new Error(`commit ${commit} not found in ${repo.name} after fetching ${repo.branch}`);
  }

  private has(repo: RepoConfig, commit: string): Promise<boolean> {
    return this.git(this.mirrorDir(repo))
      .raw(['cat-file', '-e', `${commit}^{commit}`])
      .then(
        () => true,
        () => false,
      );
  }

  /** A detached worktree of `commit` at `dir`. */
  async checkout(repo: RepoConfig, commit: string, dir: string): Promise<void> {
    await rm(dir, { recursive: true, force: true });
    await this.git(this.mirrorDir(repo)).raw(['worktree', 'add', '--force', '--detach', dir, commit]);
  }

  async removeWorktree(repo: RepoConfig, dir: string): Promise<void> {
    await this.git(this.mirrorDir(repo))
      .raw(['worktree', 'remove', '--force', dir])
      .catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  }

  /** True when `older` is an ancestor of (or equal to) `newer`. */
  async isAncestor(repo: RepoConfig, older: string, newer: string): Promise<boolean> {
    return this.git(this.mirrorDir(repo))
      .raw(['merge-base', '--is-ancestor', older, newer])
      .then(
        () => true,
        () => false,
      );
  }
}
