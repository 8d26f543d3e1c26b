/**
 * Reads the deploymentizer's output: one folder per cluster, `*.yaml` files each holding Kubernetes
 * objects. With a `.kitfed-index.json` the index names the files and their sha256 (checked); without
 * one every `*.yaml` is read. Every folder is read and checked before any cluster is touched: one
 * bad manifest anywhere fails the whole deploy with every problem listed.
 */
import { createHash } from 'node:crypto';
import {
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
  writeFileSync,
  type Stats,
} from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import type { ClusterIndex } from '../deploymentizer/index.js';
import { KitfedError } from '../core/errors.js';
import { isObject, type KubeObject } from '../core/kube.js';
import { dependencySelector } from './order.js';
import { parseSelector } from './selector.js';
import type { loadDocuments as LoadDocuments } from './yaml11.js';

export const INDEX_FILE = '.kitfed-index.json';
const NAME = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

export interface Manifest {
  /** File name inside the cluster folder (`#<n>` appended for the n-th document of a multi-document file). */
  file: string;
  obj: KubeObject;
  /** `sha256:<hex>` over the object's JSON: what `kitfed.io/applied-digest` records. */
  digest: string;
}

export interface Problem {
  file: string;
  message: string;
}

export class ManifestError extends KitfedError {
  override readonly name = 'ManifestError';
  constructor(readonly problems: Problem[]) {
    super(
      `invalid manifests, nothing was deployed (${problems.length} ` +
        `problem${problems.length === 1 ? '' : 's'}):\n${problems.map((p) => `  ${p.file}: ${p.message}`).join('\n')}`,
      422,
      'Invalid',
      { causes: problems.map((p) => ({ field: p.file, message: p.message })) },
    );
  }
}

export function sha256(text: string): string {
  return `sha256:${createHash('sha256').update(text).digest('hex')}`;
}

/** Folder names (one per cluster) of a render output, sorted. */
export async function listFolders(dir: string): Promise<string[]> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (err) {
    throw new KitfedError(
      `manifests dir ${dir}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
      400,
      'BadRequest',
    );
  }
  return entries
    .filter((e) => e.isDirectory() && !e.name.startsWith('.'))
    .map((e) => e.name)
    .sort();
}

async function filesOf(
  folder: string,
  problems: Problem[],
  rel: string,
): Promise<Array<{ file: string; sha?: string }>> {
  const indexPath = path.join(folder, INDEX_FILE);
  const indexText = await readFile(indexPath, 'utf8').catch(() => undefined);
  if (indexText === undefined) {
    const names = (await readdir(folder)).filter((n) => n.endsWith('.yaml') && !n.startsWith('.')).sort();
    return names.map((file) => ({ file }));
  }
  try {
    const index = JSON.parse(indexText) as ClusterIndex;
    if (!Array.isArray(index.objects)) throw new Error('no objects array');
    return index.objects.map((o) => ({ file: o.file, sha: o.sha256 }));
  } catch (err) {
    problems.push({ file: `${rel}/${INDEX_FILE}`, message: `unreadable index: ${(err as Error).message}` });
    return [];
  }
}

function checkObject(doc: unknown, where: string, problems: Problem[]): KubeObject | undefined {
  const bad = (message: string): undefined => {
    problems.push({ file: where, message });
    return undefined;
  };
  if (!isObject(doc)) return bad('not a Kubernetes object (expected a mapping)');
  if (typeof doc.apiVersion !== 'string' || !doc.apiVersion) return bad('apiVersion is required');
  if (typeof doc.kind !== 'string' || !doc.kind) return bad('kind is required');
  if (doc.kind.endsWith('List')) return bad(`kind ${doc.kind}: lists are not supported, one object per document`);
  const meta = doc.metadata;
  if (!isObject(meta)) return bad('metadata is required');
  if (typeof meta.name !== 'string' || !meta.name) return bad('metadata.name is required');
  if (!NAME.test(meta.name) || meta.name.length > 253)
    return bad(`metadata.name ${JSON.stringify(meta.name)} is not a valid name`);
  if (meta.namespace !== undefined && (typeof meta.namespace !== 'string' || !NAME.test(meta.namespace)))
    return bad(`metadata.namespace ${JSON.stringify(meta.namespace)} is not a valid namespace`);
  for (const key of ['labels', 'annotations'] as const) {
    const m = meta[key];
    if (m === undefined || m === null) continue;
    if (!isObject(m) || Object.values(m).some((v) => typeof v !== 'string'))
      return bad(`metadata.${key} must map strings to strings`);
  }
  const sel = dependencySelector(doc as KubeObject);
  if (sel !== undefined) {
    try {
      parseSelector(sel);
    } catch (err) {
      return bad(`annotation kit-deployer/dependency-selector: ${(err as Error).message}`);
    }
  }
  return doc as KubeObject;
}

/**
 * Parsed files by content digest: a long-running caller (the GitOps pipeline) redeploying mostly
 * unchanged output parses each distinct file once. Only valid files are cached. Manifest objects are
 * never mutated (the apply builds its own copy), so entries are shared.
 */
const parsed = new Map<string, Array<{ file: string; obj: KubeObject; digest: string }>>();
const PARSED_MAX = 20_000;

/**
 * Files already read, by absolute path: unchanged inode, mtime and size (and index sha256) mean unchanged
 * content, so a redeploy of the same output reads no file. The deploymentizer hard-links files that
 * did not change between renders, so they keep their inode and mtime across renders too.
 */
interface Seen {
  ino: number;
  mtimeMs: number;
  size: number;
  sha: string;
  trusted: boolean;
  manifests: Manifest[];
}
const byStat = new Map<string, Seen>();

function remember(file: string, seen: Seen): void {
  if (byStat.size >= PARSED_MAX) byStat.delete(byStat.keys().next().value!);
  byStat.set(file, seen);
}

function cachedParse(text: string, sha: string, file: string, rel: string, problems: Problem[]): Manifest[] {
  const key = `${file}\0${sha}`;
  const hit = parsed.get(key);
  if (hit) return hit.map((m) => ({ ...m }));
  const before = problems.length;
  const out = parseFile(text, file, rel, problems);
  if (problems.length === before) {
    if (parsed.size >= PARSED_MAX) parsed.delete(parsed.keys().next().value!);
    parsed.set(
      key,
      out.map((m) => ({ ...m })),
    );
  }
  return out;
}

const ALIAS = /(?:^|[\s,[{])\*[^\s,\]}]+/g;

/**
 * The YAML 1.1 reader (js-yaml), loaded on the first file that has to be parsed: a redeploy whose files
 * all come from the stat cache never loads it.
 */
let yaml: typeof LoadDocuments | undefined;

function parseFile(text: string, file: string, rel: string, problems: Problem[]): Manifest[] {
  // Aliases are shared references: a few nested ones expand exponentially in JSON ("billion laughs").
  if ((text.match(ALIAS)?.length ?? 0) > 100) {
    problems.push({ file: `${rel}/${file}`, message: 'YAML: more than 100 aliases' });
    return [];
  }
  let docs: unknown[];
  try {
    docs = yaml!(text).filter((d) => d !== null && d !== undefined);
  } catch (err) {
    problems.push({ file: `${rel}/${file}`, message: `YAML: ${(err as Error).message.split('\n')[0]}` });
    return [];
  }
  if (docs.length === 0) problems.push({ file: `${rel}/${file}`, message: 'empty file: expected a Kubernetes object' });
  const out: Manifest[] = [];
  docs.forEach((doc, i) => {
    const name = docs.length > 1 ? `${file}#${i + 1}` : file;
    const obj = checkObject(doc, `${rel}/${name}`, problems);
    if (obj) out.push({ file: name, obj, digest: sha256(JSON.stringify(obj)) });
  });
  return out;
}

function objectId(o: KubeObject): string {
  return `${o.apiVersion.split('/').length > 1 ? o.apiVersion.split('/')[0] : ''}/${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`;
}

/**
 * A manifest file's stat, read synchronously as the file itself is (below): render output is small local
 * files, and one blocking call each costs far less than the thread-pool round trips of fs/promises
 * (stat, open, fstat, read, close per file: most of a cold `kitfed deploy`'s time before its first request).
 */
function statOrUndefined(file: string): Stats | undefined {
  try {
    return statSync(file);
  } catch {
    return undefined;
  }
}

/** The remembered parse of `full` when its stat (and the index's sha256) says it is unchanged. */
function statHit(full: string, st: Stats | undefined, sha: string | undefined): Seen | undefined {
  const seen = st && byStat.get(full);
  return st &&
    seen &&
    seen.trusted &&
    seen.ino === st.ino &&
    seen.mtimeMs === st.mtimeMs &&
    seen.size === st.size &&
    (!sha || sha === seen.sha)
    ? seen
    : undefined;
}

/** Reads one cluster folder; problems are appended to `problems`; `used` collects the stat cache entries it used. */
async function readFolder(
  dir: string,
  folder: string,
  problems: Problem[],
  used?: Map<string, Seen>,
): Promise<Manifest[]> {
  const abs = path.resolve(dir, folder);
  const files = await filesOf(abs, problems, folder);
  const perFile: Manifest[][] = files.map(() => []);
  const misses: Array<{ i: number; file: string; sha?: string; full: string; st?: Stats }> = [];
  files.forEach(({ file, sha }, i) => {
    const full = path.join(abs, file);
    const st = statOrUndefined(full);
    const seen = statHit(full, st, sha);
    if (seen) {
      perFile[i] = seen.manifests.map((m) => ({ ...m }));
      used?.set(full, seen);
    } else misses.push({ i, file, full, ...(sha ? { sha } : {}), ...(st ? { st } : {}) });
  });
  if (misses.length > 0) yaml ??= (await import('./yaml11.js')).loadDocuments;
  for (const { i, file, sha, full, st } of misses) {
    let text: string | undefined;
    try {
      text = readFileSync(full, 'utf8');
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      problems.push({ file: `${folder}/${file}`, message: `cannot read: ${e.code ?? e.message}` });
    }
    if (text === undefined) continue;
    const actual = sha256(text);
    if (sha && actual !== sha)
      problems.push({
        file: `${folder}/${file}`,
        message: `sha256 differs from ${INDEX_FILE} (file changed after rendering)`,
      });
    const before = problems.length;
    perFile[i] = cachedParse(text, actual, file, folder, problems);
    // Like git's "racy clean" rule: only a file already older than any timestamp granularity when read
    // is recognised by its stat later (a write after the read is then sure to change the mtime).
    const trusted = st !== undefined && st.mtimeMs < Date.now() - 2000;
    if (st && problems.length === before) {
      const seen: Seen = {
        ino: st.ino,
        mtimeMs: st.mtimeMs,
        size: st.size,
        sha: actual,
        trusted,
        manifests: perFile[i].map((m) => ({ ...m })),
      };
      remember(full, seen);
      if (trusted) used?.set(full, seen);
    }
  }
  const flat = perFile.flat();
  const seen = new Map<string, string>();
  for (const m of flat) {
    const id = objectId(m.obj);
    const prev = seen.get(id);
    if (prev)
      problems.push({
        file: `${folder}/${m.file}`,
        message: `${m.obj.kind} ${m.obj.metadata.name} is also defined in ${prev}`,
      });
    else seen.set(id, m.file);
  }
  return flat;
}

export interface ReadOptions {
  /**
   * A directory where the stat cache above is kept between processes (`kitfed deploy` passes the user's
   * cache dir): one file per render dir, so that a CLI redeploy of unchanged output reads no manifest
   * either. Files holding a Secret are never written there. Without it the cache lives in memory only.
   */
  cacheDir?: string;
}

/** Reads the given folders; throws ManifestError listing every problem of every folder. */
export async function readFolders(
  dir: string,
  folders: string[],
  opts: ReadOptions = {},
): Promise<Map<string, Manifest[]>> {
  const disk = opts.cacheDir === undefined ? undefined : loadDiskCache(opts.cacheDir, dir);
  const used = new Map<string, Seen>();
  const problems: Problem[] = [];
  const out = new Map<string, Manifest[]>();
  const read: string[] = [];
  for (const f of folders) {
    if (
      !(await stat(path.join(dir, f)).then(
        (s) => s.isDirectory(),
        () => false,
      ))
    )
      continue;
    read.push(f);
    out.set(f, await readFolder(dir, f, problems, used));
  }
  if (problems.length > 0) throw new ManifestError(problems);
  if (disk) saveDiskCache(disk, read, used);
  return out;
}

// ---- the stat cache on disk ---------------------------------------------------------------

const DISK_VERSION = 1;
const DISK_FILES_MAX = 64;

interface DiskCache {
  cacheDir: string;
  file: string;
  /** The render dir, absolute. */
  root: string;
  /** Entries by path relative to `root`, as loaded. */
  entries: Map<string, Seen>;
}

function isSeen(v: unknown): v is Seen {
  if (!isObject(v)) return false;
  const { ino, mtimeMs, size, sha, manifests } = v;
  return (
    typeof ino === 'number' &&
    typeof mtimeMs === 'number' &&
    typeof size === 'number' &&
    typeof sha === 'string' &&
    Array.isArray(manifests) &&
    manifests.every((m) => isObject(m) && typeof m.file === 'string' && typeof m.digest === 'string' && isObject(m.obj))
  );
}

/**
 * Loads the render dir's cache file and puts its entries into the stat cache (entries of the process
 * itself, if any, are as new or newer and stay). A missing or unreadable file is an empty cache.
 */
function loadDiskCache(cacheDir: string, dir: string): DiskCache {
  const root = path.resolve(dir);
  const file = path.join(
    cacheDir,
    `deploy-manifests-${createHash('sha256').update(root).digest('hex').slice(0, 32)}.json`,
  );
  const cache: DiskCache = { cacheDir, file, root, entries: new Map() };
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    return cache;
  }
  if (!isObject(doc) || doc.version !== DISK_VERSION || doc.root !== root || !isObject(doc.files)) return cache;
  for (const [rel, v] of Object.entries(doc.files)) {
    if (!isSeen(v)) continue;
    const seen: Seen = { ...v, trusted: true };
    cache.entries.set(rel, seen);
    const full = path.join(root, rel);
    if (!byStat.has(full)) remember(full, seen);
  }
  return cache;
}

const holdsSecret = (s: Seen): boolean => s.manifests.some((m) => m.obj.kind === 'Secret');

/**
 * Writes the cache file when what this read used differs from what it loaded: the entries of the folders
 * read now, and the loaded ones of folders not read. Written to a temporary file and renamed (concurrent
 * deploys: the last one wins); the oldest files go once there are more than DISK_FILES_MAX. Failures are
 * ignored: it is a cache.
 */
function saveDiskCache(disk: DiskCache, folders: string[], used: Map<string, Seen>): void {
  const inRead = (rel: string): boolean => folders.some((f) => rel.startsWith(`${f}${path.sep}`));
  const next = new Map<string, Seen>();
  for (const [rel, seen] of disk.entries) if (!inRead(rel)) next.set(rel, seen);
  for (const [full, seen] of used) if (!holdsSecret(seen)) next.set(path.relative(disk.root, full), seen);
  const same = next.size === disk.entries.size && [...next].every(([rel, seen]) => disk.entries.get(rel) === seen);
  if (same) return;
  const files = Object.fromEntries(
    [...next].map(([rel, { ino, mtimeMs, size, sha, manifests }]) => [rel, { ino, mtimeMs, size, sha, manifests }]),
  );
  const tmp = `${disk.file}.${process.pid}.tmp`;
  try {
    mkdirSync(disk.cacheDir, { recursive: true, mode: 0o700 });
    writeFileSync(tmp, JSON.stringify({ version: DISK_VERSION, root: disk.root, files }), { mode: 0o600 });
    renameSync(tmp, disk.file);
    const all = readdirSync(disk.cacheDir).filter((n) => n.startsWith('deploy-manifests-') && n.endsWith('.json'));
    if (all.length > DISK_FILES_MAX)
      all
        .map((n) => ({ n, t: statOrUndefined(path.join(disk.cacheDir, n))?.mtimeMs ?? 0 }))
        .sort((a, b) => a.t - b.t)
        .slice(0, all.length - DISK_FILES_MAX)
        .forEach(({ n }) => unlinkSync(path.join(disk.cacheDir, n)));
  } catch {
    try {
      unlinkSync(tmp);
    } catch {
      // not there
    }
  }
}
