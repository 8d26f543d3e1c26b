import test from 'ava';
import { deploy } from '../../services/deployer/index.js';
import type { KubeObject } from '../../services/core/kube.js';
import { clientFor, configMap, deployment, service, startSandboxClusters, writeFolder } from './helpers.js';

const web = (image = 'nginx:1.27', replicas = 2): KubeObject[] => [
  deployment('web', image, { replicas }),
  service('web'),
  configMap('web-config', { a: '1' }),
];

test('multi-cluster apply and health: every Deployment available; a redeploy does zero writes (sandbox request counters)', async (t) => {
  const f = await startSandboxClusters(['us', 'eu', 'asia'], { readyDelayMs: 150 });
  t.teardown(() => f.close());
  for (const c of ['us', 'eu', 'asia']) await writeFolder(f.manifests, c, web());
  const first = await deploy({
    dir: f.manifests,
    kubeconfig: f.kubeconfig,
    commit: 'a1',
    commitTime: '2026-11-22T00:00:00Z',
    timeoutMs: 20_000,
  });
  t.true(first.ok, JSON.stringify(first.clusters.map((c) => c.error)));
  for (const c of first.clusters) {
    t.is(c.counts.applied, 3);
    t.is(c.counts.healthy, 1);
    t.true(c.durations.healthMs > 0);
    const d = c.objects.find((o) => o.kind === 'Deployment')!;
    t.is(d.health, 'healthy');
    t.is(d.message, '2/2 replicas available');
  }
  for (const c of f.sandbox.clusters) c.resetRequests();
  const again = await deploy({
    dir: f.manifests,
    kubeconfig: f.kubeconfig,
    commit: 'a1',
    commitTime: '2026-11-22T00:00:00Z',
    timeoutMs: 20_000,
  });
  t.true(again.ok);
  for (const c of f.sandbox.clusters) t.is(c.requests.writes, 0, `${c.name}: ${c.requests.recentWrites.join(', ')}`);
  t.true(again.clusters.every((c) => c.counts.unchanged === 3 && c.counts.healthy === 1));
});

test('one cluster down and one hanging: only they fail, each within its own timeout; the others finish', async (t) => {
  const f = await startSandboxClusters(['ok1', 'down', 'hang', 'ok2'], { readyDelayMs: 100 });
  t.teardown(() => f.close());
  for (const c of ['ok1', 'down', 'hang', 'ok2']) await writeFolder(f.manifests, c, web());
  await f.sandbox.cluster('down').stop();
  await f.sandbox.cluster('hang').fault('hang');
  t.teardown(() =>
    f.sandbox
      .cluster('hang')
      .fault('up')
      .then(() => undefined),
  );
  const started = Date.now();
  // No health wait: this test is about isolation and deadlines, not rollouts (which a loaded machine slows down).
  // A 30 s deadline leaves a loaded machine room to tell "failed at once" from "waited for the deadline".
  const report = await deploy({ dir: f.manifests, kubeconfig: f.kubeconfig, timeoutMs: 30_000, wait: false });
  const took = Date.now() - started;
  t.false(report.ok);
  const by = Object.fromEntries(report.clusters.map((c) => [c.cluster, c]));
  t.is(by.ok1!.result, 'succeeded', by.ok1!.error);
  t.is(by.ok2!.result, 'succeeded', by.ok2!.error);
  t.is(by.down!.result, 'failed');
  t.regex(by.down!.error!, /plan: .*ECONNREFUSED/);
  t.true(by.down!.durations.totalMs < 20_000, 'connection refused fails without waiting for the timeout');
  t.is(by.hang!.result, 'failed');
  t.regex(by.hang!.error!, /timed out after 30s/);
  // Bounded by its own deadline (with slack for a loaded machine), not by the other clusters or a hang.
  t.true(
    by.hang!.durations.totalMs >= 29_900 && by.hang!.durations.totalMs < 60_000,
    String(by.hang!.durations.totalMs),
  );
  t.true(took < 90_000, `deploy returned after ${took} ms`);
});

test('bad image: fails fast with the pod and its reason; the other clusters succeed', async (t) => {
  const f = await startSandboxClusters(['good', 'bad'], { readyDelayMs: 100 });
  t.teardown(() => f.close());
  await writeFolder(f.manifests, 'good', web());
  await writeFolder(f.manifests, 'bad', web('registry.example.com/web:doesnotexist'));
  // A deadline far beyond the test's own: failing at all proves the bad image was seen, not waited out.
  const report = await deploy({ dir: f.manifests, kubeconfig: f.kubeconfig, timeoutMs: 600_000 });
  t.false(report.ok);
  const bad = report.clusters.find((c) => c.cluster === 'bad')!;
  t.is(bad.result, 'failed');
  t.regex(
    bad.error!,
    /health: Deployment default\/web: pod web-[a-z0-9]+-[a-z0-9]+ container web: (ErrImagePull|ImagePullBackOff): .*registry\.example\.com\/web:doesnotexist/,
  );
  t.true(bad.durations.totalMs < 120_000, `failed after ${bad.durations.totalMs} ms, not the 600 s timeout`);
  t.is(report.clusters.find((c) => c.cluster === 'good')!.result, 'succeeded');
});

test('fail-fast cancels the other clusters; allowFailure keeps a failing cluster from failing the deploy', async (t) => {
  const f = await startSandboxClusters(['bad', 'slow'], { readyDelayMs: 100 });
  t.teardown(() => f.close());
  await writeFolder(f.manifests, 'bad', web('nginx:bad'));
  await writeFolder(f.manifests, 'slow', web());
  await f.sandbox.cluster('slow').fault('latency', 1000);
  const ff = await deploy({ dir: f.manifests, kubeconfig: f.kubeconfig, timeoutMs: 30_000, failFast: true });
  t.false(ff.ok);
  t.deepEqual(
    ff.clusters.map((c) => [c.cluster, c.result]),
    [
      ['bad', 'failed'],
      ['slow', 'cancelled'],
    ],
  );
  t.regex(ff.clusters[1]!.error!, /cancelled/);
  await f.sandbox.cluster('slow').fault('up');
  const allowed = await deploy({
    dir: f.manifests,
    kubeconfig: f.kubeconfig,
    timeoutMs: 30_000,
    allowFailure: ['bad'],
  });
  t.true(allowed.ok);
  t.deepEqual(
    allowed.clusters.map((c) => [c.cluster, c.result, c.allowFailure]),
    [
      ['bad', 'failed', true],
      ['slow', 'succeeded', false],
    ],
  );
});

test("dependency ordering: kit's dependency-selector holds an object back until what it selects is available", async (t) => {
  const f = await startSandboxClusters(['one'], { readyDelayMs: 600 });
  t.teardown(() => f.close());
  const db = deployment('db', 'postgres:16', { labels: { tier: 'db' } });
  const app = deployment('app', 'nginx:1', { annotations: { 'kit-deployer/dependency-selector': 'tier=db' } });
  const cfg = configMap('app-config', { x: '1' }, undefined, {
    annotations: { 'kit-deployer/dependency-selector': 'tier in (db)' },
  });
  await writeFolder(f.manifests, 'one', [db, app, cfg]);
  const c = await clientFor(f.kubeconfig, 'one');
  t.teardown(() => c.close());
  const seen: string[] = [];
  const watches = await Promise.all(
    (['apps/v1|Deployment', 'v1|ConfigMap'] as const).map((k) => {
      const [apiVersion, kind] = k.split('|') as [string, string];
      return c.watch(apiVersion, kind, 'default', {}, (type, o) => {
        const avail = (o.status as { availableReplicas?: number } | undefined)?.availableReplicas ?? 0;
        seen.push(`${type} ${o.metadata.name}${o.metadata.name === 'db' && avail > 0 ? ' available' : ''}`);
      });
    }),
  );
  t.teardown(() => watches.forEach((w) => w.stop()));
  const report = await deploy({ dir: f.manifests, kubeconfig: f.kubeconfig, timeoutMs: 20_000 });
  t.true(report.ok, report.clusters[0]!.error);
  const dbAvailable = seen.findIndex((s) => s.endsWith('db available'));
  const appAdded = seen.indexOf('ADDED app');
  const cfgAdded = seen.indexOf('ADDED app-config');
  t.true(dbAvailable >= 0, seen.join('\n'));
  t.true(appAdded > dbAvailable, seen.join('\n'));
  t.true(cfgAdded > dbAvailable, `a ConfigMap (earlier kind wave) still waits for its dependency\n${seen.join('\n')}`);
});

test('health of DaemonSets and Jobs: available on every node, complete', async (t) => {
  const f = await startSandboxClusters(['one'], { readyDelayMs: 100 });
  t.teardown(() => f.close());
  const ds: KubeObject = {
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: { name: 'agent' },
    spec: {
      selector: { matchLabels: { app: 'agent' } },
      template: {
        metadata: { labels: { app: 'agent' } },
        spec: { containers: [{ name: 'agent', image: 'fluentbit:3' }] },
      },
    },
  };
  const job: KubeObject = {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: 'migrate' },
    spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'migrate', image: 'migrate:1' }] } } },
  };
  await writeFolder(f.manifests, 'one', [ds, job]);
  const report = await deploy({ dir: f.manifests, kubeconfig: f.kubeconfig, timeoutMs: 20_000 });
  t.true(report.ok, report.clusters[0]!.error);
  const by = Object.fromEntries(report.clusters[0]!.objects.map((o) => [o.kind, o]));
  t.is(by.DaemonSet!.health, 'healthy');
  t.regex(by.DaemonSet!.message!, /pods available/);
  t.is(by.Job!.health, 'healthy');
  t.is(by.Job!.message, 'complete');
});

test("end to end: this repo's example renders (deploymentizer, with its index) and deploys healthy to sandbox clusters of the same names", async (t) => {
  const { render } = await import('../../services/deploymentizer/index.js');
  const path = await import('node:path');
  const { fileURLToPath } = await import('node:url');
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
  const f = await startSandboxClusters(['us-east', 'eu-west', 'asia-east'], { readyDelayMs: 100 });
  t.teardown(() => f.close());
  const out = path.join(f.dir, 'rendered');
  await render({ repo: root, out });
  const report = await deploy({
    dir: out,
    kubeconfig: f.kubeconfig,
    commit: 'e2e',
    commitTime: '2026-11-22T01:00:00Z',
    timeoutMs: 30_000,
  });
  t.true(report.ok, JSON.stringify(report.clusters.map((c) => c.error)));
  t.deepEqual(report.unknownFolders, []);
  for (const c of report.clusters) {
    t.is(c.counts.applied, 6);
    t.deepEqual(
      c.objects.filter((o) => o.kind === 'Deployment').map((o) => o.health),
      ['healthy', 'healthy'],
    );
  }
  for (const c of f.sandbox.clusters) c.resetRequests();
  t.true(
    (
      await deploy({
        dir: out,
        kubeconfig: f.kubeconfig,
        commit: 'e2e',
        commitTime: '2026-11-22T01:00:00Z',
        timeoutMs: 30_000,
      })
    ).ok,
  );
  t.is(
    f.sandbox.clusters.reduce((n, c) => n + c.requests.writes, 0),
    0,
  );
});

test('health is watched, not polled: a 3 s rollout costs no more reads than a 0.1 s one', async (t) => {
  const reads: Record<string, number> = {};
  await Promise.all(
    [100, 3000].map(async (readyDelayMs) => {
      const f = await startSandboxClusters(['c'], { readyDelayMs });
      t.teardown(() => f.close());
      await writeFolder(f.manifests, 'c', web());
      f.sandbox.cluster('c').resetRequests();
      const r = await deploy({ dir: f.manifests, kubeconfig: f.kubeconfig, timeoutMs: 30_000 });
      t.true(r.ok, r.clusters[0]?.error);
      t.is(r.clusters[0]!.objects.find((o) => o.kind === 'Deployment')!.health, 'healthy');
      t.true(r.clusters[0]!.durations.healthMs >= readyDelayMs, 'the wait lasted the whole rollout');
      reads[readyDelayMs] = f.sandbox.cluster('c').requests.get;
    }),
  );
  // One list+watch per kind waited on (Deployment, Pods, Warning Events), whatever the rollout's length.
  t.log(reads);
  t.true(reads[3000]! <= reads[100]! + 2, JSON.stringify(reads));
});
