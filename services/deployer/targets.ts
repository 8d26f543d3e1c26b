/**
 * Which clusters to deploy to and which folder each one gets:
 * - `kubeconfig`: every context of the file is a cluster; its folder has the context's name;
 * - `kubeconfigs` (kit's layout, kit.md §3.3): every file in the dir is a kubeconfig with a
 *   top-level `metadata.name` (the folder) whose current-context is used;
 * - `federation`: one folder applied to the federation API (one context) as one cluster.
 * The context's namespace is the default namespace of manifests that set none.
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { errors } from '../core/errors.js';
import { isObject } from '../core/kube.js';
import { Kubeconfig } from '../core/kubeconfig.js';
import type { DeployOptions } from './types.js';

export interface Target {
  cluster: string;
  folder: string;
  kubeconfig: string;
  context: string;
  server: string;
  namespace: string;
  allowFailure: boolean;
}

export interface TargetSet {
  targets: Target[];
  unknownFolders: string[];
  missingFolders: string[];
}

function contextInfo(kc: Kubeconfig, context: string): { server: string; namespace: string } {
  const t = kc.target(context);
  return { server: t.server, namespace: t.namespace ?? 'default' };
}

function load(file: string): Kubeconfig {
  return Kubeconfig.read({ file });
}

function fromKubeconfig(file: string, allow: Set<string>): Target[] {
  const kc = load(file);
  return kc.contexts.map((name) => ({
    cluster: name,
    folder: name,
    kubeconfig: file,
    context: name,
    ...contextInfo(kc, name),
    allowFailure: allow.has(name),
  }));
}

async function fromKitDir(dir: string, allow: Set<string>): Promise<Target[]> {
  const names = (
    await readdir(dir, { withFileTypes: true }).catch((err: NodeJS.ErrnoException) => {
      throw errors.badRequest(`kubeconfigs dir ${dir}: ${err.code ?? err.message}`);
    })
  )
    .filter((e) => e.isFile() && !e.name.startsWith('.'))
    .map((e) => e.name)
    .sort();
  const out: Target[] = [];
  // The `yaml` library only for this layout: `kitfed deploy --kubeconfig FILE` never loads it.
  const { default: YAML } = await import('yaml');
  for (const name of names) {
    const file = path.join(dir, name);
    let doc: unknown;
    try {
      doc = YAML.parse(await readFile(file, 'utf8'));
    } catch (err) {
      throw errors.badRequest(`kubeconfig ${file}: ${(err as Error).message.split('\n')[0]}`);
    }
    if (!isObject(doc) || doc.kind !== 'Config')
      throw errors.badRequest(
        `Expected kind: 'Config', found kind: '${isObject(doc) ? String(doc.kind) : typeof doc}' in ${file}`,
      );
    const meta = isObject(doc.metadata) ? doc.metadata : {};
    if (typeof meta.name !== 'string' || !meta.name)
      throw errors.badRequest(`Missing required 'metadata.name' property for ${file}`);
    const kc = load(file);
    const context = kc.currentContext;
    out.push({
      cluster: meta.name,
      folder: meta.name,
      kubeconfig: file,
      context,
      ...contextInfo(kc, context),
      allowFailure: allow.has(meta.name) || meta.allowFailure === true,
    });
  }
  return out;
}

function federation(opts: DeployOptions, folders: string[], allow: Set<string>): Target[] {
  if (!opts.kubeconfig) throw errors.badRequest('--target federation needs --kubeconfig (and optionally --context)');
  const kc = load(opts.kubeconfig);
  const context = opts.context ?? (kc.hasContext('federation') ? 'federation' : kc.currentContext);
  const folder =
    opts.folder ?? (folders.includes('federation') ? 'federation' : folders.length === 1 ? folders[0] : undefined);
  if (!folder)
    throw errors.badRequest(
      `--target federation: which folder? (--folder NAME; the dir has ${folders.join(', ') || 'none'})`,
    );
  return [
    {
      cluster: context,
      folder,
      kubeconfig: opts.kubeconfig,
      context,
      ...contextInfo(kc, context),
      allowFailure: allow.has(context) || allow.has(folder),
    },
  ];
}

/** Resolves targets and matches them to folders; unknown folders and folderless clusters are reported. */
export async function resolveTargets(opts: DeployOptions, folders: string[]): Promise<TargetSet> {
  const allow = new Set(opts.allowFailure ?? []);
  let all: Target[];
  if (opts.target === 'federation') all = federation(opts, folders, allow);
  else if (opts.kubeconfigs) all = await fromKitDir(opts.kubeconfigs, allow);
  else if (opts.kubeconfig) all = fromKubeconfig(opts.kubeconfig, allow);
  else throw errors.badRequest('no targets: give --kubeconfig FILE, --kubeconfigs DIR or --target federation');
  const only = opts.clusters && opts.clusters.length > 0 ? new Set(opts.clusters) : undefined;
  if (only)
    for (const c of only)
      if (!all.some((t) => t.cluster === c))
        throw errors.badRequest(
          `--cluster ${c}: no such cluster in the targets (${all.map((t) => t.cluster).join(', ')})`,
        );
  const wanted = only ? all.filter((t) => only.has(t.cluster)) : all;
  const has = new Set(folders);
  const targets = wanted.filter((t) => has.has(t.folder));
  const missingFolders = wanted.filter((t) => !has.has(t.folder)).map((t) => t.cluster);
  const used = new Set(all.map((t) => t.folder));
  const unknownFolders = opts.target === 'federation' || only ? [] : folders.filter((f) => !used.has(f));
  return { targets, unknownFolders, missingFolders };
}
