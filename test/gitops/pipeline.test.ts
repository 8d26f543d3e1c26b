import test from 'ava';
import { readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { RunRecord } from '../../services/gitops/event-store.js';
import type { ExecutionContext } from 'ava';
import type { KubeObject } from '../../services/core/kube.js';
import { KubeClient } from '../../services/core/kube-client.js';
import { deployerStep } from '../../services/gitops/deploy-step.js';
import { startSandbox, type Sandbox } from '../../services/sandbox/index.js';
import { verifyImageSignature } from '../../services/image-deployer/image-hook.js';
import {
  devCommit,
  eventually,
  getJson,
  makeRemote,
  postGithub,
  postImage,
  pushFromExample,
  startService,
  tempDir,
  testConfig,
} from './helpers.js';

/** Sandbox member clusters (the real API server in member mode) and a kubeconfig with one context each. */
async function sandboxFixture(
  t: ExecutionContext,
  names: string[],
): Promise<{ dir: string; kubeconfig: string; sandbox: Sandbox }> {
  const sandbox = await startSandbox({
    clusters: names.map((name, i) => ({ name, region: `r${i}` })),
    readyDelayMs: 50,
  });
  t.teardown(() => sandbox.close());
  const dir = await tempDir(t);
  const kubeconfig = join(dir, 'kubeconfig');
  await writeFile(kubeconfig, sandbox.kubeconfig());
  return { dir, kubeconfig, sandbox };
}

async function finishedRun(url: string, commit: string): Promise<RunRecord> {
  return eventually(async () => {
    const runs = (await getJson(`${url}/runs`)).body.runs as RunRecord[];
    return runs.find((r) => r.commit === commit && r.status !== 'running');
  }, `a finished run for ${commit}`);
}

test('image webhook, then push: the run renders the new image for every cluster and records it (deploy not configured)', async (t) => {
  const remote = await makeRemote(t);
  const dataDir = await tempDir(t);
  const service = await startService(t, testConfig(remote, dataDir));
  t.is(service.wiring.deploy, 'not configured');
  const bump = await postImage(service.url, {
    image: 'registry.example/acme/web:master-7777777',
    repository: 'acme/web',
    branch: 'master',
    commit: '7777777',
  });
  const commit = bump.body.commit as string;
  const accepted = await postGithub(service.url, await pushFromExample(remote, commit));
  t.is(accepted.status, 202);
  const run = await finishedRun(service.url, commit);
  t.is(run.status, 'rendered', run.error ?? '');
  t.is(run.repo, 'acme/manifests');
  t.is(run.ref, 'refs/heads/main');
  t.regex(run.trigger, new RegExp(accepted.delivery));
  t.deepEqual(
    run.clusters.map((c) => [c.cluster, c.render, c.deploy, c.files]),
    [
      ['east', 'ok', 'not-configured', 1],
      ['west', 'ok', 'not-configured', 1],
    ],
  );
  t.true(run.durations.fetchMs! >= 0 && run.durations.renderMs! >= 0 && run.durations.totalMs! >= 0);
  t.false('deployMs' in run.durations);
  const manifest = await readFile(join(dataDir, 'rendered', String(run.id), 'east', 'web-deployment.yaml'), 'utf8');
  t.regex(manifest, /image: registry\.example\/acme\/web:master-7777777/);
  t.deepEqual((await getJson(`${service.url}/runs/${run.id}`)).body, run as unknown as Record<string, unknown>);
});

test('a template error in a push fails the run naming file and field, and no cluster is touched', async (t) => {
  const fx = await sandboxFixture(t, ['east', 'west']);
  const remote = await makeRemote(t);
  const service = await startService(t, testConfig(remote, join(fx.dir, 'data')), {
    deploy: deployerStep({ kubeconfig: fx.kubeconfig }, 20_000),
  });
  const base = await readFile(join(remote.devDir, 'templates/base-cluster.yaml'), 'utf8');
  const commit = await devCommit(
    remote,
    'templates/base-cluster.yaml',
    base.replace('./web/web-deployment.mustache', './web/typo.mustache'),
  );
  t.is((await postGithub(service.url, await pushFromExample(remote, commit))).status, 202);
  const run = await finishedRun(service.url, commit);
  t.is(run.status, 'failed');
  t.regex(
    run.error ?? '',
    /clusters\/east\/cluster\.yaml: resources\.web\.file: template not found: templates\/resources\/web\/typo\.mustache/,
  );
  t.deepEqual(run.clusters, []);
  t.false('deployMs' in run.durations);
  for (const c of fx.sandbox.clusters) t.is(c.requests.writes, 0, c.name);
});

test('a cluster that is down fails alone: the run fails naming it, the other cluster is applied; the next push succeeds', async (t) => {
  const fx = await sandboxFixture(t, ['east', 'west']);
  const remote = await makeRemote(t);
  // A deadline a loaded machine cannot make the healthy cluster miss: the down one fails at once anyway.
  const service = await startService(t, testConfig(remote, join(fx.dir, 'data')), {
    deploy: deployerStep({ kubeconfig: fx.kubeconfig }, 60_000),
  });
  await fx.sandbox.cluster('west').stop();
  const c1 = await devCommit(remote, 'notes/1.txt', '1\n');
  await postGithub(service.url, await pushFromExample(remote, c1));
  const r1 = await finishedRun(service.url, c1);
  t.is(r1.status, 'failed');
  t.is(r1.error, 'deploy failed on west');
  t.deepEqual(
    r1.clusters.map((c) => [c.cluster, c.deploy]),
    [
      ['east', 'applied'],
      ['west', 'failed'],
    ],
  );
  t.regex(r1.clusters[1]?.error ?? '', /ECONNREFUSED|refused|connect/i);
  await fx.sandbox.cluster('west').start();
  const c2 = await devCommit(remote, 'notes/2.txt', '2\n');
  await postGithub(service.url, await pushFromExample(remote, c2));
  const r2 = await finishedRun(service.url, c2);
  t.is(r2.status, 'succeeded', r2.error ?? '');
  t.true(r2.clusters.every((c) => c.deploy === 'applied'));
});

test('a push of a commit older than the newest completed one is skipped (never backwards)', async (t) => {
  const remote = await makeRemote(t);
  const service = await startService(t, testConfig(remote, await tempDir(t)));
  const older = await devCommit(remote, 'notes/a.txt', 'a\n');
  const newer = await devCommit(remote, 'notes/b.txt', 'b\n');
  await postGithub(service.url, await pushFromExample(remote, newer));
  t.is((await finishedRun(service.url, newer)).status, 'rendered');
  await postGithub(service.url, await pushFromExample(remote, older));
  const skipped = await finishedRun(service.url, older);
  t.is(skipped.status, 'skipped');
  t.regex(skipped.error ?? '', /older than/);
});

test('a push whose commit is not in the repo fails its run clearly', async (t) => {
  const remote = await makeRemote(t);
  const service = await startService(t, testConfig(remote, await tempDir(t)));
  const ghost = 'b'.repeat(40);
  await postGithub(service.url, await pushFromExample(remote, ghost));
  const run = await finishedRun(service.url, ghost);
  t.is(run.status, 'failed');
  t.regex(run.error ?? '', /commit b{40} not found in acme\/manifests/);
});

test('every finished run is notified with a signed JSON webhook, retried until the receiver takes it', async (t) => {
  const remote = await makeRemote(t);
  const got: Array<{ status: number; signed: boolean; body: { event: string; run: RunRecord } }> = [];
  let calls = 0;
  const receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const status = ++calls === 1 ? 503 : 200; // the first delivery fails
      got.push({
        status,
        signed: verifyImageSignature(['notify-secret'], raw, req.headers['x-kitfed-signature-256'] as string),
        body: JSON.parse(raw.toString()),
      });
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  t.teardown(() => receiver.close());
  const port = (receiver.address() as AddressInfo).port;
  const config = testConfig(remote, await tempDir(t), {
    notify: { url: `http://127.0.0.1:${port}/kitfed`, secret: { env: 'T_NOTIFY' } },
  });
  t.is(config.notify?.secret, 'notify-secret');
  const service = await startService(t, config);
  const commit = await devCommit(remote, 'notes/n.txt', 'n\n');
  await postGithub(service.url, await pushFromExample(remote, commit));
  const run = await finishedRun(service.url, commit);
  await eventually(() => (got.some((g) => g.status === 200) ? true : undefined), 'the notification');
  t.is(got.length, 2);
  t.true(got.every((g) => g.signed));
  t.is(got[1]?.body.event, 'run.finished');
  t.is(got[1]?.body.run.id, run.id);
  t.is(got[1]?.body.run.status, 'rendered');
});

test('a step past its deadline fails the run with the step named, and the next push runs normally', async (t) => {
  const remote = await makeRemote(t);
  let hang = true;
  const service = await startService(t, testConfig(remote, await tempDir(t), { timeouts: { renderSeconds: 0.3 } }), {
    // A render that never finishes on its own (it ends only when its signal aborts), then a quick one.
    render: (o) =>
      hang
        ? new Promise((_, reject) => o.signal?.addEventListener('abort', () => reject(new Error('aborted'))))
        : Promise.resolve({ clusters: [{ name: 'east', files: 1 }] }),
  });
  const c1 = await devCommit(remote, 'notes/t1.txt', '1\n');
  await postGithub(service.url, await pushFromExample(remote, c1));
  const r1 = await finishedRun(service.url, c1);
  t.is(r1.status, 'failed');
  t.is(r1.error, 'render timed out after 0.3s');
  hang = false;
  const c2 = await devCommit(remote, 'notes/t2.txt', '2\n');
  await postGithub(service.url, await pushFromExample(remote, c2));
  t.is((await finishedRun(service.url, c2)).status, 'rendered');
});

test('with pollSeconds, a branch head that no webhook announced is found and run (trigger poll), once', async (t) => {
  const remote = await makeRemote(t);
  const service = await startService(t, testConfig(remote, await tempDir(t), { pollSeconds: 0.1 }));
  const commit = await devCommit(remote, 'notes/p.txt', 'p\n');
  const run = await finishedRun(service.url, commit);
  t.is(run.trigger, 'poll');
  t.is(run.status, 'rendered');
  // A late webhook for the same commit is a duplicate, not a second run.
  const late = await postGithub(service.url, await pushFromExample(remote, commit));
  t.is(late.status, 200);
  t.is(late.body.by, 'commit');
  t.is(((await getJson(`${service.url}/runs`)).body.runs as RunRecord[]).filter((r) => r.commit === commit).length, 1);
});

test('with deploy configured, an image bump and its push are rendered and applied to every sandbox cluster', async (t) => {
  const fx = await sandboxFixture(t, ['east', 'west']);
  const remote = await makeRemote(t);
  const config = testConfig(remote, join(fx.dir, 'data'), { deploy: { kubeconfig: fx.kubeconfig } });
  const service = await startService(t, config, { deploy: deployerStep(config.deploy!, 20_000) });
  t.is(service.wiring.deploy, 'deployer');
  const bump = await postImage(service.url, {
    image: 'registry.example/acme/web:master-9999999',
    repository: 'acme/web',
    branch: 'master',
    commit: '9999999',
  });
  const commit = bump.body.commit as string;
  await postGithub(service.url, await pushFromExample(remote, commit));
  const run = await finishedRun(service.url, commit);
  t.is(run.status, 'succeeded', run.error ?? '');
  t.deepEqual(
    run.clusters.map((c) => [c.cluster, c.render, c.deploy]),
    [
      ['east', 'ok', 'applied'],
      ['west', 'ok', 'applied'],
    ],
  );
  t.true(run.durations.deployMs! >= 0);
  for (const name of ['east', 'west']) {
    const client = await KubeClient.fromKubeconfig({ file: fx.kubeconfig }, name, { timeoutMs: 5000 });
    t.teardown(() => client.close());
    const d = await client.get<KubeObject & { spec: { template: { spec: { containers: Array<{ image: string }> } } } }>(
      'apps/v1',
      'Deployment',
      'default',
      'web',
    );
    t.is(d.spec.template.spec.containers[0]?.image, 'registry.example/acme/web:master-9999999', name);
  }
});
