export {
  startSandbox,
  kubeconfigFor,
  poolFromCidr,
  DEFAULT_FAIL_IMAGE,
  DEFAULT_CRASH_IMAGE,
  type Sandbox,
  type SandboxOptions,
  type SandboxClusterSpec,
} from './sandbox.js';
export {
  SandboxCluster,
  type RequestCounts,
  type SandboxClusterInfo,
  type SandboxClusterState,
  type Verb,
} from './cluster.js';
export { FAULT_ACTIONS, type FaultAction, type FaultState } from './faults.js';
export { MEMBER_RESOURCES } from './resources.js';
export { runSandbox, sendFault, postAdmin, sandboxStatus, type RunSandboxOptions } from './run.js';
