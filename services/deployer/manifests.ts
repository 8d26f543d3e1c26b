/**
 * Reads the deploymentizer's output: one folder per cluster, `*.yaml` files each holding Kubernetes
 * objects. With a `.kitfed-index.json` the index names the files and their sha256 (checked); without
 * one every `*.yaml` is read. Every folder is read and checked before any cluster is touched: one
 * bad manifest anywhere fails the whole deploy with every problem listed.
 */
import { createHash } from 'node:crypto';
import { readFileSync, statSync, type Stats } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import type { ClusterIndex } from '../deploymentizer/index.js';
import { KitfedError } from '../core/errors.js';
import { isObject, type KubeObject } from '../core/kube.js';
import { dependencySelector } from './order.js';
import { parseSelector } from './selector.js';
import { loadDocuments } from './yaml11.js';

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
 * Files already read, by path: unchanged inode, mtime and size (and index sha256) mean unchanged
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

function parseFile(text: string, file: string, rel: string, problems: Problem[]): Manifest[] {
  // Aliases are shared references: a few nested ones expand exponentially in JSON ("billion laughs").
  if ((text.match(ALIAS)?.length ?? 0) > 100) {
    problems.push({ file: `${rel}/${file}`, message: 'YAML: more than 100 aliases' });
    return [];
  }
  let docs: unknown[];
  try {
    docs = loadDocuments(text).filter((d) => d !== null && d !== undefined);
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

/** Reads one cluster folder; problems are appended to `problems`. */
export async function readFolder(dir: string, folder: string, problems: Problem[]): Promise<Manifest[]> {
  const abs = path.join(dir, folder);
  const files = await filesOf(abs, problems, folder);
  const perFile: Manifest[][] = files.map(() => []);
  await Promise.all(
    files.map(async ({ file, sha }, i) => {
      const full = path.join(abs, file);
      const st = statOrUndefined(full);
      const seen = st && byStat.get(full);
      if (
        st &&
        seen &&
        seen.trusted &&
        seen.ino === st.ino &&
        seen.mtimeMs === st.mtimeMs &&
        seen.size === st.size &&
        (!sha || sha === seen.sha)
      ) {
        perFile[i] = seen.manifests.map((m) => ({ ...m }));
        return;
      }
      let text: string | undefined;
      try {
        text = readFileSync(full, 'utf8');
      } catch (err) {
        const e = err as NodeJS.ErrnoException;
        problems.push({ file: `${folder}/${file}`, message: `cannot read: ${e.code ?? e.message}` });
      }
      if (text === undefined) return;
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
      if (st && problems.length === before)
        remember(full, {
          ino: st.ino,
          mtimeMs: st.mtimeMs,
          size: st.size,
          sha: actual,
          trusted,
          manifests: perFile[i].map((m) => ({ ...m })),
        });
    }),
  );
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

/** Reads the given folders; throws ManifestError listing every problem of every folder. */
export async function readFolders(dir: string, folders: string[]): Promise<Map<string, Manifest[]>> {
  const problems: Problem[] = [];
  const out = new Map<string, Manifest[]>();
  for (const f of folders) {
    if (
      !(await stat(path.join(dir, f)).then(
        (s) => s.isDirectory(),
        () => false,
      ))
    )
      continue;
    out.set(f, await readFolder(dir, f, problems));
  }
  if (problems.length > 0) throw new ManifestError(problems);
  return out;
}
