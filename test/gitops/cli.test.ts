import test from 'ava';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { KubeClient } from '../../services/core/kube-client.js';
import type { RunRecord } from '../../services/gitops/event-store.js';
import { startSandbox } from '../../services/sandbox/index.js';
import {
  API_TOKEN,
  BRANCH,
  devCommit,
  eventually,
  getJson,
  GITHUB_SECRET,
  IMAGE_SECRET,
  makeRemote,
  postGithub,
  pushFromExample,
  remoteFile,
  remoteLog,
  REPO_NAME,
  startService,
  tempDir,
  testConfig,
  type Remote,
} from './helpers.js';
import { finished, fleet, pushImage, rolloutService, runWhen } from './rollout-helpers.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const KITFED = join(ROOT, 'services/cli/kitfed.ts');
const ENV = { ...process.env, T_GH: GITHUB_SECRET, T_IMG: IMAGE_SECRET, T_API: API_TOKEN, KITFED_LOG_LEVEL: 'warn' };

async function writeConfig(dir: string, remote: Remote, dataDir: string, kubeconfig?: string): Promise<string> {
  const file = join(dir, 'webhooks.yaml');
  await writeFile(
    file,
    stringify({
      listen: '127.0.0.1:0',
      dataDir,
      github: { secret: { env: 'T_GH' } },
      image: { secret: { env: 'T_IMG' } },
      repos: [{ url: remote.url, branch: BRANCH, name: REPO_NAME }],
      api: { token: { env: 'T_API' } },
      ...(kubeconfig ? { deploy: { kubeconfig }, timeouts: { deploySeconds: 30 } } : {}),
    }),
  );
  return file;
}

interface Started {
  child: ChildProcess;
  url: string;
  stdout: string;
}

/** Starts `kitfed webhooks` and waits (bounded) for its "listening on" line. */
async function startCli(t: Parameters<typeof makeRemote>[0], config: string): Promise<Started> {
  const child = spawn(process.execPath, ['--import', 'tsx', KITFED, 'webhooks', '--config', config], {
    cwd: ROOT,
    env: ENV,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString();
      const m = /listening on (http:\/\/\S+)/.exec(stdout);
      if (m?.[1]) resolve(m[1]);
    });
    child.once('exit', (code) => reject(new Error(`kitfed webhooks exited ${code}: ${stderr}`)));
  });
  return { child, url, stdout };
}

function runCli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', KITFED, ...args], {
    cwd: ROOT,
    env: ENV,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  // 'close', not 'exit': the output may still be in the pipes when the process has exited.
  return once(child, 'close').then(([code]) => ({ code: code as number | null, stdout, stderr }));
}

test('SIGKILL of kitfed webhooks during a run: after restart the event completes and every cluster is applied, once', async (t) => {
  const sandbox = await startSandbox({
    clusters: [
      { name: 'east', region: 'r0' },
      { name: 'west', region: 'r1' },
    ],
    readyDelayMs: 50,
  });
  t.teardown(() => sandbox.close());
  const remote = await makeRemote(t);
  const dir = await tempDir(t);
  const kubeconfig = join(dir, 'kubeconfig');
  await writeFile(kubeconfig, sandbox.kubeconfig());
  const config = await writeConfig(dir, remote, join(dir, 'data'), kubeconfig);
  const commit = await devCommit(remote, 'notes/x.txt', 'x\n');
  const first = await startCli(t, config);
  t.regex(first.stdout, /deploy: deployer/);
  const accepted = await postGithub(first.url, await pushFromExample(remote, commit));
  t.is(accepted.status, 202);
  first.child.kill('SIGKILL');
  await once(first.child, 'exit');
  const second = await startCli(t, config);
  const done = await eventually(async () => {
    const runs = (await getJson(`${second.url}/runs`)).body.runs as RunRecord[];
    return runs.some((r) => r.commit === commit && r.status !== 'running' && r.status !== 'interrupted')
      ? runs
      : undefined;
  }, 'the resumed run');
  const forCommit = done.filter((r) => r.commit === commit);
  t.log(forCommit.map((r) => `run ${r.id} ${r.status}${r.error ? `: ${r.error}` : ''}`).join(', '));
  t.deepEqual(
    forCommit.filter((r) => r.status !== 'interrupted').map((r) => r.status),
    ['succeeded'],
  );
  t.true(forCommit[0]?.clusters.every((c) => c.deploy === 'applied'));
  for (const name of ['east', 'west']) {
    const client = await KubeClient.fromKubeconfig({ file: kubeconfig }, name, { timeoutMs: 5000 });
    t.teardown(() => client.close());
    const d = await client.get('apps/v1', 'Deployment', 'default', 'web');
    t.is(d.metadata.generation, 1, `${name}: applied once, not rewritten`);
  }
  // A replay of the same delivery after the restart is still a duplicate.
  t.is(
    (await postGithub(second.url, await pushFromExample(remote, commit), { delivery: accepted.delivery })).status,
    200,
  );
  second.child.kill('SIGTERM');
  const [code] = await once(second.child, 'exit');
  t.is(code, 0);
});

test('kitfed webhooks with an invalid config exits 2 naming the key', async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'bad.yaml');
  await writeFile(
    file,
    'listen: 127.0.0.1:8090\ndataDir: x\nrepos:\n  - url: /tmp/x.git\n    name: acme/x\ngithub:\n  secret: { env: NOT_SET_ANYWHERE }\n',
  );
  const res = await runCli(['webhooks', '--config', file]);
  t.is(res.code, 2);
  t.regex(res.stderr, /repos\[0\]\.branch: required/);
  await writeFile(
    file,
    'listen: 127.0.0.1:8090\ndataDir: x\nrepos:\n  - { url: /tmp/x.git, name: acme/x, branch: main }\ngithub:\n  secret: { env: NOT_SET_ANYWHERE }\n',
  );
  const res2 = await runCli(['webhooks', '--config', file]);
  t.is(res2.code, 2);
  t.regex(res2.stderr, /github\.secret: environment variable NOT_SET_ANYWHERE is not set/);
});

test('kitfed simulate image/push and kitfed runs drive a running service', async (t) => {
  const remote = await makeRemote(t);
  const dir = await tempDir(t);
  const config = await writeConfig(dir, remote, join(dir, 'data'));
  const service = await startService(t, testConfig(remote, join(dir, 'service')));
  const image = await runCli([
    'simulate',
    'image',
    'registry.example/acme/web:master-8888888',
    '--config',
    config,
    '--url',
    service.url,
  ]);
  t.is(image.code, 0, image.stderr);
  t.regex(image.stdout, /^200\n/);
  t.regex(await remoteFile(remote, 'templates/images/acme/web/master.yaml'), /master-8888888/);
  const push = await runCli(['simulate', 'push', '--config', config, '--url', service.url]);
  t.is(push.code, 0, push.stderr);
  t.regex(push.stdout, /^202 \(delivery [0-9a-f-]+\)/);
  await eventually(
    async () => ((await getJson(`${service.url}/runs`)).body.runs as RunRecord[]).find((r) => r.status === 'rendered'),
    'a rendered run',
  );
  const json = await runCli(['runs', '--url', service.url, '--token', API_TOKEN, '-o', 'json']);
  t.is(json.code, 0, json.stderr);
  const runs = JSON.parse(json.stdout) as RunRecord[];
  t.is(runs[0]?.status, 'rendered');
  // The token also comes from the config (api.token) or KITFED_WEBHOOKS_TOKEN; without one: a clear error.
  const table = await runCli(['runs', '--url', service.url, '--config', config]);
  t.is(table.code, 0, table.stderr);
  t.regex(table.stdout, /ID\s+STATUS\s+REPO/);
  t.regex(table.stdout, /rendered\s+acme\/manifests/);
  const wrong = await runCli(['runs', '--url', service.url, '--token', 'nope']);
  t.is(wrong.code, 1);
  t.regex(wrong.stderr, /401 the bearer token is not valid/);
  t.is((await runCli(['runs', '--url', service.url, '-o', 'yaml'])).code, 2);
});

test('kitfed rollout status|promote and kitfed rollback drive a rollout over the authenticated API', async (t) => {
  const f = await fleet(
    t,
    {
      stages: [
        { name: 'staging', clusters: { types: ['staging'] } },
        { name: 'production', approval: true },
      ],
    },
    { stg: 'staging', p1: 'production' },
  );
  const service = await rolloutService(t, f);
  const dir = await tempDir(t);
  const config = await writeConfig(dir, f.remote, join(dir, 'data'));
  const common = ['--url', service.url, '--config', config];
  const v2 = await pushImage(f, service, 'registry.example/acme/web:v2');
  const run = await runWhen(
    service.url,
    v2,
    (r) => r.rollout?.stages[1]?.state === 'WaitingForApproval',
    'the approval wait',
  );
  const status = await runCli(['rollout', 'status', 'latest', ...common]);
  t.is(status.code, 0, status.stderr);
  t.regex(status.stdout, new RegExp(`^Run ${run.id}  acme/manifests  ${v2.slice(0, 12)}  status running`));
  t.regex(status.stdout, /Rollout WaitingForApproval/);
  t.regex(status.stdout, /1\s+staging\s+Succeeded\s+stg\s+1\/1/);
  t.regex(status.stdout, /2\s+production \(approval\)\s+WaitingForApproval\s+p1\s+-\/1/);
  const json = await runCli(['rollout', 'status', String(run.id), ...common, '-o', 'json']);
  t.is((JSON.parse(json.stdout) as { phase: string }).phase, 'WaitingForApproval');
  const noToken = await runCli(['rollout', 'promote', String(run.id), '--url', service.url, '--token', 'wrong']);
  t.is(noToken.code, 1);
  t.regex(noToken.stderr, /401/);
  const promote = await runCli(['rollout', 'promote', String(run.id), ...common, '--by', 'cli-user', '--reason', 'ok']);
  t.is(promote.code, 0, promote.stderr);
  const done = await runWhen(service.url, v2, finished, 'the rollout');
  t.is(done.status, 'succeeded');
  t.is(done.rollout!.stages[1]!.approvedBy, 'cli-user');
  t.is((await runCli(['rollout', 'pause', String(run.id), ...common])).code, 1, 'a finished run: 409');
  t.is((await runCli(['rollout', 'explode', String(run.id), ...common])).code, 2);
  // kitfed rollback --to: the seed commit's content comes back in a new commit.
  const seed = (await remoteLog(f.remote)).at(-1)!.hash;
  const back = await runCli(['rollback', '--to', seed, ...common, '--reason', 'back to seed', '-o', 'json']);
  t.is(back.code, 0, back.stderr);
  const r = JSON.parse(back.stdout) as { commit: string; to: string; reverted: string[] };
  t.is(r.to, seed);
  t.deepEqual(r.reverted, [v2]);
  t.is((await remoteLog(f.remote))[0]?.hash, r.commit);
  t.is((await runCli(['rollback', '--to', 'xyz', ...common])).code, 2);
});
