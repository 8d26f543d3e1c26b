/**
 * What `kitfed deploy` shows while it runs: on a terminal one live bar per cluster (cli-progress)
 * with applied/unchanged/healthy/failed counts; otherwise one JSON line per event. At the end a
 * summary table. Events carry object names and messages only, never object content.
 */
import cliProgress from 'cli-progress';
import Table from 'cli-table3';
import pc from 'picocolors';
import type { ClusterReport, DeployEvent, DeployReport } from './types.js';

export interface Progress {
  onEvent: (e: DeployEvent) => void;
  stop: () => void;
}

export function jsonLines(out: NodeJS.WritableStream): Progress {
  return {
    onEvent: (e) => out.write(`${JSON.stringify({ time: new Date().toISOString(), ...e })}\n`),
    stop: () => undefined,
  };
}

interface Counts {
  done: number;
  applied: number;
  unchanged: number;
  healthy: number;
  failed: number;
  phase: string;
}

export function terminalBars(stream: NodeJS.WriteStream): Progress {
  const multi = new cliProgress.MultiBar(
    {
      stream,
      clearOnComplete: false,
      hideCursor: true,
      format:
        ' {cluster} {bar} {value}/{total} | applied {applied} unchanged {unchanged} healthy {healthy} failed {failed} | {phase}',
      barsize: 20,
      fps: 10,
    },
    cliProgress.Presets.shades_classic,
  );
  const bars = new Map<string, { bar: cliProgress.SingleBar; c: Counts }>();
  const width = { n: 0 };
  const update = (name: string): void => {
    const b = bars.get(name);
    if (b) b.bar.update(b.c.done, { cluster: name.padEnd(width.n), ...b.c });
  };
  return {
    onEvent: (e) => {
      if (e.type === 'start') {
        width.n = Math.max(0, ...e.clusters.map((c) => c.length));
        for (const name of e.clusters) {
          const c: Counts = { done: 0, applied: 0, unchanged: 0, healthy: 0, failed: 0, phase: 'plan' };
          bars.set(name, { bar: multi.create(1, 0, { cluster: name.padEnd(width.n), ...c }), c });
        }
      } else if (e.type === 'cluster') {
        const b = bars.get(e.cluster);
        if (!b) return;
        b.bar.setTotal(Math.max(1, e.objects));
        b.c.phase = e.phase;
        update(e.cluster);
      } else if (e.type === 'object') {
        const b = bars.get(e.cluster);
        if (!b) return;
        // Apply results carry no health; health changes of the same object come as later events.
        if (!e.health && (e.action === 'applied' || e.action === 'unchanged' || e.action === 'failed')) {
          b.c.done++;
          if (e.action !== 'failed') b.c[e.action]++;
        }
        if (e.health === 'healthy') b.c.healthy++;
        if (e.action === 'failed' || e.health === 'failed') b.c.failed++;
        update(e.cluster);
      } else if (e.type === 'warning') {
        multi.log(`${pc.yellow('warning')}: ${e.cluster}: ${e.ref.kind} ${e.ref.name}: ${e.message}\n`);
      } else if (e.type === 'cluster-done') {
        const b = bars.get(e.cluster);
        if (!b) return;
        b.c.phase = e.result === 'succeeded' ? pc.green('succeeded') : pc.red(e.result);
        b.bar.setTotal(Math.max(1, e.counts.objects));
        b.bar.update(e.counts.applied + e.counts.unchanged, {
          cluster: e.cluster.padEnd(width.n),
          ...b.c,
          applied: e.counts.applied,
          unchanged: e.counts.unchanged,
          healthy: e.counts.healthy,
          failed: e.counts.failed,
        });
      }
    },
    stop: () => multi.stop(),
  };
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`;
}

function resultText(c: ClusterReport, color: boolean): string {
  const t = c.result === 'succeeded' ? c.result : c.allowFailure ? `${c.result} (allowed)` : c.result;
  if (!color) return t;
  return c.result === 'succeeded' ? pc.green(t) : c.allowFailure ? pc.yellow(t) : pc.red(t);
}

/** The end-of-run table: one row per cluster, then unknown folders and folderless clusters. */
export function summaryTable(report: DeployReport, color: boolean): string {
  const table = new Table({
    head: ['cluster', 'result', 'objects', 'applied', 'unchanged', 'healthy', 'pruned', 'writes', 'time', 'error'],
    style: { head: color ? ['cyan'] : [], border: color ? ['grey'] : [] },
    wordWrap: true,
    colWidths: [null, null, null, null, null, null, null, null, null, 60] as unknown as number[],
  });
  for (const c of report.clusters) {
    table.push([
      c.cluster,
      resultText(c, color),
      c.counts.objects,
      c.counts.applied,
      c.counts.unchanged,
      c.counts.healthy,
      c.counts.pruned,
      c.writes,
      seconds(c.durations.totalMs),
      c.error ?? '',
    ]);
  }
  const lines = [table.toString()];
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
