import isEqual from 'lodash/isEqual.js';
import { errors, KitfedError } from '../../core/errors.js';
import { isObject, type KubeObject, type StatusCause } from '../../core/kube.js';
import type { AdmissionPlugin, Operation, WriteOptions } from '../registry.js';
import type { ResourceType } from '../resources.js';
import type { RbacAuthorizer, RoleRef } from './authorizer.js';
import type { RequestAttributes } from './request-info.js';
import { covers, escalationMessage, normalizeRule, validateRule, type PolicyRule } from './rules.js';
import { RBAC_GROUP } from './resources.js';
import { isSuperuser, type UserInfo } from './user.js';

/**
 * Admission of RBAC objects: kube's defaulting and validation of Roles, ClusterRoles and
 * bindings (422 naming the field), then escalation prevention — a user may only create or
 * change a role granting permissions they hold themselves (or with `escalate` on roles), and
 * only bind a role whose permissions they hold (or with `bind` on it). Superusers and the API
 * server's own housekeeping (no user) are exempt, as in kube.
 */

const SUBJECT_KINDS = ['ServiceAccount', 'User', 'Group'];
const FULL_AUTHORITY: PolicyRule[] = [
  { verbs: ['*'], apiGroups: ['*'], resources: ['*'] },
  { verbs: ['*'], nonResourceURLs: ['*'] },
];

function notSupported(field: string, value: unknown, supported: string[]): StatusCause {
  return {
    reason: 'FieldValueNotSupported',
    field,
    message: `Unsupported value: ${JSON.stringify(value ?? '')}: supported values: ${supported.map((s) => JSON.stringify(s)).join(', ')}`,
  };
}

function required(field: string, detail = ''): StatusCause {
  return { reason: 'FieldValueRequired', field, message: `Required value${detail ? `: ${detail}` : ''}` };
}

/** kube's ValidateRBACName (path segment names: `system:discovery` is fine, `a/b` is not). */
function pathSegmentProblems(name: string): string[] {
  if (name === '.' || name === '..') return [`may not be '${name}'`];
  const out: string[] = [];
  if (name.includes('/')) out.push("may not contain '/'");
  if (name.includes('%')) out.push("may not contain '%'");
  return out;
}

function roleRefOf(o: KubeObject): RoleRef {
  const ref = isObject(o.roleRef) ? (o.roleRef as Partial<RoleRef>) : {};
  return { apiGroup: ref.apiGroup ?? '', kind: ref.kind ?? '', name: ref.name ?? '' };
}

/** kube's defaults: roleRef.apiGroup and User/Group subjects' apiGroup are the RBAC group. */
function applyDefaults(o: KubeObject): void {
  if (o.kind !== 'RoleBinding' && o.kind !== 'ClusterRoleBinding') return;
  if (isObject(o.roleRef) && !o.roleRef.apiGroup) o.roleRef.apiGroup = RBAC_GROUP;
  if (Array.isArray(o.subjects))
    for (const s of o.subjects)
      if (isObject(s) && !s.apiGroup && (s.kind === 'User' || s.kind === 'Group')) s.apiGroup = RBAC_GROUP;
}

function validate(o: KubeObject, old: KubeObject | undefined): StatusCause[] {
  const causes: StatusCause[] = [];
  const namespaced = o.kind === 'Role' || o.kind === 'RoleBinding';
  if (o.kind === 'Role' || o.kind === 'ClusterRole') {
    const rules = Array.isArray(o.rules) ? o.rules : [];
    rules.forEach((rule, i) => causes.push(...validateRule(rule, namespaced, `rules[${i}]`)));
    if (o.kind === 'ClusterRole' && o.aggregationRule !== undefined && o.aggregationRule !== null) {
      const sel = isObject(o.aggregationRule) ? o.aggregationRule.clusterRoleSelectors : undefined;
      if (!Array.isArray(sel) || sel.length === 0)
        causes.push(
          required(
            'aggregationRule.clusterRoleSelectors',
            'at least one clusterRoleSelector required if aggregationRule is non-nil',
          ),
        );
    }
    return causes;
  }
  const ref = roleRefOf(o);
  if (ref.apiGroup !== RBAC_GROUP) causes.push(notSupported('roleRef.apiGroup', ref.apiGroup, [RBAC_GROUP]));
  const kinds = namespaced ? ['Role', 'ClusterRole'] : ['ClusterRole'];
  if (!kinds.includes(ref.kind)) causes.push(notSupported('roleRef.kind', ref.kind, kinds));
  if (!ref.name) causes.push(required('roleRef.name'));
  else
    for (const msg of pathSegmentProblems(ref.name))
      causes.push({
        reason: 'FieldValueInvalid',
        field: 'roleRef.name',
        message: `Invalid value: ${JSON.stringify(ref.name)}: ${msg}`,
      });
  const subjects = Array.isArray(o.subjects) ? o.subjects : [];
  subjects.forEach((raw, i) => {
    const s = (isObject(raw) ? raw : {}) as Record<string, string | undefined>;
    const f = `subjects[${i}]`;
    if (!s.name) causes.push(required(`${f}.name`));
    switch (s.kind) {
      case 'ServiceAccount':
        if (s.apiGroup) causes.push(notSupported(`${f}.apiGroup`, s.apiGroup, ['']));
        if (!namespaced && !s.namespace) causes.push(required(`${f}.namespace`));
        break;
      case 'User':
      case 'Group':
        if (s.apiGroup !== RBAC_GROUP) causes.push(notSupported(`${f}.apiGroup`, s.apiGroup, [RBAC_GROUP]));
        break;
      default:
        causes.push(notSupported(`${f}.kind`, s.kind, SUBJECT_KINDS));
    }
  });
  if (old && !isEqual(roleRefOf(old), ref)) {
    causes.push({
      reason: 'FieldValueInvalid',
      field: 'roleRef',
      message: `Invalid value: ${goStruct(ref)}: cannot change roleRef`,
    });
  }
  return causes;
}

function goStruct(ref: RoleRef): string {
  return `rbac.RoleRef{APIGroup:${JSON.stringify(ref.apiGroup)}, Kind:${JSON.stringify(ref.kind)}, Name:${JSON.stringify(ref.name)}}`;
}

/** An update that only touches what the garbage collector needs (kube lets it through unchecked). */
function onlyGcFields(o: KubeObject, old: KubeObject | undefined): boolean {
  if (!old) return false;
  const strip = (x: KubeObject) => {
    const {
      ownerReferences: _o,
      finalizers: _f,
      managedFields: _m,
      resourceVersion: _r,
      generation: _g,
      ...meta
    } = x.metadata;
    void [_o, _f, _m, _r, _g];
    return { ...x, metadata: meta };
  };
  return isEqual(strip(o), strip(old));
}

function attrs(verb: string, resource: string, namespace: string, name: string): RequestAttributes {
  return {
    resourceRequest: true,
    verb,
    path: '',
    apiGroup: RBAC_GROUP,
    apiVersion: 'v1',
    namespace,
    resource,
    subresource: '',
    name,
  };
}

function forbidden(t: ResourceType, name: string, message: string): KitfedError {
  return new KitfedError(`${t.plural}.${t.group} ${JSON.stringify(name)} is forbidden: ${message}`, 403, 'Forbidden', {
    name,
    group: t.group,
    kind: t.plural,
  });
}

export function rbacAdmission(authorizer: () => RbacAuthorizer | undefined): AdmissionPlugin {
  return {
    name: 'RBAC',
    kinds: ['Role', 'ClusterRole', 'RoleBinding', 'ClusterRoleBinding'],
    admit(_op: Operation, t: ResourceType, obj: KubeObject, old: KubeObject | undefined, opts?: WriteOptions) {
      if (t.group !== RBAC_GROUP) return [];
      applyDefaults(obj);
      const causes = validate(obj, old);
      if (causes.length > 0) return causes;
      const user = opts?.user;
      const rbac = authorizer();
      if (!user || !rbac || isSuperuser(user) || onlyGcFields(obj, old)) return [];
      escalationCheck(rbac, user, t, obj);
      return [];
    },
  };
}

function escalationCheck(rbac: RbacAuthorizer, user: UserInfo, t: ResourceType, obj: KubeObject): void {
  const name = obj.metadata.name ?? '';
  const namespace = obj.metadata.namespace ?? '';
  if (obj.kind === 'Role' || obj.kind === 'ClusterRole') {
    if (rbac.authorize(user, attrs('escalate', t.plural, namespace, name)).allowed) return;
    const rules = (Array.isArray(obj.rules) ? obj.rules : []).map(normalizeRule);
    const owned = rbac.rulesFor(user, namespace).rules;
    const missing = covers(owned, rules);
    if (missing.length > 0) throw forbidden(t, name, escalationMessage(user.name, user.groups, missing));
    if (obj.kind === 'ClusterRole' && obj.aggregationRule && covers(owned, FULL_AUTHORITY).length > 0)
      throw forbidden(t, name, 'must have cluster-admin privileges to use the aggregationRule');
    return;
  }
  const ref = roleRefOf(obj);
  const refResource = ref.kind === 'Role' ? 'roles' : 'clusterroles';
  if (rbac.authorize(user, attrs('bind', refResource, namespace, ref.name)).allowed) return;
  const rules = rbac.referencedRules(ref, obj.kind === 'RoleBinding' ? namespace : undefined);
  if (!rules) throw errors.notFound({ group: RBAC_GROUP, plural: refResource, name: ref.name });
  const missing = covers(rbac.rulesFor(user, namespace).rules, rules);
  if (missing.length > 0) throw forbidden(t, name, escalationMessage(user.name, user.groups, missing));
}
