/**
 * kit.yaml `rollout:` — the progressive delivery plan of a manifests repo (docs/gitops.md,
 * "Progressive rollouts"). Validated with the rest of kit.yaml (every problem names the file and
 * field) and resolved at render time against the rendered clusters into ordered stages of
 * cluster names and batches, which the render output carries to the pipeline.
 *
 *   rollout:
 *     rollback: auto            # auto (default) | manual
 *     rollbackScope: stage      # stage (default) | rollout
 *     stages:
 *       - name: staging
 *         clusters: { types: [staging] }
 *       - name: canary
 *         clusters: { types: [production] }
 *         limit: 1
 *         bake: 5m
 *         metric: { prometheus: http://prometheus:9090, query: 'job:errors:rate5m{cluster="{{cluster}}"}', max: 0.01 }
 *       - name: production      # no selector: every cluster not in an earlier stage
 *         batch: 25%
 *         bake: 5m
 *         maxFailures: 1
 *         approval: true
 */
import { parseDuration } from '../core/duration.js';
import type { Problems } from './problems.js';

/** A metric gate: an instant Prometheus query, or a URL answering a number; each value must stay within bounds. */
export interface MetricGatePlan {
  source: 'prometheus' | 'url';
  /** Prometheus base URL, or the URL to GET; may contain `{{cluster}}`. */
  url: string;
  /** PromQL (prometheus only); may contain `{{cluster}}`. */
  query: string | null;
  min: number | null;
  max: number | null;
  intervalSeconds: number;
}

export interface RolloutStagePlan {
  name: string;
  /** The stage's clusters, in deploy order. */
  clusters: string[];
  /** `clusters` split by `batch:` (one batch when unset). */
  batches: string[][];
  bakeSeconds: number;
  /** Clusters that may fail without failing the stage (resolved from a count or percentage). */
  maxFailures: number;
  approval: boolean;
  metric: MetricGatePlan | null;
}

export interface RolloutPlan {
  rollback: 'auto' | 'manual';
  rollbackScope: 'stage' | 'rollout';
  stages: RolloutStagePlan[];
}

const countOrPercent = { type: ['integer', 'string'] };
const duration = { type: ['number', 'string'] };

/** Structure of `rollout:`; values (counts, percentages, durations, selectors) are checked by `resolveRollout`. */
export const rolloutSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['stages'],
  properties: {
    rollback: { enum: ['auto', 'manual'] },
    rollbackScope: { enum: ['stage', 'rollout'] },
    stages: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['name'],
        properties: {
          name: { type: 'string', pattern: '^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$' },
          clusters: {
            type: 'object',
            additionalProperties: false,
            properties: {
              names: { type: ['string', 'array'], items: { type: 'string', minLength: 1 } },
              types: { type: ['string', 'array'], items: { type: 'string', minLength: 1 } },
              labels: { type: 'object', additionalProperties: { type: 'string' } },
            },
          },
          limit: countOrPercent,
          batch: countOrPercent,
          bake: duration,
          maxFailures: countOrPercent,
          approval: { type: 'boolean' },
          metric: {
            type: 'object',
            additionalProperties: false,
            properties: {
              prometheus: { type: 'string', minLength: 1 },
              url: { type: 'string', minLength: 1 },
              query: { type: 'string', minLength: 1 },
              min: { type: 'number' },
              max: { type: 'number' },
              interval: duration,
            },
          },
        },
      },
    },
  },
};

interface RawSelector {
  names?: string | string[];
  types?: string | string[];
  labels?: Record<string, string>;
}

interface RawStage {
  name: string;
  clusters?: RawSelector;
  limit?: number | string;
  batch?: number | string;
  bake?: number | string;
  maxFailures?: number | string;
  approval?: boolean;
  metric?: {
    prometheus?: string;
    url?: string;
    query?: string;
    min?: number;
    max?: number;
    interval?: number | string;
  };
}

export interface RawRollout {
  rollback?: 'auto' | 'manual';
  rollbackScope?: 'stage' | 'rollout';
  stages: RawStage[];
}

/** What the resolver knows of a cluster. */
export interface RolloutCluster {
  name: string;
  type: string;
  labels: Record<string, string>;
}

const list = (v: string | string[] | undefined): string[] | undefined =>
  v === undefined ? undefined : Array.isArray(v) ? v : [v];

type Count = { n: number } | { percent: number };

/** `3` or `"25%"` (`min` is the smallest count allowed). */
function count(
  v: number | string | undefined,
  min: number,
  file: string,
  at: string,
  problems: Problems,
): Count | undefined {
  if (v === undefined) return undefined;
  if (typeof v === 'number') {
    if (Number.isInteger(v) && v >= min) return { n: v };
  } else {
    const m = /^(\d{1,3})%$/.exec(v.trim());
    const p = m ? Number(m[1]) : NaN;
    if (p >= (min === 0 ? 0 : 1) && p <= 100) return { percent: p };
  }
  problems.add(
    file,
    at,
    `must be ${min === 0 ? 'a count ≥ 0' : 'a count ≥ 1'} or a percentage like ${min === 0 ? '10%' : '25%'} (got ${JSON.stringify(v)})`,
  );
  return undefined;
}

function seconds(v: number | string | undefined, file: string, at: string, problems: Problems): number | undefined {
  if (v === undefined) return undefined;
  const ms = typeof v === 'number' ? (v >= 0 ? v * 1000 : undefined) : parseDuration(v, 's');
  if (ms === undefined) {
    problems.add(file, at, `must be a duration like 30s, 5m or 1h (got ${JSON.stringify(v)})`);
    return undefined;
  }
  return ms / 1000;
}

function httpUrl(v: string, file: string, at: string, problems: Problems): boolean {
  try {
    const u = new URL(v.replaceAll('{{cluster}}', 'x'));
    if (u.protocol === 'http:' || u.protocol === 'https:') {
      if (u.username || u.password) {
        problems.add(file, at, 'must not carry credentials (give them in the webhook service config: metrics[].token)');
        return false;
      }
      return true;
    }
  } catch {
    // reported below
  }
  problems.add(file, at, `must be an http(s) URL (got ${JSON.stringify(v)})`);
  return false;
}

function metricOf(
  m: NonNullable<RawStage['metric']>,
  file: string,
  at: string,
  problems: Problems,
): MetricGatePlan | null {
  const before = problems.size;
  if ((m.prometheus === undefined) === (m.url === undefined))
    problems.add(file, at, 'needs exactly one of prometheus (with query) or url');
  if (m.prometheus !== undefined && m.query === undefined)
    problems.add(file, `${at}.query`, 'is required with prometheus');
  if (m.url !== undefined && m.query !== undefined)
    problems.add(file, `${at}.query`, 'goes with prometheus; a url gate reads the number the url answers');
  if (m.min === undefined && m.max === undefined) problems.add(file, at, 'needs a bound: min, max or both');
  if (m.min !== undefined && m.max !== undefined && m.min > m.max)
    problems.add(file, `${at}.min`, `is greater than max (${m.min} > ${m.max})`);
  const url = m.prometheus ?? m.url ?? '';
  if (url) httpUrl(url, file, `${at}.${m.prometheus !== undefined ? 'prometheus' : 'url'}`, problems);
  const interval = seconds(m.interval, file, `${at}.interval`, problems) ?? 10;
  if (m.interval !== undefined && interval < 1) problems.add(file, `${at}.interval`, 'must be at least 1s');
  if (problems.size > before) return null;
  return {
    source: m.prometheus !== undefined ? 'prometheus' : 'url',
    url,
    query: m.query ?? null,
    min: m.min ?? null,
    max: m.max ?? null,
    intervalSeconds: interval,
  };
}

function matches(c: RolloutCluster, s: RawSelector): boolean {
  const names = list(s.names);
  const types = list(s.types);
  return (
    (!names || names.includes(c.name)) &&
    (!types || types.includes(c.type)) &&
    Object.entries(s.labels ?? {}).every(([k, v]) => c.labels[k] === v)
  );
}

/** Checks a selector against every cluster of the repo (also those not rendered): names and types must exist. */
function checkSelector(
  s: RawSelector,
  all: RolloutCluster[],
  types: Set<string>,
  file: string,
  at: string,
  problems: Problems,
): void {
  for (const n of list(s.names) ?? [])
    if (!all.some((c) => c.name === n)) problems.add(file, `${at}.names`, `no cluster named ${JSON.stringify(n)}`);
  for (const t of list(s.types) ?? [])
    if (!types.has(t)) problems.add(file, `${at}.types`, `no cluster type ${JSON.stringify(t)}`);
  if (!all.some((c) => matches(c, s))) problems.add(file, at, 'selects no cluster');
}

const resolve = (c: Count, total: number, atLeastOne: boolean): number =>
  'n' in c ? c.n : Math.max(atLeastOne ? 1 : 0, (atLeastOne ? Math.ceil : Math.floor)((c.percent / 100) * total));

function chunks(names: string[], size: number): string[][] {
  const out: string[][] = [];
  for (let i = 0; i < names.length; i += size) out.push(names.slice(i, i + size));
  return out;
}

/**
 * Validates `rollout:` and resolves it against the clusters being rendered (`rendered`, sorted by
 * name) — every cluster goes to the first stage that selects it, so a last stage without
 * `clusters:` takes the rest. `all` (every cluster of the repo) and `types` check selectors.
 * Problems name `file` and the field; undefined when there are any.
 */
export function resolveRollout(
  raw: RawRollout,
  rendered: RolloutCluster[],
  all: RolloutCluster[],
  types: Set<string>,
  file: string,
  problems: Problems,
): RolloutPlan | undefined {
  const before = problems.size;
  const names = new Set<string>();
  let remaining = [...rendered].sort((a, b) => a.name.localeCompare(b.name));
  const stages: RolloutStagePlan[] = raw.stages.map((s, i) => {
    const at = `rollout.stages[${i}]`;
    if (names.has(s.name)) problems.add(file, `${at}.name`, `duplicate stage name ${JSON.stringify(s.name)}`);
    names.add(s.name);
    const sel = s.clusters ?? {};
    if (s.clusters) checkSelector(sel, all, types, file, `${at}.clusters`, problems);
    const limit = count(s.limit, 1, file, `${at}.limit`, problems);
    const batch = count(s.batch, 1, file, `${at}.batch`, problems);
    const maxFailures = count(s.maxFailures, 0, file, `${at}.maxFailures`, problems);
    const bakeSeconds = seconds(s.bake, file, `${at}.bake`, problems) ?? 0;
    const metric = s.metric ? metricOf(s.metric, file, `${at}.metric`, problems) : null;
    let picked = remaining.filter((c) => matches(c, sel));
    if (limit) picked = picked.slice(0, resolve(limit, picked.length, true));
    const taken = new Set(picked.map((c) => c.name));
    remaining = remaining.filter((c) => !taken.has(c.name));
    const clusters = picked.map((c) => c.name);
    return {
      name: s.name,
      clusters,
      batches:
        clusters.length === 0 ? [] : chunks(clusters, batch ? resolve(batch, clusters.length, true) : clusters.length),
      bakeSeconds,
      maxFailures: maxFailures ? resolve(maxFailures, clusters.length, false) : 0,
      approval: s.approval === true,
      metric,
    };
  });
  if (remaining.length > 0)
    problems.add(
      file,
      'rollout.stages',
      `cluster${remaining.length === 1 ? '' : 's'} ${remaining.map((c) => c.name).join(', ')} ${remaining.length === 1 ? 'is' : 'are'} ` +
        `in no stage (a last stage without clusters: takes the rest)`,
    );
  if (problems.size > before) return undefined;
  return { rollback: raw.rollback ?? 'auto', rollbackScope: raw.rollbackScope ?? 'stage', stages };
}
