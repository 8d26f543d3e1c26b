import isEqual from 'lodash/isEqual.js';
import { hasCode, messageOf } from '../../core/errors.js';
import { createLogger } from '../../core/log.js';
import { parseApiVersion, type KubeObject } from '../../core/kube.js';
import type { Registry } from '../registry.js';
import { fromLabelSelector, matchesLabels } from '../selectors.js';
import { rulesOf, type RbacAuthorizer, type Subject } from './authorizer.js';
import { AUTOUPDATE_ANNOTATION } from './policy.js';
import { covers, type PolicyRule } from './rules.js';
import { RBAC_GROUP } from './resources.js';

/**
 * Keeping the RBAC policy current: the bootstrap objects reconciled on every start (missing
 * ones created; existing ones given the permissions, subjects, labels and annotations they
 * lack, unless annotated `rbac.authorization.kubernetes.io/autoupdate: "false"`, as kube does),
 * and the aggregation controller that sets the rules of every ClusterRole with an
 * `aggregationRule` to the union of the rules of the ClusterRoles its selectors match.
 */

const log = createLogger('rbac');
const FIELD_MANAGER = 'kube-apiserver';

const ORDER = ['Namespace', 'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding'];

function mergeMap(have: Record<string, string> | undefined, want: Record<string, string> | undefined) {
  return { ...want, ...have };
}

/** What the existing object must become to hold the bootstrap one, or undefined when it already does. */
function reconciled(cur: KubeObject, want: KubeObject): KubeObject | undefined {
  if (cur.metadata.annotations?.[AUTOUPDATE_ANNOTATION] === 'false') return undefined;
  const next: KubeObject = {
    ...cur,
    metadata: {
      ...cur.metadata,
      labels: mergeMap(cur.metadata.labels, want.metadata.labels),
      annotations: mergeMap(cur.metadata.annotations, want.metadata.annotations),
    },
  };
  if (cur.kind === 'ClusterRole' || cur.kind === 'Role') {
    const wantAgg = (want.aggregationRule as { clusterRoleSelectors?: unknown[] } | undefined)?.clusterRoleSelectors;
    if (wantAgg) {
      const have =
        (cur.aggregationRule as { clusterRoleSelectors?: unknown[] } | undefined)?.clusterRoleSelectors ?? [];
      const missing = wantAgg.filter((s) => !have.some((h) => isEqual(h, s)));
      if (missing.length > 0) next.aggregationRule = { clusterRoleSelectors: [...have, ...missing] };
    } else {
      const have = rulesOf(cur);
      const missing = rulesOf(want).filter((rule) => covers(have, [rule]).length > 0);
      if (missing.length > 0) next.rules = [...((cur.rules as PolicyRule[] | undefined) ?? []), ...missing];
    }
  } else if (cur.kind === 'ClusterRoleBinding' || cur.kind === 'RoleBinding') {
    const have = (Array.isArray(cur.subjects) ? cur.subjects : []) as Subject[];
    const missing = ((want.subjects ?? []) as Subject[]).filter(
      (s) => !have.some((h) => h.kind === s.kind && h.name === s.name && (h.namespace ?? '') === (s.namespace ?? '')),
    );
    if (missing.length > 0) next.subjects = [...have, ...missing];
  }
  return isEqual(next, cur) ? undefined : next;
}

/** Creates or tops up the bootstrap policy objects (namespaces first, then roles, then bindings). */
export async function reconcilePolicy(registry: Registry, objects: readonly KubeObject[]): Promise<void> {
  const started = Date.now();
  let created = 0;
  let updated = 0;
  for (const kind of ORDER) {
    await Promise.all(
      objects
        .filter((o) => o.kind === kind)
        .map(async (want) => {
          const { group, version } = parseApiVersion(want.apiVersion);
          const t = registry.catalog.byKind(group, version, want.kind);
          if (!t) return;
          const ns = want.metadata.namespace;
          const name = want.metadata.name!;
          const cur = await registry.tryGet(t, ns, name);
          try {
            if (!cur) {
              await registry.create(t, ns, structuredClone(want), { fieldManager: FIELD_MANAGER });
              created++;
              return;
            }
            if (kind === 'Namespace' || !reconciled(cur, want)) return;
            const done = await registry.mutate(t, ns, name, (o) => reconciled(o, want));
            if (done) updated++;
          } catch (err) {
            if (hasCode(err, 409)) return; // another API server on the same store got there first
            throw new Error(`bootstrap RBAC policy: ${want.kind} ${name}: ${messageOf(err)}`, { cause: err });
          }
        }),
    );
  }
  if (created + updated > 0)
    log.info({ created, updated, ms: Date.now() - started }, 'bootstrap RBAC policy reconciled');
}

/** The rules an aggregated ClusterRole should hold: its selected roles' rules, by role name, each once. */
export function aggregatedRules(role: KubeObject, all: readonly KubeObject[]): PolicyRule[] {
  const selectors = (
    ((role.aggregationRule as { clusterRoleSelectors?: unknown[] } | undefined)?.clusterRoleSelectors ?? []) as Array<
      Parameters<typeof fromLabelSelector>[0]
    >
  ).map(fromLabelSelector);
  const out: PolicyRule[] = [];
  const matched = all
    .filter((o) => o.metadata.name !== role.metadata.name)
    .filter((o) => selectors.some((s) => matchesLabels(s, o.metadata.labels)))
    .sort((a, b) => (a.metadata.name! < b.metadata.name! ? -1 : 1));
  for (const o of matched)
    for (const rule of (Array.isArray(o.rules) ? o.rules : []) as PolicyRule[])
      if (!out.some((x) => isEqual(x, rule))) out.push(rule);
  return out;
}

/** kube's ClusterRoleAggregation controller, driven by the authorizer's view of ClusterRoles. */
export class ClusterRoleAggregator {
  private scheduled = false;
  private running: Promise<void> = Promise.resolve();
  private stopChanges: (() => void) | undefined;
  private stopped = false;

  constructor(
    private readonly registry: Registry,
    private readonly authorizer: RbacAuthorizer,
  ) {}

  /** Aggregates once now, then after every RBAC change. */
  async start(): Promise<void> {
    await this.aggregate();
    this.stopChanges = this.authorizer.onChange(() => this.schedule());
  }

  stop(): void {
    this.stopped = true;
    this.stopChanges?.();
  }

  /** Resolves when the aggregation in flight (if any) is done. */
  idle(): Promise<void> {
    return this.running;
  }

  private schedule(): void {
    if (this.scheduled || this.stopped) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.running = this.running
        .then(() => this.aggregate())
        .catch((err: unknown) => {
          log.warn({ err: messageOf(err) }, 'ClusterRole aggregation failed; retrying on the next change');
        });
    });
  }

  private async aggregate(): Promise<void> {
    if (this.stopped) return;
    const t = this.registry.catalog.byKind(RBAC_GROUP, 'v1', 'ClusterRole');
    if (!t) return;
    const all = this.authorizer.clusterRoleObjects();
    for (const role of all) {
      if (!role.aggregationRule) continue;
      const want = aggregatedRules(role, all);
      if (isEqual(role.rules ?? [], want)) continue;
      await this.registry.mutate(t, undefined, role.metadata.name!, (o) =>
        o.aggregationRule ? { ...o, rules: aggregatedRules(o, this.authorizer.clusterRoleObjects()) } : undefined,
      );
    }
  }
}
