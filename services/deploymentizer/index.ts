/**
 * The deploymentizer: renders per-cluster manifests from a kit-format repo (kit.md §2).
 * Validation first (every problem collected), rendering in memory, then one atomic write.
 */
import path from 'node:path';
import { displayPath } from './files.js';
import { createLogger } from '../core/log.js';
import { resolveLayout } from './config.js';
import { ExternalEnv } from './external-env.js';
import { renderCluster, Templates, type ClusterRender, type Shared } from './generate.js';
import { checkOutDir, indexOf, writeOutput, type ClusterIndex } from './output.js';
import { createPlugin, type ConfigPlugin } from './plugins.js';
import { Problems, RenderError, type Problem } from './problems.js';
import { loadRepo, type ClusterInput, type Repo } from './repo.js';
import { resolveRollout, type RolloutCluster, type RolloutPlan } from './rollout.js';

export { Problems, RenderError, formatProblem, type Problem } from './problems.js';
export { resolveLayout } from './config.js';
export { INDEX_FILE, SUMMARY_FILE, type ClusterIndex, type IndexEntry, type RenderSummary } from './output.js';
export type { MetricGatePlan, RolloutPlan, RolloutStagePlan } from './rollout.js';

export interface RenderOptions {
  /** The manifests repo (kit's --workdir). */
  repo: string;
  /** Output dir; default: kit.yaml `output.path`, else `<repo>/.kitfed/rendered`. */
  out?: string;
  /** kit.yaml to use; default `<repo>/kit.yaml`, then `<repo>/templates/kit.yaml`, else the built-in layout. */
  conf?: string;
  /** Only clusters with these `metadata.name`s. */
  clusters?: string[];
  /** Only clusters with these `metadata.type`s. */
  types?: string[];
  /** Only these resources (keys under `resources`). */
  resources?: string[];
  deployId?: string;
  fastRollback?: boolean;
  /** Write external env values into the manifests as kit did, instead of a Secret + secretKeyRef. */
  inlineExternalEnv?: boolean;
  /** Where external env values come from; default process.env. */
  env?: Record<string, string | undefined>;
  /** Validate and render in memory only; write nothing. */
  check?: boolean;
  /** Undefined variables in `{{x}}`/`{{{x}}}` tags are errors (default: kit.yaml `kitfed.strict`, else false). */
  strict?: boolean;
}

export interface RenderedFile {
  /** Absolute path (where it was, or would have been, written). */
  path: string;
  file: string;
  apiVersion: string;
  kind: string;
  namespace: string | null;
  name: string;
  sha256: string;
}

export interface RenderedCluster {
  name: string;
  type: string;
  /** cluster.yaml `metadata.labels` (rollout stages select on them). */
  labels: Record<string, string>;
  dir: string;
  digest: string;
  files: RenderedFile[];
}

export interface RenderResult {
  out: string;
  written: boolean;
  clusters: RenderedCluster[];
  warnings: Problem[];
  /** kit.yaml `rollout:` resolved against the rendered clusters; null without one. */
  rollout: RolloutPlan | null;
  /** Wall time of each phase (not written anywhere: output stays deterministic). */
  timings: { loadMs: number; renderMs: number; writeMs: number };
}

const log = createLogger('deploymentizer');

function optionProblems(o: RenderOptions, problems: Problems): void {
  if (o.deployId !== undefined && !(o.resources && o.resources.length > 0)) {
    problems.add('(options)', 'deployId', 'You must include the resource if deploying a specific id');
  }
  if (o.fastRollback === true && o.deployId === undefined) {
    problems.add('(options)', 'fastRollback', 'You must include the id if configuring fastRollbacks');
  }
}

function selectClusters(all: ClusterInput[], o: RenderOptions, problems: Problems): ClusterInput[] {
  for (const n of o.clusters ?? [])
    if (!all.some((c) => c.cluster.metadata.name === n))
      problems.add('(options)', 'clusters', `no cluster named ${JSON.stringify(n)}`);
  for (const t of o.types ?? [])
    if (!all.some((c) => c.cluster.metadata.type === t))
      problems.add('(options)', 'types', `no cluster has type ${JSON.stringify(t)}`);
  return all.filter(
    (c) =>
      (!o.clusters || o.clusters.includes(c.cluster.metadata.name)) &&
      (!o.types || o.types.includes(c.cluster.metadata.type ?? '')),
  );
}

function resultOf(
  out: string,
  written: boolean,
  renders: ClusterRender[],
  indexes: ClusterIndex[],
  warnings: Problem[],
  labels: Map<string, Record<string, string>>,
  rollout: RolloutPlan | undefined,
  timings: RenderResult['timings'],
): RenderResult {
  const clusters = renders.map((c, i) => {
    const dir = path.join(out, c.name);
    const idx = indexes[i]!;
    const files = idx.objects.map((o) => ({
      path: path.join(dir, o.file),
      file: o.file,
      apiVersion: o.apiVersion,
      kind: o.kind,
      namespace: o.namespace,
      name: o.name,
      sha256: o.sha256,
    }));
    return { name: c.name, type: c.type, labels: labels.get(c.name) ?? {}, dir, digest: idx.digest, files };
  });
  return { out, written, clusters, warnings, rollout: rollout ?? null, timings };
}

function sharedFor(repo: Repo, plugin: ConfigPlugin | undefined, options: RenderOptions, warnings: Problem[]): Shared {
  const generate: Shared['options'] = {};
  if (options.resources) generate.resources = options.resources;
  if (options.deployId !== undefined) generate.deployId = options.deployId;
  if (options.fastRollback !== undefined) generate.fastRollback = options.fastRollback;
  generate.strict = options.strict ?? repo.layout.strict;
  return {
    repo,
    plugin,
    external: new ExternalEnv(options.inlineExternalEnv ? 'inline' : 'secret', options.env ?? process.env),
    templates: new Templates(),
    options: generate,
    warn: (w) => warnings.push(w),
  };
}

/** Renders every selected cluster whose type exists (the others already have a problem recorded). */
async function renderAll(shared: Shared, selected: ClusterInput[], problems: Problems): Promise<ClusterRender[]> {
  const renders: ClusterRender[] = [];
  for (const input of selected) {
    const t = input.cluster.metadata.type;
    if (!t || !shared.repo.types.has(t)) continue;
    const r = await renderCluster(shared, input, problems);
    if (r) renders.push(r);
  }
  return renders;
}

function checkResourceFilter(
  repo: Repo,
  selected: ClusterInput[],
  wanted: string[] | undefined,
  problems: Problems,
): void {
  for (const name of wanted ?? []) {
    if (!selected.some((c) => c.cluster.resources?.[name] || repo.base.resources?.[name])) {
      problems.add('(options)', 'resources', `no cluster has a resource named ${JSON.stringify(name)}`);
    }
  }
}

/**
 * Renders the repo. Throws RenderError (all problems, each naming file and YAML path) before
 * writing anything; on success the output dir is replaced as a whole.
 */
export async function render(options: RenderOptions): Promise<RenderResult> {
  const started = performance.now();
  const problems = new Problems();
  optionProblems(options, problems);
  const layout = await resolveLayout(options.repo, options.conf, problems);
  const out = path.resolve(options.out ?? layout.output ?? path.join(layout.repo, '.kitfed', 'rendered'));
  const repo = await loadRepo(layout, problems);
  const plugin = createPlugin(layout, problems);
  await checkOutDir(out, layout.repo, problems);
  if (!repo) throw new RenderError(problems.list);
  const loaded = performance.now();
  const selected = selectClusters(repo.clusters, options, problems);
  const warnings: Problem[] = [];
  const renders = await renderAll(sharedFor(repo, plugin, options, warnings), selected, problems);
  checkResourceFilter(repo, selected, options.resources, problems);
  const labels = new Map(repo.clusters.map((c) => [c.cluster.metadata.name, c.cluster.metadata.labels ?? {}]));
  const rollout = planOf(repo, renders, labels, problems);
  problems.throwIfAny();
  const rendered = performance.now();
  for (const w of warnings) log.warn({ file: w.file, path: w.path }, w.message);
  const indexes = renders.map(indexOf);
  if (!options.check) await writeOutput(out, renders, indexes, rollout);
  log.info(
    {
      out,
      clusters: renders.length,
      objects: renders.reduce((n, r) => n + r.objects.length, 0),
      written: !options.check,
    },
    'rendered',
  );
  const timings = { loadMs: loaded - started, renderMs: rendered - loaded, writeMs: performance.now() - rendered };
  return resultOf(out, !options.check, renders, indexes, warnings, labels, rollout, timings);
}

/** kit.yaml `rollout:` resolved against the clusters rendered (selectors checked against every cluster). */
function planOf(
  repo: Repo,
  renders: ClusterRender[],
  labels: Map<string, Record<string, string>>,
  problems: Problems,
): RolloutPlan | undefined {
  const raw = repo.layout.rollout;
  if (!raw || !repo.layout.conf) return undefined;
  const info = (name: string, type: string): RolloutCluster => ({ name, type, labels: labels.get(name) ?? {} });
  return resolveRollout(
    raw,
    renders.map((r) => info(r.name, r.type)),
    repo.clusters.map((c) => info(c.cluster.metadata.name, c.cluster.metadata.type ?? '')),
    new Set(repo.types.keys()),
    displayPath(repo.layout.repo, repo.layout.conf),
    problems,
  );
}
