/** The Mustache view of one resource in one cluster (kit.md §2.6–2.9). */
import path from 'node:path';
import { displayPath } from './files.js';
import type { ExternalEnv, ExternalRef } from './external-env.js';
import { clone, kitMerge, type ArrayMerge } from './merge.js';
import type { ConfigPlugin } from './plugins.js';
import type { Problems } from './problems.js';
import type { ClusterNamespace, ContainerSpec, EnvEntry, Repo, ResourceSpec, Vars } from './repo.js';

export interface ViewContext {
  repo: Repo;
  /** Display path of the cluster.yaml: errors about merged resources name it. */
  file: string;
  cluster: ClusterNamespace;
  vars: Vars;
  arrays: ArrayMerge;
  plugin: ConfigPlugin | undefined;
  external: ExternalEnv;
  deployId?: string;
  fastRollback?: boolean;
  problems: Problems;
  warn: (path: string, message: string) => void;
}

interface ContainerSlot {
  key: string;
  path: string;
  spec: ContainerSpec;
}

function slotsOf(name: string, resource: ResourceSpec): ContainerSlot[] {
  const base = `resources.${name}`;
  if (!resource.containers) return [{ key: name, path: base, spec: resource }];
  return Object.entries(resource.containers).map(([key, spec]) => ({
    key,
    path: `${base}.containers.${key}`,
    spec: spec ?? {},
  }));
}

/** kit §2.7: with more than one container (and not a `*-hpa` resource) exactly one is primary. */
function checkPrimary(ctx: ViewContext, name: string, slots: ContainerSlot[]): Map<string, boolean> | undefined {
  const primary = new Map<string, boolean>();
  if (slots.length < 2 || name.endsWith('-hpa')) return primary;
  for (const s of slots) primary.set(s.key, s.spec.primary ?? Boolean(s.spec.image_tag));
  const count = [...primary.values()].filter(Boolean).length;
  if (count === 1) return primary;
  const what = count === 0 ? 'No main container' : 'More than one main container';
  ctx.problems.add(ctx.file, `resources.${name}.containers`, `Checking primary: ${what} for ${name}`);
  return undefined;
}

function resolveImage(
  ctx: ViewContext,
  name: string,
  slot: ContainerSlot,
  c: Record<string, unknown>,
  branch: string | undefined,
): void {
  if (typeof c.image === 'string') {
    ctx.warn(`${slot.path}.image`, `container already has an image; image_tag is not used`);
    return;
  }
  const tag = c.image_tag;
  if (typeof tag !== 'string') {
    if (!name.endsWith('-hpa') && slot.path.includes('.containers.'))
      ctx.warn(slot.path, `No image tag found for ${name}`);
    return;
  }
  const want = (typeof c.branch === 'string' ? c.branch : undefined) ?? branch;
  const branches = ctx.repo.images.get(tag);
  const dir = (): string => displayPath(ctx.repo.layout.repo, path.join(ctx.repo.layout.images, tag));
  if (!branches) {
    ctx.problems.add(
      ctx.file,
      `${slot.path}.image_tag`,
      `no images for ${JSON.stringify(tag)} (${dir()} does not exist)`,
    );
    return;
  }
  // kitfed's image-deployer writes branch `feature/x` to `feature-x.yaml` (a `/` cannot be in a file name).
  const file = want === undefined ? undefined : [want, want.replaceAll('/', '-')].find((b) => branches.has(b));
  if (file === undefined) {
    const has = [...branches.keys()].sort().join(', ');
    ctx.problems.add(
      ctx.file,
      `${slot.path}.image_tag`,
      `no image for branch ${JSON.stringify(want ?? '')} (${dir()} has: ${has})`,
    );
  } else c.image = branches.get(file);
}

function resolveEnv(ctx: ViewContext, slot: ContainerSlot, env: EnvEntry[], refs: ExternalRef[]): EnvEntry[] {
  return env.map((entry) => {
    if (entry.external !== true) return entry;
    const value = ctx.external.resolve(entry, refs, ctx.file, `${slot.path}.env.${entry.name}`, ctx.problems);
    return value === undefined ? entry : { ...entry, value };
  });
}

async function buildContainer(
  ctx: ViewContext,
  name: string,
  slot: ContainerSlot,
  branch: string | undefined,
  primary: boolean | undefined,
  refs: ExternalRef[],
): Promise<Record<string, unknown>> {
  let c: Record<string, unknown> = clone(slot.spec);
  delete c.containers;
  c.name ??= name;
  c.resourceName = name;
  if (primary !== undefined) c.primary = primary;
  if (ctx.plugin) {
    const fromPlugin = await ctx.plugin.fetch(String(c.name), ctx.cluster.metadata.name, ctx.problems);
    if (fromPlugin) c = kitMerge(c, fromPlugin, ctx.arrays);
  }
  const repoEnv = Array.isArray(slot.spec.env) ? slot.spec.env : undefined;
  if (repoEnv) c = kitMerge(c, { env: resolveEnv(ctx, slot, repoEnv, refs) }, ctx.arrays);
  resolveImage(ctx, name, slot, c, branch);
  return c;
}

/** Builds the view; problems are recorded in ctx.problems. `refs` collects external env placeholders. */
export async function buildView(
  ctx: ViewContext,
  name: string,
  resource: ResourceSpec,
  refs: ExternalRef[],
): Promise<Record<string, unknown> | undefined> {
  const view: Record<string, unknown> = clone(ctx.vars);
  const branch = resource.branch ?? ctx.cluster.metadata.branch;
  view.branch = branch;
  view.name = name;
  if (ctx.deployId !== undefined) {
    const deployment = (
      typeof view.deployment === 'object' && view.deployment !== null ? view.deployment : {}
    ) as Record<string, unknown>;
    deployment.id = ctx.deployId;
    deployment.fastRollback = ctx.fastRollback === true;
    view.deployment = deployment;
  }
  const slots = slotsOf(name, resource);
  const primary = checkPrimary(ctx, name, slots);
  if (!primary) return undefined;
  for (const slot of slots) {
    view[slot.key] = await buildContainer(ctx, name, slot, branch, primary.get(slot.key), refs);
  }
  if (resource.svc) view.svc = clone(resource.svc);
  return view;
}
