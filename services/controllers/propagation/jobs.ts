/**
 * Federation v1's split of a Job (`federation.kubernetes.io/job-preferences`, reference §1.5): its
 * parallelism, then its completions, spread over the clusters by the v1 planner, so the fleet runs
 * the Job's work once instead of once per cluster. Without the annotation every placed cluster
 * runs the whole Job (plan.ts). Pure code.
 */
import { isObject, objectKey, type Condition, type KubeObject } from '../../core/kube.js';
import {
  JOB_PREFERENCES_ANNOTATION,
  parsePreferences,
  plan,
  type ClusterPreferences,
  type ReplicaPreferences,
} from '../../planner/index.js';
import type { KindInfo } from './catalog.js';
import { SCHEDULED_CONDITION } from './scale.js';

/** What one cluster's copy of a split Job runs. */
export interface JobShare {
  parallelism: number;
  /** Absent for a work-queue Job (no `spec.completions`). */
  completions?: number;
}

export interface JobSplit {
  /** The clusters that hold (or get) a copy, by name. A cluster not listed gets none. */
  shares: Record<string, JobShare>;
}

/** The Job is split over the clusters (it carries v1's job preferences). */
export function isSplitJob(kind: KindInfo, obj: KubeObject): boolean {
  return kind.id === 'batch/Job' && obj.metadata.annotations?.[JOB_PREFERENCES_ANNOTATION] !== undefined;
}

const count = (v: unknown): number | undefined =>
  typeof v === 'number' && Number.isInteger(v) && v >= 0 ? v : undefined;

/** A Job's parallelism (kube's default 1) and completions (absent: a work-queue Job). */
export function jobCounts(obj: KubeObject): { parallelism: number; completions?: number } {
  const spec = isObject(obj.spec) ? obj.spec : {};
  const completions = count(spec.completions);
  return { parallelism: count(spec.parallelism) ?? 1, ...(completions !== undefined ? { completions } : {}) };
}

/**
 * v1 meant to plan completions without the clusters' min and max (a cluster's bounds are for
 * running pods, not for work) but changed a copy of each preference, so its second plan used
 * them all the same (reference §1.5). kitfed does what v1 meant.
 */
function withoutBounds(p: ReplicaPreferences): ReplicaPreferences {
  const clusters: Record<string, ClusterPreferences> = {};
  for (const [name, c] of Object.entries(p.clusters)) {
    const { minReplicas: _min, maxReplicas: _max, ...rest } = c;
    void _min;
    void _max;
    clusters[name] = rest;
  }
  return { ...p, clusters };
}

/**
 * Splits `job` over `available` (the selected Ready clusters), or, once copies exist (`held`:
 * each copy's cluster and the completions it holds, which Kubernetes does not let change), keeps
 * their clusters and completions and re-plans only the parallelism over them (it may change).
 *
 * A first split plans the parallelism over `available`, then the completions over the clusters
 * that got parallelism (v1 planned them over every cluster of the first plan, so a cluster without
 * pods could be given work that never ran). A cluster planned 0 of either gets no copy.
 * Throws the planner's 400 for undecodable preferences.
 */
export function splitJob(
  job: KubeObject,
  available: readonly string[],
  held: Readonly<Record<string, number | undefined>>,
): JobSplit {
  const preferences = parsePreferences(job.metadata.annotations?.[JOB_PREFERENCES_ANNOTATION]);
  const key = objectKey(job);
  const { parallelism, completions } = jobCounts(job);
  const heldClusters = Object.keys(held).sort();
  const shares: Record<string, JobShare> = {};
  if (heldClusters.length > 0) {
    const p = plan({ preferences, totalReplicas: parallelism, clusters: heldClusters, key }).plan;
    for (const c of heldClusters) {
      const h = held[c];
      shares[c] = { parallelism: p[c] ?? 0, ...(h !== undefined ? { completions: h } : {}) };
    }
    return { shares };
  }
  const clusters = [...available].sort();
  const p = plan({ preferences, totalReplicas: parallelism, clusters, key }).plan;
  const running = clusters.filter((c) => (p[c] ?? 0) > 0);
  const work =
    completions === undefined
      ? undefined
      : plan({ preferences: withoutBounds(preferences), totalReplicas: completions, clusters: running, key }).plan;
  for (const c of running) {
    const w = work ? (work[c] ?? 0) : undefined;
    if (w !== 0) shares[c] = { parallelism: p[c]!, ...(w !== undefined ? { completions: w } : {}) };
  }
  return { shares };
}

/** The `Scheduled` condition of a split Job; its message is `{"parallelism":{…},"completions":{…}}`. */
export function splitCondition(split: JobSplit): Omit<Condition, 'lastTransitionTime'> {
  const parallelism: Record<string, number> = {};
  const completions: Record<string, number> = {};
  for (const [c, s] of Object.entries(split.shares)) {
    parallelism[c] = s.parallelism;
    if (s.completions !== undefined) completions[c] = s.completions;
  }
  const message = JSON.stringify(Object.keys(completions).length > 0 ? { parallelism, completions } : { parallelism });
  if (Object.keys(split.shares).length === 0)
    return { type: SCHEDULED_CONDITION, status: 'False', reason: 'NoClusters', message };
  return { type: SCHEDULED_CONDITION, status: 'True', reason: 'Planned', message };
}

/** The split in an Event: `split us-east: parallelism 2, completions 5; eu-west: …`. */
export function splitSummary(split: JobSplit): string {
  const parts = Object.entries(split.shares).map(
    ([c, s]) =>
      `${c}: parallelism ${s.parallelism}` + (s.completions !== undefined ? `, completions ${s.completions}` : ''),
  );
  return parts.length > 0 ? `split ${parts.join('; ')}` : 'split over no cluster';
}
