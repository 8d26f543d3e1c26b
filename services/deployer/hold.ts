/**
 * `holdHealth()`: the bake of a progressive rollout. Watches the workloads of each cluster's folder
 * (as deployed) for a while and reports, per cluster, whether their health held: a workload that
 * fails its health rules or has a current pod stuck (CrashLoopBackOff, ImagePullBackOff, …) fails
 * its cluster at once (an event, so the caller can halt without waiting for the end); at the end
 * every workload must be healthy. Reads only: no request writes.
 */
import { setMaxListeners } from 'node:events';
import { errors, messageOf } from '../core/errors.js';
import type { KubeObject } from '../core/kube.js';
import { ClusterConn } from './conn.js';
import { isWorkload } from './health.js';
import { listFolders, readFolders, type Manifest } from './manifests.js';
import { asServed } from './plan.js';
import { resolveTargets, type Target } from './targets.js';
import type { DeployOptions, ObjectRef } from './types.js';
import { failureText, holdHealthy, waitingFor, type Waiting } from './wait.js';

export interface HoldOptions extends Pick<
  DeployOptions,
  'dir' | 'kubeconfig' | 'kubeconfigs' | 'target' | 'context' | 'folder' | 'clusters'
> {
  /** How long health must hold. */
  durationMs: number;
  /** @default min(30000, durationMs + 30000) */
  requestTimeoutMs?: number;
  /** Ends the hold early (e.g. an operator promotes): each cluster is judged as it is at that moment. */
  end?: AbortSignal;
  /** Cancels the hold: clusters not judged yet report `cancelled`. */
  signal?: AbortSignal;
  onEvent?: (e: HoldEvent) => void;
}

export type HoldEvent = { type: 'cluster-failed'; cluster: string; error: string };

export interface HoldClusterReport {
  cluster: string;
  folder: string;
  result: 'held' | 'failed' | 'cancelled';
  /** Workloads watched. */
  workloads: number;
  error?: string;
}

export interface HoldReport {
  ok: boolean;
  durationMs: number;
  clusters: HoldClusterReport[];
}

/** The workloads as the cluster serves them (an old API version converted, as the deploy applied it). */
function items(t: Target, objects: KubeObject[]): Waiting[] {
  return objects.map((obj) => {
    const ref: ObjectRef = {
      apiVersion: obj.apiVersion,
      kind: obj.kind,
      name: obj.metadata.name ?? '',
      namespace: obj.metadata.namespace ?? t.namespace,
    };
    // Judged from the watch; until its first list nothing is known.
    return { ...waitingFor(ref, obj, obj), health: { state: 'progressing', message: 'not observed yet' } };
  });
}

async function holdCluster(
  t: Target,
  manifests: Manifest[],
  o: HoldOptions,
  end: AbortSignal,
): Promise<HoldClusterReport> {
  const workloads = manifests.filter((m) => isWorkload(m.obj.kind));
  const report: HoldClusterReport = {
    cluster: t.cluster,
    folder: t.folder,
    result: 'held',
    workloads: workloads.length,
  };
  const ctrl = new AbortController();
  setMaxListeners(0, ctrl.signal);
  // The hold's own deadline: its duration plus time to list and judge.
  const timer = setTimeout(
    () => ctrl.abort(errors.timeout(`health hold timed out after ${Math.round((o.durationMs + 60_000) / 1000)}s`)),
    o.durationMs + 60_000,
  );
  const onCancel = (): void => ctrl.abort(new Error('cancelled'));
  if (o.signal?.aborted) onCancel();
  o.signal?.addEventListener('abort', onCancel, { once: true });
  let conn: ClusterConn | undefined;
  try {
    conn = await ClusterConn.open(t, ctrl.signal, {
      concurrency: 4,
      requestTimeoutMs: o.requestTimeoutMs ?? Math.min(30_000, o.durationMs + 30_000),
    });
    const watched = items(t, await asServed(conn, workloads));
    await holdHealthy(conn, watched, {
      since: Date.now() - 1000,
      end,
      onChange: () => undefined,
    });
    const failed = failureText(watched);
    if (failed) {
      report.result = 'failed';
      report.error = `health: ${failed}`;
      o.onEvent?.({ type: 'cluster-failed', cluster: t.cluster, error: report.error });
    }
  } catch (err) {
    report.result = ctrl.signal.aborted && o.signal?.aborted ? 'cancelled' : 'failed';
    report.error = `health: ${messageOf(err)}`;
    if (report.result === 'failed') o.onEvent?.({ type: 'cluster-failed', cluster: t.cluster, error: report.error });
  } finally {
    clearTimeout(timer);
    o.signal?.removeEventListener('abort', onCancel);
    conn?.close();
  }
  return report;
}

/**
 * Watches the deployed workloads of every selected cluster for `durationMs` (or until `end`);
 * never throws for a cluster's failure (it is in the report); throws for bad options or targets.
 */
export async function holdHealth(o: HoldOptions): Promise<HoldReport> {
  if (!(Number.isFinite(o.durationMs) && o.durationMs >= 0)) throw errors.badRequest('durationMs must be ≥ 0');
  const started = Date.now();
  const folders = await listFolders(o.dir);
  const { onEvent: _onEvent, signal: _signal, ...where } = o;
  const { targets } = await resolveTargets(where, folders);
  const manifests = await readFolders(
    o.dir,
    targets.map((t) => t.folder),
  );
  const endCtrl = new AbortController();
  const timer = setTimeout(() => endCtrl.abort(), o.durationMs);
  const onEnd = (): void => endCtrl.abort();
  if (o.end?.aborted) onEnd();
  o.end?.addEventListener('abort', onEnd, { once: true });
  try {
    const clusters = await Promise.all(
      targets.map((t) => holdCluster(t, manifests.get(t.folder) ?? [], o, endCtrl.signal)),
    );
    return { ok: clusters.every((c) => c.result === 'held'), durationMs: Date.now() - started, clusters };
  } finally {
    clearTimeout(timer);
    o.end?.removeEventListener('abort', onEnd);
  }
}
