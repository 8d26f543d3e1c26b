/**
 * Kubernetes user impersonation: the `Impersonate-User`, `Impersonate-Group`, `Impersonate-Uid` and
 * `Impersonate-Extra-<key>` headers (what `kubectl --as`, `--as-group`, `--as-uid` send). Pure
 * parts only: reading the headers into what is asked for, the authorization attributes of each
 * ask, and the user the request then runs as. `AccessControl.authenticate` checks each ask
 * against the authorizer and swaps the user.
 */
import { errors } from '../../core/errors.js';
import { nonResourceAttributes, type RequestAttributes } from './request-info.js';
import { AUTHENTICATION_GROUP } from './resources.js';
import {
  ALL_AUTHENTICATED,
  ALL_UNAUTHENTICATED,
  ANONYMOUS,
  SERVICE_ACCOUNT_PREFIX,
  serviceAccountGroups,
  serviceAccountUserName,
  type UserInfo,
} from './user.js';

/** One thing a request asks to act as (kube's ObjectReference per impersonation request). */
export type ImpersonationRequest =
  | { kind: 'User'; name: string }
  | { kind: 'ServiceAccount'; namespace: string; name: string }
  | { kind: 'Group'; name: string }
  | { kind: 'UserExtra'; key: string; value: string }
  | { kind: 'UID'; name: string };

const USER_HEADER = 'impersonate-user';
const GROUP_HEADER = 'impersonate-group';
const UID_HEADER = 'impersonate-uid';
const EXTRA_PREFIX = 'impersonate-extra-';

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Namespace and name when `user` is a well-formed ServiceAccount user name (kube's SplitUsername). */
function splitServiceAccount(user: string): { namespace: string; name: string } | undefined {
  if (!user.startsWith(SERVICE_ACCOUNT_PREFIX)) return undefined;
  const parts = user.slice(SERVICE_ACCOUNT_PREFIX.length).split(':');
  if (parts.length !== 2) return undefined;
  const [namespace, name] = parts as [string, string];
  if (namespace.length > 63 || !DNS_LABEL.test(namespace)) return undefined;
  if (name.length > 253 || !DNS_SUBDOMAIN.test(name)) return undefined;
  return { namespace, name };
}

/** An extra key as sent (`Impersonate-Extra-Foo%2Fbar`): lower-cased, then percent-decoded when well-formed. */
function extraKey(headerSuffix: string): string {
  const lower = headerSuffix.toLowerCase();
  try {
    return decodeURIComponent(lower);
  } catch {
    return lower;
  }
}

/** Go's `%v` of an ObjectReference, so the 400 reads as kube's. */
function describe(r: ImpersonationRequest): string {
  const v1 = `${AUTHENTICATION_GROUP}/v1`;
  // Kind Namespace Name UID APIVersion ResourceVersion FieldPath
  const fields =
    r.kind === 'ServiceAccount'
      ? [r.kind, r.namespace, r.name, '', '', '', '']
      : r.kind === 'UserExtra'
        ? [r.kind, '', r.value, '', v1, '', r.key]
        : r.kind === 'UID'
          ? [r.kind, '', r.name, '', v1, '', '']
          : [r.kind, '', r.name, '', '', '', ''];
  return `{${fields.join(' ')}}`;
}

/**
 * What the request asks to act as, from its raw headers (name, value pairs, as Node's
 * `rawHeaders`: a repeated header stays one value per line, as kube reads them). Empty when
 * it impersonates nobody. Groups, extras or a UID without a user: 400.
 */
export function impersonationRequests(rawHeaders: readonly string[]): ImpersonationRequest[] {
  let user: string | undefined;
  let uid: string | undefined;
  const groups: string[] = [];
  const extras = new Map<string, string[]>();
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!.toLowerCase();
    if (!name.startsWith('impersonate-')) continue;
    const value = rawHeaders[i + 1]!;
    if (name === USER_HEADER) user ??= value;
    else if (name === UID_HEADER) uid ??= value;
    else if (name === GROUP_HEADER) groups.push(value);
    else if (name.startsWith(EXTRA_PREFIX)) {
      const key = extraKey(name.slice(EXTRA_PREFIX.length));
      extras.set(key, [...(extras.get(key) ?? []), value]);
    }
  }
  const out: ImpersonationRequest[] = [];
  if (user) {
    const sa = splitServiceAccount(user);
    out.push(sa ? { kind: 'ServiceAccount', ...sa } : { kind: 'User', name: user });
  }
  for (const g of groups) out.push({ kind: 'Group', name: g });
  for (const key of [...extras.keys()].sort())
    for (const value of extras.get(key)!) out.push({ kind: 'UserExtra', key, value });
  if (uid) out.push({ kind: 'UID', name: uid });
  if (!user && out.length > 0)
    throw errors.badRequest(`requested [${out.map(describe).join(' ')}] without impersonating a user`);
  return out;
}

/** The authorization attributes of one ask: `impersonate` on users, serviceaccounts, groups, uids or userextras. */
export function impersonationAttributes(r: ImpersonationRequest): RequestAttributes {
  const a: RequestAttributes = { ...nonResourceAttributes('impersonate', ''), resourceRequest: true };
  switch (r.kind) {
    case 'User':
      return { ...a, apiVersion: 'v1', resource: 'users', name: r.name };
    case 'ServiceAccount':
      return { ...a, apiVersion: 'v1', resource: 'serviceaccounts', namespace: r.namespace, name: r.name };
    case 'Group':
      return { ...a, apiVersion: 'v1', resource: 'groups', name: r.name };
    case 'UserExtra':
      return {
        ...a,
        apiGroup: AUTHENTICATION_GROUP,
        apiVersion: 'v1',
        resource: 'userextras',
        subresource: r.key,
        name: r.value,
      };
    case 'UID':
      return { ...a, apiGroup: AUTHENTICATION_GROUP, apiVersion: 'v1', resource: 'uids', name: r.name };
  }
}

/**
 * The user a request runs as once every ask is allowed: the given groups (a ServiceAccount's
 * own groups when none are given) plus `system:authenticated` — or `system:unauthenticated`
 * for `system:anonymous` — unless already there, as kube's impersonation filter builds it.
 */
export function impersonatedUser(requests: readonly ImpersonationRequest[]): UserInfo {
  let name = '';
  let uid: string | undefined;
  const groupsGiven = requests.some((r) => r.kind === 'Group');
  let groups: string[] = [];
  const extra: Record<string, string[]> = {};
  for (const r of requests) {
    switch (r.kind) {
      case 'User':
        name = r.name;
        break;
      case 'ServiceAccount':
        name = serviceAccountUserName(r.namespace, r.name);
        if (!groupsGiven) groups = serviceAccountGroups(r.namespace);
        break;
      case 'Group':
        groups.push(r.name);
        break;
      case 'UserExtra':
        (extra[r.key] ??= []).push(r.value);
        break;
      case 'UID':
        uid = r.name;
        break;
    }
  }
  if (name !== ANONYMOUS) {
    if (!groups.includes(ALL_AUTHENTICATED) && !groups.includes(ALL_UNAUTHENTICATED)) groups.push(ALL_AUTHENTICATED);
  } else if (!groups.includes(ALL_UNAUTHENTICATED)) groups.push(ALL_UNAUTHENTICATED);
  return {
    name,
    ...(uid ? { uid } : {}),
    groups,
    ...(Object.keys(extra).length > 0 ? { extra } : {}),
  };
}
