/**
 * The web console: a live view of the fleet, federated objects, pipeline runs and events,
 * served by kitfed itself (`kitfed up` on loopback; `kitfed apiserver --console` under `/console/`).
 * See docs/console.md.
 */
export { createConsole, startConsoleServer, type Console, type ConsoleOptions, type ConsoleServer } from './server.js';
export { buildBundle, writeBundle, type BundleFile } from './build.js';
export type * from './api.js';
export { loadAssets as loadConsoleAssets, type Assets } from './assets.js';
export { federationAccess, loginUrl } from './access.js';
