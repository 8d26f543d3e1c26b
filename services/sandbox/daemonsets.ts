import { CONTROLLER_REVISION_HASH } from '../core/revisions.js';
import type { KubeObject } from '../core/kube.js';
import type { SimContext } from './context.js';
import { createPods, deletePods, podFromTemplate, writeStatus } from './replicasets.js';
import { ensureRevision, truncateHistory } from './revisions.js';
import { asObj, condition, intOrPercent, isPodActive, isPodReady, num, specOf, statusOf } from './util.js';

/** The DaemonSet controller: one pod per matching Ready node, rolling updates within maxUnavailable. */

const HASH = CONTROLLER_REVISION_HASH;

function eligibleNodes(ctx: SimContext, ds: KubeObject): KubeObject[] {
  const selector = asObj(asObj(asObj(specOf(ds).template).spec).nodeSelector) as Record<string, string>;
  return ctx.cache
    .list('Node')
    .filter(
      (n) =>
        condition(n, 'Ready')?.status === 'True' &&
        Object.entries(selector).every(([k, v]) => n.metadata.labels?.[k] === v),
    );
}

export async function syncDaemonSet(ctx: SimContext, ds: KubeObject): Promise<void> {
  if (ds.metadata.deletionTimestamp) return;
  // kube's controller history: a ControllerRevision per template (`kubectl rollout history/undo ds`).
  const ensured = await ensureRevision(ctx, ds, num(statusOf(ds).collisionCount, 0), { hashLabel: HASH });
  const { update, history, collisionCount } = ensured;
  const hash = update.name.slice(`${ds.metadata.name}-`.length);
  const nodes = eligibleNodes(ctx, ds);
  const nodeNames = new Set(nodes.map((n) => n.metadata.name!));
  const pods = ctx.cache.owned(ds.metadata.uid, 'Pod').filter(isPodActive);
  const byNode = new Map<string, KubeObject>();
  const extra: KubeObject[] = [];
  for (const p of pods) {
    const node = String(specOf(p).nodeName ?? '');
    if (!nodeNames.has(node) || byNode.has(node)) extra.push(p);
    else byNode.set(node, p);
  }
  await deletePods(ctx, ds, extra);
  const missing = nodes.filter((n) => !byNode.has(n.metadata.name!));
  let i = 0;
  const created = await createPods(ctx, ds, missing.length, () =>
    podFromTemplate(ds, { [HASH]: hash }, missing[i++]!.metadata.name),
  );
  for (const p of created) byNode.set(String(specOf(p).nodeName), p);
  // Rolling update: replace outdated pods while at most maxUnavailable nodes lack a ready pod.
  const strategy = asObj(specOf(ds).updateStrategy);
  if ((strategy.type ?? 'RollingUpdate') === 'RollingUpdate') {
    const maxUnavailable = Math.max(
      1,
      intOrPercent(asObj(strategy.rollingUpdate).maxUnavailable ?? 1, nodes.length, true, 1),
    );
    let unavailable = nodes.filter(
      (n) => !byNode.get(n.metadata.name!) || !isPodReady(byNode.get(n.metadata.name!)!),
    ).length;
    const outdated = [...byNode.values()]
      .filter((p) => p.metadata.labels?.[HASH] !== hash)
      .sort((a, b) => Number(isPodReady(a)) - Number(isPodReady(b)));
    const victims: KubeObject[] = [];
    for (const p of outdated) {
      if (!isPodReady(p)) victims.push(p);
      else if (unavailable < maxUnavailable) {
        victims.push(p);
        unavailable++;
      }
    }
    await deletePods(ctx, ds, victims);
    for (const v of victims) byNode.delete(String(specOf(v).nodeName));
  }
  const current = [...byNode.values()];
  const ready = current.filter(isPodReady).length;
  await writeStatus(ctx, 'DaemonSet', ds, {
    currentNumberScheduled: current.length,
    numberMisscheduled: 0,
    desiredNumberScheduled: nodes.length,
    numberReady: ready,
    observedGeneration: ds.metadata.generation ?? 1,
    updatedNumberScheduled: current.filter((p) => p.metadata.labels?.[HASH] === hash).length,
    numberAvailable: ready,
    ...(nodes.length - ready > 0 ? { numberUnavailable: nodes.length - ready } : {}),
    ...(collisionCount ? { collisionCount } : {}),
  });
  const live = new Set([update.name, ...current.map((p) => `${ds.metadata.name}-${p.metadata.labels?.[HASH] ?? ''}`)]);
  await truncateHistory(ctx, ds, history, live, num(specOf(ds).revisionHistoryLimit, 10));
}
