/** Worker thread: the deployer's `deploy`, off the HTTP loop (see step-thread.ts). */
import { parentPort } from 'node:worker_threads';
import { createLogger } from '../core/log.js';
import { deploy, type DeployEvent, type DeployOptions, type DeployReport } from '../deployer/index.js';
import { serveStep } from './step-thread.js';

/** The serializable part of DeployOptions (callbacks and the signal stay on this side). */
export type DeployRequest = Omit<DeployOptions, 'onEvent' | 'signal' | 'log'> & { runId: number };

if (parentPort) {
  serveStep<DeployRequest, DeployReport, DeployEvent>(parentPort, async ({ runId, ...options }, ctx) =>
    deploy({
      ...options,
      signal: ctx.signal,
      log: createLogger('deployer', { runId }),
      onEvent: (e) => {
        if (e.type === 'cluster-done' || e.type === 'start') ctx.emit(e);
      },
    }),
  );
}
