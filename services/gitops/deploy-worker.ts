/** Worker thread: the deployer's `deploy`, off the HTTP loop (see step-thread.ts). */
import { parentPort } from 'node:worker_threads';
import { deploy, type DeployEvent, type DeployOptions, type DeployReport } from '../deployer/index.js';
import { serveStep } from './step-thread.js';

/** The serializable part of DeployOptions (callbacks and the signal stay on this side). */
export type DeployRequest = Omit<DeployOptions, 'onEvent' | 'signal'>;

if (parentPort) {
  serveStep<DeployRequest, DeployReport, DeployEvent>(parentPort, async (options, ctx) =>
    deploy({
      ...options,
      signal: ctx.signal,
      onEvent: (e) => {
        if (e.type === 'cluster-done' || e.type === 'start') ctx.emit(e);
      },
    }),
  );
}
