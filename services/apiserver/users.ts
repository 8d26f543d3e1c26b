import { hasCode } from '../core/errors.js';
import type { KubeClient } from '../core/kube-client.js';
import type { KubeObject } from '../core/kube.js';
import { buildKubeconfig } from '../core/kubeconfig.js';
import { RBAC_GROUP } from './auth/resources.js';
import { issueClientCert, type Pki } from './security.js';

/**
 * Users of the federation API: a kubeconfig with a client certificate signed by the API
 * server's CA (CN = user, O = groups), and the RoleBinding or ClusterRoleBinding that gives the
 * user a role. Certificates need no server-side state or restart; what a user may do is decided
 * by RBAC, so deleting the binding takes the rights away (a certificate cannot be revoked before
 * it expires, as in kube: keep `days` short for people).
 */

export interface UserKubeconfigOptions {
  pki: Pki;
  /** API server URL. */
  server: string;
  user: string;
  groups?: readonly string[];
  /** Context name. @default the user name */
  context?: string;
  /** Default namespace of the context. */
  namespace?: string;
  /** Certificate lifetime. @default 365 */
  days?: number;
}

export function userKubeconfig(o: UserKubeconfigOptions): { kubeconfig: string; notAfter: Date } {
  const { cert, key, notAfter } = issueClientCert(o.pki, o.user, o.groups ?? [], o.days ?? 365);
  const kubeconfig = buildKubeconfig([
    {
      name: o.context ?? o.user,
      server: o.server,
      caCert: o.pki.caCert,
      clientCert: cert,
      clientKey: key,
      ...(o.namespace ? { namespace: o.namespace } : {}),
    },
  ]);
  return { kubeconfig, notAfter };
}

export interface RoleGrant {
  kind: 'ClusterRole' | 'Role';
  name: string;
  /** RoleBinding in this namespace; without one, a ClusterRoleBinding (ClusterRoles only). */
  namespace?: string;
}

/** The binding `kitfed create user` writes: named `user:<user>:<role>`. */
export function userBinding(user: string, grant: RoleGrant): KubeObject {
  if (!grant.namespace && grant.kind === 'Role')
    throw new Error('a Role can only be granted in a namespace (--namespace)');
  const subject = { kind: 'User', apiGroup: RBAC_GROUP, name: user };
  return {
    apiVersion: `${RBAC_GROUP}/v1`,
    kind: grant.namespace ? 'RoleBinding' : 'ClusterRoleBinding',
    metadata: {
      name: `user:${user}:${grant.name}`,
      ...(grant.namespace ? { namespace: grant.namespace } : {}),
      labels: { 'kitfed.io/user': user.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 63) },
    },
    roleRef: { apiGroup: RBAC_GROUP, kind: grant.kind, name: grant.name },
    subjects: [subject],
  };
}

/** Creates the binding, or adds the user to an existing one of the same name and role. */
export async function ensureBinding(
  client: KubeClient,
  binding: KubeObject,
): Promise<'created' | 'updated' | 'unchanged'> {
  try {
    await client.create(binding);
    return 'created';
  } catch (err) {
    if (!hasCode(err, 409)) throw err;
  }
  const cur = await client.get(binding.apiVersion, binding.kind, binding.metadata.namespace, binding.metadata.name!);
  const subjects = (Array.isArray(cur.subjects) ? cur.subjects : []) as Array<{ kind: string; name: string }>;
  const want = (binding.subjects as Array<{ kind: string; name: string }>)[0]!;
  if (JSON.stringify(cur.roleRef) !== JSON.stringify(binding.roleRef))
    throw new Error(
      `${binding.kind} ${binding.metadata.name} exists with another role (${JSON.stringify(cur.roleRef)}); delete it first`,
    );
  if (subjects.some((s) => s.kind === want.kind && s.name === want.name)) return 'unchanged';
  await client.update({ ...cur, subjects: [...subjects, want] });
  return 'updated';
}
