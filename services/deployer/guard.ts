/**
 * Never backwards: a cluster remembers the newest commit deployed to it (inventory, and the
 * commit-time annotation of every object kitfed applied). Deploying a commit whose time is older
 * is refused for that cluster unless forced. Without a commit time there is nothing to compare.
 */
import type { KubeObject } from '../core/kube.js';
import { COMMIT_ANNOTATION, COMMIT_TIME_ANNOTATION, type Inventory } from './inventory.js';

export interface Recorded {
  commit?: string;
  commitTime?: string;
}

/** The newest commit recorded in the cluster: the inventory's, or a newer one on a live object. */
export function newestRecorded(inv: Inventory | undefined, live: KubeObject[]): Recorded | undefined {
  let best: Recorded | undefined = inv?.commitTime
    ? { commit: inv.commit, commitTime: inv.commitTime }
    : inv?.commit
      ? { commit: inv.commit }
      : undefined;
  for (const o of live) {
    const t = o.metadata.annotations?.[COMMIT_TIME_ANNOTATION];
    if (t && (!best?.commitTime || Date.parse(t) > Date.parse(best.commitTime)))
      best = { commit: o.metadata.annotations?.[COMMIT_ANNOTATION], commitTime: t };
  }
  return best;
}

/** A refusal message when `commitTime` is older than what the cluster has, else undefined. */
export function checkNotBackwards(
  recorded: Recorded | undefined,
  commit: string | undefined,
  commitTime: string | undefined,
): string | undefined {
  if (!recorded?.commitTime || !commitTime) return undefined;
  if (commit && recorded.commit === commit) return undefined;
  if (Date.parse(commitTime) >= Date.parse(recorded.commitTime)) return undefined;
  return (
    `refusing to deploy commit ${commit ?? '(unknown)'} of ${commitTime} over the newer commit ${recorded.commit ?? '(unknown)'} ` +
    `of ${recorded.commitTime} already deployed here (--force to override)`
  );
}
