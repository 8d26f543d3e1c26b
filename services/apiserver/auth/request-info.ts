/**
 * The attributes of a request that authorization looks at, derived from its method, path and
 * query alone (kube's RequestInfo): resource requests under `/api/v1/…` and `/apis/G/V/…` get
 * verb, API group, version, namespace, resource, subresource and name; everything else is a
 * non-resource request (verb = lowercase method, the path). Independent of the served catalog,
 * so custom resources and unknown resources are authorized like any other (403 before 404).
 */

export interface RequestAttributes {
  resourceRequest: boolean;
  verb: string;
  path: string;
  apiGroup: string;
  apiVersion: string;
  namespace: string;
  resource: string;
  subresource: string;
  name: string;
}

const SPECIAL_VERBS = new Set(['proxy', 'watch']);
const NAMESPACE_SUBRESOURCES = new Set(['status', 'finalize']);
const METHOD_VERBS: Record<string, string> = {
  POST: 'create',
  GET: 'get',
  HEAD: 'get',
  PUT: 'update',
  PATCH: 'patch',
  DELETE: 'delete',
};

/** `metadata.name=x` (or `==`) as the only requirement of a field selector: the name it pins. */
function exactName(fieldSelector: string | null): string {
  if (!fieldSelector) return '';
  const parts = fieldSelector.split(',').filter(Boolean);
  for (const p of parts) {
    const m = /^metadata\.name(==?)(.*)$/.exec(p.trim());
    if (m && !p.includes('!=')) {
      const name = m[2] ?? '';
      return name && name !== '.' && name !== '..' && !name.includes('/') && !name.includes('%') ? name : '';
    }
  }
  return '';
}

/** A request for a path outside the resource API (`/healthz`, `/metrics`, discovery…). */
export function nonResourceAttributes(verb: string, path: string): RequestAttributes {
  return {
    resourceRequest: false,
    verb,
    path,
    apiGroup: '',
    apiVersion: '',
    namespace: '',
    resource: '',
    subresource: '',
    name: '',
  };
}

export function requestAttributes(method: string, path: string, query: URLSearchParams): RequestAttributes {
  const info = nonResourceAttributes(method.toLowerCase(), path);
  let parts = path.split('/').filter(Boolean);
  if (parts.length < 3) return info;
  const prefix = parts[0];
  if (prefix !== 'api' && prefix !== 'apis') return info;
  parts = parts.slice(1);
  let group = '';
  if (prefix === 'apis') {
    if (parts.length < 3) return info;
    group = parts[0]!;
    parts = parts.slice(1);
  }
  info.resourceRequest = true;
  info.apiGroup = group;
  info.apiVersion = parts[0]!;
  parts = parts.slice(1);
  if (SPECIAL_VERBS.has(parts[0]!)) {
    info.verb = parts[0]!;
    parts = parts.slice(1);
  } else {
    info.verb = METHOD_VERBS[method] ?? '';
  }
  if (parts[0] === 'namespaces') {
    if (parts.length > 1) {
      info.namespace = parts[1]!;
      if (parts.length > 2 && !NAMESPACE_SUBRESOURCES.has(parts[2]!)) parts = parts.slice(2);
    }
  }
  if (parts.length >= 3 && info.verb !== 'proxy') info.subresource = parts[2]!;
  if (parts.length >= 2) info.name = parts[1]!;
  if (parts.length >= 1) info.resource = parts[0]!;
  if (!info.name && info.verb === 'get') {
    const watch = query.get('watch');
    info.verb = watch !== null && watch !== 'false' && watch !== '0' ? 'watch' : 'list';
    info.name = exactName(query.get('fieldSelector'));
  }
  if (!info.name && info.verb === 'delete') info.verb = 'deletecollection';
  return info;
}
