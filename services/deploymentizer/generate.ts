/** Renders the objects of one cluster in memory (kit.md §2.5, §2.10). Nothing is written here. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { stringify } from 'yaml';
import { bindExternal, type ExternalEnv, type ExternalRef } from './external-env.js';
import { displayPath } from './files.js';
import { checkManifest, type ObjectIdentity } from './manifest.js';
import { kitMerge } from './merge.js';
import type { ConfigPlugin } from './plugins.js';
import { Problems, type Problem } from './problems.js';
import type { ClusterInput, ClusterNamespace, Repo, ResourceSpec, Vars } from './repo.js';
import { renderTemplate } from './template.js';
import { buildView, type ViewContext } from './view.js';

export interface RenderedObject extends ObjectIdentity {
  /** File name inside the cluster folder. */
  file: string;
  text: string;
  /** kit resource name (key under `resources`). */
  resource: string;
  /** Repo-relative template (or `(external env)` for generated Secrets). */
  source: string;
}

export interface ClusterRender {
  name: string;
  type: string;
  objects: RenderedObject[];
}

export interface GenerateOptions {
  resources?: string[];
  /** Undefined variables in `{{x}}` tags are errors. */
  strict?: boolean;
  deployId?: string;
  fastRollback?: boolean;
}

/** Reads each template once per run. */
export class Templates {
  private readonly cache = new Map<string, string | undefined>();
  async read(abs: string): Promise<string | undefined> {
    if (!this.cache.has(abs)) {
      let text: string | undefined;
      try {
        text = readFileSync(abs, 'utf8');
      } catch {
        text = undefined;
      }
      this.cache.set(abs, text);
    }
    return this.cache.get(abs);
  }
  private readonly names = new Map<string, string>();
  /** The repo-relative name of a template, computed once. */
  displayName(abs: string, repo: string): string {
    let name = this.names.get(abs);
    if (name === undefined) this.names.set(abs, (name = displayPath(repo, abs)));
    return name;
  }
}

export interface Shared {
  repo: Repo;
  plugin: ConfigPlugin | undefined;
  external: ExternalEnv;
  templates: Templates;
  options: GenerateOptions;
  warn: (w: Problem) => void;
}

interface Output {
  source: string;
  file: string;
  text: string;
}

async function templateOutputs(
  sh: Shared,
  ctx: ViewContext,
  name: string,
  r: ResourceSpec,
  view: object,
): Promise<Output[]> {
  const { layout } = sh.repo;
  const out: Output[] = [];
  const add = async (rel: string, yamlPath: string, outName?: string): Promise<void> => {
    const abs = path.resolve(layout.resources, rel);
    const source = sh.templates.displayName(abs, layout.repo);
    const ext = path.extname(rel);
    if (ext !== '.yaml' && ext !== '.mustache') {
      ctx.problems.add(ctx.file, yamlPath, `Unknown file type: ${ext || '(none)'} (${source}); use .mustache or .yaml`);
      return;
    }
    const text = await sh.templates.read(abs);
    if (text === undefined) {
      ctx.problems.add(ctx.file, yamlPath, `template not found: ${source}`);
      return;
    }
    const file = outName ?? `${path.basename(rel, ext)}.yaml`;
    if (ext === '.yaml') return void out.push({ source, file, text });
    try {
      const rendered = renderTemplate(text, view, sh.options.strict === true);
      for (const name of rendered.missing) {
        ctx.problems.add(
          source,
          '',
          `rendered for cluster ${ctx.cluster.metadata.name}: undefined variable {{${name}}} (strict mode)`,
        );
      }
      out.push({ source, file, text: rendered.text });
    } catch (err) {
      ctx.problems.add(source, '', `template does not render: ${(err as Error).message}`);
    }
  };
  if (r.file) await add(r.file, `resources.${name}.file`);
  if (r.svc) await add('base-svc.mustache', `resources.${name}.svc`, `${r.svc.name}.yaml`);
  return out;
}

function secretObject(name: string, namespace: string | null, keys: Map<string, string>): RenderedObject {
  const data = Object.fromEntries(
    [...keys.entries()]
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([k, v]) => [k, Buffer.from(v, 'utf8').toString('base64')]),
  );
  const metadata = namespace ? { name, namespace } : { name };
  const text = stringify({ apiVersion: 'v1', kind: 'Secret', metadata, type: 'Opaque', data }, { lineWidth: 0 });
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    namespace,
    name,
    file: `${name}.yaml`,
    text,
    resource: '',
    source: '(external env)',
  };
}

async function renderResource(sh: Shared, ctx: ViewContext, name: string, r: ResourceSpec): Promise<RenderedObject[]> {
  const refs: ExternalRef[] = [];
  const view = await buildView(ctx, name, r, refs);
  if (!view || ctx.problems.size > 0) return [];
  const objects: RenderedObject[] = [];
  const used = new Map<string, string>();
  const secretName = `${name}-external-env`;
  let secretNs: string | null | undefined;
  const context = `rendered for cluster ${ctx.cluster.metadata.name}`;
  for (const o of await templateOutputs(sh, ctx, name, r, view)) {
    const id = checkManifest(o.text, o.source, context, ctx.problems);
    if (!id) continue;
    let text = o.text;
    if (sh.external.mentions(text)) {
      const bound = bindExternal(text, refs, secretName, o.source, ctx.problems);
      if (!bound) continue;
      text = bound.text;
      for (const [k, v] of bound.used) used.set(k, v);
      if (bound.used.size > 0) {
        if (secretNs !== undefined && secretNs !== id.namespace)
          ctx.problems.add(ctx.file, `resources.${name}`, 'external env is used by objects in different namespaces');
        secretNs = id.namespace;
      }
    }
    objects.push({ ...id, file: o.file, text, resource: name, source: o.source });
  }
  if (used.size > 0) {
    if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(secretName)) {
      ctx.problems.add(
        ctx.file,
        `resources.${name}`,
        `cannot name the external env Secret ${JSON.stringify(secretName)} (resource names with external env must be lowercase DNS labels)`,
      );
    }
    objects.push({ ...secretObject(secretName, secretNs ?? null, used), resource: name });
  }
  return objects;
}

function mergedInputs(repo: Repo, input: ClusterInput): { cluster: ClusterNamespace; vars: Vars } {
  const arrays = repo.layout.arrayMerge;
  const cluster = kitMerge(repo.base, input.cluster, arrays) as ClusterNamespace;
  const typeVars = repo.types.get(input.cluster.metadata.type ?? '')?.vars;
  const vars = kitMerge(kitMerge(repo.baseVars, typeVars, arrays), input.vars, arrays);
  return { cluster, vars };
}

/**
 * Renders one cluster. Resource problems go to `problems`, or become warnings when the cluster
 * has `allowFailure: true`. Returns undefined for a disabled cluster.
 */
export async function renderCluster(
  sh: Shared,
  input: ClusterInput,
  problems: Problems,
): Promise<ClusterRender | undefined> {
  const { cluster, vars } = mergedInputs(sh.repo, input);
  if (cluster.metadata.disable === true) return undefined;
  const wanted = sh.options.resources;
  const resources = Object.entries(cluster.resources ?? {}).filter(
    ([n, r]) => r && (!wanted || wanted.includes(n)),
  ) as Array<[string, ResourceSpec]>;
  const objects: RenderedObject[] = [];
  for (const [name, r] of resources) {
    if (r.disable === true) continue;
    const local = new Problems();
    const ctx: ViewContext = {
      repo: sh.repo,
      file: input.file,
      cluster,
      vars,
      arrays: sh.repo.layout.arrayMerge,
      plugin: sh.plugin,
      external: sh.external,
      problems: local,
      warn: (p, message) => sh.warn({ file: input.file, path: p, message }),
    };
    if (sh.options.deployId !== undefined) ctx.deployId = sh.options.deployId;
    if (sh.options.fastRollback !== undefined) ctx.fastRollback = sh.options.fastRollback;
    const rendered = await renderResource(sh, ctx, name, r);
    if (local.size === 0) objects.push(...rendered);
    else if (cluster.metadata.allowFailure === true)
      for (const p of local.list) sh.warn({ ...p, message: `${p.message} (resource ${name} skipped: allowFailure)` });
    else problems.list.push(...local.list);
  }
  const byFile = new Map<string, RenderedObject>();
  for (const o of objects) {
    const prior = byFile.get(o.file);
    if (prior)
      problems.add(
        input.file,
        `resources.${o.resource}`,
        `output file ${o.file} is also written by resource ${prior.resource} (${prior.source})`,
      );
    else byFile.set(o.file, o);
  }
  objects.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
  return { name: cluster.metadata.name, type: cluster.metadata.type ?? '', objects };
}
