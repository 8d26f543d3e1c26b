/**
 * The API server's public surface for other services. The sandbox runs this API server in
 * member mode inside its clusters and simulates controllers against its registry, so it needs
 * more than a client would: the registry's types and admission hook, the resource tables, the
 * watch cache's events, label selectors and the PKI helpers. The CLI runs the federation API
 * server and reads the resource tables (`kitfed get`'s kind names).
 *
 * Importing this file stays cheap: the values exported directly are tables and small pure
 * functions; the server, the stores and the PKI (node-forge) load on the first call of the entry
 * points at the bottom. `kitfed get` starts in kubectl's time because of this.
 */
import type * as Run from './run.js';
import type * as Security from './security.js';
import type * as Server from './server.js';
import type * as Open from './storage/open.js';
import type * as Users from './users.js';
import type { Store } from './storage/types.js';

export type { ApiServer, ApiServerOptions, Authenticator } from './server.js';
export type { FederationApiServerOptions, RunningFederationApiServer } from './run.js';
export type { Registry, AdmissionPlugin } from './registry.js';
export { keyPrefix, storageKey, type ResourceType } from './resources.js';
export { BUILTIN_RESOURCES, RESOURCES } from './builtin/index.js';
export { podStatusReason } from './builtin/core.js';
export { fromLabelSelector, matchesLabels } from './selectors.js';
export { CONTROLLER_MANAGER_USER } from './auth/policy.js';
export type { Pki } from './security.js';
export type { RoleGrant } from './users.js';
export type { CachedEvent } from './watch-cache.js';
export type { Store };

/** An API server in this process: the federation's, or a member cluster's (the sandbox). */
export async function startApiServer(options?: Server.ApiServerOptions): Promise<Server.ApiServer> {
  return (await import('./server.js')).startApiServer(options);
}

/** The federation API server with its data dir: PKI, tokens, store, RBAC bootstrap and kubeconfig. */
export async function startFederationApiServer(
  opts: Run.FederationApiServerOptions,
): Promise<Run.RunningFederationApiServer> {
  return (await import('./run.js')).startFederationApiServer(opts);
}

/** `kitfed apiserver`: the federation API server as a process, until SIGINT/SIGTERM. */
export async function runApiServer(opts: Run.FederationApiServerOptions): Promise<void> {
  return (await import('./run.js')).runApiServer(opts);
}

/** Opens a store by URL (`memory:`, `sqlite://file`, `etcd://host:port,…`). */
export async function openStore(...a: Parameters<typeof Open.openStore>): Promise<Store> {
  return (await import('./storage/open.js')).openStore(...a);
}

/** Certificates, tokens and user credentials: the serving PKI, users' client certificates and RBAC bindings. */
export interface Credentials {
  generatePki: typeof Security.generatePki;
  loadPki: typeof Security.loadPki;
  makeAuthenticator: typeof Security.makeAuthenticator;
  userKubeconfig: typeof Users.userKubeconfig;
  userBinding: typeof Users.userBinding;
  ensureBinding: typeof Users.ensureBinding;
}

/** The credential helpers (node-forge), loaded on first call. */
export async function loadCredentials(): Promise<Credentials> {
  const [security, users] = await Promise.all([import('./security.js'), import('./users.js')]);
  return {
    generatePki: security.generatePki,
    loadPki: security.loadPki,
    makeAuthenticator: security.makeAuthenticator,
    userKubeconfig: users.userKubeconfig,
    userBinding: users.userBinding,
    ensureBinding: users.ensureBinding,
  };
}
