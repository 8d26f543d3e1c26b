/** Worker thread: the deploymentizer's `render`, off the HTTP loop (see step-thread.ts). */
import { parentPort } from 'node:worker_threads';
import { render, type RolloutPlan } from '../deploymentizer/index.js';
import { serveStep } from './step-thread.js';

export interface RenderRequest {
  repo: string;
  out: string;
}

export interface RenderReply {
  clusters: Array<{ name: string; digest: string; files: number }>;
  rollout: RolloutPlan | null;
}

if (parentPort) {
  serveStep<RenderRequest, RenderReply>(parentPort, async (req) => {
    const r = await render({ repo: req.repo, out: req.out });
    return {
      clusters: r.clusters.map((c) => ({ name: c.name, digest: c.digest, files: c.files.length })),
      rollout: r.rollout,
    };
  });
}
