/**
 * A rollout's metric gate: reads a number and checks it against the stage's bounds.
 * - `prometheus`: `GET <url>/api/v1/query?query=<query>` (an instant query); every series of the
 *   vector (or the scalar) must be within bounds; an empty result is a failure ("no data": write
 *   `… or vector(0)` when absence means zero).
 * - `url`: `GET <url>`; the body is a number, a JSON number or `{"value": n}`.
 * `{{cluster}}` in the URL or query is replaced by each cluster's name (URL-encoded in a URL), and
 * the gate is then judged per cluster. A source that cannot be read fails the gate (fail safe).
 * Credentials come from the webhook service's config (`metrics[]`), sent only to URLs under
 * their `url`; never logged.
 */
import type { MetricGatePlan } from '../../deploymentizer/index.js';

export interface MetricSource {
  url: string;
  token: string;
}

export type Sample = { ok: true; value: number } | { ok: false; value: number | null; message: string };

export function perCluster(gate: MetricGatePlan): boolean {
  return gate.url.includes('{{cluster}}') || (gate.query ?? '').includes('{{cluster}}');
}

function bounds(gate: MetricGatePlan): string {
  if (gate.min !== null && gate.max !== null) return `within [${gate.min}, ${gate.max}]`;
  return gate.max !== null ? `≤ ${gate.max}` : `≥ ${gate.min}`;
}

function judge(gate: MetricGatePlan, values: number[]): Sample {
  if (values.length === 0) return { ok: false, value: null, message: 'no data (the query returned no series)' };
  const bad = values.find(
    (v) => !Number.isFinite(v) || (gate.max !== null && v > gate.max) || (gate.min !== null && v < gate.min),
  );
  const worst = bad ?? (gate.max !== null ? Math.max(...values) : Math.min(...values));
  if (bad !== undefined) return { ok: false, value: bad, message: `value ${bad} is not ${bounds(gate)}` };
  return { ok: true, value: worst };
}

function numberOf(text: string): number | undefined {
  const t = text.trim();
  if (t === '') return undefined;
  const n = Number(t);
  if (Number.isFinite(n)) return n;
  try {
    const j = JSON.parse(t) as unknown;
    if (typeof j === 'number') return j;
    const v = (j as { value?: unknown } | null)?.value;
    if (typeof v === 'number') return v;
    if (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))) return Number(v);
  } catch {
    // not JSON
  }
  return undefined;
}

interface PromAnswer {
  status?: string;
  error?: string;
  data?: { resultType?: string; result?: unknown };
}

function promValues(a: PromAnswer): number[] | string {
  if (a.status !== 'success') return `prometheus: ${a.error ?? a.status ?? 'bad answer'}`;
  const r = a.data?.result;
  if (a.data?.resultType === 'scalar' && Array.isArray(r)) return [Number(r[1])];
  if (a.data?.resultType === 'vector' && Array.isArray(r))
    return r.map((s) => Number((s as { value?: [number, string] }).value?.[1]));
  return `prometheus: unsupported result type ${a.data?.resultType ?? '?'} (use an instant vector or scalar)`;
}

/** Reads the gate once (for `cluster`, when the gate is per cluster) and judges the value. */
export async function sample(
  gate: MetricGatePlan,
  cluster: string | null,
  sources: readonly MetricSource[],
  signal?: AbortSignal,
): Promise<Sample> {
  const sub = (s: string, encode: boolean): string =>
    cluster === null ? s : s.replaceAll('{{cluster}}', encode ? encodeURIComponent(cluster) : cluster);
  const base = sub(gate.url, true);
  const url =
    gate.source === 'prometheus'
      ? `${base.replace(/\/+$/, '')}/api/v1/query?query=${encodeURIComponent(sub(gate.query ?? '', false))}`
      : base;
  const source = sources.find((s) => url.startsWith(s.url));
  const timeout = AbortSignal.timeout(10_000);
  let text: string;
  let status: number;
  try {
    const res = await fetch(url, {
      headers: {
        accept: 'application/json, text/plain',
        ...(source ? { authorization: `Bearer ${source.token}` } : {}),
      },
      signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
    });
    status = res.status;
    text = await res.text();
  } catch (err) {
    return {
      ok: false,
      value: null,
      message: `cannot read ${gate.source} ${new URL(url).origin}: ${(err as Error).message}`,
    };
  }
  if (gate.source === 'prometheus') {
    let answer: PromAnswer;
    try {
      answer = JSON.parse(text) as PromAnswer;
    } catch {
      return { ok: false, value: null, message: `prometheus answered HTTP ${status} without JSON` };
    }
    const values = promValues(answer);
    return typeof values === 'string' ? { ok: false, value: null, message: values } : judge(gate, values);
  }
  if (status < 200 || status >= 300) return { ok: false, value: null, message: `metric url answered HTTP ${status}` };
  const n = numberOf(text);
  if (n === undefined) return { ok: false, value: null, message: 'metric url did not answer a number' };
  return judge(gate, [n]);
}
