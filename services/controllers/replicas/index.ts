/**
 * The ReplicaSet/Deployment scheduling controller: pure scheduling/status logic (decide.ts) and
 * the controller that runs it (controller.ts). See docs/federation.md "ReplicaSets and Deployments".
 */
export * from './ownership.js';
export * from './schedule.js';
export * from './status.js';
export * from './decide.js';
export * from './controller.js';
