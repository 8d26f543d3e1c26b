/**
 * Who is asking: the authenticated user as kube's `user.Info` (name, uid, groups, extra), and
 * the well-known names RBAC and authentication rely on.
 */

export interface UserInfo {
  name: string;
  uid?: string;
  groups: readonly string[];
  extra?: Readonly<Record<string, readonly string[]>>;
}

/** Members are superusers: no RBAC check applies to them (kube's privileged-group authorizer). */
export const SYSTEM_MASTERS = 'system:masters';
export const ALL_AUTHENTICATED = 'system:authenticated';
export const ALL_UNAUTHENTICATED = 'system:unauthenticated';
export const ANONYMOUS = 'system:anonymous';
export const ALL_SERVICE_ACCOUNTS = 'system:serviceaccounts';
export const SERVICE_ACCOUNT_PREFIX = 'system:serviceaccount:';

/** The anonymous user of a request without credentials (only public paths get this far). */
export const ANONYMOUS_USER: UserInfo = { name: ANONYMOUS, groups: [ALL_UNAUTHENTICATED] };

/** `groups` with `system:authenticated` added once, as kube's authenticated-group adder does. */
export function withAuthenticatedGroup(groups: readonly string[]): string[] {
  return groups.includes(ALL_AUTHENTICATED) ? [...groups] : [...groups, ALL_AUTHENTICATED];
}

/** The user name of a ServiceAccount: `system:serviceaccount:NS:NAME`. */
export function serviceAccountUserName(namespace: string, name: string): string {
  return `${SERVICE_ACCOUNT_PREFIX}${namespace}:${name}`;
}

/** The groups of a ServiceAccount's tokens (system:authenticated is added by authentication). */
export function serviceAccountGroups(namespace: string): string[] {
  return [ALL_SERVICE_ACCOUNTS, `${ALL_SERVICE_ACCOUNTS}:${namespace}`];
}

/** Namespace and name of a ServiceAccount user name, or undefined for other users. */
export function parseServiceAccountUserName(user: string): { namespace: string; name: string } | undefined {
  if (!user.startsWith(SERVICE_ACCOUNT_PREFIX)) return undefined;
  const parts = user.slice(SERVICE_ACCOUNT_PREFIX.length).split(':');
  if (parts.length !== 2 || !parts[0] || !parts[1]) return undefined;
  return { namespace: parts[0], name: parts[1] };
}

export function isSuperuser(user: UserInfo): boolean {
  return user.groups.includes(SYSTEM_MASTERS);
}
