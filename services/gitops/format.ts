/** Text output of `kitfed runs` and `kitfed rollout status` (tables without borders, as kubectl prints). */
import { columns } from '../core/columns.js';
import type { RolloutStatus, RunRecord, StageStatus } from './api.js';

function rolloutSummary(r: RunRecord): string {
  const ro = r.rollout;
  if (!ro) return r.kind === 'rollback' ? `rollback of ${r.parentRun}` : '-';
  const i = ro.currentStage ?? 0;
  const st = ro.stages[i];
  return `${ro.phase} ${Math.min(i + 1, ro.stages.length)}/${ro.stages.length}${st ? ` ${st.name}` : ''}`;
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
  return columns(
    ['ID', 'STATUS', 'REPO', 'COMMIT', 'CLUSTERS', 'ROLLOUT', 'DURATION', 'STARTED', 'ERROR'],
    runs.map((r) => {
      const total = r.durations.totalMs;
      return [
        String(r.id),
        r.status,
        r.repo,
        r.commit.slice(0, 12),
        clusterSummary(r),
        rolloutSummary(r),
        total === undefined ? '-' : `${(total / 1000).toFixed(2)}s`,
        r.startedAt,
        (r.error ?? '').split('\n')[0]?.slice(0, 80) ?? '',
      ];
    }),
  ).trimEnd();
}

function gateText(st: StageStatus): string {
  const parts = [`health ${st.gates.health.state}`];
  const m = st.gates.metric;
  if (m) {
    const vals = Object.entries(m.lastValues)
      .map(([k, v]) => (k === '*' ? String(v) : `${k}=${v}`))
      .join(',');
    parts.push(`metric ${m.state}${vals ? ` (${vals})` : ''}`);
  }
  return parts.join(', ');
}

function bakeText(st: StageStatus, now: number): string {
  if (!st.bakeSeconds) return '-';
  if (st.state === 'Baking' && st.bakeEndsAt) {
    const left = Math.max(0, Math.round((Date.parse(st.bakeEndsAt) - now) / 1000));
    return `${st.bakeSeconds}s (${left}s left)`;
  }
  return `${st.bakeSeconds}s`;
}

/** `kitfed rollout status`: the rollout's phase, then one line per stage. */
export function formatRollout(run: RunRecord, ro: RolloutStatus, now = Date.now()): string {
  const lines = [
    `Run ${run.id}  ${run.repo}  ${run.commit.slice(0, 12)}  status ${run.status}`,
    `Rollout ${ro.phase}${ro.paused ? ' (paused)' : ''}  rollback ${ro.rollback} (${ro.rollbackScope})${ro.message ? `  — ${ro.message}` : ''}`,
  ];
  if (ro.rollbackRuns.length > 0) lines.push(`Rolled back by run(s) ${ro.rollbackRuns.join(', ')}`);
  if (ro.supersededBy) lines.push(`Superseded by ${ro.supersededBy.slice(0, 12)}`);
  const table = columns(
    ['#', 'STAGE', 'STATE', 'CLUSTERS', 'BATCH', 'BAKE', 'GATES', 'FAILED', 'MESSAGE'],
    ro.stages.map((st, i) => [
      String(i + 1),
      st.name + (st.approval ? ' (approval)' : ''),
      st.state,
      st.clusters.join(',') || '-',
      st.batch < 0 ? `-/${st.batches.length}` : `${st.batch + 1}/${st.batches.length}`,
      bakeText(st, now),
      gateText(st),
      st.failed.length ? `${st.failed.length}/${st.maxFailures} max` : '-',
      (st.message ?? '').split('\n')[0]?.slice(0, 80) ?? '',
    ]),
  );
  return `${lines.join('\n')}\n\n${table.trimEnd()}`;
}
