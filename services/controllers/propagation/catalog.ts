/**
 * What the propagation engine federates: every kind the federation API serves (found through
 * discovery) and every custom resource whose CRD is Established in the federation, minus the
 * exclusion list (docs/federation.md "What is propagated"). Pure code except `discoverKinds`.
 */
import { isObject, parseApiVersion, type KubeObject } from '../../core/kube.js';
import type { KubeClient } from '../../core/kube-client.js';
import { REVISION_RECORD_LABEL } from '../constants.js';

/** Where a scalable kind keeps its replicas (a `scale` subresource; CRDs name the paths). */
export interface ScaleSpec {
  specReplicasPath: string;
  statusReplicasPath: string;
  labelSelectorPath?: string;
}

/** One federated kind, version-independent: the engine reads and writes it in `version`. */
export interface KindInfo {
  /** `Kind` for the core group, `group/Kind` otherwise (e.g. `apps/Deployment`). */
  id: string;
  group: string;
  version: string;
  apiVersion: string;
  kind: string;
  plural: string;
  namespaced: boolean;
  /** The federation serves a `status` subresource for it. */
  statusSubresource: boolean;
  scale?: ScaleSpec;
  /** Custom resources: the CRD (`plural.group`) that must be Established in a member before a write. */
  crd?: string;
}

export function kindId(group: string, kind: string): string {
  return group ? `${group}/${kind}` : kind;
}

export function apiVersionOf(group: string, version: string): string {
  return group ? `${group}/${version}` : version;
}

/** Built-in scale subresources keep replicas at `spec.replicas` (kube's Scale conversion). */
const BUILTIN_SCALE: ScaleSpec = {
  specReplicasPath: '.spec.replicas',
  statusReplicasPath: '.status.replicas',
  labelSelectorPath: '.spec.selector',
};

export const CRD_KIND_ID = 'apiextensions.k8s.io/CustomResourceDefinition';

// ---- exclusions ---------------------------------------------------------------------------

/**
 * A rule naming what is never propagated. A rule with only `resources`/`group` excludes the
 * whole kind (not even watched); `namespace`, `name`, `label` and `secretType` narrow it to
 * objects. `name` and `namespace` accept `*` wildcards.
 */
export interface ExclusionRule {
  id: string;
  /** Plural resource names (`*`: any). */
  resources: string[];
  /** API group (`''` = core); absent = any group. */
  group?: string;
  namespace?: string;
  name?: string;
  /** `key=value` the object's labels must carry. */
  label?: string;
  /** Secrets of this `type`. */
  secretType?: string;
  description: string;
}

const FEDERATION_OWN_NAMESPACES = ['kube-system', 'kube-public', 'kube-node-lease', 'kitfed-system'];

/** The default exclusion list (docs/federation.md); `kitfed controllers --include ID` removes one. */
export const DEFAULT_EXCLUSIONS: readonly ExclusionRule[] = [
  { id: 'events', resources: ['events'], description: 'Events are recorded by each cluster about itself' },
  { id: 'leases', resources: ['leases'], description: 'leader election and node heartbeats are per cluster' },
  {
    id: 'endpoints',
    resources: ['endpoints', 'endpointslices'],
    description: "derived from each member's Services and Pods",
  },
  { id: 'controllerrevisions', resources: ['controllerrevisions'], description: "written by members' controllers" },
  {
    id: 'revision-records',
    resources: ['replicasets'],
    group: 'apps',
    label: REVISION_RECORD_LABEL,
    description:
      "the federation's record of a Deployment's revisions (kubectl rollout history, undo); members keep their own",
  },
  {
    id: 'cluster-local',
    resources: ['nodes', 'bindings', 'componentstatuses', 'persistentvolumes', 'volumeattachments', 'csinodes'],
    description: "a cluster's own machines and storage",
  },
  { id: 'csistoragecapacities', resources: ['csistoragecapacities'], description: 'reported by storage drivers' },
  {
    id: 'reviews',
    resources: [
      'tokenreviews',
      'selfsubjectreviews',
      'subjectaccessreviews',
      'selfsubjectaccessreviews',
      'selfsubjectrulesreviews',
      'localsubjectaccessreviews',
    ],
    description: 'questions asked of one API server, never stored',
  },
  {
    id: 'certificatesigningrequests',
    resources: ['certificatesigningrequests'],
    description: "signed by each cluster's own CA",
  },
  { id: 'apiservices', resources: ['apiservices'], description: "a cluster's own API aggregation" },
  {
    id: 'flowcontrol',
    resources: ['flowschemas', 'prioritylevelconfigurations'],
    description: "a cluster's own API priority and fairness",
  },
  {
    id: 'federation',
    resources: ['*'],
    group: 'federation.kitfed.io',
    description: 'the federation itself (Clusters, Overrides)',
  },
  {
    id: 'extensions',
    resources: ['*'],
    group: 'extensions',
    description: 'extensions/v1beta1 is an alias of apps/v1 and networking.k8s.io/v1 in the federation API',
  },
  {
    id: 'system-namespaces',
    resources: ['namespaces'],
    group: '',
    name: 'default',
    description: 'the default namespace exists in every cluster',
  },
  ...FEDERATION_OWN_NAMESPACES.flatMap((ns): ExclusionRule[] => [
    { id: 'system-namespaces', resources: ['namespaces'], group: '', name: ns, description: `namespace ${ns}` },
    { id: 'system-namespaces', resources: ['*'], namespace: ns, name: '*', description: `everything in ${ns}` },
  ]),
  {
    id: 'root-ca',
    resources: ['configmaps'],
    group: '',
    namespace: '*',
    name: 'kube-root-ca.crt',
    description: 'each cluster publishes its own CA in every namespace',
  },
  {
    id: 'default-serviceaccounts',
    resources: ['serviceaccounts'],
    group: '',
    namespace: '*',
    name: 'default',
    description: 'each cluster creates a default ServiceAccount in every namespace',
  },
  {
    id: 'service-account-tokens',
    resources: ['secrets'],
    group: '',
    secretType: 'kubernetes.io/service-account-token',
    description: "tokens are signed by each cluster's own keys",
  },
  ...['roles', 'clusterroles', 'rolebindings', 'clusterrolebindings'].flatMap((r): ExclusionRule[] => [
    {
      id: 'rbac-defaults',
      resources: [r],
      group: 'rbac.authorization.k8s.io',
      label: 'kubernetes.io/bootstrapping=rbac-defaults',
      description: "the federation API server's bootstrap RBAC",
    },
    ...['system:*', 'kitfed:*', 'cluster-admin', 'admin', 'edit', 'view'].map((name): ExclusionRule => ({
      id: 'rbac-defaults',
      resources: [r],
      group: 'rbac.authorization.k8s.io',
      namespace: r.startsWith('cluster') ? undefined : '*',
      name,
      description: "the federation's own RBAC",
    })),
  ]),
];

/**
 * Parses an operator's rule: `RESOURCE[.GROUP]` (a whole kind), `RESOURCE[.GROUP]/NAME`
 * (cluster-scoped objects, or that name in any namespace) or `RESOURCE[.GROUP]/NAMESPACE/NAME`;
 * `*` is a wildcard in each part. Without `.GROUP` the rule matches that resource in any group.
 */
export function parseExclusion(text: string): ExclusionRule {
  const parts = text.trim().split('/');
  const head = parts[0] ?? '';
  if (!head || parts.length > 3 || parts.some((p) => p === ''))
    throw new Error(
      `exclusion ${JSON.stringify(text)}: expected RESOURCE[.GROUP], RESOURCE[.GROUP]/NAME ` +
        'or RESOURCE[.GROUP]/NAMESPACE/NAME',
    );
  const dot = head.indexOf('.');
  const resource = dot < 0 ? head : head.slice(0, dot);
  const rule: ExclusionRule = { id: text, resources: [resource.toLowerCase()], description: `--exclude ${text}` };
  if (dot >= 0) rule.group = head.slice(dot + 1) === 'core' ? '' : head.slice(dot + 1);
  if (parts.length === 2) {
    rule.name = parts[1];
    rule.namespace = '*';
  }
  if (parts.length === 3) {
    rule.namespace = parts[1];
    rule.name = parts[2];
  }
  return rule;
}

/** The effective list: defaults minus the ids in `include`, plus `exclude` rules. Throws on an unknown id. */
export function exclusionList(
  opts: { exclude?: readonly string[]; include?: readonly string[] } = {},
): ExclusionRule[] {
  const include = new Set(opts.include ?? []);
  for (const id of include)
    if (!DEFAULT_EXCLUSIONS.some((r) => r.id === id))
      throw new Error(
        `--include ${id}: no default exclusion has that id ` +
          `(ids: ${[...new Set(DEFAULT_EXCLUSIONS.map((r) => r.id))].join(', ')})`,
      );
  return [...DEFAULT_EXCLUSIONS.filter((r) => !include.has(r.id)), ...(opts.exclude ?? []).map(parseExclusion)];
}

function glob(pattern: string | undefined, value: string | undefined): boolean {
  if (pattern === undefined) return true;
  if (pattern === '*') return true;
  if (!pattern.includes('*')) return pattern === value;
  const re = new RegExp(`^${pattern.split('*').map(escapeRe).join('.*')}$`);
  return re.test(value ?? '');
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function ruleMatchesKind(rule: ExclusionRule, kind: Pick<KindInfo, 'group' | 'plural'>): boolean {
  if (rule.group !== undefined && rule.group !== kind.group) return false;
  return rule.resources.includes('*') || rule.resources.includes(kind.plural);
}

function kindWide(rule: ExclusionRule): boolean {
  return (
    rule.namespace === undefined && rule.name === undefined && rule.label === undefined && rule.secretType === undefined
  );
}

/** The kind-wide rule excluding this kind altogether, if any. */
export function excludedKind(
  rules: readonly ExclusionRule[],
  kind: Pick<KindInfo, 'group' | 'plural'>,
): ExclusionRule | undefined {
  return rules.find((r) => kindWide(r) && ruleMatchesKind(r, kind));
}

/** The rule excluding this federated object, if any. */
export function excludedObject(
  rules: readonly ExclusionRule[],
  kind: Pick<KindInfo, 'group' | 'plural' | 'namespaced'>,
  obj: KubeObject,
): ExclusionRule | undefined {
  const m = obj.metadata;
  return rules.find((r) => {
    if (!ruleMatchesKind(r, kind)) return false;
    if (r.namespace !== undefined) {
      if (!kind.namespaced) return r.namespace === '*' && r.name !== undefined && glob(r.name, m.name);
      if (!glob(r.namespace, m.namespace)) return false;
    }
    if (!glob(r.name, m.name)) return false;
    if (r.label !== undefined) {
      const i = r.label.indexOf('=');
      const [k, v] = i < 0 ? [r.label, undefined] : [r.label.slice(0, i), r.label.slice(i + 1)];
      const have = m.labels?.[k];
      if (have === undefined || (v !== undefined && have !== v)) return false;
    }
    if (r.secretType !== undefined && obj.type !== r.secretType) return false;
    return true;
  });
}

// ---- discovery ----------------------------------------------------------------------------

interface ApiResource {
  name: string;
  kind: string;
  namespaced: boolean;
  verbs?: string[];
}

const NEEDED_VERBS = ['list', 'watch', 'create', 'patch', 'delete'];

/** Kinds in one APIResourceList: plain resources with the verbs propagation needs, and their subresources. */
export function kindsOfResourceList(group: string, version: string, resources: readonly ApiResource[]): KindInfo[] {
  const out: KindInfo[] = [];
  const subs = new Set(resources.filter((r) => r.name.includes('/')).map((r) => r.name));
  for (const r of resources) {
    if (r.name.includes('/')) continue;
    if (!NEEDED_VERBS.every((v) => r.verbs?.includes(v))) continue;
    const info: KindInfo = {
      id: kindId(group, r.kind),
      group,
      version,
      apiVersion: apiVersionOf(group, version),
      kind: r.kind,
      plural: r.name,
      namespaced: r.namespaced,
      statusSubresource: subs.has(`${r.name}/status`),
    };
    if (subs.has(`${r.name}/scale`)) info.scale = BUILTIN_SCALE;
    out.push(info);
  }
  return out;
}

/**
 * Every kind the server serves, one version per group (its preferred version), through legacy
 * discovery (`/api/v1`, `/apis`, `/apis/<group>/<preferred>`).
 */
export async function discoverKinds(client: KubeClient): Promise<KindInfo[]> {
  const core = await client.request<{ resources: ApiResource[] }>('GET', '/api/v1');
  const out = kindsOfResourceList('', 'v1', core.resources);
  const groups = await client.request<{
    groups: Array<{ name: string; preferredVersion?: { version: string }; versions: Array<{ version: string }> }>;
  }>('GET', '/apis');
  const lists = await Promise.all(
    groups.groups.map(async (g) => {
      const version = g.preferredVersion?.version ?? g.versions[0]?.version;
      if (!version) return [];
      const list = await client.request<{ resources: ApiResource[] }>('GET', `/apis/${g.name}/${version}`);
      return kindsOfResourceList(g.name, version, list.resources);
    }),
  );
  const seen = new Set(out.map((k) => k.id));
  for (const k of lists.flat()) if (!seen.has(k.id)) (seen.add(k.id), out.push(k));
  return out;
}

type Obj = Record<string, unknown>;

/** True when a CRD's `Established` condition is True. */
export function crdEstablished(crd: KubeObject | undefined): boolean {
  const conditions = isObject(crd?.status) && Array.isArray(crd.status.conditions) ? crd.status.conditions : [];
  return (conditions as Obj[]).some((c) => c.type === 'Established' && c.status === 'True');
}

/** The custom resource kind a CRD defines (its storage version), once the CRD is Established. */
export function kindFromCrd(crd: KubeObject): KindInfo | undefined {
  if (!crdEstablished(crd) || !isObject(crd.spec)) return undefined;
  const spec = crd.spec;
  const names = isObject(spec.names) ? spec.names : {};
  const group = typeof spec.group === 'string' ? spec.group : '';
  const versions = (Array.isArray(spec.versions) ? spec.versions : []).filter(isObject);
  const version =
    versions.find((v) => v.storage === true && v.served !== false) ?? versions.find((v) => v.served !== false);
  if (!group || !version || typeof version.name !== 'string') return undefined;
  if (typeof names.kind !== 'string' || typeof names.plural !== 'string') return undefined;
  const subresources = isObject(version.subresources) ? version.subresources : {};
  const info: KindInfo = {
    id: kindId(group, names.kind),
    group,
    version: version.name,
    apiVersion: apiVersionOf(group, version.name),
    kind: names.kind,
    plural: names.plural,
    namespaced: spec.scope !== 'Cluster',
    statusSubresource: subresources.status !== undefined,
    crd: crd.metadata.name ?? `${names.plural}.${group}`,
  };
  const scale = isObject(subresources.scale) ? subresources.scale : undefined;
  if (scale && typeof scale.specReplicasPath === 'string' && typeof scale.statusReplicasPath === 'string') {
    info.scale = { specReplicasPath: scale.specReplicasPath, statusReplicasPath: scale.statusReplicasPath };
    if (typeof scale.labelSelectorPath === 'string') info.scale.labelSelectorPath = scale.labelSelectorPath;
  }
  return info;
}

/**
 * True for a federated object that stays in the federation whatever the operator's rules: the
 * default list's object rules (the federation's own namespaces and what they hold, per-cluster
 * objects such as service-account tokens and kube-root-ca.crt). For views of "what is federated".
 */
export function federationOnly(obj: KubeObject): boolean {
  const { group } = parseApiVersion(obj.apiVersion);
  const kind = { group, plural: `${obj.kind.toLowerCase()}s`, namespaced: obj.metadata.namespace !== undefined };
  return DEFAULT_EXCLUSIONS.some((r) => !kindWide(r) && excludedObject([r], kind, obj) !== undefined);
}
