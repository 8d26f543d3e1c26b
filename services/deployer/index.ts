/**
 * The deployer: applies the deploymentizer's per-cluster folders to every target cluster in
 * parallel (server-side apply, ordered, health-checked, pruned, never backwards) and reports per
 * cluster. `deploy()` is the library API the GitOps pipeline and `kitfed deploy` use.
 */
export { deploy } from './deploy.js';
export { runDeploy, type RunFlags } from './run.js';
export type * from './types.js';
export { ManifestError } from './manifests.js';
export { holdHealth, type HoldClusterReport, type HoldEvent, type HoldOptions, type HoldReport } from './hold.js';
