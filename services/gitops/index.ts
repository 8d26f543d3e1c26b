/**
 * The GitOps service's public face for other services (the CLI, the web console): the JSON API's
 * types and routes, a typed client, and where clients find the token.
 */
export * from './api.js';
export { API_TOKEN_FILE, EMBEDDED_TOKEN_FILE, GitopsClient, resolveToken } from './client.js';
export { formatRollout, formatRuns } from './format.js';
