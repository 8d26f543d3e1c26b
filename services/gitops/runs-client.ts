/** Client side of `GET /runs`, for `kitfed runs`. */
import Table from 'cli-table3';
import type { RunRecord } from './event-store.js';

export async function listRuns(url: string, limit: number): Promise<RunRecord[]> {
  let res: Response;
  try {
    res = await fetch(`${url}/runs?limit=${limit}`, { signal: AbortSignal.timeout(10_000) });
  } catch (err) {
    throw new Error(`cannot reach the webhook service at ${url}: ${(err as Error).message}`);
  }
  if (!res.ok) throw new Error(`GET ${url}/runs: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { runs: RunRecord[] }).runs;
}

function clusterSummary(r: RunRecord): string {
  if (r.clusters.length === 0) return '-';
  const counts = new Map<string, number>();
  for (const c of r.clusters) {
    const state = c.render === 'failed' ? 'render failed' : c.deploy;
    counts.set(state, (counts.get(state) ?? 0) + 1);
  }
  return [...counts]
    .map(([s, n]) => `${n} ${s === 'not-configured' ? 'rendered (deploy not configured)' : s}`)
    .join(', ');
}

export function formatRuns(runs: RunRecord[]): string {
  if (runs.length === 0) return 'No runs yet.';
  const table = new Table({
    head: ['ID', 'STATUS', 'REPO', 'COMMIT', 'CLUSTERS', 'DURATION', 'STARTED', 'ERROR'],
    style: { head: [], border: [] },
    chars: {
      top: '',
      'top-mid': '',
      'top-left': '',
      'top-right': '',
      bottom: '',
      'bottom-mid': '',
      'bottom-left': '',
      'bottom-right': '',
      left: '',
      'left-mid': '',
      mid: '',
      'mid-mid': '',
      right: '',
      'right-mid': '',
      middle: '  ',
    },
  });
  for (const r of runs) {
    const total = r.durations.totalMs;
    table.push([
      String(r.id),
      r.status,
      r.repo,
      r.commit.slice(0, 12),
      clusterSummary(r),
      total === undefined ? '-' : `${(total / 1000).toFixed(2)}s`,
      r.startedAt,
      (r.error ?? '').split('\n')[0]?.slice(0, 80) ?? '',
    ]);
  }
  return table
    .toString()
    .split('\n')
    .map((l) => l.trimEnd().replace(/^ /, ''))
    .join('\n');
}
