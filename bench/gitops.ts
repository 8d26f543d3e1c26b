/**
 * Webhook service benchmark (issue 9), real HTTP on loopback and real git (a bare repo plays GitHub):
 *
 *   1. image webhook → commit pushed: latency of sequential `POST /hooks/image` (the reply comes
 *      after the push), p50/p95;
 *   2. push webhook acceptance under a 100 webhooks/s burst (signed GitHub push deliveries, each
 *      persisted in SQLite with synchronous=FULL before the 202, the pipeline running alongside), p50/p99;
 *   3. an image bump's push webhook → every cluster applied and healthy (fetch, checkout, render of
 *      10 clusters × 20 services, deployer on 10 sandbox clusters incl. the rollout), p50/p95;
 *   4. a push that changes no manifest → run done (the deployer writes nothing), p50/p95.
 * BENCH_NO_DEPLOY=1 stops runs after render (no sandbox).
 *
 *   node --import tsx bench/gitops.ts
 *
 * Targets: acceptance p99 ≤ 100 ms (GitHub's own timeout is 10 s); push-to-applied p50 ≤ 2 s.
 */
import { randomUUID } from 'node:crypto';
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Webhooks } from '@octokit/webhooks';
import { pino } from 'pino';
import { gitClient } from '../services/core/git-client.js';
import { parseConfig } from '../services/gitops/config.js';
import type { RunRecord } from '../services/gitops/event-store.js';
import { pushPayload } from '../services/gitops/simulate.js';
import { startWebhookService } from '../services/gitops/webhook-service.js';
import { deployerStep } from '../services/gitops/deploy-step.js';
import { signImageBody } from '../services/image-deployer/image-hook.js';
import { FIXTURE, generateServices, pad, sandboxProcess } from './lib/gitops-fixture.js';
const CLUSTERS = 10;
const SERVICES = 20;
const GH = 'bench-github-secret';
const IMG = 'bench-image-secret';
const IMAGE_BUMPS = 30;
const BURST = 200;
const BURST_RATE = 100; // per second
const PUSHES = 20;
const TARGET_ACCEPT_P99_MS = 100;
const TARGET_APPLIED_P50_MS = 2000;
/** Sandbox pod start → Ready (the deployer bench uses the same). */
const READY_DELAY_MS = 200;

function pct(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] ?? NaN;
}
const ms = (n: number): string => `${n.toFixed(1)} ms`;

async function main(): Promise<void> {
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'kitfed-bench-gitops-'));
  try {
    const bare = path.join(tmp, 'origin.git');
    await gitClient(undefined, 60_000).raw(['init', '--bare', '--initial-branch', 'main', bare]);
    const devDir = path.join(tmp, 'dev');
    await cp(FIXTURE, devDir, { recursive: true });
    await generateServices(devDir, CLUSTERS, SERVICES);
    const dev = gitClient(devDir, 60_000);
    await dev.init(['--initial-branch', 'main']);
    await dev.addConfig('user.name', 'Bench');
    await dev.addConfig('user.email', 'bench@example.com');
    await dev.add('.').commit('seed').addRemote('origin', bare).push('origin', 'main');

    const config = parseConfig(
      {
        listen: '127.0.0.1:0',
        dataDir: path.join(tmp, 'data'),
        github: { secret: { env: 'GH' } },
        image: { secret: { env: 'IMG' } },
        repos: [{ url: bare, branch: 'main', name: 'acme/manifests' }],
      },
      'bench',
      tmp,
      { GH, IMG },
    );
    // Sandbox member clusters named like the rendered folders, in a child process (clusters are
    // remote in real life); BENCH_NO_DEPLOY=1 measures render only.
    const sandbox = process.env.BENCH_NO_DEPLOY
      ? undefined
      : await sandboxProcess({ clusters: CLUSTERS, readyDelayMs: READY_DELAY_MS });
    const kubeconfig = path.join(tmp, 'kubeconfig');
    if (sandbox) await writeFile(kubeconfig, sandbox.kubeconfig);
    const deploy = sandbox ? deployerStep({ kubeconfig }, config.timeouts.deployMs) : undefined;
    const service = await startWebhookService({
      config,
      log: pino({ level: 'silent' }),
      ...(deploy ? { deploy } : {}),
    });
    const gh = new Webhooks({ secret: GH });
    const repo = config.repos[0]!;
    const sendPush = async (after: string): Promise<{ status: number; ms: number }> => {
      const body = JSON.stringify(pushPayload(repo, after));
      const headers = {
        'content-type': 'application/json',
        'x-github-event': 'push',
        'x-github-delivery': randomUUID(),
        'x-hub-signature-256': await gh.sign(body),
      };
      const t0 = performance.now();
      const res = await fetch(`${service.url}/hooks/github`, { method: 'POST', body, headers });
      await res.arrayBuffer();
      return { status: res.status, ms: performance.now() - t0 };
    };

    // 1. image webhook → commit pushed
    const bumpMs: number[] = [];
    for (let i = 0; i < IMAGE_BUMPS; i++) {
      const body = JSON.stringify({
        image: `registry.example/acme/svc-${pad(i % SERVICES)}:master-${(0x1000000 + i).toString(16)}`,
        repository: `acme/svc-${pad(i % SERVICES)}`,
        branch: 'master',
        commit: (0x1000000 + i).toString(16),
      });
      const t0 = performance.now();
      const res = await fetch(`${service.url}/hooks/image`, {
        method: 'POST',
        body,
        headers: { 'content-type': 'application/json', 'x-kitfed-signature-256': signImageBody(IMG, body) },
      });
      const out = (await res.json()) as { status?: string };
      if (res.status !== 200 || out.status !== 'committed')
        throw new Error(`image bump ${i}: ${res.status} ${JSON.stringify(out)}`);
      bumpMs.push(performance.now() - t0);
    }

    // 2. burst acceptance: BURST signed pushes at BURST_RATE/s, real commits, pipeline running.
    await dev.pull('origin', 'main');
    const shas: string[] = [];
    for (let i = 0; i < BURST; i++) {
      await dev.raw(['commit', '--allow-empty', '-q', '-m', `burst ${i}`]);
      shas.push((await dev.revparse(['HEAD'])).trim());
    }
    await dev.push('origin', 'main');
    const pending: Array<Promise<{ status: number; ms: number }>> = [];
    const start = performance.now();
    for (let i = 0; i < BURST; i++) {
      const due = start + (i * 1000) / BURST_RATE;
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait);
      pending.push(sendPush(shas[i]!));
    }
    const burst = await Promise.all(pending);
    const bad = burst.filter((r) => r.status !== 202);
    if (bad.length > 0) throw new Error(`${bad.length} burst deliveries not accepted: ${bad[0]?.status}`);
    const acceptMs = burst.map((r) => r.ms);
    await service.runner.idle();
    const events = service.store.events();
    const coalesced = events.filter((e) => e.status === 'superseded').length;

    // 3. image bump, then its push → every cluster applied and healthy (a real rollout per cluster).
    // 4. push of a commit that changes no manifest → run done (every cluster: zero writes).
    const waitRun = async (sha: string): Promise<RunRecord> => {
      for (let k = 0; k < 6000; k++) {
        const run = service.store.listRuns(5).find((r) => r.commit === sha && r.status !== 'running');
        if (run) return run;
        await sleep(5);
      }
      throw new Error(`no run for ${sha}`);
    };
    const expected = deploy ? 'succeeded' : 'rendered';
    const appliedMs: number[] = [];
    const noopMs: number[] = [];
    for (let i = 0; i < PUSHES; i++) {
      const svc = `svc-${pad(i % SERVICES)}`;
      const body = JSON.stringify({
        image: `registry.example/acme/${svc}:master-${(0x2000000 + i).toString(16)}`,
        repository: `acme/${svc}`,
        branch: 'master',
        commit: (0x2000000 + i).toString(16),
      });
      const res = await fetch(`${service.url}/hooks/image`, {
        method: 'POST',
        body,
        headers: { 'content-type': 'application/json', 'x-kitfed-signature-256': signImageBody(IMG, body) },
      });
      const sha = ((await res.json()) as { commit: string }).commit;
      const t0 = performance.now();
      if ((await sendPush(sha)).status !== 202) throw new Error('push not accepted');
      const run = await waitRun(sha);
      if (run.status !== expected) throw new Error(`push ${i}: run ${run.status} ${run.error ?? ''}`);
      appliedMs.push(performance.now() - t0);
    }
    await dev.pull('origin', 'main');
    for (let i = 0; i < PUSHES; i++) {
      await dev.raw(['commit', '--allow-empty', '-q', '-m', `no-op ${i}`]);
      await dev.push('origin', 'main');
      const sha = (await dev.revparse(['HEAD'])).trim();
      const t0 = performance.now();
      if ((await sendPush(sha)).status !== 202) throw new Error('push not accepted');
      const run = await waitRun(sha);
      if (run.status !== expected) throw new Error(`no-op push ${i}: run ${run.status} ${run.error ?? ''}`);
      noopMs.push(performance.now() - t0);
    }
    await service.close();
    await sandbox?.close();

    const cpu = os.cpus()[0]?.model ?? 'unknown cpu';
    const acceptP99 = pct(acceptMs, 99);
    console.log(
      `machine: ${cpu} × ${os.cpus().length}, node ${process.version}, git ` +
        `${(await gitClient(undefined, 60_000).version()).major}.${(await gitClient(undefined, 60_000).version()).minor}`,
    );
    console.log(
      `image webhook → commit pushed (${IMAGE_BUMPS} sequential): p50 ${ms(pct(bumpMs, 50))}, p95 ${ms(pct(bumpMs, 95))}`,
    );
    console.log(
      `push acceptance, ${BURST} deliveries at ${BURST_RATE}/s: p50 ${ms(pct(acceptMs, 50))}, p99 ${ms(acceptP99)}, max ${ms(Math.max(...acceptMs))} ` +
        `(target p99 ≤ ${TARGET_ACCEPT_P99_MS} ms: ${acceptP99 <= TARGET_ACCEPT_P99_MS ? 'met' : 'MISSED'}); ${coalesced} of ${BURST} coalesced away`,
    );
    const what = deploy
      ? `applied and healthy on every sandbox cluster (pods ready after ${READY_DELAY_MS} ms)`
      : 'rendered (no deploy)';
    const appliedP50 = pct(appliedMs, 50);
    console.log(
      `image bump's push webhook → ${what} (${CLUSTERS} clusters × ${SERVICES} services = ${CLUSTERS * SERVICES * 2} manifests, ${PUSHES} pushes): ` +
        `p50 ${ms(appliedP50)}, p95 ${ms(pct(appliedMs, 95))}` +
        (deploy
          ? ` (target p50 ≤ ${TARGET_APPLIED_P50_MS} ms: ${appliedP50 <= TARGET_APPLIED_P50_MS ? 'met' : 'MISSED'})`
          : ''),
    );
    console.log(
      `push webhook with no manifest change → run done (${PUSHES} pushes): p50 ${ms(pct(noopMs, 50))}, p95 ${ms(pct(noopMs, 95))}`,
    );
    console.log(
      JSON.stringify({
        bench: 'gitops',
        machine: { cpu, cores: os.cpus().length, node: process.version },
        imageCommitMs: { p50: pct(bumpMs, 50), p95: pct(bumpMs, 95), n: IMAGE_BUMPS },
        acceptMs: {
          p50: pct(acceptMs, 50),
          p99: acceptP99,
          max: Math.max(...acceptMs),
          n: BURST,
          ratePerSecond: BURST_RATE,
          coalesced,
          targetP99: TARGET_ACCEPT_P99_MS,
          met: acceptP99 <= TARGET_ACCEPT_P99_MS,
        },
        pushToAppliedMs: deploy
          ? {
              p50: appliedP50,
              p95: pct(appliedMs, 95),
              n: PUSHES,
              clusters: CLUSTERS,
              services: SERVICES,
              target: TARGET_APPLIED_P50_MS,
              met: appliedP50 <= TARGET_APPLIED_P50_MS,
            }
          : null,
        pushToRenderedMs: deploy ? null : { p50: appliedP50, p95: pct(appliedMs, 95), n: PUSHES },
        noopPushMs: { p50: pct(noopMs, 50), p95: pct(noopMs, 95), n: PUSHES },
      }),
    );
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

await main();
