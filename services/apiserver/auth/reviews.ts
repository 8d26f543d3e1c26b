import { errors } from '../../core/errors.js';
import { isObject, type KubeObject, type StatusCause } from '../../core/kube.js';
import type { Decision } from './authorizer.js';
import { nonResourceAttributes, type RequestAttributes } from './request-info.js';
import type { PolicyRule } from './rules.js';
import { AUTHENTICATION_GROUP, AUTHORIZATION_GROUP } from './resources.js';
import type { UserInfo } from './user.js';

/**
 * The review APIs, answered and never stored: SelfSubjectReview and TokenReview
 * (authentication.k8s.io/v1); SubjectAccessReview, SelfSubjectAccessReview,
 * LocalSubjectAccessReview and SelfSubjectRulesReview (authorization.k8s.io/v1). Validation
 * and messages follow kube's.
 */

type Obj = Record<string, unknown>;

export interface ReviewContext {
  /** The user making the request. */
  user: UserInfo;
  /** Namespace of the request path (LocalSubjectAccessReview). */
  namespace: string | undefined;
  authorize(user: UserInfo, a: RequestAttributes): Decision;
  rulesFor(user: UserInfo, namespace: string): { rules: PolicyRule[]; errors: string[] };
  authenticateToken(token: string, audiences: readonly string[] | undefined): TokenReviewStatus;
}

export interface TokenReviewStatus {
  authenticated: boolean;
  user?: UserInfo;
  audiences?: string[];
  error?: string;
}

function userInfoJson(u: UserInfo): Obj {
  return {
    username: u.name,
    ...(u.uid ? { uid: u.uid } : {}),
    groups: [...u.groups],
    ...(u.extra && Object.keys(u.extra).length > 0 ? { extra: u.extra } : {}),
  };
}

function specOf(o: KubeObject): Obj {
  return isObject(o.spec) ? o.spec : {};
}

function invalid(kind: string, group: string, causes: StatusCause[]) {
  return errors.invalid({ group, kind, name: '' }, causes);
}

/** Go's `%#v` of a pointer to the attributes struct, roughly (kube prints the value it rejects). */
function describe(v: unknown): string {
  return v === undefined || v === null ? 'null' : JSON.stringify(v);
}

function resourceAttributes(ra: Obj): RequestAttributes {
  const s = (k: string) => (typeof ra[k] === 'string' ? ra[k] : '');
  return {
    resourceRequest: true,
    verb: s('verb'),
    path: '',
    apiGroup: s('group'),
    apiVersion: s('version'),
    namespace: s('namespace'),
    resource: s('resource'),
    subresource: s('subresource'),
    name: s('name'),
  };
}

function nonResourceOf(na: Obj): RequestAttributes {
  return nonResourceAttributes(typeof na.verb === 'string' ? na.verb : '', typeof na.path === 'string' ? na.path : '');
}

function accessStatus(d: Decision): Obj {
  return { allowed: d.allowed, ...(d.reason ? { reason: d.reason } : {}) };
}

function answer(obj: KubeObject, status: Obj): KubeObject {
  return { ...obj, metadata: { ...obj.metadata, creationTimestamp: null as unknown as string }, status };
}

/** The attributes of a (self/local) subject access review spec, after kube's validation. */
function attributesOf(kind: string, spec: Obj, allowNonResource: boolean): RequestAttributes {
  const ra = isObject(spec.resourceAttributes) ? spec.resourceAttributes : undefined;
  const na = isObject(spec.nonResourceAttributes) ? spec.nonResourceAttributes : undefined;
  const causes: StatusCause[] = [];
  const bad = (field: string, value: unknown, why: string) =>
    causes.push({ reason: 'FieldValueInvalid', field, message: `Invalid value: ${describe(value)}: ${why}` });
  if (allowNonResource) {
    if (ra && na) bad('spec.nonResourceAttributes', na, 'cannot be specified in combination with resourceAttributes');
    if (!ra && !na)
      bad(
        'spec.resourceAttributes',
        na,
        'exactly one of nonResourceAttributes or resourceAttributes must be specified',
      );
  } else {
    if (na) bad('spec.nonResourceAttributes', na, 'disallowed on this kind of request');
    if (!ra) causes.push({ reason: 'FieldValueRequired', field: 'spec.resourceAttributes', message: 'Required value' });
  }
  if (causes.length > 0) throw invalid(kind, AUTHORIZATION_GROUP, causes);
  return ra ? resourceAttributes(ra) : nonResourceOf(na!);
}

function stringList(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

export function selfSubjectReview(obj: KubeObject, ctx: ReviewContext): KubeObject {
  return answer(
    { ...obj, apiVersion: `${AUTHENTICATION_GROUP}/v1`, kind: 'SelfSubjectReview' },
    {
      userInfo: userInfoJson(ctx.user),
    },
  );
}

export function tokenReview(obj: KubeObject, ctx: ReviewContext): KubeObject {
  const spec = specOf(obj);
  const token = typeof spec.token === 'string' ? spec.token : '';
  if (!token) throw errors.badRequest('token is required for TokenReview in authentication');
  const audiences = stringList(spec.audiences);
  const result = ctx.authenticateToken(token, audiences.length > 0 ? audiences : undefined);
  const status: Obj = {
    authenticated: result.authenticated,
    user: result.user ? userInfoJson(result.user) : {},
    ...(result.audiences ? { audiences: result.audiences } : {}),
    ...(result.error ? { error: result.error } : {}),
  };
  return answer(obj, status);
}

export function subjectAccessReview(obj: KubeObject, ctx: ReviewContext): KubeObject {
  const spec = specOf(obj);
  const attrs = attributesOf('SubjectAccessReview', spec, true);
  const user = typeof spec.user === 'string' ? spec.user : '';
  const groups = stringList(spec.groups);
  if (!user && groups.length === 0)
    throw invalid('SubjectAccessReview', AUTHORIZATION_GROUP, [
      {
        reason: 'FieldValueInvalid',
        field: 'spec.user',
        message: `Invalid value: "": at least one of user or group must be specified`,
      },
    ]);
  const extra = isObject(spec.extra) ? (spec.extra as Record<string, string[]>) : undefined;
  const subject: UserInfo = {
    name: user,
    groups,
    ...(typeof spec.uid === 'string' && spec.uid ? { uid: spec.uid } : {}),
    ...(extra ? { extra } : {}),
  };
  return answer(obj, accessStatus(ctx.authorize(subject, attrs)));
}

export function selfSubjectAccessReview(obj: KubeObject, ctx: ReviewContext): KubeObject {
  const attrs = attributesOf('SelfSubjectAccessReview', specOf(obj), true);
  return answer(obj, accessStatus(ctx.authorize(ctx.user, attrs)));
}

export function localSubjectAccessReview(obj: KubeObject, ctx: ReviewContext): KubeObject {
  const spec = specOf(obj);
  const namespace = ctx.namespace ?? '';
  const attrs = attributesOf('LocalSubjectAccessReview', spec, false);
  if (attrs.namespace !== namespace)
    throw errors.badRequest(`spec.resourceAttributes.namespace must match namespace: ${namespace}`);
  const user = typeof spec.user === 'string' ? spec.user : '';
  const groups = stringList(spec.groups);
  if (!user && groups.length === 0)
    throw invalid('LocalSubjectAccessReview', AUTHORIZATION_GROUP, [
      {
        reason: 'FieldValueInvalid',
        field: 'spec.user',
        message: `Invalid value: "": at least one of user or group must be specified`,
      },
    ]);
  const subject: UserInfo = {
    name: user,
    groups,
    ...(typeof spec.uid === 'string' && spec.uid ? { uid: spec.uid } : {}),
  };
  return answer(obj, accessStatus(ctx.authorize(subject, attrs)));
}

export function selfSubjectRulesReview(obj: KubeObject, ctx: ReviewContext): KubeObject {
  const spec = specOf(obj);
  const namespace = typeof spec.namespace === 'string' ? spec.namespace : '';
  if (!namespace) throw errors.badRequest('no namespace on request');
  const { rules, errors: problems } = ctx.rulesFor(ctx.user, namespace);
  const resourceRules: Obj[] = [];
  const nonResourceRules: Obj[] = [];
  for (const r of rules) {
    if (r.nonResourceURLs && r.nonResourceURLs.length > 0)
      nonResourceRules.push({ verbs: r.verbs, nonResourceURLs: r.nonResourceURLs });
    else
      resourceRules.push({
        verbs: r.verbs,
        ...(r.apiGroups ? { apiGroups: r.apiGroups } : {}),
        ...(r.resources ? { resources: r.resources } : {}),
        ...(r.resourceNames ? { resourceNames: r.resourceNames } : {}),
      });
  }
  return answer(obj, {
    resourceRules,
    nonResourceRules,
    incomplete: false,
    ...(problems.length > 0 ? { evaluationError: problems.join(', ') } : {}),
  });
}

export const REVIEWS: Record<string, (obj: KubeObject, ctx: ReviewContext) => KubeObject> = {
  SelfSubjectReview: selfSubjectReview,
  TokenReview: tokenReview,
  SubjectAccessReview: subjectAccessReview,
  SelfSubjectAccessReview: selfSubjectAccessReview,
  LocalSubjectAccessReview: localSubjectAccessReview,
  SelfSubjectRulesReview: selfSubjectRulesReview,
};
