/**
 * The API server's public surface for other services. The sandbox runs this API server in
 * member mode inside its clusters and simulates controllers against its registry, so it needs
 * more than a client would: the registry and its admission hook, the resource tables, the watch
 * cache's events, label selectors and the PKI helpers.
 */
export { startApiServer, type ApiServer, type ApiServerOptions, type Authenticator } from './server.js';
export { Registry, type AdmissionPlugin } from './registry.js';
export { keyPrefix, storageKey, type ResourceType } from './resources.js';
export { BUILTIN_RESOURCES } from './builtin/index.js';
export { podStatusReason } from './builtin/core.js';
export { fromLabelSelector, matchesLabels } from './selectors.js';
export { generatePki, makeAuthenticator, type Pki } from './security.js';
export type { CachedEvent } from './watch-cache.js';
export type { Store } from './storage/types.js';
