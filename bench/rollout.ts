/**
 * Progressive rollout benchmark (issue 15), real git, real HTTP webhooks, the deployer in its worker
 * thread, 10 sandbox member clusters (child process, pods ready 200 ms after start) × 20 services:
 *
 *   1. the same run alternates plain all-at-once deploys (kit.yaml without `rollout:`) and 3-stage
 *      rollouts (canary c-00 → wave c-01..c-03 → the other 6, each stage baked 1 s); every push
 *      changes all 200 Deployments. Figure: push → last stage Succeeded, minus the configured bake
 *      (3 s), against push → all-at-once run succeeded. Target ≤ 1.2×.
 *   2. a bad image that crash-loops on the production clusters (c-01…: an environment-specific
 *      failure the canary c-00 does not show) is caught in stage 2; figures: writes to stage 3's
 *      clusters (sandbox request counters; target 0) and gate failure → stage 1–2 clusters back on
 *      the previous images (the rollback run finished, images read back; target ≤ 10 s).
 *
 *   node --import tsx bench/rollout.ts        (BENCH_ROUNDS=N, default 3)
 */
import { randomUUID } from 'node:crypto';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Webhooks } from '@octokit/webhooks';
import { pino } from 'pino';
import { stringify } from 'yaml';
import { KubeClient } from '../services/core/kube-client.js';
import type { RunRecord } from '../services/gitops/api.js';
import { parseConfig } from '../services/gitops/config.js';
import { deployerStep } from '../services/gitops/deploy-step.js';
import { pushPayload } from '../services/gitops/simulate.js';
import { startWebhookService } from '../services/gitops/webhook-service.js';
import { gitClient } from '../services/core/git-client.js';
import { clusterName, FIXTURE, generateServices, pad, sandboxProcess } from './lib/gitops-fixture.js';

const CLUSTERS = 10;
const SERVICES = 20;
const READY_DELAY_MS = 200;
const BAKE_SECONDS = 1;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const TARGET_RATIO = 1.2;
const TARGET_BACK_MS = 10_000;
const GH = 'bench-github-secret';
const STAGE3 = Array.from({ length: CLUSTERS - 4 }, (_, j) => clusterName(j + 4));
const STAGE12 = [0, 1, 2, 3].map(clusterName);

const ROLLOUT = {
  rollbackScope: 'rollout',
  stages: [
    { name: 'canary', clusters: { names: [clusterName(0)] }, bake: `${BAKE_SECONDS}s` },
    { name: 'wave', clusters: { names: [1, 2, 3].map(clusterName) }, bake: `${BAKE_SECONDS}s` },
    { name: 'rest', bake: `${BAKE_SECONDS}s` },
  ],
};
const BAKE_TOTAL_MS = ROLLOUT.stages.length * BAKE_SECONDS * 1000;

const median = (v: number[]): number => [...v].sort((a, b) => a - b)[Math.floor((v.length - 1) / 2)] ?? NaN;
const s = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;

async function requestCounts(adminUrl: string): Promise<Map<string, number>> {
  const res = await fetch(`${adminUrl}/clusters`);
  const body = (await res.json()) as { clusters: Array<{ name: string; requests: { writes: number } }> };
  return new Map(body.clusters.map((c) => [c.name, c.requests.writes]));
}

async function main(): Promise<void> {
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'kitfed-bench-rollout-'));
  const sandbox = await sandboxProcess({
    clusters: CLUSTERS,
    readyDelayMs: READY_DELAY_MS,
    admin: true,
    // Production clusters crash-loop on "prodcrash" images; the canary does not (an environment-specific bug).
    crash: Object.fromEntries(
      Array.from({ length: CLUSTERS }, (_, j) => [clusterName(j), j === 0 ? 'canary-never' : 'prodcrash']),
    ),
  });
  try {
    const bare = path.join(tmp, 'origin.git');
    await gitClient(undefined, 60_000).raw(['init', '--bare', '--initial-branch', 'main', bare]);
    const devDir = path.join(tmp, 'dev');
    await cp(FIXTURE, devDir, { recursive: true });
    await generateServices(devDir, CLUSTERS, SERVICES);
    const kitFile = path.join(devDir, 'templates/kit.yaml');
    const kitPlain = await readFile(kitFile, 'utf8');
    const kitRollout = `${kitPlain}${stringify({ rollout: ROLLOUT })}`;
    const dev = gitClient(devDir, 60_000);
    await dev.init(['--initial-branch', 'main']);
    await dev.addConfig('user.name', 'Bench');
    await dev.addConfig('user.email', 'bench@example.com');
    await dev.add('.').commit('seed').addRemote('origin', bare).push('origin', 'main');

    const kubeconfig = path.join(tmp, 'kubeconfig');
    await writeFile(kubeconfig, sandbox.kubeconfig);
    const config = parseConfig(
      {
        listen: '127.0.0.1:0',
        dataDir: path.join(tmp, 'data'),
        github: { secret: { env: 'GH' } },
        repos: [{ url: bare, branch: 'main', name: 'acme/manifests' }],
        deploy: { kubeconfig },
        api: { token: { env: 'API' } },
      },
      'bench',
      tmp,
      { GH, API: randomUUID() },
    );
    const deploy = deployerStep(config.deploy!, config.timeouts.deployMs);
    const service = await startWebhookService({ config, log: pino({ level: 'silent' }), deploy });
    const gh = new Webhooks({ secret: GH });

    /**
     * Commits `kit` as kit.yaml and image `tag` for every service, pushes, sends the webhook; returns commit and send
     * time.
     */
    let n = 0;
    const push = async (kit: string, tag: string): Promise<{ sha: string; t0: number }> => {
      await writeFile(kitFile, kit);
      for (let i = 0; i < SERVICES; i++)
        await writeFile(
          path.join(devDir, `templates/images/acme/svc-${pad(i)}/master.yaml`),
          `image: registry.example/acme/svc-${pad(i)}:${tag}\n`,
        );
      await dev.add('.').commit(`bench ${++n}: ${tag}`);
      await dev.push('origin', 'main');
      const sha = (await dev.revparse(['HEAD'])).trim();
      const body = JSON.stringify(pushPayload(config.repos[0]!, sha));
      const t0 = performance.now();
      const res = await fetch(`${service.url}/hooks/github`, {
        method: 'POST',
        body,
        headers: {
          'content-type': 'application/json',
          'x-github-event': 'push',
          'x-github-delivery': randomUUID(),
          'x-hub-signature-256': await gh.sign(body),
        },
      });
      await res.arrayBuffer();
      if (res.status !== 202) throw new Error(`push not accepted: ${res.status}`);
      return { sha, t0 };
    };
    const waitRun = async (pred: (r: RunRecord) => boolean, what: string): Promise<RunRecord> => {
      for (let k = 0; k < 60_000; k++) {
        const run = service.store.listRuns(20).find(pred);
        if (run) return run;
        await sleep(5);
      }
      throw new Error(`gave up waiting for ${what}`);
    };
    const finished = (sha: string) => (r: RunRecord) =>
      r.commit === sha && r.kind === 'deploy' && r.status !== 'running';

    // Warm-up: the first deploy creates every object (not what either side measures).
    const warm = await push(kitPlain, 'warm-0');
    const w = await waitRun(finished(warm.sha), 'the warm-up run');
    if (w.status !== 'succeeded') throw new Error(`warm-up: ${w.status} ${w.error ?? ''}`);

    const plainMs: number[] = [];
    const rolloutMs: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const a = await push(kitPlain, `plain-${round}`);
      const ra = await waitRun(finished(a.sha), `all-at-once round ${round}`);
      if (ra.status !== 'succeeded') throw new Error(`all-at-once round ${round}: ${ra.status} ${ra.error ?? ''}`);
      plainMs.push(performance.now() - a.t0);
      const b = await push(kitRollout, `rollout-${round}`);
      const rb = await waitRun(finished(b.sha), `rollout round ${round}`);
      if (rb.status !== 'succeeded' || rb.rollout?.phase !== 'Succeeded')
        throw new Error(`rollout round ${round}: ${rb.status} ${rb.error ?? ''}`);
      rolloutMs.push(performance.now() - b.t0 - BAKE_TOTAL_MS);
      console.log(
        `round ${round + 1}/${ROUNDS}: all-at-once ${s(plainMs.at(-1)!)}, rollout minus ${BAKE_TOTAL_MS / 1000} s bake ${s(rolloutMs.at(-1)!)}`,
      );
    }
    const goodTag = `rollout-${ROUNDS - 1}`;

    // A bad image caught in stage 2.
    const before = await requestCounts(sandbox.adminUrl!);
    const bad = await push(kitRollout, 'prodcrash-1');
    const failed = await waitRun(finished(bad.sha), 'the bad rollout');
    if (failed.status !== 'failed' || failed.rollout?.stages[1]?.state !== 'Failed')
      throw new Error(`bad image: expected stage 2 to fail, got ${failed.status} ${failed.error ?? ''}`);
    const gateFailedAt = Date.parse(failed.rollout.stages[1].finishedAt!);
    const rollbacks = await Promise.all(
      [0].map(() =>
        waitRun((r) => r.kind === 'rollback' && r.parentRun === failed.id && r.status !== 'running', 'the rollback'),
      ),
    );
    const rollback = rollbacks[0]!;
    if (rollback.status !== 'succeeded') throw new Error(`rollback: ${rollback.status} ${rollback.error ?? ''}`);
    const backMs = Date.parse(rollback.finishedAt!) - gateFailedAt;
    const after = await requestCounts(sandbox.adminUrl!);
    const stage3Writes = STAGE3.reduce((sum, c) => sum + (after.get(c)! - before.get(c)!), 0);
    // Read back: every Deployment on stage 1–2 clusters runs the previous image again.
    let wrong = 0;
    for (const c of STAGE12) {
      const client = await KubeClient.fromKubeconfig({ file: kubeconfig }, c, { timeoutMs: 30_000 });
      try {
        for (let i = 0; i < SERVICES; i++) {
          const d = await client.get('apps/v1', 'Deployment', 'default', `svc-${pad(i)}`);
          const image = (d.spec as { template: { spec: { containers: Array<{ image: string }> } } }).template.spec
            .containers[0]?.image;
          if (image !== `registry.example/acme/svc-${pad(i)}:${goodTag}`) wrong++;
        }
      } finally {
        client.close();
      }
    }
    await service.close();

    const plain = median(plainMs);
    const rollout = median(rolloutMs);
    const ratio = rollout / plain;
    const cpu = os.cpus()[0]?.model ?? 'unknown cpu';
    console.log(`machine: ${cpu} × ${os.cpus().length}, node ${process.version}, load ${os.loadavg()[0]?.toFixed(1)}`);
    console.log(
      `${CLUSTERS} clusters × ${SERVICES} services, every push changes all ${CLUSTERS * SERVICES} Deployments, ${ROUNDS} rounds alternating:`,
    );
    console.log(`  all-at-once: push → run succeeded: median ${s(plain)} (${plainMs.map(s).join(', ')})`);
    console.log(
      `  3-stage rollout: push → last stage Succeeded minus ${BAKE_TOTAL_MS / 1000} s configured bake: median ${s(rollout)} (${rolloutMs.map(s).join(', ')})`,
    );
    console.log(
      `  ratio ${ratio.toFixed(2)}× (target ≤ ${TARGET_RATIO}×: ${ratio <= TARGET_RATIO ? 'met' : 'MISSED'})`,
    );
    console.log(
      `bad image caught in stage 2 (${failed.rollout.stages[1].message?.slice(0, 120) ?? ''}…):\n` +
        `  writes to stage 3's ${STAGE3.length} clusters during the failed rollout and its ` +
        `rollback: ${stage3Writes} (target 0: ${stage3Writes === 0 ? 'met' : 'MISSED'})\n` +
        `  gate failed → stage 1–2 clusters back on the previous images (rollback run ${rollback.id} finished, healthy): ${s(backMs)} ` +
        `(target ≤ ${TARGET_BACK_MS / 1000} s: ${backMs <= TARGET_BACK_MS ? 'met' : 'MISSED'}); ` +
        `Deployments read back not on the previous image: ${wrong} of ${STAGE12.length * SERVICES}`,
    );
    console.log(
      JSON.stringify({
        bench: 'rollout',
        machine: { cpu, cores: os.cpus().length, node: process.version, load: os.loadavg()[0] },
        clusters: CLUSTERS,
        services: SERVICES,
        rounds: ROUNDS,
        allAtOnceMs: { median: plain, runs: plainMs },
        rolloutMinusBakeMs: { median: rollout, runs: rolloutMs, bakeMs: BAKE_TOTAL_MS },
        ratio: { value: ratio, target: TARGET_RATIO, met: ratio <= TARGET_RATIO },
        badImage: {
          stage3Writes,
          backMs,
          targetBackMs: TARGET_BACK_MS,
          met: stage3Writes === 0 && backMs <= TARGET_BACK_MS && wrong === 0,
          notRestored: wrong,
        },
      }),
    );
  } finally {
    await sandbox.close();
    await rm(tmp, { recursive: true, force: true });
  }
}

await main();
