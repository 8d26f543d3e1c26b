/**
 * Waits until workloads are healthy, watching the objects and, per namespace, their Pods and
 * Warning Events: a pod stuck in ErrImagePull/ImagePullBackOff/CrashLoopBackOff (or an Event
 * saying so) fails the wait at once with the pod and the message. The cluster's deadline bounds it.
 */
import type { KubeObject } from '../core/kube.js';
import { hasCode } from '../core/errors.js';
import type * as InformerModule from '../core/controller/informer.js';
import type { Informer } from '../core/controller/informer.js';
import { raceAbort, type ClusterConn } from './conn.js';
import { STUCK_WAITING_REASONS, stuckContainer } from '../core/pods.js';
import { evaluate, type Health } from './health.js';
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

const EVENT_REASONS = new Set(['Failed', 'BackOff', ...STUCK_WAITING_REASONS]);

export function podLabelsOf(o: KubeObject): Record<string, string> | undefined {
  const sel = (o.spec as { selector?: { matchLabels?: Record<string, string> } } | undefined)?.selector;
  return sel?.matchLabels && Object.keys(sel.matchLabels).length > 0 ? sel.matchLabels : undefined;
}

export function imagesOf(o: KubeObject): Record<string, string> | undefined {
  const containers = (
    o.spec as { template?: { spec?: { containers?: Array<{ name: string; image?: string }> } } } | undefined
  )?.template?.spec?.containers;
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
    const f = stuckContainer(p);
    if (f) return f;
  }
  const names = new Set(mine.map((p) => p.metadata.name));
  for (const e of events) {
    const io = e.involvedObject as { kind?: string; name?: string } | undefined;
    const reason = String(e.reason ?? '');
    const at = Date.parse(String(e.lastTimestamp ?? e.eventTime ?? e.firstTimestamp ?? ''));
    if (!io?.name || !EVENT_REASONS.has(reason) || (Number.isFinite(at) && at < since)) continue;
    const msg = String(e.message ?? '');
    const fatal =
      STUCK_WAITING_REASONS.has(reason) || [...STUCK_WAITING_REASONS].some((r) => msg.includes(r)) || /pull/i.test(msg);
    // Without a pod API (a bare API server) the pod is recognised by name, as kit did.
    if (fatal && io.kind === 'Pod' && (names.has(io.name) || (!pods && io.name.startsWith(`${w.ref.name}-`))))
      return `pod ${io.name}: ${reason}: ${msg}`;
  }
  return undefined;
}

/**
 * The watches of one wait: an informer (list+watch, resumed on a broken stream) per namespace and
 * kind waited on, plus that namespace's Pods and Warning Events when a workload has pods. They use
 * the cluster's client directly, not its request queue: a watch would hold a queue slot for the
 * whole wait.
 */
class Watches {
  private readonly informers = new Map<string, Informer>();
  private wake: (() => void) | undefined;
  private dirty = true;

  private constructor(
    private readonly conn: ClusterConn,
    private readonly lib: typeof InformerModule,
  ) {}

  /** The informers (and their logger) load only when there is something to watch: most redeploys wait on nothing. */
  static async open(conn: ClusterConn): Promise<Watches> {
    return new Watches(conn, await import('../core/controller/informer.js'));
  }

  /** The informer of `kind` in `namespace`, started on first use; every change wakes `changed()`. */
  of(apiVersion: string, kind: string, namespace: string, fieldSelector?: string): Informer {
    const key = `${namespace}|${apiVersion}|${kind}`;
    let inf = this.informers.get(key);
    if (!inf) {
      inf = new this.lib.Informer(this.conn.client, {
        apiVersion,
        kind,
        namespace,
        ...(fieldSelector ? { fieldSelector } : {}),
        name: `deployer:${kind}`,
        transform: this.lib.dropManagedFields,
      });
      const poke = (): void => {
        this.dirty = true;
        this.wake?.();
      };
      inf.onAdd(poke).onUpdate(poke).onDelete(poke).start();
      this.informers.set(key, inf);
    }
    return inf;
  }

  /** Resolves once every informer but the optional ones (`Event`) has its first list. */
  synced(): Promise<void> {
    return raceAbort(
      Promise.all([...this.informers].filter(([k]) => !k.endsWith('|Event')).map(([, i]) => i.synced)).then(
        () => undefined,
      ),
      this.conn.signal,
    );
  }

  /** Resolves after the next change seen by any watch (at once if one came since the last call). */
  async changed(): Promise<void> {
    if (!this.dirty)
      await raceAbort(new Promise<void>((resolve) => (this.wake = resolve)), this.conn.signal).finally(
        () => (this.wake = undefined),
      );
    // Let a burst of events (a rollout touches many pods at once) land before re-evaluating.
    await new Promise((resolve) => setImmediate(resolve));
    this.dirty = false;
  }

  stop(): Promise<void> {
    return Promise.all([...this.informers.values()].map((i) => i.stop())).then(() => undefined);
  }
}

/**
 * Waits until every item is healthy or one failed (returns early), or the cluster signal fires
 * (throws). Driven by watches: each change to a waited-on workload, its pods or the namespace's
 * Warning Events re-evaluates the items from the watch caches, so a rollout is seen done, and a
 * pod failing to pull seen failed, as soon as the cluster says so. `onChange` sees every state change.
 */
export async function waitHealthy(
  conn: ClusterConn,
  items: Waiting[],
  opts: { since: number; onChange: (w: Waiting) => void },
): Promise<void> {
  const pending = (): Waiting[] => items.filter((w) => w.health.state === 'progressing');
  if (pending().length === 0 || items.some((w) => w.health.state === 'failed')) return;
  const pods = await servesPods(conn);
  const watches = await Watches.open(conn);
  const nsOf = (w: Waiting): string => w.ref.namespace ?? 'default';
  for (const w of pending()) {
    watches.of(w.ref.apiVersion, w.ref.kind, nsOf(w));
    if (w.podLabels) {
      if (pods) watches.of('v1', 'Pod', nsOf(w));
      watches.of('v1', 'Event', nsOf(w), 'type=Warning');
    }
  }
  try {
    await watches.synced();
    for (;;) {
      for (const w of pending()) {
        const live = watches.of(w.ref.apiVersion, w.ref.kind, nsOf(w)).get(`${nsOf(w)}/${w.ref.name}`);
        let h: Health = live
          ? evaluate(live)
          : { state: 'failed', message: 'deleted while waiting for it to become healthy' };
        if (h.state === 'progressing' && w.podLabels) {
          const podList = pods ? watches.of('v1', 'Pod', nsOf(w)).list() : undefined;
          const f = fatalOf(w, podList, watches.of('v1', 'Event', nsOf(w), 'type=Warning').list(), opts.since);
          if (f) h = { state: 'failed', message: f };
        }
        if (h.state !== w.health.state || h.message !== w.health.message) {
          w.health = h;
          opts.onChange(w);
        }
      }
      if (pending().length === 0 || items.some((w) => w.health.state === 'failed')) return;
      await watches.changed();
    }
  } finally {
    await watches.stop();
  }
}

export function failureText(items: Waiting[]): string {
  return items
    .filter((w) => w.health.state === 'failed')
    .map((w) => `${refText(w.ref)}: ${w.health.message}`)
    .join('; ');
}

export function pendingText(items: Waiting[]): string {
  return items
    .filter((w) => w.health.state === 'progressing')
    .map((w) => `${refText(w.ref)} (${w.health.message})`)
    .join(', ');
}

/**
 * Watches items that should stay healthy (a rollout's bake) until `end` fires: returns as soon as
 * one fails — its health rules, or a current pod stuck (CrashLoopBackOff, ImagePullBackOff, …) —
 * and otherwise, when `end` fires, judges each item as it is then: not healthy is failed
 * (`not healthy at the end of the bake: …`). A workload that dips (a pod restarting) and recovers
 * before the end holds. The cluster signal still bounds the watch (throws).
 */
export async function holdHealthy(
  conn: ClusterConn,
  items: Waiting[],
  opts: { since: number; end: AbortSignal; onChange: (w: Waiting) => void },
): Promise<void> {
  if (items.length === 0) return;
  const pods = await servesPods(conn);
  const watches = await Watches.open(conn);
  const nsOf = (w: Waiting): string => w.ref.namespace ?? 'default';
  for (const w of items) {
    watches.of(w.ref.apiVersion, w.ref.kind, nsOf(w));
    if (w.podLabels) {
      if (pods) watches.of('v1', 'Pod', nsOf(w));
      watches.of('v1', 'Event', nsOf(w), 'type=Warning');
    }
  }
  const judge = (final: boolean): void => {
    for (const w of items) {
      const live = watches.of(w.ref.apiVersion, w.ref.kind, nsOf(w)).get(`${nsOf(w)}/${w.ref.name}`);
      let h: Health = live ? evaluate(live) : { state: 'failed', message: 'deleted during the bake' };
      if (h.state !== 'failed' && w.podLabels) {
        const podList = pods ? watches.of('v1', 'Pod', nsOf(w)).list() : undefined;
        const f = fatalOf(w, podList, watches.of('v1', 'Event', nsOf(w), 'type=Warning').list(), opts.since);
        if (f) h = { state: 'failed', message: f };
      }
      if (final && h.state === 'progressing')
        h = { state: 'failed', message: `not healthy at the end of the bake: ${h.message}` };
      if (h.state !== w.health.state || h.message !== w.health.message) {
        w.health = h;
        opts.onChange(w);
      }
    }
  };
  const ended = new Promise<void>((resolve) => {
    if (opts.end.aborted) resolve();
    else opts.end.addEventListener('abort', () => resolve(), { once: true });
  });
  try {
    await watches.synced();
    for (;;) {
      if (opts.end.aborted) {
        judge(true);
        return;
      }
      judge(false);
      if (items.some((w) => w.health.state === 'failed')) return;
      await Promise.race([watches.changed(), ended]);
    }
  } finally {
    await watches.stop();
  }
}
