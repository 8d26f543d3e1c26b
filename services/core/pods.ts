/**
 * How kitfed reads a Pod's state, one definition for every reader: the deployer's health wait
 * (fail fast on a stuck container), the replica scheduler (which replicas count as current or
 * starting) and the planner's replica state (running and ready).
 */
import { clusterProxyPath, isClusterReady, type ClusterObject } from './cluster.js';
import { messageOf } from './errors.js';
import type { KubeClient } from './kube-client.js';
import { isObject, type KubeObject } from './kube.js';

/** Container waiting reasons that do not heal by waiting. */
export const STUCK_WAITING_REASONS: ReadonlySet<string> = new Set([
  'ErrImagePull',
  'ImagePullBackOff',
  'CrashLoopBackOff',
  'InvalidImageName',
  'ErrImageNeverPull',
  'CreateContainerConfigError',
  'CreateContainerError',
  'RunContainerError',
]);

type Rec = Record<string, unknown>;
const recs = (v: unknown): Rec[] => (Array.isArray(v) ? v.filter(isObject) : []);
const statusOf = (p: KubeObject): Rec => (isObject(p.status) ? p.status : {});

/** Phase `Running` with condition `Ready=True`. */
export function isPodReady(p: KubeObject): boolean {
  const s = statusOf(p);
  return s.phase === 'Running' && recs(s.conditions).some((c) => c.type === 'Ready' && c.status === 'True');
}

/** The first (init) container stuck waiting, as `pod web-1 container web: ImagePullBackOff: …`. */
export function stuckContainer(p: KubeObject): string | undefined {
  const s = statusOf(p);
  for (const c of [...recs(s.initContainerStatuses), ...recs(s.containerStatuses)]) {
    const w = isObject(c.state) && isObject(c.state.waiting) ? c.state.waiting : undefined;
    if (typeof w?.reason === 'string' && STUCK_WAITING_REASONS.has(w.reason)) {
      return `pod ${p.metadata.name ?? ''} container ${String(c.name)}: ${w.reason}${typeof w.message === 'string' && w.message ? `: ${w.message}` : ''}`;
    }
  }
  return undefined;
}

/** Unschedulable now (condition `PodScheduled=False`, reason `Unschedulable`), at any age. */
export function isPodUnschedulable(p: KubeObject): boolean {
  return recs(statusOf(p).conditions).some(
    (c) => c.type === 'PodScheduled' && c.status === 'False' && c.reason === 'Unschedulable',
  );
}

/** A pod as `kubectl get pods` prints it: READY, STATUS (kube's printer rules, simplified), RESTARTS, NODE. */
export interface PodSummary {
  name: string;
  ready: string;
  status: string;
  restarts: number;
  node: string;
  created: string;
}

export function podSummary(p: KubeObject): PodSummary {
  const s = statusOf(p);
  const spec = isObject(p.spec) ? p.spec : {};
  const containers = recs(spec.containers);
  const statuses = recs(s.containerStatuses);
  let status = typeof s.reason === 'string' && s.reason ? s.reason : typeof s.phase === 'string' ? s.phase : 'Unknown';
  for (const c of [...recs(s.initContainerStatuses), ...statuses]) {
    const state = isObject(c.state) ? c.state : {};
    const waiting = isObject(state.waiting) ? state.waiting : undefined;
    const terminated = isObject(state.terminated) ? state.terminated : undefined;
    if (typeof waiting?.reason === 'string' && waiting.reason && waiting.reason !== 'PodInitializing') {
      status = waiting.reason;
      break;
    }
    if (typeof terminated?.reason === 'string' && terminated.reason && s.phase !== 'Running')
      status = terminated.reason;
  }
  if (p.metadata.deletionTimestamp) status = 'Terminating';
  return {
    name: p.metadata.name ?? '',
    ready: `${statuses.filter((c) => c.ready === true).length}/${containers.length}`,
    status,
    restarts: statuses.reduce((n, c) => n + (typeof c.restartCount === 'number' ? c.restartCount : 0), 0),
    node: typeof spec.nodeName === 'string' ? spec.nodeName : '',
    created: p.metadata.creationTimestamp ?? '',
  };
}

/** One member's pods, or why they could not be read. */
export interface ClusterPods {
  cluster: string;
  pods?: PodSummary[];
  error?: string;
}

/**
 * The pods `podsIn` finds in each of `clusters`, read through the federation's `clusters/proxy`
 * with `federation`'s credentials (so as its user), each member's sorted by name; a member that
 * could not be read has `error`, the others are not held up by it.
 */
export function podsInMembers(
  federation: KubeClient,
  clusters: readonly string[],
  podsIn: (member: KubeClient) => Promise<KubeObject[]>,
): Promise<ClusterPods[]> {
  return Promise.all(
    clusters.map(async (cluster) => {
      const member = federation.at(clusterProxyPath(cluster));
      try {
        const pods = (await podsIn(member)).map(podSummary);
        return { cluster, pods: pods.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)) };
      } catch (err) {
        return { cluster, error: messageOf(err) };
      } finally {
        member.close();
      }
    }),
  );
}

/** What a member that is not Ready shows instead of its pods. */
export const NOT_READ = 'not Ready: its pods were not read';

/**
 * `podsInMembers` over the fleet's Ready clusters; every other registered cluster is listed, in
 * name order with the rest, as not read (its pods are not known now): a reader never takes a
 * member it could not reach for one without pods.
 */
export async function podsInFleet(
  federation: KubeClient,
  clusters: readonly ClusterObject[],
  podsIn: (member: KubeClient) => Promise<KubeObject[]>,
): Promise<ClusterPods[]> {
  const names = (ready: boolean) =>
    clusters
      .filter((c) => isClusterReady(c) === ready)
      .map((c) => c.metadata.name ?? '')
      .sort();
  const read = await podsInMembers(federation, names(true), podsIn);
  const notRead = names(false).map((cluster) => ({ cluster, error: NOT_READ }));
  return [...read, ...notRead].sort((a, b) => (a.cluster < b.cluster ? -1 : a.cluster > b.cluster ? 1 : 0));
}
