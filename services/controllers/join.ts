import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import YAML from 'yaml';
import { KitfedError, hasCode } from '../core/errors.js';
import { ALL_NAMESPACES, KubeClient } from '../core/kube-client.js';
import type { KubeObject } from '../core/kube.js';
import { CLUSTER_API_VERSION, FEDERATION_NAMESPACE, type ClusterObject } from '../core/controller/index.js';
import { cleanupConfigMapName } from './cleanups.js';
import { MANAGED_BY_LABEL, MANAGED_BY_VALUE } from './constants.js';
import { discoverKinds } from './propagation/catalog.js';

type Named<T> = { name: string } & T;
interface RawKubeconfig {
  clusters?: Array<Named<{ cluster: Record<string, unknown> }>>;
  users?: Array<Named<{ user: Record<string, unknown> }>>;
  contexts?: Array<Named<{ context: { cluster: string; user?: string; namespace?: string } }>>;
  'current-context'?: string;
}

const FILE_FIELDS: Record<string, string> = {
  'certificate-authority': 'certificate-authority-data',
  'client-certificate': 'client-certificate-data',
  'client-key': 'client-key-data',
};

/**
 * One context of a kubeconfig file as a self-contained kubeconfig (files inlined, like
 * `kubectl config view --flatten --minify`).
 */
export function flattenKubeconfig(file: string, context?: string): { text: string; context: string; server: string } {
  const raw = YAML.parse(readFileSync(file, 'utf8')) as RawKubeconfig;
  const ctxName = context ?? raw['current-context'];
  const ctx = raw.contexts?.find((c) => c.name === ctxName);
  if (!ctxName || !ctx)
    throw new KitfedError(
      `kubeconfig ${file} has no context ${JSON.stringify(ctxName ?? '')} ` +
        `(has: ${(raw.contexts ?? []).map((c) => c.name).join(', ') || 'none'})`,
      400,
      'BadRequest',
    );
  const cluster = raw.clusters?.find((c) => c.name === ctx.context.cluster);
  if (!cluster)
    throw new KitfedError(
      `kubeconfig ${file}: context ${ctxName} names unknown cluster ${ctx.context.cluster}`,
      400,
      'BadRequest',
    );
  const user = ctx.context.user ? raw.users?.find((u) => u.name === ctx.context.user) : undefined;
  const inline = (entry: Record<string, unknown>): Record<string, unknown> => {
    const out = { ...entry };
    for (const [f, data] of Object.entries(FILE_FIELDS)) {
      if (typeof out[f] === 'string') {
        out[data] = readFileSync(resolve(dirname(file), out[f])).toString('base64');
        delete out[f];
      }
    }
    if (typeof out.tokenFile === 'string') {
      out.token = readFileSync(resolve(dirname(file), out.tokenFile))
        .toString('utf8')
        .trim();
      delete out.tokenFile;
    }
    return out;
  };
  const flat = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: cluster.name, cluster: inline(cluster.cluster) }],
    users: [{ name: user?.name ?? 'user', user: user ? inline(user.user) : {} }],
    contexts: [
      {
        name: ctxName,
        context: {
          cluster: cluster.name,
          user: user?.name ?? 'user',
          ...(ctx.context.namespace ? { namespace: ctx.context.namespace } : {}),
        },
      },
    ],
    'current-context': ctxName,
  };
  return { text: YAML.stringify(flat), context: ctxName, server: String(cluster.cluster.server ?? '') };
}

export function credentialSecretName(cluster: string): string {
  return `cluster-${cluster}`;
}

async function upsert(client: KubeClient, obj: KubeObject): Promise<void> {
  try {
    await client.create(obj);
  } catch (err) {
    if (!hasCode(err, 409)) throw err;
    const cur = await client.get(obj.apiVersion, obj.kind, obj.metadata.namespace, obj.metadata.name!);
    await client.update({
      ...cur,
      ...obj,
      metadata: { ...cur.metadata, labels: obj.metadata.labels, annotations: obj.metadata.annotations },
    });
  }
}

/** `kitfed join`: stores the member credentials in kitfed-system and creates (or updates) the Cluster. */
export async function joinCluster(
  federation: KubeClient,
  name: string,
  member: { file: string; context?: string },
  labels: Record<string, string> = {},
): Promise<ClusterObject> {
  const flat = flattenKubeconfig(member.file, member.context);
  const client = await KubeClient.fromKubeconfig({ text: flat.text }, undefined, { timeoutMs: 10_000 });
  try {
    const h = await client.healthy(5000);
    if (!h.ok)
      process.stderr.write(
        `warning: cluster ${name} (${flat.server}) is not healthy now (${h.reason}); joining anyway\n`,
      );
  } finally {
    client.close();
  }
  try {
    await federation.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: FEDERATION_NAMESPACE } });
  } catch (err) {
    if (!hasCode(err, 409)) throw err;
  }
  const secretName = credentialSecretName(name);
  await upsert(federation, {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: secretName, namespace: FEDERATION_NAMESPACE, labels: { 'kitfed.io/cluster': name } },
    type: 'Opaque',
    data: { kubeconfig: Buffer.from(flat.text).toString('base64') },
  });
  const cluster: ClusterObject = {
    apiVersion: CLUSTER_API_VERSION,
    kind: 'Cluster',
    metadata: { name, labels },
    spec: {
      serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: flat.server }],
      secretRef: { name: secretName },
    },
  };
  await upsert(federation, cluster);
  return federation.get<ClusterObject>(CLUSTER_API_VERSION, 'Cluster', undefined, name);
}

/**
 * `kitfed unjoin`: removes the Cluster, its credentials and its pending cleanups; with
 * `cleanup`, first deletes in the member what kitfed created there (objects carrying the
 * managed-by label; namespaces last). Returns what was deleted.
 */
export async function unjoinCluster(
  federation: KubeClient,
  name: string,
  opts: { cleanup?: boolean } = {},
): Promise<string[]> {
  const deleted: string[] = [];
  const cluster = await federation.tryGet<ClusterObject>(CLUSTER_API_VERSION, 'Cluster', undefined, name);
  const secretName = cluster?.spec?.secretRef?.name ?? credentialSecretName(name);
  const secret = await federation.tryGet('v1', 'Secret', FEDERATION_NAMESPACE, secretName);
  // Without the Cluster but with its credentials, an interrupted unjoin is being finished.
  if (!cluster && !secret) throw new KitfedError(`clusters.federation.kitfed.io "${name}" not found`, 404, 'NotFound');
  // The Cluster goes first so the controllers stop writing to the member; the credentials go
  // last, so a failed cleanup (member unreachable) can be retried with the same command.
  if (cluster) await federation.delete(CLUSTER_API_VERSION, 'Cluster', undefined, name);
  if (opts.cleanup) {
    const kc = (secret?.data as Record<string, string> | undefined)?.kubeconfig;
    if (!kc) throw new KitfedError(`cluster ${name} has no stored credentials; nothing cleaned up`, 400, 'BadRequest');
    const member = await KubeClient.fromKubeconfig({ text: Buffer.from(kc, 'base64').toString('utf8') }, undefined, {
      timeoutMs: 15_000,
    });
    try {
      // Every kind the member serves; Namespaces last (deleting one deletes what it holds).
      const served = await discoverKinds(member);
      const kinds = [...served.filter((k) => k.id !== 'Namespace'), ...served.filter((k) => k.id === 'Namespace')];
      for (const k of kinds) {
        let items: KubeObject[];
        try {
          items = (
            await member.list(k.apiVersion, k.kind, ALL_NAMESPACES, {
              labelSelector: `${MANAGED_BY_LABEL}=${MANAGED_BY_VALUE}`,
            })
          ).items;
        } catch (err) {
          if (hasCode(err, 404)) continue;
          throw err;
        }
        for (const o of items) {
          try {
            await member.delete(k.apiVersion, k.kind, o.metadata.namespace, o.metadata.name!, {
              propagationPolicy: 'Background',
            });
            deleted.push(`${k.kind}/${o.metadata.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata.name}`);
          } catch (err) {
            if (!hasCode(err, 404)) throw err;
          }
        }
      }
    } finally {
      member.close();
    }
  }
  for (const [kind, n] of [
    ['Secret', secretName],
    ['ConfigMap', cleanupConfigMapName(name)],
  ] as const) {
    try {
      await federation.delete('v1', kind, FEDERATION_NAMESPACE, n);
    } catch (err) {
      if (!hasCode(err, 404)) throw err;
    }
  }
  return deleted;
}
