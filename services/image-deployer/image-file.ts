/**
 * kit's image files: `<images.path>/<org>/<name>/<branch>.yaml` holding `<images.property>: <image>`,
 * with `images` read from the repo's `kit.yaml`. Edits are made in place on the YAML document so
 * comments, key order and quoting survive.
 */
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { dirname, join, posix } from 'node:path';
import { Document, isMap, isScalar, parse, parseDocument } from 'yaml';
import type { ImageBump } from './image-bump.js';
import { PermanentWriteError } from './write-errors.js';

export interface ImagesLayout {
  /** Repo-relative folder, posix separators, no leading slash. */
  path: string;
  property: string;
}

/**
 * Reads `images.path`/`images.property` from the repo's `kit.yaml` (or `templates/kit.yaml`, where
 * the deploymentizer also looks). Without one: the deploymentizer's built-in layout
 * (`templates/images`) when the repo has `templates/`, else kit's `images`; property `image`.
 */
export async function readImagesLayout(dir: string): Promise<ImagesLayout> {
  for (const rel of ['kit.yaml', 'templates/kit.yaml']) {
    const text = await readFile(join(dir, rel), 'utf8').catch(() => undefined);
    if (text !== undefined) return layoutFromKitYaml(text, rel);
  }
  const hasTemplates = await stat(join(dir, 'templates')).then((s) => s.isDirectory(), () => false);
  return { path: hasTemplates ? 'templates/images' : 'images', property: 'image' };
}

function layoutFromKitYaml(text: string, file: string): ImagesLayout {
  let kit: unknown;
  try {
    kit = parse(text);
  } catch (err) {
    throw new PermanentWriteError(`${file}: not valid YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  const images = (kit as { images?: { path?: unknown; property?: unknown } } | null)?.images;
  const rawPath = typeof images?.path === 'string' ? images.path : 'images';
  // kit strips one leading "/": `/manifests/images` is repo-relative.
  const path = posix.normalize(rawPath.replace(/^\.?\//, '')).replace(/\/$/, '');
  if (path.startsWith('..')) throw new PermanentWriteError(`${file}: images.path ${rawPath} points outside the repo`);
  const property = typeof images?.property === 'string' && images.property ? images.property : 'image';
  return { path, property };
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
  if (doc.errors.length > 0) throw new PermanentWriteError(`${path}: not valid YAML: ${doc.errors[0]?.message.split('\n')[0]}`);
  if (!isMap(doc.contents)) throw new PermanentWriteError(`${path}: only YAML mappings can be updated`);
  const node = doc.get(layout.property, true);
  const previous = isScalar(node) ? String(node.value) : undefined;
  if (previous === bump.image) return { path, previous, image: bump.image, changed: false };
  if (isScalar(node)) node.value = bump.image; // keeps the scalar's quoting and its comments
  else doc.set(layout.property, bump.image);
  await writeFile(abs, doc.toString());
  return { path, previous, image: bump.image, changed: true };
}
