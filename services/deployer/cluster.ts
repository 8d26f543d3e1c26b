/**
 * One cluster's deploy, start to end, under its own deadline: plan (reads) → guard → apply →
 * health → prune → inventory. Never throws: the result and error go into its ClusterReport.
 */
import { setMaxListeners } from 'node:events';
import { errors, hasCode, messageOf } from '../core/errors.js';
import { applyAll, ensureNamespaces, needsWrite } from './apply.js';
import { ClusterConn } from './conn.js';
import { checkNotBackwards } from './guard.js';
import { isWorkload } from './health.js';
import { refKey, refText, sameInventory, writeInventory, type Inventory } from './inventory.js';
import type { Manifest } from './manifests.js';
import { plan, type Item, type Plan } from './plan.js';
import { prune, pruneCandidates } from './prune.js';
import type { Target } from './targets.js';
import type { ClusterReport, DeployEvent, ObjectRef } from './types.js';
import { failureText, pendingText, waitHealthy, waitingFor, type Waiting } from './wait.js';

export interface ClusterRunOptions {
  commit?: string;
  commitTime?: string;
  force: boolean;
  dryRun: boolean;
  diff: boolean;
  prune: boolean;
  wait: boolean;
  reapply: boolean;
  recreate: boolean;
  timeoutMs: number;
  requestTimeoutMs: number;
  concurrency: number;
  fieldManager: string;
  inventoryNamespace: string;
  emit: (e: DeployEvent) => void;
  /** Fired by fail-fast or the caller: the cluster stops as `cancelled`. */
  cancel: AbortSignal;
}

type Phase = 'plan' | 'apply' | 'health' | 'prune' | 'done';

class Run {
  readonly report: ClusterReport;
  readonly ctrl = new AbortController();
  phase: Phase = 'plan';
  conn?: ClusterConn;
  private readonly started = Date.now();

  constructor(
    readonly target: Target,
    readonly manifests: Manifest[],
    readonly o: ClusterRunOptions,
  ) {
    this.report = {
      cluster: target.cluster,
      server: target.server,
      folder: target.folder,
      result: 'succeeded',
      allowFailure: target.allowFailure,
      objects: [],
      counts: { objects: manifests.length, applied: 0, unchanged: 0, healthy: 0, failed: 0, pruned: 0 },
      writes: 0,
      durations: { totalMs: 0, planMs: 0, applyMs: 0, healthMs: 0, pruneMs: 0 },
    };
  }

  enter(phase: Phase): void {
    this.phase = phase;
    this.o.emit({ type: 'cluster', cluster: this.target.cluster, phase, objects: this.manifests.length });
  }

  async timed<T>(key: keyof ClusterReport['durations'], fn: () => Promise<T>): Promise<T> {
    const t = Date.now();
    try {
      return await fn();
    } finally {
      this.report.durations[key] += Date.now() - t;
    }
  }

  objectEvent(item: { ref?: ObjectRef } & Partial<Item>, r = item.report!): void {
    const e: DeployEvent = {
      type: 'object',
      cluster: this.target.cluster,
      ref: { apiVersion: r.apiVersion, kind: r.kind, name: r.name, ...(r.namespace ? { namespace: r.namespace } : {}) },
      action: r.action,
    };
    if (r.health) e.health = r.health;
    if (r.message) e.message = r.message;
    this.o.emit(e);
  }

  finish(): ClusterReport {
    const r = this.report;
    r.durations.totalMs = Date.now() - this.started;
    r.writes = this.conn?.writes ?? 0;
    const c = r.counts;
    for (const obj of r.objects) {
      if (obj.action === 'applied') c.applied++;
      if (obj.action === 'unchanged') c.unchanged++;
      if (obj.action === 'pruned') c.pruned++;
      if (obj.action === 'failed' || obj.health === 'failed') c.failed++;
      if (obj.health === 'healthy') c.healthy++;
    }
    const e: DeployEvent = {
      type: 'cluster-done',
      cluster: r.cluster,
      result: r.result,
      counts: c,
      durationMs: r.durations.totalMs,
    };
    if (r.error) e.error = r.error;
    this.o.emit(e);
    return r;
  }
}

async function diffCluster(run: Run, p: Plan): Promise<void> {
  const { conn, o } = run;
  const parts: string[] = [];
  // Diff mode only: the diff and yaml libraries stay out of an ordinary deploy's start-up.
  const { objectDiff } = await import('./diff.js');
  for (const it of p.items) {
    let after = it.obj;
    try {
      after = await conn!.call((c) => c.apply(it.obj, { fieldManager: o.fieldManager, force: true, dryRun: true }));
    } catch (err) {
      if (!(hasCode(err, 404) && it.namespaced)) throw err;
    }
    const d = objectDiff(`${run.target.cluster}/${refText(it.ref).replace(' ', '/')}`, it.live, after);
    it.report.action = d ? 'pending' : 'unchanged';
    if (d) it.report.message = it.live ? 'differs' : 'would be created';
    parts.push(d);
    run.report.objects.push(it.report);
  }
  if (o.prune) {
    for (const r of pruneCandidates(p.inventory, new Set(p.items.map((i) => i.key)))) {
      const live = await conn!.call((c) => c.tryGet(r.apiVersion, r.kind, r.namespace, r.name)).catch(() => undefined);
      if (live) parts.push(objectDiff(`${run.target.cluster}/${refText(r).replace(' ', '/')}`, live, undefined));
    }
  }
  run.report.diff = parts.join('');
}

function nextInventory(run: Run, p: Plan, objects: ObjectRef[]): Inventory {
  const inv: Inventory = { apiVersion: 'kitfed.io/v1alpha1', kind: 'Inventory', target: run.target.folder, objects };
  const commit = run.o.commit ?? p.inventory?.commit;
  const time = run.o.commit ? run.o.commitTime : p.inventory?.commitTime;
  if (commit) inv.commit = commit;
  if (time) inv.commitTime = time;
  return inv;
}

async function saveInventory(run: Run, p: Plan, inv: Inventory): Promise<void> {
  if (run.o.dryRun || sameInventory(p.inventory, inv)) return;
  await writeInventory(run.conn!, run.o.inventoryNamespace, inv, { fieldManager: run.o.fieldManager, dryRun: false });
  p.inventory = inv;
}

async function waitAll(run: Run, items: Item[]): Promise<void> {
  const waiting: Waiting[] = items
    .filter((i) => isWorkload(i.ref.kind) && i.live && i.report.action !== 'failed' && i.report.health !== 'healthy')
    .map((i) => waitingFor(i.ref, i.live!, i.obj));
  const byKey = new Map(items.map((i) => [refKey(i.ref), i]));
  const sync = (w: Waiting): void => {
    const it = byKey.get(refKey(w.ref))!;
    it.report.health = w.health.state;
    it.report.message = w.health.message;
    run.objectEvent(it);
  };
  waiting.forEach(sync);
  try {
    await waitHealthy(run.conn!, waiting, { since: Date.now() - 5000, onChange: sync });
  } catch (err) {
    throw new Error(`${messageOf(err)} waiting for ${pendingText(waiting) || 'health'}`);
  }
  const failed = failureText(waiting);
  if (failed) throw new Error(failed);
}

async function applyCluster(run: Run, p: Plan): Promise<void> {
  const { o } = run;
  const desiredKeys = new Set(p.items.map((i) => i.key));
  const known = new Set(desiredKeys);
  const union = [...p.items.map((i) => i.ref), ...(p.inventory?.objects ?? []).filter((r) => !known.has(refKey(r)))];
  run.enter('apply');
  await run.timed('applyMs', async () => {
    await saveInventory(run, p, nextInventory(run, p, union));
    // Nothing to write means every object exists, and so do their namespaces.
    if (p.items.some((i) => needsWrite(i, o.reapply))) await ensureNamespaces(run.conn!, p.items, o.dryRun);
    await applyAll(run.conn!, p.items, {
      fieldManager: o.fieldManager,
      dryRun: o.dryRun,
      reapply: o.reapply,
      recreate: o.recreate,
      since: Date.now() - 5000,
      onObject: (i) => run.objectEvent(i),
    });
  });
  run.report.objects.push(...p.items.map((i) => i.report));
  const failed = p.items.filter((i) => i.report.action === 'failed' || i.report.health === 'failed');
  if (failed.length > 0)
    throw new Error(failed.map((i) => `${refText(i.ref)}: ${i.report.message ?? 'failed'}`).join('; '));
  if (o.wait && !o.dryRun) {
    run.enter('health');
    await run.timed('healthMs', () => waitAll(run, p.items));
  }
  if (!o.prune) return;
  run.enter('prune');
  await run.timed('pruneMs', async () => {
    const res = await prune(run.conn!, pruneCandidates(p.inventory, desiredKeys), {
      dryRun: o.dryRun,
      onObject: (r) => run.objectEvent({ report: r }, r),
    });
    run.report.objects.push(...res.reports);
    await saveInventory(run, p, nextInventory(run, p, [...p.items.map((i) => i.ref), ...res.remaining]));
    const bad = res.reports.filter((r) => r.action === 'failed');
    if (bad.length > 0) throw new Error(bad.map((r) => `${refText(r)}: ${r.message ?? ''}`).join('; '));
  });
}

async function body(run: Run): Promise<void> {
  const { o, target } = run;
  run.enter('plan');
  run.conn = await ClusterConn.open(target, run.ctrl.signal, {
    concurrency: o.concurrency,
    requestTimeoutMs: o.requestTimeoutMs,
  });
  const p = await run.timed('planMs', () =>
    plan(run.conn!, run.manifests, {
      commit: o.commit,
      commitTime: o.commitTime,
      getEach: o.diff,
      inventoryNamespace: o.inventoryNamespace,
    }),
  );
  for (const it of p.items)
    for (const message of it.report.warnings ?? [])
      o.emit({ type: 'warning', cluster: target.cluster, ref: it.ref, message });
  if (p.recorded) run.report.previousCommit = p.recorded;
  const refusal = checkNotBackwards(p.recorded, o.commit, o.commitTime);
  if (refusal && !o.force) {
    run.report.result = 'refused';
    run.report.error = refusal;
    return;
  }
  if (o.diff) return diffCluster(run, p);
  await applyCluster(run, p);
}

/** Deploys one cluster; never throws. */
export async function deployCluster(
  target: Target,
  manifests: Manifest[],
  o: ClusterRunOptions,
): Promise<ClusterReport> {
  const run = new Run(target, manifests, o);
  // Every queued call races the deadline: many listeners on one signal are expected.
  setMaxListeners(0, run.ctrl.signal);
  const timer = setTimeout(() => run.ctrl.abort(errors.timeout(`timed out after ${o.timeoutMs / 1000}s`)), o.timeoutMs);
  const onCancel = (): void => {
    const why: unknown = o.cancel.reason;
    run.ctrl.abort(
      new CancelledError(
        why instanceof FailFast
          ? 'cancelled: another cluster failed (--fail-fast)'
          : `cancelled${why instanceof Error ? `: ${why.message}` : ''}`,
      ),
    );
  };
  if (o.cancel.aborted) onCancel();
  o.cancel.addEventListener('abort', onCancel, { once: true });
  try {
    await body(run);
  } catch (err) {
    const why = run.ctrl.signal.aborted ? run.ctrl.signal.reason : err;
    run.report.result = why instanceof CancelledError ? 'cancelled' : 'failed';
    const msg = messageOf(err);
    run.report.error =
      run.ctrl.signal.aborted && why !== err && !msg.includes(messageOf(why))
        ? `${messageOf(why)} during ${run.phase}: ${msg}`
        : `${run.phase}: ${msg}`;
  } finally {
    clearTimeout(timer);
    o.cancel.removeEventListener('abort', onCancel);
    run.conn?.close();
  }
  run.enter('done');
  return run.finish();
}

export class CancelledError extends Error {
  override readonly name = 'CancelledError';
}

/** The reason fail-fast aborts the other clusters with. */
export class FailFast extends Error {
  override readonly name = 'FailFast';
}
