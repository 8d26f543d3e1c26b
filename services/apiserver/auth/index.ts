import type { IncomingMessage } from 'node:http';
import { errors, KitfedError } from '../../core/errors.js';
import { createLogger } from '../../core/log.js';
import { isObject, type KubeObject, type StatusCause } from '../../core/kube.js';
import type { AdmissionPlugin, Registry, WriteOptions } from '../registry.js';
import type { ResourceType } from '../resources.js';
import { rbacAdmission } from './admission.js';
import { RbacAuthorizer, type Decision } from './authorizer.js';
import { impersonatedUser, impersonationAttributes, impersonationRequests } from './impersonation.js';
import { kubeClusterRoleBindings, kubeClusterRoles } from './policy.js';
import { ClusterRoleAggregator, reconcilePolicy } from './reconcile.js';
import { requestAttributes, type RequestAttributes } from './request-info.js';
import { REVIEW_KINDS, AUTHENTICATION_GROUP } from './resources.js';
import { REVIEWS, type ReviewContext, type TokenReviewStatus } from './reviews.js';
import { ServiceAccounts } from './service-accounts.js';
import { TokenIndex } from './token-index.js';
import {
  DEFAULT_ISSUER,
  generateServiceAccountKeys,
  looksLikeJwt,
  newClaims,
  signToken,
  verifyToken,
  type ServiceAccountKeys,
  type TokenClaims,
} from './tokens.js';
import type { PolicyRule } from './rules.js';
import {
  ANONYMOUS_USER,
  ALL_AUTHENTICATED,
  serviceAccountGroups,
  serviceAccountUserName,
  isSuperuser,
  SYSTEM_MASTERS,
  type UserInfo,
} from './user.js';
import { kubeTime } from '../../core/time.js';

export type { UserInfo } from './user.js';
export { CONTROLLER_MANAGER_USER, DEPLOYER_USER, kitfedPolicy } from './policy.js';
export { loadServiceAccountKeys, generateServiceAccountKeys, type ServiceAccountKeys } from './tokens.js';

const log = createLogger('apiserver-auth');

/** Identifies the caller from its credentials (static bearer tokens, client certificates). */
export interface Authenticator {
  /** The user, or undefined when the request carries no credentials this authenticator knows. */
  authenticate(req: IncomingMessage): UserInfo | undefined;
  /** The user of a bearer token (TokenReview), or undefined. */
  authenticateToken?(token: string): UserInfo | undefined;
}

export type AuthorizationMode = 'RBAC' | 'AlwaysAllow';

export interface AccessOptions {
  authenticator?: Authenticator;
  /** @default 'RBAC' with an authenticator, 'AlwaysAllow' without (nobody to tell apart) */
  authorization?: AuthorizationMode;
  /** Keys for ServiceAccount tokens. @default an RSA key generated on the first TokenRequest */
  serviceAccountKeys?: ServiceAccountKeys;
  /** @default https://kubernetes.default.svc.cluster.local */
  issuer?: string;
  /** CA published as the `kube-root-ca.crt` ConfigMap in every namespace. */
  caCert?: string;
  /** Bootstrap objects beyond kube's (the federation's own roles). */
  policy?: readonly KubeObject[];
}

/** Who a request is when the server authenticates nobody: everyone may do everything. */
export const UNSECURED_USER: UserInfo = { name: 'system:unsecured', groups: [SYSTEM_MASTERS, ALL_AUTHENTICATED] };

/** Paths anonymous requests may reach (still subject to RBAC: system:public-info-viewer). */
const PUBLIC_PATHS = new Set(['/healthz', '/livez', '/readyz', '/version']);

const MAX_CACHED_TOKENS = 10_000;
const MIN_EXPIRATION_SECONDS = 600;
const MAX_EXPIRATION_SECONDS = 2 ** 32;

interface Route {
  type: ResourceType;
  namespace?: string;
  name?: string;
  subresource?: string;
}

/**
 * Authentication, authorization and the APIs around them, for one API server: the hook
 * `server.ts` calls on every request (who is it, may they), the RBAC admission plugin, the
 * review APIs, TokenRequest, and the housekeeping that keeps the bootstrap policy, aggregated
 * ClusterRoles, default ServiceAccounts and `kube-root-ca.crt` in place.
 */
export class AccessControl {
  readonly mode: AuthorizationMode;
  readonly admission: AdmissionPlugin;
  private readonly rbac: RbacAuthorizer;
  private readonly aggregator: ClusterRoleAggregator;
  private readonly accounts: ServiceAccounts;
  private readonly users = new WeakMap<IncomingMessage, UserInfo>();
  private readonly issuer: string;
  private keys: ServiceAccountKeys | undefined;
  private keysPending: Promise<ServiceAccountKeys> | undefined;
  /** Verified ServiceAccount tokens, by digest (the signature is checked once per token). */
  private readonly tokenCache = new TokenIndex<{ claims: TokenClaims; user: UserInfo }>();
  private bootstrapping: Promise<void> | undefined;
  private stopped = false;

  constructor(
    private readonly registry: Registry,
    private readonly options: AccessOptions = {},
  ) {
    this.mode = options.authorization ?? (options.authenticator ? 'RBAC' : 'AlwaysAllow');
    this.rbac = new RbacAuthorizer(registry);
    this.aggregator = new ClusterRoleAggregator(registry, this.rbac);
    this.accounts = new ServiceAccounts(registry, options.caCert);
    this.admission = rbacAdmission(() => (this.mode === 'RBAC' ? this.rbac : undefined));
    this.keys = options.serviceAccountKeys;
    this.issuer = options.issuer ?? DEFAULT_ISSUER;
  }

  /** Reconciles the bootstrap policy, then follows RBAC objects, aggregation and namespaces. */
  /**
   * With RBAC, serves only once the bootstrap policy is in place. Without it (nobody to tell
   * apart) the policy is written in the background, as kube's post-start hook does, so plain
   * servers (tests, sandboxes) start as fast as before.
   */
  async start(): Promise<void> {
    await this.accounts.start();
    const bootstrap = this.bootstrap();
    if (this.mode === 'RBAC') await bootstrap;
    else
      this.bootstrapping = bootstrap.catch((err: unknown) => {
        if (!this.stopped) log.warn({ err: (err as Error).message }, 'bootstrap RBAC policy failed');
      });
  }

  private async bootstrap(): Promise<void> {
    await reconcilePolicy(this.registry, [
      ...kubeClusterRoles(),
      ...kubeClusterRoleBindings(),
      ...(this.options.policy ?? []),
    ]);
    if (this.stopped) return;
    // On etcd the watch cache trails the writes: start from everything the reconcile wrote.
    await this.registry.cache.waitFor(await this.registry.store.revision());
    if (this.stopped) return;
    await this.rbac.start();
    await this.aggregator.start();
    if (this.stopped) this.stop();
  }

  stop(): void {
    this.stopped = true;
    this.accounts.stop();
    this.aggregator.stop();
    this.rbac.stop();
  }

  /** Resolves when background work (bootstrap policy, aggregation, default ServiceAccounts) has caught up. */
  async idle(): Promise<void> {
    await this.bootstrapping;
    await this.aggregator.idle();
    await this.accounts.idle();
  }

  // ---- authentication ------------------------------------------------------------------

  /**
   * The user the request runs as: its credentials' user (anonymous on public paths; 401
   * otherwise when it has no valid credentials; without an authenticator everyone is the
   * unsecured superuser), or — when it sends `Impersonate-*` headers and that user may
   * `impersonate` each thing asked — the impersonated user. Everything downstream (RBAC,
   * admission, reviews, `kubectl auth whoami`) sees only the user returned here.
   */
  authenticate(req: IncomingMessage, pathname: string): UserInfo {
    const caller = this.authenticateCaller(req, pathname);
    const asked = impersonationRequests(req.rawHeaders);
    if (asked.length === 0) {
      this.users.set(req, caller);
      return caller;
    }
    for (const r of asked) {
      const a = impersonationAttributes(r);
      const d = this.decide(caller, a);
      if (!d.allowed) throw forbiddenRequest(caller, a, d.reason);
    }
    const user = impersonatedUser(asked);
    if (log.isLevelEnabled('debug'))
      log.debug({ user: caller.name, as: user.name, groups: user.groups }, 'impersonating');
    this.users.set(req, user);
    return user;
  }

  /** Who the credentials of the request say it is. */
  private authenticateCaller(req: IncomingMessage, pathname: string): UserInfo {
    const authn = this.options.authenticator;
    if (!authn) return UNSECURED_USER;
    let user = authn.authenticate(req);
    if (!user) {
      const auth = req.headers.authorization;
      if (auth?.startsWith('Bearer ')) {
        const token = auth.slice(7).trim();
        if (looksLikeJwt(token)) user = this.serviceAccountUser(token, undefined).user;
      }
    }
    if (!user) {
      if (PUBLIC_PATHS.has(pathname)) return ANONYMOUS_USER;
      throw errors.unauthorized();
    }
    return user;
  }

  /** The user `authenticate` found for a request (undefined before it ran). */
  userOf(req: IncomingMessage): UserInfo | undefined {
    return this.users.get(req);
  }

  private serviceAccountUser(token: string, audiences: readonly string[] | undefined): TokenReviewStatus {
    let entry = this.tokenCache.get(token);
    if (!entry || audiences) {
      if (!this.keys) return { authenticated: false, error: 'invalid bearer token' };
      const v = verifyToken(this.keys, token, { issuer: this.issuer, audiences: audiences ?? [this.issuer] });
      if (!v.ok) return { authenticated: false, error: `[invalid bearer token, ${v.error}]` };
      const k8s = v.claims['kubernetes.io'];
      const user: UserInfo = {
        name: serviceAccountUserName(k8s.namespace, k8s.serviceaccount.name),
        uid: k8s.serviceaccount.uid,
        groups: [...serviceAccountGroups(k8s.namespace), ALL_AUTHENTICATED],
        extra: { 'authentication.kubernetes.io/credential-id': [`JTI=${v.claims.jti}`] },
      };
      entry = { claims: v.claims, user };
      if (!audiences) {
        if (this.tokenCache.size >= MAX_CACHED_TOKENS) this.tokenCache.clear();
        this.tokenCache.set(token, entry);
      }
    }
    const { claims, user } = entry;
    if (Math.floor(Date.now() / 1000) > claims.exp + 60) {
      this.tokenCache.delete(token);
      return { authenticated: false, error: '[invalid bearer token, service account token has expired]' };
    }
    const k8s = claims['kubernetes.io'];
    const sa = this.accounts.lookup(k8s.namespace, k8s.serviceaccount.name);
    if (!sa || sa.deleting)
      return {
        authenticated: false,
        error: `[invalid bearer token, serviceaccounts ${JSON.stringify(k8s.serviceaccount.name)} not found]`,
      };
    if (sa.uid !== k8s.serviceaccount.uid)
      return {
        authenticated: false,
        error: `[invalid bearer token, service account UID (${sa.uid}) does not match claim (${k8s.serviceaccount.uid})]`,
      };
    const aud = audiences ? claims.aud.filter((a) => audiences.includes(a)) : [this.issuer];
    return { authenticated: true, user, audiences: aud };
  }

  /** TokenReview: static tokens, then ServiceAccount tokens. */
  private authenticateToken(token: string, audiences: readonly string[] | undefined): TokenReviewStatus {
    const staticUser = this.options.authenticator?.authenticateToken?.(token);
    if (staticUser) {
      // Static tokens carry no audience: valid for the API server's own.
      if (audiences && !audiences.includes(this.issuer))
        return {
          authenticated: false,
          error: '[invalid bearer token, token audiences is invalid for the target audiences]',
        };
      return { authenticated: true, user: staticUser, audiences: audiences ? [this.issuer] : [this.issuer] };
    }
    if (!looksLikeJwt(token)) return { authenticated: false, error: '[invalid bearer token]' };
    return this.serviceAccountUser(token, audiences);
  }

  // ---- authorization -------------------------------------------------------------------

  private decide(user: UserInfo, a: RequestAttributes): Decision {
    if (this.mode === 'AlwaysAllow') return { allowed: true, reason: '' };
    return this.rbac.authorize(user, a);
  }

  private rulesFor(user: UserInfo, namespace: string): { rules: PolicyRule[]; errors: string[] } {
    if (this.mode === 'AlwaysAllow')
      return {
        rules: [
          { verbs: ['*'], apiGroups: ['*'], resources: ['*'] },
          { verbs: ['*'], nonResourceURLs: ['*'] },
        ],
        errors: [],
      };
    return this.rbac.rulesFor(user, namespace);
  }

  /** Throws kube's 403 when `user` may not make this request. */
  authorize(user: UserInfo, method: string, url: URL): void {
    if (this.mode === 'AlwaysAllow' || isSuperuser(user)) return;
    const a = requestAttributes(method, url.pathname, url.searchParams);
    const d = this.rbac.authorize(user, a);
    if (!d.allowed) throw forbiddenRequest(user, a, d.reason);
  }

  // ---- APIs answered here --------------------------------------------------------------

  /** Whether `route` is answered here rather than stored: the review kinds and TokenRequest. */
  handles(route: Route): boolean {
    const t = route.type;
    return (REVIEW_KINDS.has(t.kind) && t.group.endsWith('.k8s.io')) || this.isTokenRequest(route);
  }

  private isTokenRequest(route: Route): boolean {
    return route.type.kind === 'ServiceAccount' && route.type.group === '' && route.subresource === 'token';
  }

  /** POST of a review or a TokenRequest: the answer object (201). Other methods: 405. */
  async serve(route: Route, method: string, body: unknown, opts: WriteOptions, user: UserInfo): Promise<KubeObject> {
    if (method !== 'POST') throw errors.methodNotAllowed();
    if (this.isTokenRequest(route)) return this.tokenRequest(route, body);
    if (route.name) throw errors.methodNotAllowed();
    const obj = this.registry.decodeBody(route.type, body, opts);
    const ctx: ReviewContext = {
      user,
      namespace: route.namespace,
      authorize: (u, a) => this.decide(u, a),
      rulesFor: (u, ns) => this.rulesFor(u, ns),
      authenticateToken: (token, audiences) => this.authenticateToken(token, audiences),
    };
    return REVIEWS[route.type.kind]!(obj, ctx);
  }

  private async signingKeys(): Promise<ServiceAccountKeys> {
    if (this.keys) return this.keys;
    this.keysPending ??= generateServiceAccountKeys().then((k) => {
      this.keys = k;
      log.info('generated an in-memory ServiceAccount token signing key');
      return k;
    });
    return this.keysPending;
  }

  private async tokenRequest(route: Route, body: unknown): Promise<KubeObject> {
    const ns = route.namespace!;
    const name = route.name!;
    if (!isObject(body)) throw errors.badRequest('the request body must be a TokenRequest');
    const req = body as KubeObject;
    if (req.apiVersion !== `${AUTHENTICATION_GROUP}/v1` || req.kind !== 'TokenRequest')
      throw errors.badRequest(
        `the API version in the data (${String(req.apiVersion)}) does not match the expected API version ` +
          `(${AUTHENTICATION_GROUP}/v1) or kind ${String(req.kind)} does not match TokenRequest`,
      );
    const spec = isObject(req.spec) ? { ...req.spec } : {};
    const expirationSeconds =
      spec.expirationSeconds === undefined || spec.expirationSeconds === null ? 3600 : Number(spec.expirationSeconds);
    const causes: StatusCause[] = [];
    if (!Number.isInteger(expirationSeconds) || expirationSeconds < MIN_EXPIRATION_SECONDS)
      causes.push({
        reason: 'FieldValueInvalid',
        field: 'spec.expirationSeconds',
        message: `Invalid value: ${String(spec.expirationSeconds)}: may not specify a duration less than 10 minutes`,
      });
    if (expirationSeconds > MAX_EXPIRATION_SECONDS)
      causes.push({
        reason: 'FieldValueInvalid',
        field: 'spec.expirationSeconds',
        message: `Invalid value: ${expirationSeconds}: may not specify a duration larger than 2^32 seconds`,
      });
    if (causes.length > 0)
      throw errors.invalid({ group: AUTHENTICATION_GROUP, kind: 'TokenRequest', name: '' }, causes);
    if (isObject(spec.boundObjectRef) && spec.boundObjectRef.kind) {
      const ref = spec.boundObjectRef;
      throw errors.badRequest(
        `cannot bind token to object of type ${String(ref.apiVersion ?? 'v1')}, Kind=${String(ref.kind)}: kitfed issues unbound tokens only`,
      );
    }
    const saType = this.registry.catalog.byKind('', 'v1', 'ServiceAccount')!;
    const sa = await this.registry.get(saType, ns, name);
    const audiences =
      Array.isArray(spec.audiences) && spec.audiences.length > 0 ? (spec.audiences as string[]) : [this.issuer];
    const keys = await this.signingKeys();
    const claims = newClaims(this.issuer, audiences, { namespace: ns, name, uid: sa.metadata.uid! }, expirationSeconds);
    const token = signToken(keys, claims);
    return {
      apiVersion: `${AUTHENTICATION_GROUP}/v1`,
      kind: 'TokenRequest',
      metadata: { name, namespace: ns, creationTimestamp: null as unknown as string },
      spec: { audiences, expirationSeconds, boundObjectRef: null },
      status: { token, expirationTimestamp: kubeTime(new Date(claims.exp * 1000)) },
    };
  }
}

/** kube's sanitizer for messages echoing request paths. */
function sanitize(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** kube's 403 for a refused request (ForbiddenStatusError), with its exact message. */
export function forbiddenRequest(user: UserInfo, a: RequestAttributes, reason: string) {
  const q = JSON.stringify;
  let msg: string;
  if (!a.resourceRequest) msg = `User ${q(user.name)} cannot ${a.verb} path ${q(a.path)}`;
  else {
    const resource = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
    msg = a.namespace
      ? `User ${q(user.name)} cannot ${a.verb} resource ${q(resource)} in API group ${q(a.apiGroup)} in the namespace ${q(a.namespace)}`
      : `User ${q(user.name)} cannot ${a.verb} resource ${q(resource)} in API group ${q(a.apiGroup)} at the cluster scope`;
  }
  msg = sanitize(msg);
  if (reason) msg = `${msg}: ${reason}`;
  const gr = a.resource ? (a.apiGroup ? `${a.resource}.${a.apiGroup}` : a.resource) : '';
  const message = !gr
    ? `forbidden: ${msg}`
    : a.name
      ? `${gr} ${q(a.name)} is forbidden: ${msg}`
      : `${gr} is forbidden: ${msg}`;
  return new KitfedError(message, 403, 'Forbidden', {
    ...(a.name ? { name: a.name } : {}),
    ...(a.apiGroup ? { group: a.apiGroup } : {}),
    ...(a.resource ? { kind: a.resource } : {}),
  });
}
