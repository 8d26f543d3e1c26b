/**
 * What `kitfed deploy` shows while it runs: on a terminal one live bar per cluster (./bars.ts, loaded
 * only there) with applied/unchanged/healthy/failed counts; otherwise one JSON line per event. At the
 * end a summary table. Events carry object names and messages only, never object content.
 */
import pc from 'picocolors';
import { columns } from '../core/columns.js';
import type { ClusterReport, DeployEvent, DeployReport } from './types.js';

export interface Progress {
  onEvent: (e: DeployEvent) => void;
  stop: () => void;
}

/**
 * One JSON line per event, each stamped when it happened. The lines of one turn of the event loop go out
 * in one write (a redeploy's hundreds of events in a burst would otherwise be as many writes to a pipe);
 * `stop()` writes what is left.
 */
export function jsonLines(out: NodeJS.WritableStream): Progress {
  let pending = '';
  let scheduled: NodeJS.Immediate | undefined;
  const flush = (): void => {
    scheduled = undefined;
    if (!pending) return;
    const text = pending;
    pending = '';
    out.write(text);
  };
  return {
    onEvent: (e) => {
      pending += `${JSON.stringify({ time: new Date().toISOString(), ...e })}\n`;
      scheduled ??= setImmediate(flush);
    },
    stop: () => {
      if (scheduled) clearImmediate(scheduled);
      flush();
    },
  };
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`;
}

function resultText(c: ClusterReport): string {
  return c.result === 'succeeded' ? c.result : c.allowFailure ? `${c.result} (allowed)` : c.result;
}

/** The end-of-run table: one row per cluster, then unknown folders and folderless clusters. */
export function summaryTable(report: DeployReport, color: boolean): string {
  const paint = (text: string, row: number, column: number): string => {
    if (column !== 1) return text;
    const c = report.clusters[row]!;
    return c.result === 'succeeded' ? pc.green(text) : c.allowFailure ? pc.yellow(text) : pc.red(text);
  };
  const table = columns(
    ['CLUSTER', 'RESULT', 'OBJECTS', 'APPLIED', 'UNCHANGED', 'HEALTHY', 'PRUNED', 'WRITES', 'TIME', 'ERROR'],
    report.clusters.map((c) => [
      c.cluster,
      resultText(c),
      c.counts.objects,
      c.counts.applied,
      c.counts.unchanged,
      c.counts.healthy,
      c.counts.pruned,
      c.writes,
      seconds(c.durations.totalMs),
      c.error ?? '',
    ]),
    color ? paint : undefined,
  );
  const lines = [table.trimEnd()];
  if (report.unknownFolders.length > 0)
    lines.push(`folders without a cluster (not deployed): ${report.unknownFolders.join(', ')}`);
  if (report.missingFolders.length > 0)
    lines.push(`clusters without a folder (nothing deployed): ${report.missingFolders.join(', ')}`);
  const failed = report.clusters.filter((c) => c.result !== 'succeeded').length;
  lines.push(
    `${report.mode}: ${report.clusters.length - failed}/${report.clusters.length} clusters ` +
      `succeeded in ${seconds(report.durationMs)}${report.ok ? '' : ' — FAILED'}`,
  );
  return `${lines.join('\n')}\n`;
}
