import { Counter, Histogram, Registry } from 'prom-client';

/**
 * The API server's Prometheus metrics (`GET /metrics`), named as kube-apiserver names them:
 * `apiserver_request_total` and `apiserver_request_duration_seconds` by verb, group, version,
 * resource, subresource and scope. Labels come from the request path, so the cost per request
 * is one path split and two map updates.
 */
export class ApiServerMetrics {
  readonly registry = new Registry();
  private readonly requests = new Counter({
    name: 'apiserver_request_total',
    help: 'Counter of apiserver requests broken out for each verb, group, version, resource, scope, component, and HTTP response code.',
    labelNames: ['verb', 'group', 'version', 'resource', 'subresource', 'scope', 'component', 'code'],
    registers: [this.registry],
  });
  private readonly duration = new Histogram({
    name: 'apiserver_request_duration_seconds',
    help: 'Response latency distribution in seconds for each verb, group, version, resource, subresource, scope and component.',
    labelNames: ['verb', 'group', 'version', 'resource', 'subresource', 'scope', 'component'],
    buckets: [0.005, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1, 1.25, 1.5, 2, 3, 4, 5, 6, 8, 10, 15, 20, 30, 45, 60],
    registers: [this.registry],
  });

  /** Records one finished request. */
  observe(method: string, path: string, query: URLSearchParams, apply: boolean, code: number, seconds: number): void {
    const l = labelsOf(method, path, query, apply);
    this.requests.inc({ ...l, code: String(code) });
    this.duration.observe(l, seconds);
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}

interface Labels {
  verb: string;
  group: string;
  version: string;
  resource: string;
  subresource: string;
  scope: string;
  component: string;
}

/** kube's RequestInfo, reduced to the metric labels. */
export function labelsOf(method: string, path: string, query: URLSearchParams, apply = false): Labels {
  const segs = path.split('/').filter(Boolean);
  const base = {
    verb: method,
    group: '',
    version: '',
    resource: '',
    subresource: '',
    scope: '',
    component: 'apiserver',
  };
  let rest: string[];
  if (segs[0] === 'api' && segs.length >= 2) {
    base.version = segs[1]!;
    rest = segs.slice(2);
  } else if (segs[0] === 'apis' && segs.length >= 3) {
    base.group = segs[1]!;
    base.version = segs[2]!;
    rest = segs.slice(3);
  } else {
    return base;
  }
  let namespaced = false;
  if (rest[0] === 'namespaces' && rest.length >= 3) {
    namespaced = true;
    rest = rest.slice(2);
  }
  if (rest.length === 0) return base; // discovery
  base.resource = rest[0] ?? '';
  base.subresource = rest[2] ?? '';
  const named = rest.length >= 2;
  base.scope = named ? 'resource' : namespaced ? 'namespace' : 'cluster';
  const watch = query.get('watch') === 'true' || query.get('watch') === '1';
  let verb: string;
  switch (method) {
    case 'GET':
      verb = watch ? 'WATCH' : named ? 'GET' : 'LIST';
      break;
    case 'POST':
      verb = 'POST';
      break;
    case 'PUT':
      verb = 'PUT';
      break;
    case 'PATCH':
      verb = apply ? 'APPLY' : 'PATCH';
      break;
    case 'DELETE':
      verb = named ? 'DELETE' : 'DELETECOLLECTION';
      break;
    default:
      verb = method;
  }
  base.verb = verb;
  return base;
}
