import type { ResourceCatalog, ResourceType } from './resources.js';

/** Legacy discovery documents (`/api`, `/apis`, `/apis/<g>`, `/apis/<g>/<v>`). */

const VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

export function apiResourceList(catalog: ResourceCatalog, group: string, version: string): object | undefined {
  const gv = catalog.groupVersions().get(`${group}/${version}`);
  if (!gv) return undefined;
  const resources: object[] = [];
  for (const t of gv.types) {
    // Short names and categories belong to the type's own group only (every version of it), as
    // in kube, so that `kubectl get rs` is unambiguous while extensions/v1beta1 is still served.
    const preferredGroup = t.group === group;
    resources.push({
      name: t.plural,
      singularName: t.singular,
      namespaced: t.namespaced,
      kind: t.kind,
      verbs: t.verbs ?? VERBS,
      ...(t.shortNames && preferredGroup ? { shortNames: t.shortNames } : {}),
      ...(t.categories && preferredGroup ? { categories: t.categories } : {}),
    });
    for (const sub of t.subresources ?? []) {
      resources.push(
        sub === 'token'
          ? {
              name: `${t.plural}/token`,
              singularName: '',
              namespaced: t.namespaced,
              group: 'authentication.k8s.io',
              version: 'v1',
              kind: 'TokenRequest',
              verbs: ['create'],
            }
          : sub === 'scale'
            ? {
                name: `${t.plural}/scale`,
                singularName: '',
                namespaced: t.namespaced,
                group: 'autoscaling',
                version: 'v1',
                kind: 'Scale',
                verbs: ['get', 'patch', 'update'],
              }
            : {
                name: `${t.plural}/status`,
                singularName: '',
                namespaced: t.namespaced,
                kind: t.kind,
                verbs: ['get', 'patch', 'update'],
              },
      );
    }
  }
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

export function apiGroupList(catalog: ResourceCatalog): object {
  // Storage groups first, alias-only groups (extensions) last: kubectl resolves ambiguous names by this order.
  const primary = new Set(catalog.all.map((t) => t.group));
  const all = [...new Set([...catalog.groupVersions().values()].map((gv) => gv.group))].filter((g) => g !== '');
  const groups = [...all.filter((g) => primary.has(g)), ...all.filter((g) => !primary.has(g))];
  return { kind: 'APIGroupList', apiVersion: 'v1', groups: groups.map((g) => apiGroup(catalog, g)) };
}

export function apiVersions(address: string): object {
  return {
    kind: 'APIVersions',
    versions: ['v1'],
    serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: address }],
  };
}
