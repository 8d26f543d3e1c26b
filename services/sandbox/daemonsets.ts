import type { KubeObject } from '../core/kube.js';
import { CONTROLLER_MANAGER, type SimContext } from './context.js';
import { createPods, deletePods, podFromTemplate, writeStatus } from './replicasets.js';
import { asObj, condition, intOrPercent, isPodActive, isPodReady, specOf, templateHash } from './util.js';

/** The DaemonSet controller: one pod per matching Ready node, rolling updates within maxUnavailable. */

const HASH = 'controller-revision-hash';

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

type Obj = Record<string, unknown>;

/**
 * kube's controller history: one ControllerRevision per pod template the DaemonSet has had
 * (`<name>-<hash>`, the template's labels plus `controller-revision-hash`, a strategic-merge
 * patch that restores the template, an increasing `revision`), so `kubectl rollout history ds`
 * and `rollout undo` work. Returning to an old template renumbers its revision as the newest;
 * revisions beyond `revisionHistoryLimit` are deleted, oldest first.
 */
async function recordRevision(ctx: SimContext, ds: KubeObject, hash: string): Promise<void> {
  const crType = ctx.registry.catalog.byKind('apps', 'v1', 'ControllerRevision');
  if (!crType) return;
  const ns = ds.metadata.namespace;
  const template = asObj(specOf(ds).template);
  const labels = (asObj(template.metadata).labels ?? {}) as Record<string, string>;
  const selector = Object.entries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
  const owned = (await ctx.registry.list(crType, ns, selector ? { labelSelector: selector } : {})).items
    .filter((r) => r.metadata.ownerReferences?.some((o) => o.uid === ds.metadata.uid && o.controller))
    .sort((a, b) => Number(a.revision ?? 0) - Number(b.revision ?? 0));
  const max = Number(owned.at(-1)?.revision ?? 0);
  const current = owned.find((r) => r.metadata.labels?.[HASH] === hash);
  const changeCause = ds.metadata.annotations?.['kubernetes.io/change-cause'];
  if (current) {
    if (Number(current.revision ?? 0) < max)
      await ctx.registry.mutate(crType, ns, current.metadata.name!, (r) => ({ ...r, revision: max + 1 }));
  } else {
    await ctx.registry.create(
      crType,
      ns,
      {
        apiVersion: 'apps/v1',
        kind: 'ControllerRevision',
        metadata: {
          name: `${ds.metadata.name}-${hash}`,
          labels: { ...labels, [HASH]: hash },
          ...(changeCause ? { annotations: { 'kubernetes.io/change-cause': changeCause } } : {}),
          ownerReferences: [
            {
              apiVersion: 'apps/v1',
              kind: 'DaemonSet',
              name: ds.metadata.name!,
              uid: ds.metadata.uid!,
              controller: true,
              blockOwnerDeletion: true,
            },
          ],
        },
        data: { spec: { template: { ...template, $patch: 'replace' } as Obj } },
        revision: max + 1,
      },
      { fieldManager: CONTROLLER_MANAGER },
    );
  }
  const limit = Number(specOf(ds).revisionHistoryLimit ?? 10);
  const old = owned.filter((r) => r.metadata.labels?.[HASH] !== hash);
  for (const r of old.slice(0, Math.max(0, old.length - limit)))
    await ctx.registry.delete(crType, ns, r.metadata.name!).catch(() => undefined);
}

export async function syncDaemonSet(ctx: SimContext, ds: KubeObject): Promise<void> {
  if (ds.metadata.deletionTimestamp) return;
  const hash = templateHash(specOf(ds).template);
  await recordRevision(ctx, ds, hash);
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
  });
}
