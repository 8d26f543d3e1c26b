/**
 * Worker thread: the deployer's `deploy` and `holdHealth` (a rollout's bake), off the HTTP loop (see step-thread.ts).
 */
import { parentPort } from 'node:worker_threads';
import {
  deploy,
  holdHealth,
  type DeployEvent,
  type DeployOptions,
  type DeployReport,
  type HoldEvent,
  type HoldOptions,
  type HoldReport,
} from '../deployer/index.js';
import { serveStep } from './step-thread.js';

/** The serializable part of DeployOptions (callbacks and the signal stay on this side). */
export type DeployRequest = Omit<DeployOptions, 'onEvent' | 'signal'>;
export type HoldRequest = Omit<HoldOptions, 'onEvent' | 'signal' | 'end'>;

export type WorkerRequest = ({ op: 'deploy' } & DeployRequest) | ({ op: 'hold' } & HoldRequest);
export type WorkerReply = DeployReport | HoldReport;
export type WorkerEvent = DeployEvent | HoldEvent;

if (parentPort) {
  serveStep<WorkerRequest, WorkerReply, WorkerEvent>(parentPort, async (req, ctx) => {
    if (req.op === 'hold') {
      const { op: _op, ...options } = req;
      // Aborting a hold ends it early (judged as it is then), it does not cancel it.
      return holdHealth({ ...options, end: ctx.signal, onEvent: (e) => ctx.emit(e) });
    }
    const { op: _op, ...options } = req;
    return deploy({
      ...options,
      signal: ctx.signal,
      onEvent: (e) => {
        if (e.type === 'cluster-done' || e.type === 'start') ctx.emit(e);
      },
    });
  });
}
