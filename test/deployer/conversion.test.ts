import test from 'ava';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { deploy, holdHealth } from '../../services/deployer/index.js';
import { render } from '../../services/deploymentizer/index.js';
import type { DeployEvent } from '../../services/deployer/types.js';
import { clientFor, startSandboxClusters, writeFolder } from './helpers.js';

const KIT_2016 = fileURLToPath(new URL('fixtures/kit-2016', import.meta.url));

test("kit's 2016 manifests deploy onto a 1.32 sandbox: each object converted to the version it serves, one warning each", async (t) => {
  const f = await startSandboxClusters(['test-fixture'], { readyDelayMs: 100 });
  t.teardown(() => f.close());
  const out = await mkdtemp(path.join(tmpdir(), 'kitfed-kit2016-'));
  t.teardown(() => rm(out, { recursive: true, force: true }));
  await render({ repo: KIT_2016, out });

  const events: DeployEvent[] = [];
  const report = await deploy({
    dir: out,
    kubeconfig: f.kubeconfig,
    commit: 'c2016',
    commitTime: '2016-11-22T00:00:00Z',
    timeoutMs: 60_000,
    onEvent: (e) => events.push(e),
  });
  const cluster = report.clusters[0]!;
  t.true(report.ok, cluster.error);
  const warnings = events.flatMap((e) => (e.type === 'warning' ? [`${e.ref.kind}/${e.ref.name}: ${e.message}`] : []));
  t.deepEqual(warnings.sort(), [
    'CronJob/auth-cleanup: converted from batch/v1beta1 to batch/v1: this cluster does not serve batch/v1beta1',
    'DaemonSet/edge-agent: converted from extensions/v1beta1 to apps/v1: this cluster does not serve extensions/v1beta1',
    'Deployment/auth-deployment: converted from extensions/v1beta1 to apps/v1: this cluster does not serve extensions/v1beta1',
    'Ingress/edge: converted from extensions/v1beta1 to networking.k8s.io/v1: this cluster does not serve extensions/v1beta1',
    'PodDisruptionBudget/auth: converted from policy/v1beta1 to policy/v1: this cluster does not serve policy/v1beta1',
  ]);
  const byKind = new Map(cluster.objects.map((o) => [o.kind, o]));
  t.is(byKind.get('Deployment')?.apiVersion, 'apps/v1');
  t.is(byKind.get('Deployment')?.health, 'healthy');
  t.is(byKind.get('HorizontalPodAutoscaler')?.apiVersion, 'autoscaling/v1', '1.32 still serves autoscaling/v1');

  const c = await clientFor(f.kubeconfig, 'test-fixture');
  t.teardown(() => c.close());
  const dep = await c.get('apps/v1', 'Deployment', 'default', 'auth-deployment');
  t.deepEqual((dep.spec as { selector: unknown }).selector, { matchLabels: { name: 'auth-pod' } });
  const ds = await c.get('apps/v1', 'DaemonSet', 'default', 'edge-agent');
  t.deepEqual((ds.spec as { updateStrategy: unknown }).updateStrategy, { type: 'OnDelete' });
  const hpa = await c.get('autoscaling/v2', 'HorizontalPodAutoscaler', 'default', 'auth');
  t.deepEqual((hpa.spec as { metrics: unknown }).metrics, [
    { type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 75 } } },
  ]);
  const ing = await c.get('networking.k8s.io/v1', 'Ingress', 'default', 'edge');
  t.deepEqual((ing.spec as { defaultBackend: unknown }).defaultBackend, {
    service: { name: 'auth-svc', port: { number: 80 } },
  });

  // A rollout's bake watches the workloads as the cluster serves them (apps/v1), not as written (extensions/v1beta1).
  const hold = await holdHealth({ dir: out, kubeconfig: f.kubeconfig, durationMs: 500 });
  t.true(hold.ok, hold.clusters[0]?.error);
  t.like(hold.clusters[0], { result: 'held', workloads: 2 });

  // The same commit again: converted objects compare as unchanged; nothing is written.
  for (const cl of f.sandbox.clusters) cl.resetRequests();
  const again = await deploy({
    dir: out,
    kubeconfig: f.kubeconfig,
    commit: 'c2016',
    commitTime: '2016-11-22T00:00:00Z',
    timeoutMs: 60_000,
  });
  t.true(again.ok, again.clusters[0]?.error);
  t.is(again.clusters[0]!.counts.unchanged, cluster.counts.objects);
  t.is(f.sandbox.clusters[0]!.requests.writes, 0, f.sandbox.clusters[0]!.requests.recentWrites.join(', '));
});

test('an object no served version can hold fails its cluster before anything is written, naming it', async (t) => {
  const f = await startSandboxClusters(['c1'], { readyDelayMs: 100 });
  t.teardown(() => f.close());
  await writeFolder(f.manifests, 'c1', [
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'fine' }, data: { a: '1' } },
    { apiVersion: 'policy/v1beta1', kind: 'PodSecurityPolicy', metadata: { name: 'restricted' }, spec: {} },
  ]);
  for (const cl of f.sandbox.clusters) cl.resetRequests();
  const report = await deploy({ dir: f.manifests, kubeconfig: f.kubeconfig, timeoutMs: 30_000 });
  t.false(report.ok);
  t.is(
    report.clusters[0]!.error,
    'plan: nothing applied: PodSecurityPolicy (policy/v1beta1) is not served by this cluster, and kitfed cannot convert it to a version that is',
  );
  t.is(f.sandbox.clusters[0]!.requests.writes, 0);
});
