/**
 * The output tree: `<out>/<cluster>/<file>.yaml`, a per-cluster index `<out>/<cluster>/.kitfed-index.json`
 * and a run summary `<out>/.kitfed-render.json`. Written to a sibling temp dir and swapped in with renames,
 * so a failed run leaves the previous output as it was.
 */
import { createHash, randomBytes } from 'node:crypto';
import { linkSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdir, readdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { exists } from './files.js';
import type { ClusterRender } from './generate.js';
import type { Problems } from './problems.js';
import type { RolloutPlan } from './rollout.js';

export const INDEX_FILE = '.kitfed-index.json';
export const SUMMARY_FILE = '.kitfed-render.json';
export const INDEX_API_VERSION = 'kitfed.io/v1alpha1';

export interface IndexEntry {
  file: string;
  apiVersion: string;
  kind: string;
  namespace: string | null;
  name: string;
  /** kit resource name the object was rendered for. */
  resource: string;
  /** Repo-relative template, or `(external env)` for a generated Secret. */
  source: string;
  /** `sha256:<hex>` of the file's bytes. */
  sha256: string;
}

export interface ClusterIndex {
  apiVersion: typeof INDEX_API_VERSION;
  kind: 'RenderIndex';
  cluster: string;
  type: string;
  /** `sha256:<hex>` over the sorted `file sha256` lines: changes iff any file changes. */
  digest: string;
  objects: IndexEntry[];
}

export interface RenderSummary {
  apiVersion: typeof INDEX_API_VERSION;
  kind: 'RenderSummary';
  clusters: Array<{ name: string; type: string; digest: string; objects: number }>;
  /** kit.yaml `rollout:` resolved against the rendered clusters; absent without one. */
  rollout?: RolloutPlan;
}

export function sha256(text: string): string {
  return `sha256:${createHash('sha256').update(text).digest('hex')}`;
}

export function indexOf(c: ClusterRender): ClusterIndex {
  const objects: IndexEntry[] = c.objects.map((o) => ({
    file: o.file,
    apiVersion: o.apiVersion,
    kind: o.kind,
    namespace: o.namespace,
    name: o.name,
    resource: o.resource,
    source: o.source,
    sha256: sha256(o.text),
  }));
  const digest = sha256(objects.map((o) => `${o.file} ${o.sha256}\n`).join(''));
  return { apiVersion: INDEX_API_VERSION, kind: 'RenderIndex', cluster: c.name, type: c.type, digest, objects };
}

export function summaryOf(indexes: ClusterIndex[], rollout?: RolloutPlan): RenderSummary {
  return {
    apiVersion: INDEX_API_VERSION,
    kind: 'RenderSummary',
    clusters: indexes.map((i) => ({ name: i.cluster, type: i.type, digest: i.digest, objects: i.objects.length })),
    ...(rollout ? { rollout } : {}),
  };
}

const json = (v: unknown): string => `${JSON.stringify(v, null, 2)}\n`;

/** Refuses to replace a directory that is not a previous kitfed render output (or is the repo itself). */
export async function checkOutDir(out: string, repo: string, problems: Problems): Promise<void> {
  const rel = path.relative(out, repo);
  if (rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel))) {
    problems.add('(options)', 'out', `refusing to write to ${out}: it contains the repo`);
    return;
  }
  let entries: string[];
  try {
    entries = await readdir(out);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT') problems.add('(options)', 'out', `cannot use ${out} as the output dir (${code ?? 'error'})`);
    return;
  }
  if (entries.length > 0 && !entries.includes(SUMMARY_FILE)) {
    problems.add(
      '(options)',
      'out',
      `refusing to replace ${out}: it is not empty and holds no ${SUMMARY_FILE} (not a kitfed render output)`,
    );
  }
}

interface FileJob {
  /** Where the file goes in the new tree. */
  file: string;
  text: string;
  /** The same file in the previous output, reused when its bytes are identical. */
  previous: string;
}

/** True when the previous output has this file with exactly these bytes. */
function sameAsBefore(previous: string, text: string): boolean {
  try {
    return readFileSync(previous, 'utf8') === text;
  } catch {
    return false;
  }
}

/**
 * Writes a batch of small files. An unchanged file is hard-linked from the previous output
 * (old and new trees never modify files in place, so sharing is safe), which is ~20× cheaper than
 * creating a file on a busy disk; otherwise it is written. Synchronous calls skip thread-pool round
 * trips; the event loop gets a turn between clusters.
 */
async function writeBatch(jobs: FileJob[]): Promise<void> {
  for (const { file, text, previous } of jobs) {
    if (sameAsBefore(previous, text)) {
      try {
        linkSync(previous, file);
        continue;
      } catch {
        // another filesystem, or links not allowed: write it
      }
    }
    writeFileSync(file, text);
  }
  await new Promise<void>((resolve) => setImmediate(resolve));
}

/** Writes every cluster folder into a temp dir next to `out`, then swaps it in. */
export async function writeOutput(
  out: string,
  clusters: ClusterRender[],
  indexes: ClusterIndex[],
  rollout?: RolloutPlan,
): Promise<void> {
  const tag = `${process.pid}-${randomBytes(4).toString('hex')}`;
  const tmp = `${out}.tmp-${tag}`;
  await mkdir(path.dirname(out), { recursive: true });
  const job = (dir: string, name: string, text: string): FileJob => ({
    file: path.join(tmp, dir, name),
    text,
    previous: path.join(out, dir, name),
  });
  try {
    await mkdir(tmp);
    for (const [i, c] of clusters.entries()) {
      await mkdir(path.join(tmp, c.name));
      const jobs = c.objects.map((o) => job(c.name, o.file, o.text));
      jobs.push(job(c.name, INDEX_FILE, json(indexes[i])));
      await writeBatch(jobs);
    }
    await writeBatch([job('', SUMMARY_FILE, json(summaryOf(indexes, rollout)))]);
    await swapIn(tmp, out, `${out}.old-${tag}`);
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    throw err;
  }
}

async function swapIn(tmp: string, out: string, old: string): Promise<void> {
  if (!(await exists(out))) {
    await rename(tmp, out);
    return;
  }
  await rename(out, old);
  try {
    await rename(tmp, out);
  } catch (err) {
    await rename(old, out);
    throw err;
  }
  await rm(old, { recursive: true, force: true });
}
