/**
 * `kitfed deploy` around `deploy()`: progress (terminal bars or JSON lines), diffs, the summary
 * table, the `--report` file and the exit code.
 */
import { writeFile } from 'node:fs/promises';
import { deploy } from './deploy.js';
import { jsonLines, summaryTable, type Progress } from './progress.js';
import type { DeployOptions, DeployReport } from './types.js';

export interface RunFlags {
  /** `auto` = bars on a terminal, JSON lines otherwise. */
  output: 'auto' | 'json' | 'text';
  reportFile?: string;
  /** Diff mode: exit 1 when something differs. */
  exitCode: boolean;
}

async function progressFor(output: RunFlags['output']): Promise<Progress | undefined> {
  const tty = process.stderr.isTTY === true;
  if (output === 'json' || (output === 'auto' && !tty)) return jsonLines(process.stdout);
  if (tty) return (await import('./bars.js')).terminalBars(process.stderr);
  return undefined;
}

function printDiffs(report: DeployReport): void {
  for (const c of report.clusters) {
    if (c.diff) process.stdout.write(`# cluster ${c.cluster}\n${c.diff}`);
  }
}

/** Runs a deploy for the CLI; resolves to the process exit code. */
export async function runDeploy(options: DeployOptions, flags: RunFlags): Promise<number> {
  const progress = await progressFor(flags.output);
  const jsonMode = flags.output === 'json' || (flags.output === 'auto' && process.stderr.isTTY !== true);
  let report: DeployReport;
  try {
    report = await deploy({ ...options, ...(progress ? { onEvent: progress.onEvent } : {}) });
  } finally {
    progress?.stop();
  }
  if (report.mode === 'diff') printDiffs(report);
  const table = summaryTable(report, !jsonMode && process.stdout.isTTY === true);
  if (jsonMode) {
    process.stderr.write(table);
    const clusters = report.clusters.map((c) => ({
      cluster: c.cluster,
      result: c.result,
      counts: c.counts,
      writes: c.writes,
      durationMs: c.durations.totalMs,
      ...(c.error ? { error: c.error } : {}),
    }));
    process.stdout.write(`${JSON.stringify({ type: 'report', ok: report.ok, changed: report.changed, clusters })}\n`);
  } else process.stdout.write(table);
  if (flags.reportFile) await writeFile(flags.reportFile, `${JSON.stringify(report, null, 2)}\n`);
  if (!report.ok) return 1;
  return flags.exitCode && report.changed ? 1 : 0;
}
