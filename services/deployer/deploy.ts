/**
 * `deploy()`: checks the options, resolves targets, reads and orders every folder, then deploys
 * the clusters in parallel.
 */
import { setMaxListeners } from 'node:events';
import { errors } from '../core/errors.js';
import { deployCluster, FailFast, type ClusterRunOptions } from './cluster.js';
import { listFolders, readFolders } from './manifests.js';
import { orderForApply } from './order.js';
import { resolveTargets } from './targets.js';
import type { ClusterReport, DeployEvent, DeployOptions, DeployReport } from './types.js';

function checkOptions(o: DeployOptions): void {
  if ((o.commit === undefined) !== (o.commitTime === undefined))
    throw errors.badRequest('commit and commitTime go together (--commit SHA --commit-time ISO)');
  if (o.commitTime !== undefined && !Number.isFinite(Date.parse(o.commitTime)))
    throw errors.badRequest(`commitTime ${JSON.stringify(o.commitTime)} is not an ISO 8601 time`);
  if (o.diff && o.dryRun) throw errors.badRequest('diff and dryRun are separate modes: pick one');
  for (const [k, v] of [
    ['timeoutMs', o.timeoutMs],
    ['requestTimeoutMs', o.requestTimeoutMs],
    ['concurrency', o.concurrency],
  ] as const) {
    if (v !== undefined && !(Number.isFinite(v) && v > 0)) throw errors.badRequest(`${k} must be a positive number`);
  }
}

function runOptions(o: DeployOptions, emit: (e: DeployEvent) => void, cancel: AbortSignal): ClusterRunOptions {
  const timeoutMs = o.timeoutMs ?? 300_000;
  const r: ClusterRunOptions = {
    force: o.force === true,
    dryRun: o.dryRun === true,
    diff: o.diff === true,
    prune: o.prune === true,
    wait: o.wait !== false,
    reapply: o.reapply === true,
    recreate: o.recreate === true,
    timeoutMs,
    requestTimeoutMs: o.requestTimeoutMs ?? Math.min(30_000, timeoutMs),
    concurrency: o.concurrency ?? 8,
    fieldManager: o.fieldManager ?? 'kitfed',
    inventoryNamespace: o.inventoryNamespace ?? 'kube-system',
    emit,
    cancel,
  };
  if (o.commit !== undefined) r.commit = o.commit;
  if (o.commitTime !== undefined) r.commitTime = new Date(Date.parse(o.commitTime)).toISOString();
  return r;
}

/**
 * Deploys every folder to its cluster. Throws (before any cluster is touched) on bad options,
 * unresolvable targets or an invalid manifest in any folder; cluster failures are in the report.
 */
export async function deploy(options: DeployOptions): Promise<DeployReport> {
  checkOptions(options);
  const started = Date.now();
  const emit = (e: DeployEvent): void => options.onEvent?.(e);
  const folders = await listFolders(options.dir);
  const { targets, unknownFolders, missingFolders } = await resolveTargets(options, folders);
  const manifests = await readFolders(
    options.dir,
    targets.map((t) => t.folder),
    options.cacheDir === undefined ? {} : { cacheDir: options.cacheDir },
  );
  for (const [folder, list] of manifests) {
    try {
      orderForApply(list, (m) => m.obj);
    } catch (err) {
      throw errors.badRequest(`${folder}: ${(err as Error).message}; nothing was deployed`);
    }
  }
  const mode: DeployReport['mode'] = options.diff ? 'diff' : options.dryRun ? 'dry-run' : 'apply';
  emit({ type: 'start', clusters: targets.map((t) => t.cluster), unknownFolders, missingFolders, mode });
  const cancel = new AbortController();
  setMaxListeners(0, cancel.signal);
  const onOuter = (): void => cancel.abort(options.signal?.reason);
  options.signal?.addEventListener('abort', onOuter, { once: true });
  const ro = runOptions(options, emit, cancel.signal);
  const reports: ClusterReport[] = await Promise.all(
    targets.map(async (t) => {
      const r = await deployCluster(t, manifests.get(t.folder) ?? [], ro);
      if (options.failFast && r.result !== 'succeeded' && r.result !== 'cancelled' && !r.allowFailure)
        cancel.abort(new FailFast(`${r.cluster} ${r.result}`));
      return r;
    }),
  );
  options.signal?.removeEventListener('abort', onOuter);
  const ok = reports.every((r) => r.result === 'succeeded' || r.allowFailure);
  const report: DeployReport = {
    ok,
    mode,
    startedAt: new Date(started).toISOString(),
    durationMs: Date.now() - started,
    clusters: reports,
    unknownFolders,
    missingFolders,
    changed: reports.some((r) => !!r.diff),
  };
  if (ro.commit !== undefined) report.commit = ro.commit;
  if (ro.commitTime !== undefined) report.commitTime = ro.commitTime;
  emit({ type: 'done', ok, durationMs: report.durationMs });
  return report;
}
