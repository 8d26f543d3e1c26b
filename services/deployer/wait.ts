/**
 * Waits until workloads are healthy, polling the objects and, per namespace, their Pods and
 * Warning Events: a pod stuck in ErrImagePull/ImagePullBackOff/CrashLoopBackOff (or an Event
 * saying so) fails the wait at once with the pod and the message. The cluster's deadline bounds it.
 */
import type { KubeObject } from '../core/kube.js';
import { hasCode } from '../core/errors.js';
import { sleep, type ClusterConn } from './conn.js';
import { evaluate, FATAL_REASONS, podFailure, type Health } from './health.js';
import { refText } from './inventory.js';
import type { ObjectRef } from './types.js';

export interface Waiting {
  ref: ObjectRef;
  /** Selector labels of the workload's pods (matchLabels), when it has one. */
  podLabels?: Record<string, string>;
  /** Container name → image of the desired pod template: pods of older rollouts are not this deploy's. */
  images?: Record<string, string>;
  health: Health;
}

const EVENT_REASONS = new Set(['Failed', 'BackOff', ...FATAL_REASONS]);

export function podLabelsOf(o: KubeObject): Record<string, string> | undefined {
  const sel = (o.spec as { selector?: { matchLabels?: Record<string, string> } } | undefined)?.selector;
  return sel?.matchLabels && Object.keys(sel.matchLabels).length > 0 ? sel.matchLabels : undefined;
}

export function imagesOf(o: KubeObject): Record<string, string> | undefined {
  const containers = (o.spec as { template?: { spec?: { containers?: Array<{ name: string; image?: string }> } } } | undefined)?.template?.spec?.containers;
  if (!containers) return undefined;
  return Object.fromEntries(containers.map((c) => [c.name, c.image ?? '']));
}

/** True when the pod runs the desired template's images (not a leftover of an earlier rollout). */
function current(w: Waiting, p: KubeObject): boolean {
  if (!w.images) return true;
  const containers = (p.spec as { containers?: Array<{ name: string; image?: string }> } | undefined)?.containers ?? [];
  return containers.every((c) => w.images![c.name] === undefined || w.images![c.name] === c.image);
}

/** What to watch for one workload: its live health, pod selector and desired images. */
export function waitingFor(ref: ObjectRef, live: KubeObject, desired: KubeObject): Waiting {
  const w: Waiting = { ref, health: evaluate(live) };
  const labels = podLabelsOf(desired);
  if (labels) w.podLabels = labels;
  const images = imagesOf(desired);
  if (images) w.images = images;
  return w;
}

function selects(labels: Record<string, string>, podLabels: Record<string, string> | undefined): boolean {
  return !!podLabels && Object.entries(labels).every(([k, v]) => podLabels[k] === v);
}

async function servesPods(conn: ClusterConn): Promise<boolean> {
  try {
    await conn.call((c) => c.resource('v1', 'Pod'));
    return true;
  } catch (err) {
    if (hasCode(err, 404)) return false;
    throw err;
  }
}

/** A fatal pod state or Warning Event of the workload in `pods`/`events`, if any. */
function fatalOf(w: Waiting, pods: KubeObject[] | undefined, events: KubeObject[], since: number): string | undefined {
  if (!w.podLabels) return undefined;
  const mine = (pods ?? []).filter((p) => selects(w.podLabels!, p.metadata.labels) && current(w, p));
  for (const p of mine) {
    const f = podFailure(p);
    if (f) return f;
  }
  const names = new Set(mine.map((p) => p.metadata.name));
  for (const e of events) {
    const io = e.involvedObject as { kind?: string; name?: string } | undefined;
    const reason = String(e.reason ?? '');
    const at = Date.parse(String(e.lastTimestamp ?? e.eventTime ?? e.firstTimestamp ?? ''));
    if (!io?.name || !EVENT_REASONS.has(reason) || (Number.isFinite(at) && at < since)) continue;
    const msg = String(e.message ?? '');
    const fatal = FATAL_REASONS.has(reason) || [...FATAL_REASONS].some((r) => msg.includes(r)) || /pull/i.test(msg);
    // Without a pod API (a bare API server) the pod is recognised by name, as kit did.
    if (fatal && io.kind === 'Pod' && (names.has(io.name) || (!pods && io.name.startsWith(`${w.ref.name}-`)))) return `pod ${io.name}: ${reason}: ${msg}`;
  }
  return undefined;
}

async function probeNamespace(conn: ClusterConn, ns: string, group: Waiting[], pods: boolean, since: number): Promise<void> {
  const needPods = group.some((w) => w.podLabels && w.health.state !== 'healthy');
  const [podList, eventList] = await Promise.all([
    needPods && pods ? conn.call((c) => c.list('v1', 'Pod', ns)) : undefined,
    needPods ? conn.call((c) => c.list('v1', 'Event', ns, { fieldSelector: 'type=Warning' })).catch(() => undefined) : undefined,
  ]);
  for (const w of group) {
    if (w.health.state !== 'progressing') continue;
    const f = fatalOf(w, podList?.items, eventList?.items ?? [], since);
    if (f) w.health = { state: 'failed', message: f };
  }
}

/**
 * Polls until every item is healthy or one failed (returns early), or the cluster signal fires
 * (throws). `onChange` sees every state change.
 */
export async function waitHealthy(conn: ClusterConn, items: Waiting[], opts: { pollMs: number; since: number; onChange: (w: Waiting) => void }): Promise<void> {
  const pods = await servesPods(conn);
  let delay = Math.min(100, opts.pollMs);
  for (;;) {
    const pending = items.filter((w) => w.health.state === 'progressing');
    if (pending.length === 0 || items.some((w) => w.health.state === 'failed')) return;
    await Promise.all(
      pending.map(async (w) => {
        const live = await conn.call((c) => c.get(w.ref.apiVersion, w.ref.kind, w.ref.namespace, w.ref.name));
        const h = evaluate(live);
        if (h.state !== w.health.state || h.message !== w.health.message) {
          w.health = h;
          opts.onChange(w);
        }
      }),
    );
    const byNs = new Map<string, Waiting[]>();
    for (const w of pending) if (w.health.state === 'progressing') byNs.set(w.ref.namespace ?? '', [...(byNs.get(w.ref.namespace ?? '') ?? []), w]);
    await Promise.all([...byNs].map(([ns, group]) => probeNamespace(conn, ns, group, pods, opts.since)));
    for (const w of pending) if (w.health.state === 'failed') opts.onChange(w);
    if (items.some((w) => w.health.state === 'failed')) return;
    await sleep(delay, conn.signal);
    delay = Math.min(opts.pollMs, delay * 2);
  }
}

export function failureText(items: Waiting[]): string {
  return items.filter((w) => w.health.state === 'failed').map((w) => `${refText(w.ref)}: ${w.health.message}`).join('; ');
}

export function pendingText(items: Waiting[]): string {
  return items.filter((w) => w.health.state === 'progressing').map((w) => `${refText(w.ref)} (${w.health.message})`).join(', ');
}
