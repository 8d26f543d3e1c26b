import { createHash } from 'node:crypto';
import type { ResourceCatalog, ResourceType, Subresource } from './resources.js';

/** Legacy discovery documents (`/api`, `/apis`, `/apis/<g>`, `/apis/<g>/<v>`). */

const VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];
const STATUS_VERBS = ['get', 'patch', 'update'];

/**
 * kube's `storageVersionHash`: the first 8 bytes of sha256("<group>/<version>/<kind>") of the
 * storage version, base64. Clients (the storage version migrator) compare it across restarts.
 */
export function storageVersionHash(t: ResourceType): string {
  return createHash('sha256').update(`${t.group}/${t.version}/${t.kind}`).digest().subarray(0, 8).toString('base64');
}

interface SubresourceInfo {
  kind: string;
  verbs: string[];
  group?: string;
  version?: string;
}

/** What discovery says of each subresource (kind of its body and verbs), as kube-apiserver 1.32. */
function subresourceInfo(t: ResourceType, sub: Subresource): SubresourceInfo {
  switch (sub) {
    case 'scale':
      return { group: 'autoscaling', version: 'v1', kind: 'Scale', verbs: STATUS_VERBS };
    case 'finalize':
      return { kind: t.kind, verbs: ['update'] };
    case 'binding':
      return { kind: 'Binding', verbs: ['create'] };
    case 'eviction':
      return { group: 'policy', version: 'v1', kind: 'Eviction', verbs: ['create'] };
    case 'log':
      return { kind: 'Pod', verbs: ['get'] };
    case 'exec':
      return { kind: 'PodExecOptions', verbs: ['create', 'get'] };
    case 'attach':
      return { kind: 'PodAttachOptions', verbs: ['create', 'get'] };
    case 'portforward':
      return { kind: 'PodPortForwardOptions', verbs: ['create', 'get'] };
    case 'proxy':
      return { kind: `${t.kind}ProxyOptions`, verbs: ['create', 'delete', 'get', 'patch', 'update'] };
    case 'token':
      return { group: 'authentication.k8s.io', version: 'v1', kind: 'TokenRequest', verbs: ['create'] };
    default:
      return { kind: t.kind, verbs: STATUS_VERBS };
  }
}

export function apiResourceList(catalog: ResourceCatalog, group: string, version: string): object | undefined {
  const gv = catalog.groupVersions().get(`${group}/${version}`);
  if (!gv) return undefined;
  const resources: object[] = [];
  for (const t of gv.types) {
    // Short names and categories belong to the type's own group (every version of it) and to
    // aliases that say so (events.k8s.io), as in kube, so that `kubectl get rs` is unambiguous
    // while extensions/v1beta1 is still served.
    const alias = t.aliases?.find((a) => a.group === group && a.version === version);
    const own = t.group === group || alias?.shortNames === true;
    resources.push({
      name: t.plural,
      singularName: t.singular,
      namespaced: t.namespaced,
      kind: t.kind,
      verbs: t.verbs ?? VERBS,
      ...(t.shortNames && own ? { shortNames: t.shortNames } : {}),
      ...(t.categories && own ? { categories: t.categories } : {}),
      ...(t.virtual ? {} : { storageVersionHash: storageVersionHash(t) }),
    });
    for (const sub of [...(t.subresources ?? [])].sort()) {
      const info = subresourceInfo(t, sub);
      resources.push({
        name: `${t.plural}/${sub}`,
        singularName: '',
        namespaced: t.namespaced,
        ...(info.group !== undefined ? { group: info.group, version: info.version } : {}),
        kind: info.kind,
        verbs: info.verbs,
      });
    }
  }
  resources.sort((a, b) => ((a as { name: string }).name < (b as { name: string }).name ? -1 : 1));
  return {
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion: group ? `${group}/${version}` : version,
    resources,
  };
}

function preferred(types: readonly ResourceType[], group: string): string | undefined {
  return types.find((t) => t.group === group)?.version;
}

export function apiGroup(catalog: ResourceCatalog, group: string): object | undefined {
  const versions = [...catalog.groupVersions().values()].filter((gv) => gv.group === group).map((gv) => gv.version);
  if (versions.length === 0 || group === '') return undefined;
  const pref = preferred(catalog.all, group) ?? versions[0]!;
  return {
    kind: 'APIGroup',
    apiVersion: 'v1',
    name: group,
    versions: versions.map((v) => ({ groupVersion: `${group}/${v}`, version: v })),
    preferredVersion: { groupVersion: `${group}/${pref}`, version: pref },
  };
}

/** kube-apiserver 1.32's order of groups in `/apis` (kubectl resolves ambiguous names by it). */
const KUBE_GROUP_ORDER = [
  'apiregistration.k8s.io',
  'apps',
  'events.k8s.io',
  'authentication.k8s.io',
  'authorization.k8s.io',
  'autoscaling',
  'batch',
  'certificates.k8s.io',
  'networking.k8s.io',
  'policy',
  'rbac.authorization.k8s.io',
  'storage.k8s.io',
  'admissionregistration.k8s.io',
  'apiextensions.k8s.io',
  'scheduling.k8s.io',
  'coordination.k8s.io',
  'node.k8s.io',
  'discovery.k8s.io',
  'flowcontrol.apiserver.k8s.io',
];

export function apiGroupList(catalog: ResourceCatalog): object {
  // Kube's groups in kube's order, then other storage groups (kitfed's, custom resources), then
  // alias-only groups (extensions) last, so that kubectl resolves `rs` to apps first.
  const rank = (g: string) => {
    const i = KUBE_GROUP_ORDER.indexOf(g);
    if (i >= 0) return i;
    return primary.has(g) ? KUBE_GROUP_ORDER.length : KUBE_GROUP_ORDER.length + 1;
  };
  const primary = new Set(catalog.all.map((t) => t.group));
  const all = [...new Set([...catalog.groupVersions().values()].map((gv) => gv.group))].filter((g) => g !== '');
  const groups = all.map((g, i) => ({ g, i })).sort((a, b) => rank(a.g) - rank(b.g) || a.i - b.i);
  return { kind: 'APIGroupList', apiVersion: 'v1', groups: groups.map(({ g }) => apiGroup(catalog, g)) };
}

export function apiVersions(address: string): object {
  return {
    kind: 'APIVersions',
    versions: ['v1'],
    serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: address }],
  };
}
