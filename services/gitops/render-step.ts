/**
 * The render step: the deploymentizer's `render({ repo, out })` over the run's checkout, then the
 * per-cluster summary it writes (`<out>/.kitfed-render.json`) read back as the run's cluster list.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { RolloutPlan } from '../deploymentizer/index.js';
import type { RenderOutput, RenderStep } from './pipeline-steps.js';

/**
 * The deploymentizer's `render` as this step uses it (structural, so either side can evolve). The
 * service runs the real one in a worker thread (render-thread.ts); `signal` aborts it.
 */
export type RenderFn = (opts: { repo: string; out: string; signal?: AbortSignal }) => Promise<RenderFnResult | unknown>;

export interface RenderFnResult {
  /** `files`: the rendered files, or their count. */
  clusters: Array<{ name: string; digest?: string; files: unknown[] | number }>;
  rollout?: RolloutPlan | null;
}

interface SummaryFile {
  clusters?: Array<{ name?: unknown; objects?: unknown; digest?: unknown }>;
  rollout?: RolloutPlan;
}

export function renderStep(render: RenderFn): RenderStep {
  return async (ctx) => {
    const result = await render({ repo: ctx.checkoutDir, out: ctx.outDir, signal: ctx.signal });
    if (isRenderResult(result)) {
      return {
        clusters: result.clusters.map((c) => ({
          cluster: c.name,
          files: typeof c.files === 'number' ? c.files : c.files.length,
          ...(c.digest ? { digest: c.digest } : {}),
        })),
        ...(result.rollout ? { rollout: result.rollout } : {}),
      };
    }
    return readSummary(ctx.outDir);
  };
}

function isRenderResult(v: unknown): v is RenderFnResult {
  const c = (v as { clusters?: unknown } | null)?.clusters;
  return (
    Array.isArray(c) &&
    c.every(
      (x) =>
        typeof (x as { name?: unknown }).name === 'string' &&
        (Array.isArray((x as { files?: unknown }).files) || typeof (x as { files?: unknown }).files === 'number'),
    )
  );
}

async function readSummary(out: string): Promise<RenderOutput> {
  const text = await readFile(join(out, '.kitfed-render.json'), 'utf8').catch(() => undefined);
  if (text === undefined) throw new Error(`render: no .kitfed-render.json summary written to ${out}`);
  const summary = JSON.parse(text) as SummaryFile;
  return {
    clusters: (summary.clusters ?? []).map((c) => ({
      cluster: String(c.name),
      files: typeof c.objects === 'number' ? c.objects : 0,
      ...(typeof c.digest === 'string' ? { digest: c.digest } : {}),
    })),
    ...(summary.rollout ? { rollout: summary.rollout } : {}),
  };
}
