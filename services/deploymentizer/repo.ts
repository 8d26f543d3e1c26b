/** Loads and validates every input file of a kit repository into memory. */
import path from 'node:path';
import type { RepoLayout } from './config.js';
import { displayPath, isDir, listDir, loadYaml } from './files.js';
import type { Problems } from './problems.js';
import { check, clusterNamespaceSchema, imageFileSchema, resourceConfigSchema, typeConfigSchema } from './schema.js';

export type Vars = Record<string, unknown>;

export interface EnvEntry {
  name: string;
  value?: string | number | boolean | null;
  external?: boolean;
  encoding?: BufferEncoding;
  [field: string]: unknown;
}

export interface ContainerSpec {
  name?: string;
  image_tag?: string;
  image?: string;
  branch?: string;
  primary?: boolean;
  env?: EnvEntry[] | null;
  [field: string]: unknown;
}

export interface ResourceSpec extends ContainerSpec {
  file?: string;
  disable?: boolean;
  kind?: string;
  svc?: { name: string; [field: string]: unknown } | null;
  containers?: Record<string, ContainerSpec> | null;
}

export interface ClusterNamespace {
  kind: 'ClusterNamespace';
  metadata: {
    name: string;
    branch?: string;
    type?: string;
    disable?: boolean;
    allowFailure?: boolean;
    labels?: Record<string, string>;
    [field: string]: unknown;
  };
  resources?: Record<string, ResourceSpec | null> | null;
  [field: string]: unknown;
}

export interface ClusterInput {
  /** Display path of the cluster's cluster.yaml. */
  file: string;
  cluster: ClusterNamespace;
  vars: Vars;
}

export interface TypeDef {
  file: string;
  vars: Vars;
}

export interface Repo {
  layout: RepoLayout;
  baseFile: string;
  base: ClusterNamespace;
  baseVars: Vars;
  types: Map<string, TypeDef>;
  /** image_tag → branch → image reference. */
  images: Map<string, Map<string, string>>;
  clusters: ClusterInput[];
}

async function loadChecked(
  abs: string,
  schema: object,
  repo: string,
  problems: Problems,
  optional = false,
): Promise<unknown> {
  const file = displayPath(repo, abs);
  const data = await loadYaml(abs, file, problems, optional);
  if (data === undefined) return undefined;
  return check(schema, data, file, problems) ? data : undefined;
}

async function loadTypes(layout: RepoLayout, problems: Problems): Promise<Map<string, TypeDef>> {
  const types = new Map<string, TypeDef>();
  if (!(await isDir(layout.type))) {
    problems.add(displayPath(layout.repo, layout.type), '', 'type directory not found');
    return types;
  }
  for (const entry of await listDir(layout.type)) {
    if (!entry.isFile() || !entry.name.endsWith('-var.yaml')) continue;
    const abs = path.join(layout.type, entry.name);
    const file = displayPath(layout.repo, abs);
    const vars = (await loadChecked(abs, typeConfigSchema, layout.repo, problems)) as
      (Vars & { metadata: { type: string } }) | undefined;
    if (!vars) continue;
    const prior = types.get(vars.metadata.type);
    if (prior)
      problems.add(
        file,
        'metadata.type',
        `type ${JSON.stringify(vars.metadata.type)} is already defined by ${prior.file}`,
      );
    else types.set(vars.metadata.type, { file, vars });
  }
  return types;
}

async function walkImages(
  root: string,
  dir: string,
  property: string,
  repo: string,
  images: Repo['images'],
  problems: Problems,
): Promise<void> {
  for (const entry of await listDir(dir)) {
    const abs = path.join(dir, entry.name);
    if (entry.isDirectory()) await walkImages(root, abs, property, repo, images, problems);
    else if (entry.isFile() && entry.name.endsWith('.yaml') && dir !== root) {
      const key = path.relative(root, dir).split(path.sep).join('/');
      const data = (await loadChecked(abs, imageFileSchema(property), repo, problems)) as
        Record<string, string> | undefined;
      if (!data) continue;
      let branches = images.get(key);
      if (!branches) images.set(key, (branches = new Map()));
      branches.set(entry.name.slice(0, -'.yaml'.length), data[property]!);
    }
  }
}

async function loadClusters(layout: RepoLayout, problems: Problems): Promise<ClusterInput[]> {
  const out: ClusterInput[] = [];
  if (!(await isDir(layout.cluster))) {
    problems.add(displayPath(layout.repo, layout.cluster), '', 'cluster directory not found');
    return out;
  }
  const byName = new Map<string, string>();
  for (const entry of await listDir(layout.cluster)) {
    if (!entry.isDirectory()) continue;
    const dir = path.join(layout.cluster, entry.name);
    const abs = path.join(dir, 'cluster.yaml');
    const file = displayPath(layout.repo, abs);
    const cluster = (await loadChecked(abs, clusterNamespaceSchema, layout.repo, problems, true)) as
      ClusterNamespace | undefined;
    const vars = (await loadChecked(
      path.join(dir, 'configuration-var.yaml'),
      resourceConfigSchema,
      layout.repo,
      problems,
      true,
    )) as Vars | undefined;
    if (!cluster) continue;
    const prior = byName.get(cluster.metadata.name);
    if (prior)
      problems.add(
        file,
        'metadata.name',
        `cluster ${JSON.stringify(cluster.metadata.name)} is already defined by ${prior}`,
      );
    byName.set(cluster.metadata.name, file);
    if (!cluster.metadata.type)
      problems.add(file, 'metadata.type', `No Type found for cluster ${cluster.metadata.name}`);
    out.push({ file, cluster, vars: vars ?? { kind: 'ResourceConfig' } });
  }
  return out;
}

/** Reads the whole repo. Every problem is collected; the caller throws when there are any. */
export async function loadRepo(layout: RepoLayout, problems: Problems): Promise<Repo | undefined> {
  const baseAbs = path.join(layout.base, 'base-cluster.yaml');
  const [base, baseVars, types, clusters] = await Promise.all([
    loadChecked(baseAbs, clusterNamespaceSchema, layout.repo, problems) as Promise<ClusterNamespace | undefined>,
    loadChecked(path.join(layout.base, 'base-var.yaml'), resourceConfigSchema, layout.repo, problems) as Promise<
      Vars | undefined
    >,
    loadTypes(layout, problems),
    loadClusters(layout, problems),
  ]);
  const images: Repo['images'] = new Map();
  await walkImages(layout.images, layout.images, layout.imageProperty, layout.repo, images, problems);
  for (const c of clusters) {
    const t = c.cluster.metadata.type;
    if (t && !types.has(t)) problems.add(c.file, 'metadata.type', `UnSupported Type ${t}`);
  }
  if (!base || !baseVars) return undefined;
  return { layout, baseFile: displayPath(layout.repo, baseAbs), base, baseVars, types, images, clusters };
}
