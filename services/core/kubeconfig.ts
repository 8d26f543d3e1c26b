import YAML from 'yaml';

/** One context of a kubeconfig: a cluster (server, optional CA) and its user (optional bearer token). */
export interface KubeconfigEntry {
  /** Context, cluster and user name. */
  name: string;
  server: string;
  /** PEM of the CA that signed the server's certificate. */
  caCert?: string;
  token?: string;
  /** PEM client certificate and key (signed by the API server's CA) instead of a token. */
  clientCert?: string;
  clientKey?: string;
  namespace?: string;
}

interface KubeconfigDoc {
  clusters?: unknown[];
  users?: unknown[];
  contexts?: unknown[];
  'current-context'?: string;
}

/** The one kubeconfig writer: a context per entry, the first (or `current`) current. */
export function buildKubeconfig(entries: readonly KubeconfigEntry[], current = entries[0]?.name ?? ''): string {
  return YAML.stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: entries.map((e) => ({
      name: e.name,
      cluster: {
        server: e.server,
        ...(e.caCert ? { 'certificate-authority-data': Buffer.from(e.caCert).toString('base64') } : {}),
      },
    })),
    users: entries.map((e) => ({
      name: e.name,
      user: {
        ...(e.token ? { token: e.token } : {}),
        ...(e.clientCert && e.clientKey
          ? {
              'client-certificate-data': Buffer.from(e.clientCert).toString('base64'),
              'client-key-data': Buffer.from(e.clientKey).toString('base64'),
            }
          : {}),
      },
    })),
    contexts: entries.map((e) => ({
      name: e.name,
      context: { cluster: e.name, user: e.name, ...(e.namespace ? { namespace: e.namespace } : {}) },
    })),
    'current-context': current,
  });
}

/** Concatenates kubeconfigs (names must not collide); the first one's current-context wins. */
export function mergeKubeconfigs(texts: readonly string[]): string {
  const docs = texts.map((t) => (YAML.parse(t) ?? {}) as KubeconfigDoc);
  return YAML.stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: docs.flatMap((d) => d.clusters ?? []),
    users: docs.flatMap((d) => d.users ?? []),
    contexts: docs.flatMap((d) => d.contexts ?? []),
    'current-context': docs[0]?.['current-context'] ?? '',
  });
}
