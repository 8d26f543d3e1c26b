/**
 * Worker-thread side of the render step: runs the deploymentizer's `render` off the main thread,
 * so a large render never delays webhook acceptance. One message in, one message out per render.
 */
import { parentPort } from 'node:worker_threads';
import { render } from '../deploymentizer/index.js';

export interface RenderRequest {
  id: number;
  repo: string;
  out: string;
}

export type RenderReply =
  | { id: number; ok: true; clusters: Array<{ name: string; digest: string; files: number }> }
  | { id: number; ok: false; name: string; message: string };

parentPort?.on('message', (req: RenderRequest) => {
  render({ repo: req.repo, out: req.out }).then(
    (r) => parentPort?.postMessage({ id: req.id, ok: true, clusters: r.clusters.map((c) => ({ name: c.name, digest: c.digest, files: c.files.length })) } satisfies RenderReply),
    (err: unknown) =>
      parentPort?.postMessage({ id: req.id, ok: false, name: err instanceof Error ? err.name : 'Error', message: err instanceof Error ? err.message : String(err) } satisfies RenderReply),
  );
});
