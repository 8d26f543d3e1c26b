/**
 * kit's image files: `<images.path>/<org>/<name>/<branch>.yaml` holding `<images.property>: <image>`,
 * with `images` read from the repo's `kit.yaml`. Edits are made in place on the YAML document so
 * comments, key order and quoting survive.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, posix, relative, resolve, sep } from 'node:path';
import { Document, isMap, isScalar, parseDocument } from 'yaml';
import { resolveLayout } from '../deploymentizer/index.js';
import { formatProblem, Problems } from '../deploymentizer/index.js';
import type { ImageBump } from './image-bump.js';
import { PermanentWriteError } from '../core/write-errors.js';

export interface ImagesLayout {
  /** Repo-relative folder, posix separators, no leading slash. */
  path: string;
  property: string;
}

/**
 * Where image files live, read exactly as the deploymentizer reads it (so what is written is what
 * renders): the repo's `kit.yaml` or `templates/kit.yaml` `images.path` (kit's `/manifests/…` mount
 * paths mapped onto the repo) and `images.property`; without one, `templates/images` and `image`.
 */
export async function readImagesLayout(dir: string): Promise<ImagesLayout> {
  const problems = new Problems();
  const layout = await resolveLayout(dir, undefined, problems);
  if (problems.size > 0)
    throw new PermanentWriteError(`manifests repo layout: ${problems.list.map(formatProblem).join('; ')}`);
  const rel = relative(resolve(dir), layout.images).split(sep).join('/');
  if (rel.startsWith('..') || isAbsolute(rel))
    throw new PermanentWriteError(`kit.yaml: images.path points outside the repo (${layout.images})`);
  return { path: rel || '.', property: layout.imageProperty };
}

/** The repo-relative file a bump writes: `images/acme/web/feature-x.yaml` for branch `feature/x`. */
export function imageFilePath(layout: ImagesLayout, bump: Pick<ImageBump, 'repository' | 'branch'>): string {
  return posix.join(layout.path, bump.repository, `${bump.branch.replaceAll('/', '-')}.yaml`);
}

export interface FileEdit {
  path: string;
  previous: string | undefined;
  image: string;
  changed: boolean;
}

/** Sets the image property in one file, creating it if needed. Writes only when the value changes. */
export async function writeImage(dir: string, layout: ImagesLayout, bump: ImageBump): Promise<FileEdit> {
  const path = imageFilePath(layout, bump);
  const abs = join(dir, path);
  let text: string | undefined;
  try {
    text = await readFile(abs, 'utf8');
  } catch {
    text = undefined;
  }
  if (text === undefined || text.trim() === '') {
    await mkdir(dirname(abs), { recursive: true });
    await writeFile(abs, new Document({ [layout.property]: bump.image }).toString());
    return { path, previous: undefined, image: bump.image, changed: true };
  }
  const doc = parseDocument(text);
  if (doc.errors.length > 0)
    throw new PermanentWriteError(`${path}: not valid YAML: ${doc.errors[0]?.message.split('\n')[0]}`);
  if (!isMap(doc.contents)) throw new PermanentWriteError(`${path}: only YAML mappings can be updated`);
  const node = doc.get(layout.property, true);
  const previous = isScalar(node) ? String(node.value) : undefined;
  if (previous === bump.image) return { path, previous, image: bump.image, changed: false };
  if (isScalar(node))
    node.value = bump.image; // keeps the scalar's quoting and its comments
  else doc.set(layout.property, bump.image);
  await writeFile(abs, doc.toString());
  return { path, previous, image: bump.image, changed: true };
}
