/**
 * `kitfed deploy` on a terminal: one live bar per cluster (cli-progress) with applied/unchanged/healthy/failed
 * counts. A module of its own so that cli-progress loads only when there is a terminal to draw on.
 */
import cliProgress from 'cli-progress';
import pc from 'picocolors';
import type { Progress } from './progress.js';

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
