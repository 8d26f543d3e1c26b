/**
 * The API server's Prometheus metrics (`GET /metrics`), named as kube-apiserver names them:
 * `apiserver_request_total` and `apiserver_request_duration_seconds` by verb, group, version,
 * resource, subresource and scope.
 *
 * Kept by hand rather than with prom-client's Counter and Histogram, because they sit on every
 * request's path: prom-client validates and hashes the label object on every `inc`/`observe`,
 * which was 9 % of a GET's CPU (docs/benchmarks.md). Here a request costs one path split, one
 * map read by a joined key, and a bucket search; the text exposition format is written at
 * scrape time.
 */
const BUCKETS = [0.005, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1, 1.25, 1.5, 2, 3, 4, 5, 6, 8, 10, 15, 20, 30, 45, 60];
const TOTAL_HELP =
  'Counter of apiserver requests broken out for each verb, group, version, resource, scope, component, and HTTP response code.';
const DURATION_HELP =
  'Response latency distribution in seconds for each verb, group, version, resource, subresource, scope and component.';
const LABELS = ['verb', 'group', 'version', 'resource', 'subresource', 'scope', 'component'] as const;

interface Series {
  /** The label pairs, already rendered (`verb="GET",group="",…`). */
  labels: string;
  /** Requests by response code. */
  codes: Map<number, number>;
  /** Observations per bucket (not cumulative; the last slot is +Inf). */
  buckets: number[];
  sum: number;
  count: number;
}

export class ApiServerMetrics {
  private readonly series = new Map<string, Series>();

  /** Records one finished request. */
  observe(method: string, path: string, query: URLSearchParams, apply: boolean, code: number, seconds: number): void {
    const l = labelsOf(method, path, query, apply);
    const key = `${l.verb} ${l.group} ${l.version} ${l.resource} ${l.subresource} ${l.scope}`;
    let s = this.series.get(key);
    if (!s) {
      s = {
        labels: LABELS.map((name) => `${name}="${escapeLabel(l[name])}"`).join(','),
        codes: new Map(),
        buckets: new Array<number>(BUCKETS.length + 1).fill(0),
        sum: 0,
        count: 0,
      };
      this.series.set(key, s);
    }
    s.codes.set(code, (s.codes.get(code) ?? 0) + 1);
    let b = 0;
    while (b < BUCKETS.length && seconds > BUCKETS[b]!) b++;
    s.buckets[b]!++;
    s.sum += seconds;
    s.count++;
  }

  /** The text exposition format (version 0.0.4). */
  text(): string {
    const out = [`# HELP apiserver_request_total ${TOTAL_HELP}`, '# TYPE apiserver_request_total counter'];
    for (const s of this.series.values())
      for (const [code, n] of s.codes) out.push(`apiserver_request_total{${s.labels},code="${code}"} ${n}`);
    out.push(
      `# HELP apiserver_request_duration_seconds ${DURATION_HELP}`,
      '# TYPE apiserver_request_duration_seconds histogram',
    );
    for (const s of this.series.values()) {
      let cumulative = 0;
      BUCKETS.forEach((le, i) => {
        cumulative += s.buckets[i]!;
        out.push(`apiserver_request_duration_seconds_bucket{${s.labels},le="${le}"} ${cumulative}`);
      });
      out.push(`apiserver_request_duration_seconds_bucket{${s.labels},le="+Inf"} ${s.count}`);
      out.push(`apiserver_request_duration_seconds_sum{${s.labels}} ${s.sum}`);
      out.push(`apiserver_request_duration_seconds_count{${s.labels}} ${s.count}`);
    }
    return `${out.join('\n')}\n`;
  }

  get contentType(): string {
    return 'text/plain; version=0.0.4; charset=utf-8';
  }
}

function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
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
