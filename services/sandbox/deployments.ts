import { cloneJson, type Condition, type KubeObject } from '../core/kube.js';
import {
  POD_TEMPLATE_HASH as HASH,
  REVISION,
  REVISION_HISTORY,
  inheritedAnnotations as inherited,
  nextRevisionHistory as revisionHistory,
  revisionOf,
  sameTemplate,
} from '../core/revisions.js';
import { CONTROLLER_MANAGER, type SimContext } from './context.js';
import { writeStatus } from './replicasets.js';
import {
  asObj,
  byCreation,
  condition,
  conditions,
  intOrPercent,
  num,
  omitZero,
  ownerRef,
  setCondition,
  specOf,
  statusOf,
  templateHash,
  type Obj,
} from './util.js';

/**
 * The Deployment controller, after kube's: a ReplicaSet per pod template
 * (`<name>-<pod-template-hash>`), rolling updates within maxSurge/maxUnavailable (or
 * Recreate), revision annotations, history cleanup, and status with the Available and
 * Progressing conditions (including ProgressDeadlineExceeded), so `kubectl rollout` works.
 */

const DESIRED = 'deployment.kubernetes.io/desired-replicas';
const MAX = 'deployment.kubernetes.io/max-replicas';

interface Plan {
  d: KubeObject;
  replicas: number;
  maxSurge: number;
  maxUnavailable: number;
  newRS?: KubeObject;
  old: KubeObject[];
}

const specReplicas = (rs: KubeObject) => num(specOf(rs).replicas);
const available = (rs: KubeObject) => num(statusOf(rs).availableReplicas);
function limits(d: KubeObject, replicas: number): { maxSurge: number; maxUnavailable: number } {
  const ru = asObj(asObj(specOf(d).strategy).rollingUpdate);
  const maxSurge = intOrPercent(ru.maxSurge ?? '25%', replicas, true, 1);
  let maxUnavailable = intOrPercent(ru.maxUnavailable ?? '25%', replicas, false, 0);
  if (maxSurge === 0 && maxUnavailable === 0) maxUnavailable = 1;
  return { maxSurge, maxUnavailable: Math.min(maxUnavailable, replicas) };
}

async function scale(ctx: SimContext, p: Plan, rs: KubeObject, to: number): Promise<KubeObject> {
  const from = specReplicas(rs);
  const annotations = rs.metadata.annotations ?? {};
  const desired = String(p.replicas);
  const max = String(p.replicas + p.maxSurge);
  if (from === to && annotations[DESIRED] === desired && annotations[MAX] === max) return rs;
  const updated = await ctx.registry.mutate(ctx.types.ReplicaSet, rs.metadata.namespace, rs.metadata.name!, (o) => {
    (o.spec as Obj).replicas = to;
    o.metadata.annotations = { ...(o.metadata.annotations ?? {}), [DESIRED]: desired, [MAX]: max };
    return o;
  });
  if (from !== to) {
    const verb = to > from ? 'up' : 'down';
    ctx.events.emit(
      p.d,
      'Normal',
      'ScalingReplicaSet',
      `Scaled ${verb} replica set ${rs.metadata.name} from ${from} to ${to}`,
      'deployment-controller',
    );
  }
  return updated ?? rs;
}

async function createNewRS(
  ctx: SimContext,
  p: Plan,
  hash: string,
  replicas: number,
  revision: number,
): Promise<KubeObject> {
  const d = p.d;
  const template = cloneJson(asObj(specOf(d).template));
  const meta = asObj(template.metadata);
  meta.labels = { ...(meta.labels ?? {}), [HASH]: hash };
  template.metadata = meta;
  const selector = cloneJson(asObj(specOf(d).selector));
  selector.matchLabels = { ...(selector.matchLabels ?? {}), [HASH]: hash };
  const rs: KubeObject = {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: {
      name: `${d.metadata.name}-${hash}`,
      namespace: d.metadata.namespace,
      labels: meta.labels as Record<string, string>,
      annotations: {
        ...inherited(d),
        [DESIRED]: String(p.replicas),
        [MAX]: String(p.replicas + p.maxSurge),
        [REVISION]: String(revision),
      },
      ownerReferences: [ownerRef(d)],
    },
    spec: { replicas, minReadySeconds: specOf(d).minReadySeconds ?? 0, selector, template },
  };
  const created = await ctx.registry.create(ctx.types.ReplicaSet, d.metadata.namespace, rs, {
    fieldManager: CONTROLLER_MANAGER,
  });
  ctx.events.emit(
    d,
    'Normal',
    'ScalingReplicaSet',
    `Scaled up replica set ${created.metadata.name} from 0 to ${replicas}`,
    'deployment-controller',
  );
  return created;
}

/** The new ReplicaSet, created or brought to the newest revision. */
async function ensureNewRS(ctx: SimContext, p: Plan, owned: KubeObject[]): Promise<void> {
  const hash = templateHash(specOf(p.d).template);
  p.newRS = owned.find((rs) => sameTemplate(rs, p.d));
  p.old = owned.filter((rs) => rs !== p.newRS).sort(byCreation);
  const maxOld = Math.max(0, ...p.old.map(revisionOf));
  if (p.newRS) {
    if (revisionOf(p.newRS) <= maxOld) {
      const revision = String(maxOld + 1);
      p.newRS =
        (await ctx.registry.mutate(ctx.types.ReplicaSet, p.newRS.metadata.namespace, p.newRS.metadata.name!, (o) => {
          const history = revisionHistory(o);
          o.metadata.annotations = {
            ...(o.metadata.annotations ?? {}),
            ...inherited(p.d),
            [REVISION]: revision,
            ...(history ? { [REVISION_HISTORY]: history } : {}),
          };
          return o;
        })) ?? p.newRS;
    }
    return;
  }
  if (specOf(p.d).paused) return;
  const strategy = asObj(specOf(p.d).strategy).type;
  const activeOld = p.old.some((rs) => specReplicas(rs) > 0);
  let replicas = p.replicas;
  if (strategy === 'Recreate') replicas = activeOld ? 0 : p.replicas;
  else if (activeOld) {
    const current = p.old.reduce((n, rs) => n + specReplicas(rs), 0);
    replicas = Math.max(0, Math.min(p.replicas + p.maxSurge - current, p.replicas));
  }
  p.newRS = await createNewRS(ctx, p, hash, replicas, maxOld + 1);
}

async function rollRecreate(ctx: SimContext, p: Plan): Promise<void> {
  for (let i = 0; i < p.old.length; i++) p.old[i] = await scale(ctx, p, p.old[i]!, 0);
  const oldPods = p.old.reduce((n, rs) => n + num(statusOf(rs).replicas), 0);
  if (oldPods === 0 && p.newRS) p.newRS = await scale(ctx, p, p.newRS, p.replicas);
}

async function rollRolling(ctx: SimContext, p: Plan): Promise<void> {
  if (p.old.every((rs) => specReplicas(rs) === 0)) {
    p.newRS = await scale(ctx, p, p.newRS!, p.replicas);
    return;
  }
  // Scale the new ReplicaSet up within maxSurge.
  const total = () => [p.newRS!, ...p.old].reduce((n, rs) => n + specReplicas(rs), 0);
  const room = p.replicas + p.maxSurge - total();
  if (room > 0 && specReplicas(p.newRS!) < p.replicas)
    p.newRS = await scale(ctx, p, p.newRS!, Math.min(specReplicas(p.newRS!) + room, p.replicas));
  else if (specReplicas(p.newRS!) > p.replicas) p.newRS = await scale(ctx, p, p.newRS!, p.replicas);
  // Scale old ReplicaSets down within maxUnavailable: unhealthy replicas first, then available ones.
  const minAvailable = p.replicas - p.maxUnavailable;
  const newUnavailable = specReplicas(p.newRS!) - available(p.newRS!);
  let budget = total() - minAvailable - newUnavailable;
  if (budget <= 0) return;
  for (let i = 0; i < p.old.length && budget > 0; i++) {
    const rs = p.old[i]!;
    const unhealthy = specReplicas(rs) - available(rs);
    if (unhealthy <= 0) continue;
    const down = Math.min(budget, unhealthy);
    p.old[i] = await scale(ctx, p, rs, specReplicas(rs) - down);
    budget -= down;
  }
  const availableNow = [p.newRS!, ...p.old].reduce((n, rs) => n + Math.min(available(rs), specReplicas(rs)), 0);
  let excess = availableNow - minAvailable;
  for (let i = 0; i < p.old.length && excess > 0; i++) {
    const rs = p.old[i]!;
    if (specReplicas(rs) === 0) continue;
    const down = Math.min(specReplicas(rs), excess);
    p.old[i] = await scale(ctx, p, rs, specReplicas(rs) - down);
    excess -= down;
  }
}

async function cleanupHistory(ctx: SimContext, p: Plan): Promise<void> {
  const limit = num(specOf(p.d).revisionHistoryLimit, 10);
  const idle = p.old.filter(
    (rs) => specReplicas(rs) === 0 && num(statusOf(rs).replicas) === 0 && !rs.metadata.deletionTimestamp,
  );
  for (const rs of idle.slice(0, Math.max(0, idle.length - limit))) {
    await ctx.registry
      .delete(ctx.types.ReplicaSet, rs.metadata.namespace, rs.metadata.name!, {
        preconditions: { uid: rs.metadata.uid },
      })
      .catch(() => undefined);
  }
}

function progressing(d: KubeObject, next: Obj): boolean {
  const cur = statusOf(d);
  const oldPods = (s: Obj) => num(s.replicas) - num(s.updatedReplicas);
  return (
    num(next.updatedReplicas) > num(cur.updatedReplicas) ||
    oldPods(next) < oldPods(cur) ||
    num(next.readyReplicas) > num(cur.readyReplicas) ||
    num(next.availableReplicas) > num(cur.availableReplicas)
  );
}

function nextStatus(ctx: SimContext, p: Plan, createdNow: boolean): Obj {
  const all = [...(p.newRS ? [p.newRS] : []), ...p.old];
  const sum = (f: (rs: KubeObject) => number) => all.reduce((n, rs) => n + f(rs), 0);
  const status: Obj = omitZero(
    {
      observedGeneration: p.d.metadata.generation ?? 1,
      replicas: sum((rs) => num(statusOf(rs).replicas)),
      updatedReplicas: p.newRS ? num(statusOf(p.newRS).replicas) : 0,
      readyReplicas: sum((rs) => num(statusOf(rs).readyReplicas)),
      availableReplicas: sum(available),
      unavailableReplicas: Math.max(0, sum(specReplicas) - sum(available)),
    },
    ['observedGeneration'],
  );
  let list: Condition[] = conditions(p.d);
  const minAvailable = p.replicas - p.maxUnavailable;
  list =
    num(status.availableReplicas) >= minAvailable
      ? setCondition(list, {
          type: 'Available',
          status: 'True',
          reason: 'MinimumReplicasAvailable',
          message: 'Deployment has minimum availability.',
          lastUpdateTime: '',
        })
      : setCondition(list, {
          type: 'Available',
          status: 'False',
          reason: 'MinimumReplicasUnavailable',
          message: 'Deployment does not have minimum availability.',
          lastUpdateTime: '',
        });
  status.conditions = progressCondition(ctx, p, list, status, createdNow);
  return status;
}

function progressCondition(ctx: SimContext, p: Plan, list: Condition[], status: Obj, createdNow: boolean): Condition[] {
  const deadline = specOf(p.d).progressDeadlineSeconds;
  if (typeof deadline !== 'number') return list.filter((c) => c.type !== 'Progressing');
  const cur = condition(p.d, 'Progressing');
  const rsName = p.newRS?.metadata.name ?? p.d.metadata.name;
  const complete =
    num(status.updatedReplicas) === p.replicas &&
    num(status.replicas) === p.replicas &&
    num(status.availableReplicas) === p.replicas;
  if (num(status.replicas) === num(status.updatedReplicas) && cur?.reason === 'NewReplicaSetAvailable') return list;
  if (specOf(p.d).paused)
    return setCondition(list, {
      type: 'Progressing',
      status: 'Unknown',
      reason: 'DeploymentPaused',
      message: 'Deployment is paused',
      lastUpdateTime: '',
    });
  if (complete)
    return setCondition(
      list,
      {
        type: 'Progressing',
        status: 'True',
        reason: 'NewReplicaSetAvailable',
        message: `ReplicaSet "${rsName}" has successfully progressed.`,
        lastUpdateTime: '',
      },
      true,
    );
  if (createdNow)
    return setCondition(
      list,
      {
        type: 'Progressing',
        status: 'True',
        reason: 'NewReplicaSetCreated',
        message: `Created new replica set "${rsName}"`,
        lastUpdateTime: '',
      },
      true,
    );
  if (!cur || progressing(p.d, status))
    return setCondition(
      list,
      {
        type: 'Progressing',
        status: 'True',
        reason: 'ReplicaSetUpdated',
        message: `ReplicaSet "${rsName}" is progressing.`,
        lastUpdateTime: '',
      },
      true,
    );
  if (cur.reason === 'ProgressDeadlineExceeded') return list;
  const since = Date.parse(cur.lastUpdateTime ?? cur.lastTransitionTime ?? '') || Date.now();
  const due = since + deadline * 1000 - Date.now();
  if (due <= 0) {
    ctx.events.emit(
      p.d,
      'Warning',
      'ProgressDeadlineExceeded',
      `Deployment ${JSON.stringify(p.d.metadata.name)} has timed out progressing.`,
      'deployment-controller',
    );
    return setCondition(
      list,
      {
        type: 'Progressing',
        status: 'False',
        reason: 'ProgressDeadlineExceeded',
        message: `ReplicaSet "${rsName}" has timed out progressing.`,
        lastUpdateTime: '',
      },
      true,
    );
  }
  return list;
}

/** Re-checks an unfinished rollout when its progress deadline passes (the only timer per Deployment). */
function armDeadline(ctx: SimContext, d: KubeObject, timers: Map<string, NodeJS.Timeout>, status: Obj): void {
  const key = `${d.metadata.namespace}/${d.metadata.name}`;
  ctx.queue.cancel(timers.get(key));
  timers.delete(key);
  const cond = ((status.conditions as Condition[] | undefined) ?? []).find((c) => c.type === 'Progressing');
  const deadline = specOf(d).progressDeadlineSeconds;
  if (!cond || cond.status !== 'True' || cond.reason === 'NewReplicaSetAvailable' || typeof deadline !== 'number')
    return;
  const since = Date.parse(cond.lastUpdateTime ?? '') || Date.now();
  const ms = Math.max(10, since + deadline * 1000 - Date.now() + 5);
  // Past Node's longest timer (24.8 days; extensions/v1beta1 Deployments default to MaxInt32 s): never.
  if (ms > 2_147_483_647) return;
  const timer = ctx.queue.after(ms, `Deployment:${key}`, async () => {
    timers.delete(key);
    ctx.enqueue('Deployment', key);
  });
  if (timer) timers.set(key, timer);
}

export async function syncDeployment(
  ctx: SimContext,
  d: KubeObject,
  timers: Map<string, NodeJS.Timeout>,
): Promise<void> {
  if (d.metadata.deletionTimestamp) return;
  const replicas = num(specOf(d).replicas, 1);
  const p: Plan = { d, replicas, ...limits(d, replicas), old: [] };
  const owned = ctx.cache.owned(d.metadata.uid, 'ReplicaSet').filter((rs) => !rs.metadata.deletionTimestamp);
  const hadNew = owned.some((rs) => sameTemplate(rs, d));
  await ensureNewRS(ctx, p, owned);
  const createdNow = !hadNew && p.newRS !== undefined;
  if (p.newRS && !specOf(d).paused) {
    if (asObj(specOf(d).strategy).type === 'Recreate') await rollRecreate(ctx, p);
    else await rollRolling(ctx, p);
  }
  const status = nextStatus(ctx, p, createdNow);
  if (
    p.newRS &&
    status.replicas === replicas &&
    status.updatedReplicas === replicas &&
    status.availableReplicas === replicas
  )
    await cleanupHistory(ctx, p);
  const revision = p.newRS?.metadata.annotations?.[REVISION];
  if (revision && d.metadata.annotations?.[REVISION] !== revision) {
    const updated = await ctx.registry.mutate(ctx.types.Deployment, d.metadata.namespace, d.metadata.name!, (o) => {
      o.metadata.annotations = { ...(o.metadata.annotations ?? {}), [REVISION]: revision };
      return o;
    });
    if (updated) d = updated;
  }
  await writeStatus(ctx, 'Deployment', d, status);
  armDeadline(ctx, d, timers, status);
}
