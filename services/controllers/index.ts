/**
 * The controller manager's public surface: `startControllers` (the manager itself, manager.ts),
 * `runControllers` (the `kitfed controllers` process, run.ts), joining and unjoining members,
 * the controller registry and the propagation engine's types.
 */
export { startControllers, type ControllersOptions, type RunningControllers } from './manager.js';
export { runControllers } from './run.js';
export { joinCluster, unjoinCluster } from './join.js';
export {
  controllers,
  type ControllerContext,
  type ControllerRegistration,
  type StartedController,
} from './registry.js';
export { decide as decideRolloutHistory, type HistoryInput, type HistoryPlan } from './rollout-history/index.js';
export { EventRecorder } from './events.js';
export { parseClusterSelector, matchesSelector, SelectorError } from './selector.js';
export * from './constants.js';
export * from './propagation/index.js';
