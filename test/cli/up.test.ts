import test from 'ava';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { kubectlFor, SEED, type Kubectl } from '../helpers/kubectl.js';

const CLI = ['--import', 'tsx', 'services/cli/kitfed.ts'];

interface Up {
  child: ChildProcess;
  output: () => string;
  logs: () => string;
  exited: Promise<number | null>;
}

async function up(dataDir: string): Promise<Up> {
  const child = spawn(
    process.execPath,
    [...CLI, 'up', '--data-dir', dataDir, '--port-base', '0', '--ready-delay', '50'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  let logs = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (logs += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  for (let i = 0; i < 600 && !out.includes('kitfed is up'); i++) {
    if (child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  if (!out.includes('kitfed is up')) throw new Error(`kitfed up did not come up: ${out}`);
  return { child, output: () => out, logs: () => logs, exited };
}

async function eventually(
  t: { log: (m: string) => void },
  what: string,
  check: () => Promise<boolean>,
  timeoutMs = 60_000,
): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 250));
  }
  t.log(`timed out waiting for ${what}`);
  return false;
}

async function stop(u: Up): Promise<{ code: number | null; ms: number }> {
  const started = Date.now();
  u.child.kill('SIGINT');
  const code = await Promise.race([u.exited, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 15_000))]);
  if (code === 'timeout') {
    u.child.kill('SIGKILL');
    return { code: -1, ms: Date.now() - started };
  }
  return { code, ms: Date.now() - started };
}

function jsonOf(r: { stdout: string }): {
  items?: Array<Record<string, unknown>>;
  metadata?: { finalizers?: string[] };
  spec?: Record<string, unknown>;
  status?: Record<string, unknown>;
} {
  try {
    return JSON.parse(r.stdout) as ReturnType<typeof jsonOf>;
  } catch {
    return {};
  }
}

test(
  'kitfed up brings up the fleet: every context works, the seed ReplicaSet spreads 3/3/3, ' +
    'push and image webhooks reach the members, Ctrl-C stops cleanly, a restart keeps state',
  async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'kitfed-up-'));
    t.teardown(() => rm(dir, { recursive: true, force: true }));
    const first = await up(join(dir, 'state'));
    t.teardown(() => first.child.kill('SIGKILL'));
    const kubeconfig = join(dir, 'state', 'kubeconfig');
    const k: Record<string, Kubectl> = {};
    for (const ctx of ['federation', 'us-east', 'eu-west', 'asia-east']) {
      k[ctx] = kubectlFor(kubeconfig, join(dir, `cache-${ctx}`), ctx);
      const r = await k[ctx](['get', 'namespaces', '-o', 'name']);
      t.is(r.code, 0, `${ctx}: ${r.stderr}`);
    }
    const clusters = await k.federation!(['get', 'clusters', '-o', 'json']);
    t.is(jsonOf(clusters).items?.length, 3);

    // The initial push rendered templates/ + clusters/ and deployed them to every member.
    for (const ctx of ['us-east', 'eu-west', 'asia-east']) {
      t.true(
        await eventually(
          t,
          `nginx deployed in ${ctx}`,
          async () => (await k[ctx]!(['get', 'deployment', 'nginx', '-o', 'name'])).code === 0,
        ),
        ctx,
      );
    }

    // The 2016 walkthrough's 9-replica ReplicaSet, created once in the federation.
    t.is((await k.federation!(['create', 'namespace', 'walkthrough'])).code, 0);
    t.is((await k.federation!(['-n', 'walkthrough', 'create', '-f', join(SEED, 'nginx-rs.yaml')])).code, 0);
    for (const ctx of ['us-east', 'eu-west', 'asia-east']) {
      t.true(
        await eventually(t, `3 ready replicas in ${ctx}`, async () => {
          const rs = jsonOf(await k[ctx]!(['-n', 'walkthrough', 'get', 'rs', 'nginx', '-o', 'json']));
          return rs.spec?.replicas === 3 && rs.status?.readyReplicas === 3;
        }),
        ctx,
      );
    }
    t.true(
      await eventually(
        t,
        'federated status 9 ready',
        async () =>
          jsonOf(await k.federation!(['-n', 'walkthrough', 'get', 'rs', 'nginx', '-o', 'json'])).status
            ?.readyReplicas === 9,
      ),
    );

    // Any served kind, not only the 2016 ones, under `kitfed up`'s own identities (the controller manager
    // is RBAC-bound): a StatefulSet spreads, and its federated object gets kitfed's finalizer and status.
    const sts = [
      'apiVersion: apps/v1',
      'kind: StatefulSet',
      'metadata: {name: db}',
      'spec:',
      '  replicas: 3',
      '  serviceName: db',
      '  selector: {matchLabels: {app: db}}',
      '  template:',
      '    metadata: {labels: {app: db}}',
      '    spec: {containers: [{name: db, image: postgres:16}]}',
    ].join('\n');
    t.is((await k.federation!(['-n', 'walkthrough', 'apply', '-f', '-'], sts)).code, 0);
    t.true(
      await eventually(t, 'the federated StatefulSet: finalizer and 3 ready', async () => {
        const o = jsonOf(await k.federation!(['-n', 'walkthrough', 'get', 'statefulset', 'db', '-o', 'json']));
        return (o.metadata?.finalizers ?? []).includes('kitfed.io/federation') && o.status?.readyReplicas === 3;
      }),
    );
    for (const ctx of ['us-east', 'eu-west', 'asia-east']) {
      const member = jsonOf(await k[ctx]!(['-n', 'walkthrough', 'get', 'statefulset', 'db', '-o', 'json']));
      t.is(member.spec?.replicas, 1, ctx);
    }

    // CI built a new image: the signed image webhook commits it, the poll picks the commit up, the members get it.
    const config = join(dir, 'state', 'webhooks.yaml');
    const image = 'ghcr.io/kitfed-demo/hello:master-9f8e7d6';
    const sim = await new Promise<number | null>((resolve) =>
      spawn(process.execPath, [...CLI, 'simulate', 'image', image, '--config', config], { stdio: 'ignore' }).on(
        'exit',
        resolve,
      ),
    );
    t.is(sim, 0);
    t.true(
      await eventually(
        t,
        'new image in us-east',
        async () =>
          (
            await k['us-east']!([
              'get',
              'deployment',
              'hello',
              '-o',
              'jsonpath={.spec.template.spec.containers[0].image}',
            ])
          ).stdout === image,
        90_000,
      ),
    );

    // GitOps-deployed objects and federated ones live side by side: neither manager removes the other's.
    for (const ctx of ['us-east', 'eu-west', 'asia-east']) {
      const svc = await k[ctx]!(['get', 'service', 'nginx', 'hello', '-o', 'name']);
      t.is(svc.code, 0, `${ctx}: the GitOps services are still there (${svc.stderr})`);
    }

    const stopped = await stop(first);
    const shutdownLogs = first.logs().slice(first.logs().indexOf('"signal":"SIGINT"') - 100);
    t.is(stopped.code, 0, shutdownLogs);
    t.true(stopped.ms < 25_000, `stopped in ${stopped.ms} ms`); // within the 30 s shutdown deadline (exit 0 above)
    t.false(
      first.logs().includes('still running after shutdown'),
      `nothing is left running once every part has stopped: ${shutdownLogs}`,
    );

    const second = await up(join(dir, 'state'));
    t.teardown(() => second.child.kill('SIGKILL'));
    const kk = kubectlFor(kubeconfig, join(dir, 'cache-2'), 'federation');
    const again = jsonOf(await kk(['-n', 'walkthrough', 'get', 'rs', 'nginx', '-o', 'json']));
    t.is(again.spec?.replicas, 9, 'the federated ReplicaSet survived the restart');
    const member = kubectlFor(kubeconfig, join(dir, 'cache-3'), 'us-east');
    const hello = await member([
      'get',
      'deployment',
      'hello',
      '-o',
      'jsonpath={.spec.template.spec.containers[0].image}',
    ]);
    t.is(hello.stdout, image, 'members resume their state too');
    t.is((await stop(second)).code, 0, second.logs().slice(-3000));
    t.false(second.logs().includes('still running after shutdown'));
  },
);
