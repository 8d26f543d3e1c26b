import { KubeConfig } from '@kubernetes/client-node';
import { readFileSync } from 'node:fs';

/**
 * The federation API server of a kubeconfig context: its URL, the CA to trust, and (for the
 * embedded default's sign-in link) its token.
 */
export function federationAccess(
  source: { file: string } | { text: string },
  context = 'federation',
): { server: string; caCert?: string; token?: string } {
  const kc = new KubeConfig();
  if ('file' in source) kc.loadFromFile(source.file);
  else kc.loadFromString(source.text);
  const ctx = kc.getContextObject(context);
  if (!ctx) throw new Error(`kubeconfig has no context ${JSON.stringify(context)}`);
  const cluster = kc.getCluster(ctx.cluster);
  if (!cluster) throw new Error(`kubeconfig context ${JSON.stringify(context)} has no cluster`);
  const caCert = cluster.caData
    ? Buffer.from(cluster.caData, 'base64').toString('utf8')
    : cluster.caFile
      ? readFileSync(cluster.caFile, 'utf8')
      : undefined;
  const token = kc.getUser(ctx.user)?.token;
  return { server: cluster.server, ...(caCert ? { caCert } : {}), ...(token ? { token } : {}) };
}

/** A console URL that signs in with `token`: in the fragment, which browsers never send to a server. */
export function loginUrl(consoleUrl: string, token: string): string {
  return `${consoleUrl.replace(/#.*$/, '')}#token=${encodeURIComponent(token)}`;
}
