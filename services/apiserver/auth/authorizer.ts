import type { KubeObject } from '../../core/kube.js';
import { createLogger } from '../../core/log.js';
import type { Registry } from '../registry.js';
import { keyPrefix, type ResourceType } from '../resources.js';
import type { CachedEvent } from '../watch-cache.js';
import type { RequestAttributes } from './request-info.js';
import { normalizeRule, ruleAllows, type PolicyRule } from './rules.js';
import { RBAC_GROUP } from './resources.js';
import { isSuperuser, SERVICE_ACCOUNT_PREFIX, type UserInfo } from './user.js';

/**
 * The RBAC authorizer: Roles, ClusterRoles and their bindings held in memory from the watch
 * cache, bindings indexed by subject (user, group, ServiceAccount), and decisions cached per
 * user and request attributes until the next RBAC change. A request costs a few map lookups;
 * a change to any RBAC object (a watch event) drops the caches.
 */

export interface Decision {
  allowed: boolean;
  /** kube's reason: `RBAC: allowed by ClusterRoleBinding "x" of ClusterRole "y" to User "z"`, or why not. */
  reason: string;
}

export interface RoleRef {
  apiGroup: string;
  kind: string;
  name: string;
}

export interface Subject {
  kind: string;
  name: string;
  namespace?: string;
  apiGroup?: string;
}

interface Binding {
  name: string;
  /** Undefined for a ClusterRoleBinding. */
  namespace?: string;
  roleRef: RoleRef;
  subjects: Subject[];
}

interface ClusterRoleEntry {
  rules: PolicyRule[];
  object: KubeObject;
}

/** A binding as the subject index holds it: the binding and the subject that names the key. */
interface Grant {
  binding: Binding;
  subject: Subject;
}

export interface ResolvedRules {
  rules: PolicyRule[];
  /** Bindings whose role is missing: kube's rule resolution errors. */
  errors: string[];
}

const log = createLogger('rbac');
const KINDS = ['ClusterRole', 'Role', 'ClusterRoleBinding', 'RoleBinding'] as const;
const MAX_CACHED_DECISIONS = 50_000;
const ALLOW_SUPERUSER: Decision = { allowed: true, reason: '' };

function subjectKey(s: Subject, bindingNamespace: string | undefined): string | undefined {
  switch (s.kind) {
    case 'User':
      return `u:${s.name}`;
    case 'Group':
      return `g:${s.name}`;
    case 'ServiceAccount': {
      const ns = s.namespace || bindingNamespace;
      return ns ? `u:${SERVICE_ACCOUNT_PREFIX}${ns}:${s.name}` : undefined;
    }
    default:
      return undefined;
  }
}

function describeSubject(s: Subject, bindingNamespace: string | undefined): string {
  if (s.kind === 'ServiceAccount')
    return `${s.kind} ${JSON.stringify(`${s.name}/${s.namespace || bindingNamespace || ''}`)}`;
  return `${s.kind} ${JSON.stringify(s.name)}`;
}

function describeGrant(g: Grant): string {
  const b = g.binding;
  return b.namespace === undefined
    ? `ClusterRoleBinding ${JSON.stringify(b.name)} of ${b.roleRef.kind} ${JSON.stringify(b.roleRef.name)} to ${describeSubject(g.subject, undefined)}`
    : `RoleBinding ${JSON.stringify(`${b.name}/${b.namespace}`)} of ${b.roleRef.kind} ` +
        `${JSON.stringify(b.roleRef.name)} to ${describeSubject(g.subject, b.namespace)}`;
}

export function toBinding(o: KubeObject): Binding {
  const ref = (o.roleRef ?? {}) as Partial<RoleRef>;
  const subjects = Array.isArray(o.subjects) ? (o.subjects as Subject[]) : [];
  return {
    name: o.metadata.name!,
    ...(o.metadata.namespace ? { namespace: o.metadata.namespace } : {}),
    roleRef: { apiGroup: ref.apiGroup ?? '', kind: ref.kind ?? '', name: ref.name ?? '' },
    subjects: subjects.filter((s) => s && typeof s === 'object' && typeof s.name === 'string'),
  };
}

export function rulesOf(o: KubeObject | undefined): PolicyRule[] {
  return Array.isArray(o?.rules) ? (o.rules as unknown[]).map(normalizeRule) : [];
}

function userKeys(user: UserInfo): string[] {
  return [`u:${user.name}`, ...user.groups.map((g) => `g:${g}`)];
}

export class RbacAuthorizer {
  private readonly clusterRoles = new Map<string, ClusterRoleEntry>();
  /** namespace → name → rules */
  private readonly roles = new Map<string, Map<string, PolicyRule[]>>();
  /** subject key → grants of ClusterRoleBindings */
  private readonly clusterGrants = new Map<string, Grant[]>();
  /** namespace → subject key → grants of RoleBindings */
  private readonly namespaceGrants = new Map<string, Map<string, Grant[]>>();
  private readonly clusterBindings = new Map<string, Binding>();
  private readonly roleBindings = new Map<string, Map<string, Binding>>();
  private decisions = new Map<string, Decision>();
  private readonly listeners = new Set<() => void>();
  private readonly stops: Array<() => void> = [];
  private resyncTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  /** Bumped on every RBAC change. */
  generation = 0;

  constructor(private readonly registry: Registry) {}

  private type(kind: string): ResourceType {
    const t = this.registry.catalog.byKind(RBAC_GROUP, 'v1', kind);
    if (!t) throw new Error(`RBAC kind ${kind} is not in the resource table`);
    return t;
  }

  /** Loads every RBAC object and follows changes through the watch cache. */
  async start(): Promise<void> {
    for (const kind of KINDS) {
      const t = this.type(kind);
      const list = await this.registry.list(t, undefined);
      for (const o of list.items) this.apply(kind, o, undefined);
      const prefix = keyPrefix(t);
      this.stops.push(
        this.registry.cache.subscribe(prefix, Number(list.metadata.resourceVersion), (e: CachedEvent) => {
          // The cache lost its store watch: changes may have been missed, so reload everything.
          if (e.revision < 0) return this.scheduleResync();
          this.apply(kind, e.type === 'DELETED' ? undefined : e.object, e.type === 'DELETED' ? e.object : e.prev);
          this.changed();
        }),
      );
    }
    this.changed();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.resyncTimer);
    for (const s of this.stops.splice(0)) s();
    this.listeners.clear();
  }

  private scheduleResync(delayMs = 500): void {
    if (this.resyncTimer || this.stopped) return;
    this.resyncTimer = setTimeout(() => {
      this.resyncTimer = undefined;
      this.resync().catch((err: unknown) => {
        log.warn({ err: (err as Error).message }, 'reloading RBAC objects failed; retrying');
        this.scheduleResync(Math.min(delayMs * 2, 5000));
      });
    }, delayMs);
    this.resyncTimer.unref();
  }

  private async resync(): Promise<void> {
    const lists = await Promise.all(KINDS.map((kind) => this.registry.list(this.type(kind), undefined)));
    this.clusterRoles.clear();
    this.roles.clear();
    this.clusterGrants.clear();
    this.namespaceGrants.clear();
    this.clusterBindings.clear();
    this.roleBindings.clear();
    KINDS.forEach((kind, i) => {
      for (const o of lists[i]!.items) this.apply(kind, o, undefined);
    });
    this.changed();
    log.info('RBAC objects reloaded after the watch cache recovered');
  }

  /** Called after every RBAC change (the aggregation controller listens). */
  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private changed(): void {
    this.generation++;
    this.decisions = new Map();
    for (const l of this.listeners) l();
  }

  private apply(kind: string, now: KubeObject | undefined, before: KubeObject | undefined): void {
    const o = now ?? before;
    if (!o) return;
    const name = o.metadata.name!;
    const ns = o.metadata.namespace ?? '';
    switch (kind) {
      case 'ClusterRole':
        if (now) this.clusterRoles.set(name, { rules: rulesOf(now), object: now });
        else this.clusterRoles.delete(name);
        return;
      case 'Role': {
        let m = this.roles.get(ns);
        if (now) {
          if (!m) this.roles.set(ns, (m = new Map()));
          m.set(name, rulesOf(now));
        } else if (m) {
          m.delete(name);
          if (m.size === 0) this.roles.delete(ns);
        }
        return;
      }
      case 'ClusterRoleBinding': {
        const old = this.clusterBindings.get(name);
        if (old) this.unindex(this.clusterGrants, old);
        if (now) {
          const b = toBinding(now);
          this.clusterBindings.set(name, b);
          this.index(this.clusterGrants, b);
        } else this.clusterBindings.delete(name);
        return;
      }
      case 'RoleBinding': {
        let byName = this.roleBindings.get(ns);
        let grants = this.namespaceGrants.get(ns);
        const old = byName?.get(name);
        if (old && grants) this.unindex(grants, old);
        if (now) {
          if (!byName) this.roleBindings.set(ns, (byName = new Map()));
          if (!grants) this.namespaceGrants.set(ns, (grants = new Map()));
          const b = toBinding(now);
          byName.set(name, b);
          this.index(grants, b);
        } else if (byName) {
          byName.delete(name);
          if (byName.size === 0) {
            this.roleBindings.delete(ns);
            this.namespaceGrants.delete(ns);
          }
        }
        return;
      }
    }
  }

  private index(grants: Map<string, Grant[]>, b: Binding): void {
    const seen = new Set<string>();
    for (const s of b.subjects) {
      const key = subjectKey(s, b.namespace);
      if (!key || seen.has(key)) continue;
      seen.add(key);
      let list = grants.get(key);
      if (!list) grants.set(key, (list = []));
      list.push({ binding: b, subject: s });
    }
  }

  private unindex(grants: Map<string, Grant[]>, b: Binding): void {
    for (const s of b.subjects) {
      const key = subjectKey(s, b.namespace);
      if (!key) continue;
      const list = grants.get(key);
      if (!list) continue;
      const kept = list.filter((g) => g.binding !== b);
      if (kept.length > 0) grants.set(key, kept);
      else grants.delete(key);
    }
  }

  /** The rules a binding grants, or an error naming the missing role (kube's lister error text). */
  private roleRules(b: Binding): PolicyRule[] | string {
    const ref = b.roleRef;
    if (ref.kind === 'ClusterRole') {
      const role = this.clusterRoles.get(ref.name);
      return role ? role.rules : `clusterrole.rbac.authorization.k8s.io ${JSON.stringify(ref.name)} not found`;
    }
    if (ref.kind === 'Role' && b.namespace !== undefined) {
      const rules = this.roles.get(b.namespace)?.get(ref.name);
      return rules ?? `role.rbac.authorization.k8s.io ${JSON.stringify(ref.name)} not found`;
    }
    return `unsupported role reference kind: ${JSON.stringify(ref.kind)}`;
  }

  /** Every grant that applies to `user` in `namespace` (cluster-wide first), each binding once. */
  private grantsFor(user: UserInfo, namespace: string): Grant[] {
    const out: Grant[] = [];
    const seen = new Set<Binding>();
    const keys = userKeys(user);
    const collect = (grants: Map<string, Grant[]> | undefined) => {
      if (!grants) return;
      for (const k of keys) {
        for (const g of grants.get(k) ?? []) {
          if (seen.has(g.binding)) continue;
          seen.add(g.binding);
          out.push(g);
        }
      }
    };
    collect(this.clusterGrants);
    if (namespace) collect(this.namespaceGrants.get(namespace));
    return out;
  }

  private evaluate(user: UserInfo, a: RequestAttributes): Decision {
    const errors: string[] = [];
    for (const g of this.grantsFor(user, a.namespace)) {
      const rules = this.roleRules(g.binding);
      if (typeof rules === 'string') {
        errors.push(rules);
        continue;
      }
      for (const rule of rules)
        if (ruleAllows(a, rule)) return { allowed: true, reason: `RBAC: allowed by ${describeGrant(g)}` };
    }
    return { allowed: false, reason: errors.length === 0 ? '' : `RBAC: ${aggregate(errors)}` };
  }

  /** The decision for a request (superusers always allowed), cached until the next RBAC change. */
  authorize(user: UserInfo, a: RequestAttributes): Decision {
    if (isSuperuser(user)) return ALLOW_SUPERUSER;
    const key = [
      user.name,
      user.groups.join('\u0002'),
      a.verb,
      a.apiGroup,
      a.resource,
      a.subresource,
      a.namespace,
      a.name,
      a.resourceRequest ? '' : a.path,
    ].join('\u0001');
    const cached = this.decisions.get(key);
    if (cached) return cached;
    const d = this.evaluate(user, a);
    if (this.decisions.size >= MAX_CACHED_DECISIONS) this.decisions = new Map();
    this.decisions.set(key, d);
    return d;
  }

  /** The rules `user` holds in `namespace` (cluster-wide ones included), as kube's RulesFor. */
  rulesFor(user: UserInfo, namespace: string): ResolvedRules {
    const rules: PolicyRule[] = [];
    const errors: string[] = [];
    for (const g of this.grantsFor(user, namespace)) {
      const r = this.roleRules(g.binding);
      if (typeof r === 'string') errors.push(r);
      else rules.push(...r);
    }
    return { rules, errors };
  }

  /** Rules of a role reference as a binding in `namespace` would grant them; undefined when missing. */
  referencedRules(ref: RoleRef, namespace: string | undefined): PolicyRule[] | undefined {
    const r = this.roleRules({ name: '', ...(namespace ? { namespace } : {}), roleRef: ref, subjects: [] });
    return typeof r === 'string' ? undefined : r;
  }

  /** ClusterRoles as last seen (the aggregation controller reads them). */
  clusterRoleObjects(): KubeObject[] {
    return [...this.clusterRoles.values()].map((e) => e.object);
  }
}

/** Go's utilerrors.NewAggregate text: one error as is, several as `[a, b]`. */
export function aggregate(errors: readonly string[]): string {
  return errors.length === 1 ? errors[0]! : `[${errors.join(', ')}]`;
}
