/**
 * Where a repo keeps its parts. kit reads them from `kit.yaml`; kitfed looks for one at
 * `<repo>/kit.yaml`, then `<repo>/templates/kit.yaml`, and otherwise uses the kitfed layout:
 *
 *   base      templates/            (base-cluster.yaml, base-var.yaml)
 *   type      templates/type/
 *   resources templates/resources/  (base-svc.mustache and the templates)
 *   images    templates/images/
 *   cluster   clusters/
 *   output    <repo>/.kitfed/rendered (unless --out)
 *
 * Paths in kit.yaml are relative to the repo (kit's --workdir) unless absolute; `/manifests/…`
 * (kit's Docker mount point of the repo) is mapped onto the repo.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { displayPath, exists, parseYaml } from './files.js';
import type { ArrayMerge } from './merge.js';
import { check, kitYamlSchema } from './schema.js';
import type { Problems } from './problems.js';
import type { RawRollout } from './rollout.js';

export type PluginKind = 'file-config';

export interface RepoLayout {
  repo: string;
  /** The kit.yaml used, or undefined for the built-in layout. */
  conf?: string;
  base: string;
  type: string;
  resources: string;
  images: string;
  /** Key holding the image reference in image files (kit.yaml `images.property`, default `image`). */
  imageProperty: string;
  cluster: string;
  output?: string;
  plugin?: { kind: PluginKind; options: Record<string, unknown> };
  arrayMerge: ArrayMerge;
  /** kit.yaml `kitfed.strict`: undefined template variables are errors. */
  strict: boolean;
  /** kit.yaml `rollout:` (structure checked; resolved against the clusters at render time). */
  rollout?: RawRollout;
}

interface KitYaml {
  base: { path: string };
  images: { path: string; property?: string };
  type: { path: string };
  cluster: { path: string };
  resources: { path: string };
  output?: { path: string };
  plugin?: { path: string; options?: Record<string, unknown> | null };
  kitfed?: { arrayMerge?: ArrayMerge; strict?: boolean };
  rollout?: RawRollout;
}

/**
 * kit's Docker image mounted the repo at `/manifests`, so kit.yaml files say `/manifests/images`.
 * Such paths are mapped onto the repo; other absolute paths stay as they are, relative ones are
 * relative to the repo.
 */
export const KIT_MOUNT = '/manifests';

function repoPath(repo: string, p: string): string {
  if (p === KIT_MOUNT || p.startsWith(`${KIT_MOUNT}/`)) return path.join(repo, p.slice(KIT_MOUNT.length));
  return path.resolve(repo, p);
}

export function defaultLayout(repo: string): RepoLayout {
  const t = path.join(repo, 'templates');
  return {
    repo,
    base: t,
    type: path.join(t, 'type'),
    resources: path.join(t, 'resources'),
    images: path.join(t, 'images'),
    imageProperty: 'image',
    cluster: path.join(repo, 'clusters'),
    arrayMerge: 'index',
    strict: false,
  };
}

function pluginOf(spec: NonNullable<KitYaml['plugin']>, file: string, problems: Problems): RepoLayout['plugin'] {
  const name = path.basename(spec.path).replace(/\.js$/, '');
  if (name === 'file-config') return { kind: 'file-config', options: spec.options ?? {} };
  if (name.startsWith('env-api')) {
    problems.add(
      file,
      'plugin.path',
      `the env-api plugin is not supported by kitfed (it called an InVision-internal service); use the file-config plugin or env in the repo`,
    );
  } else {
    problems.add(
      file,
      'plugin.path',
      `unknown plugin ${JSON.stringify(spec.path)}: kitfed has only the built-in file-config plugin`,
    );
  }
  return undefined;
}

/** Finds and validates the repo's kit.yaml (or the built-in layout). Problems are collected. */
export async function resolveLayout(
  repoArg: string,
  confArg: string | undefined,
  problems: Problems,
): Promise<RepoLayout> {
  const repo = path.resolve(repoArg);
  const candidates = confArg
    ? [path.resolve(confArg)]
    : [path.join(repo, 'kit.yaml'), path.join(repo, 'templates', 'kit.yaml')];
  let conf: string | undefined;
  for (const c of candidates)
    if (await exists(c)) {
      conf = c;
      break;
    }
  if (!conf) {
    if (confArg) problems.add(displayPath(repo, path.resolve(confArg)), '', 'no configuration file found');
    return defaultLayout(repo);
  }
  const file = displayPath(repo, conf);
  const data = parseYaml(await readFile(conf, 'utf8'), file, problems);
  if (data === undefined || !check(kitYamlSchema, data, file, problems)) return defaultLayout(repo);
  const kit = data as KitYaml;
  const at = (p: string): string => repoPath(repo, p);
  const layout: RepoLayout = {
    repo,
    conf,
    base: at(kit.base.path),
    type: at(kit.type.path),
    resources: at(kit.resources.path),
    images: at(kit.images.path),
    imageProperty: kit.images.property ?? 'image',
    cluster: at(kit.cluster.path),
    arrayMerge: kit.kitfed?.arrayMerge ?? 'index',
    strict: kit.kitfed?.strict ?? false,
  };
  if (kit.output) layout.output = at(kit.output.path);
  if (kit.rollout) layout.rollout = kit.rollout;
  if (kit.plugin) {
    const plugin = pluginOf(kit.plugin, file, problems);
    if (plugin) layout.plugin = plugin;
  }
  return layout;
}
