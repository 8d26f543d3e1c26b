/**
 * Sandbox benchmark: 100 simulated clusters in one process.
 *   node --import tsx bench/sandbox.ts [clusters] [replicas]
 * Figures: startup time, idle RSS, and the time for a Deployment of 10 replicas applied over
 * HTTP to every cluster at once to reach Available (all replicas) in all of them.
 * Targets (issue 5): startup ≤ 10 s, idle RSS ≤ 1 GiB.
 */
import os from 'node:os';
import { startSandbox, type SandboxCluster } from '../services/sandbox/index.js';
import { memberType } from '../services/sandbox/resources.js';

const CLUSTERS = Number(process.argv[2] ?? 100);
const REPLICAS = Number(process.argv[3] ?? 10);
const READY_DELAY_MS = Number(process.env.READY_DELAY_MS ?? 500);
const STARTUP_TARGET_MS = 10_000;
const RSS_TARGET = 1024 ** 3;

const mib = (b: number) => (b / 1024 ** 2).toFixed(0);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function deployment(replicas: number) {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'bench', namespace: 'default' },
    spec: {
      replicas,
      selector: { matchLabels: { app: 'bench' } },
      template: {
        metadata: { labels: { app: 'bench' } },
        spec: { containers: [{ name: 'web', image: 'nginx:1.25' }] },
      },
    },
  };
}

/** Resolves when the cluster's Deployment reports every replica available and Available=True. */
async function availableIn(c: SandboxCluster, replicas: number): Promise<void> {
  const t = memberType('Deployment');
  await new Promise<void>((resolve) => {
    let stop: (() => void) | undefined;
    let done = false;
    void c.registry
      .watch(t, 'default', { fieldSelector: 'metadata.name=bench' }, (e) => {
        const s = e.object.status as
          { availableReplicas?: number; conditions?: Array<{ type: string; status: string }> } | undefined;
        if (
          !done &&
          s?.availableReplicas === replicas &&
          s.conditions?.some((x) => x.type === 'Available' && x.status === 'True')
        ) {
          done = true;
          stop?.();
          resolve();
        }
      })
      .then((s) => {
        stop = s;
        if (done) s();
      });
  });
}

async function main(): Promise<void> {
  console.log(
    `sandbox bench: ${CLUSTERS} clusters (3 zones, 1 node each), Deployment of ${REPLICAS} replicas, ready delay ${READY_DELAY_MS} ms`,
  );
  console.log(
    `machine: ${os.cpus().length}× ${os.cpus()[0]?.model ?? 'cpu'}, node ${process.version}, load average ${os
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}`,
  );
  const rssBefore = process.memoryUsage().rss;
  const t0 = performance.now();
  const sandbox = await startSandbox({
    clusters: Array.from({ length: CLUSTERS }, (_, i) => ({
      name: `c${i + 1}`,
      region: `region-${i % 5}`,
      zones: ['a', 'b', 'c'].map((z) => `region-${i % 5}-${z}`),
    })),
    readyDelayMs: READY_DELAY_MS,
  });
  const startupMs = performance.now() - t0;
  await sleep(2000);
  global.gc?.();
  const idleRss = process.memoryUsage().rss;
  const heap = process.memoryUsage().heapUsed;
  console.log(
    `startup: ${(startupMs / 1000).toFixed(2)} s for ${CLUSTERS} clusters (target ≤ ${STARTUP_TARGET_MS / 1000} ` +
      `s: ${startupMs <= STARTUP_TARGET_MS ? 'met' : 'NOT met'})`,
  );
  console.log(
    `idle RSS: ${mib(idleRss)} MiB (process before start ${mib(rssBefore)} MiB; heap ${mib(heap)} ` +
      `MiB; ${((idleRss - rssBefore) / CLUSTERS / 1024 ** 2).toFixed(1)} MiB per cluster) (target ` +
      `≤ 1024 MiB: ${idleRss <= RSS_TARGET ? 'met' : 'NOT met'})`,
  );

  const t1 = performance.now();
  const waits = sandbox.clusters.map((c) => availableIn(c, REPLICAS));
  const posted = await Promise.all(
    sandbox.clusters.map(async (c) => {
      const res = await fetch(`${c.url}/apis/apps/v1/namespaces/default/deployments`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(deployment(REPLICAS)),
      });
      return res.status;
    }),
  );
  if (posted.some((s) => s !== 201)) throw new Error(`create failed: ${posted.join(',')}`);
  const appliedMs = performance.now() - t1;
  await Promise.all(waits);
  const availableMs = performance.now() - t1;
  const busyRss = process.memoryUsage().rss;
  const pods = sandbox.clusters.reduce((n, c) => n + c.info().pods.bound, 0);
  console.log(
    `deployments: ${CLUSTERS} created over HTTP in ${appliedMs.toFixed(0)} ms; all ${CLUSTERS} ` +
      `Available with ${REPLICAS}/${REPLICAS} replicas after ${(availableMs / 1000).toFixed(2)} s ` +
      `(ready delay ${READY_DELAY_MS} ms; simulation overhead ${((availableMs - READY_DELAY_MS) / 1000).toFixed(2)} s for ${pods} pods)`,
  );
  console.log(`RSS with ${pods} pods running: ${mib(busyRss)} MiB`);
  const t2 = performance.now();
  await sandbox.close();
  const closeMs = performance.now() - t2;
  console.log(`close: ${closeMs.toFixed(0)} ms`);
  console.log(
    JSON.stringify({
      bench: 'sandbox',
      clusters: CLUSTERS,
      replicas: REPLICAS,
      readyDelayMs: READY_DELAY_MS,
      startupMs: Math.round(startupMs),
      startupTargetMs: STARTUP_TARGET_MS,
      idleRssMiB: Math.round(idleRss / 1024 ** 2),
      rssTargetMiB: 1024,
      allAvailableMs: Math.round(availableMs),
      busyRssMiB: Math.round(busyRss / 1024 ** 2),
      pods,
      closeMs: Math.round(closeMs),
      met: startupMs <= STARTUP_TARGET_MS && idleRss <= RSS_TARGET,
      loadavg: os.loadavg().map((l) => Number(l.toFixed(1))),
    }),
  );
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
