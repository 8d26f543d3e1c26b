import type { Logger } from '../core/log.js';
import type { KubeClient } from '../core/kube-client.js';
import type { ControllerMetrics, MemberClusters } from '../core/controller/index.js';
import type { PendingCleanups } from './cleanups.js';
import type { EventRecorder } from './events.js';

/** What the controller manager hands every controller. */
export interface ControllerContext {
  /** Client of the federation API server. */
  federation: KubeClient;
  /** Member clusters: Ready set, clients, per-member request queues. */
  members: MemberClusters;
  /** Events in the federation API (attach them to the federated object). */
  events: EventRecorder;
  metrics: ControllerMetrics;
  /** Member-side cleanups owed to unavailable clusters (kitfed-system ConfigMaps). */
  cleanups: PendingCleanups;
  log: Logger;
}

export interface StartedController {
  stop(): Promise<void>;
}

/** A controller the manager starts when it leads and stops when it stops leading. */
export interface ControllerRegistration {
  name: string;
  start(ctx: ControllerContext): Promise<StartedController>;
}

/**
 * Controllers started by every controller manager besides the built-in ones (cluster health,
 * propagation). Other modules append here at import time:
 *
 *   import { controllers } from '../registry.js';
 *   controllers.push({ name: 'mine', start: (ctx) => startMine(ctx) });
 *
 * `startControllers({ controllers: [...] })` can also name the list explicitly.
 */
export const controllers: ControllerRegistration[] = [];
