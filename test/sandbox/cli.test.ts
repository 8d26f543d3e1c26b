import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'ava';
import YAML from 'yaml';
import { startSandbox } from '../../services/sandbox/index.js';
import { run, tempDir, waitFor } from './helpers.js';

const KITFED = ['--import', 'tsx', 'services/cli/kitfed.ts'];

function kitfed(args: string[]) {
  return run(process.execPath, [...KITFED, ...args], { timeoutMs: 90_000 });
}

test('kitfed sandbox runs N clusters with one kubeconfig context each, takes faults, and exits cleanly on SIGTERM', async (t) => {
  const dir = await tempDir(t);
  const kubeconfig = join(dir, 'kc');
  const child = spawn(
    process.execPath,
    [
      ...KITFED,
      'sandbox',
      '--clusters',
      '2',
      '--names',
      'east,west',
      '--regions',
      'us-east1,us-west1',
      '--zones',
      '2',
      '--capacity',
      '5',
      '--ready-delay',
      '50',
      '--kubeconfig-out',
      kubeconfig,
      '--admin-listen',
      '127.0.0.1:0',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stdout = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  t.teardown(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  const admin = await waitFor('admin line', () => /^admin (\S+)$/m.exec(stdout)?.[1], 90_000);
  t.true(existsSync(kubeconfig));
  const config = YAML.parse(await readFile(kubeconfig, 'utf8')) as {
    contexts: Array<{ name: string }>;
    'current-context': string;
  };
  t.deepEqual(
    config.contexts.map((c) => c.name),
    ['east', 'west'],
  );
  t.is(config['current-context'], 'east');
  const kubectl = (args: string[]) =>
    run('kubectl', ['--kubeconfig', kubeconfig, '--cache-dir', join(dir, 'cache'), ...args]);
  const nodes = await kubectl([
    '--context',
    'west',
    'get',
    'nodes',
    '-L',
    'topology.kubernetes.io/zone',
    '--no-headers',
  ]);
  t.is(nodes.code, 0, nodes.stderr);
  t.regex(nodes.stdout, /west-us-west1-a-1\s+Ready.*us-west1-a/);
  t.regex(nodes.stdout, /west-us-west1-b-1\s+Ready.*us-west1-b/);
  const down = await kitfed(['sandbox', 'fault', 'west', 'down', '--admin', admin]);
  t.is(down.code, 0, down.stderr);
  t.regex((await kubectl(['--context', 'west', 'get', 'ns', '--request-timeout=5s'])).stderr, /refused/);
  t.is((await kubectl(['--context', 'east', 'get', 'ns', 'default', '-o', 'name'])).stdout.trim(), 'namespace/default');
  t.is((await kitfed(['sandbox', 'fault', 'west', 'up', '--admin', admin])).code, 0);
  t.is((await kubectl(['--context', 'west', 'get', 'ns', 'default', '-o', 'name'])).stdout.trim(), 'namespace/default');
  const [latency, noValue, unknown] = await Promise.all([
    kitfed(['sandbox', 'fault', 'west', 'latency', '200', '--admin', admin]),
    kitfed(['sandbox', 'fault', 'west', 'latency', '--admin', admin]),
    kitfed(['sandbox', 'fault', 'nowhere', 'up', '--admin', admin]),
  ]);
  t.like(JSON.parse(latency.stdout), { name: 'west', faults: { latencyMs: 200 } });
  t.is(noValue.code, 2);
  t.is(unknown.code, 2);
  const status = await kitfed(['sandbox', 'status', '--admin', admin]);
  t.is(status.code, 0, status.stderr);
  t.regex(status.stdout, /east .*us-east1/);
  t.regex(status.stdout, /west .*us-west1.*latency 200ms/);
  child.kill('SIGTERM');
  t.is(await exited, 0);
});

test('kitfed sandbox rejects bad flags with exit code 2', async (t) => {
  const dir = await tempDir(t);
  const codes = await Promise.all([
    kitfed(['sandbox', '--clusters', '2']),
    kitfed(['sandbox', '--clusters', '0', '--kubeconfig-out', join(dir, 'kc')]),
    kitfed(['sandbox', '--clusters', '2', '--names', 'a', '--kubeconfig-out', join(dir, 'kc')]),
    kitfed([
      'sandbox',
      '--clusters',
      '1',
      '--names',
      'Bad_Name',
      '--kubeconfig-out',
      join(dir, 'kc'),
      '--admin-listen',
      '127.0.0.1:0',
    ]),
  ]);
  t.deepEqual(
    codes.map((c) => c.code),
    [2, 2, 2, 2],
    codes.map((c) => c.stderr).join('\n'),
  );
});

test('kitfed sandbox clock and metrics drive the simulated clock and utilisation through the admin endpoint', async (t) => {
  const sandbox = await startSandbox({
    clusters: [
      { name: 'east', region: 'us-east1' },
      { name: 'west', region: 'us-west1' },
    ],
    adminPort: 0,
  });
  t.teardown(() => sandbox.close());
  const admin = sandbox.adminUrl!;
  const [all, one, metrics, badDuration, badMetric] = await Promise.all([
    kitfed(['sandbox', 'clock', '5m', '--admin', admin]),
    kitfed(['sandbox', 'clock', '1h', 'east', '--admin', admin]),
    kitfed(['sandbox', 'metrics', 'west', '--cpu', '80', '--admin', admin]),
    kitfed(['sandbox', 'clock', 'soon', '--admin', admin]),
    kitfed(['sandbox', 'metrics', 'west', '--cpu', 'lots', '--admin', admin]),
  ]);
  t.is(all.code, 0, all.stderr);
  t.is(one.code, 0, one.stderr);
  t.true((JSON.parse(one.stdout) as { clock: { aheadSeconds: number } }).clock.aheadSeconds >= 3600, one.stdout);
  t.true(sandbox.cluster('west').clock.getTime() - Date.now() >= 299_000, 'every cluster moved 5 minutes');
  t.is(metrics.code, 0, metrics.stderr);
  t.like(JSON.parse(metrics.stdout), { name: 'west', metrics: { cpuUtilization: 80 } });
  t.deepEqual(sandbox.cluster('west').metrics, { cpuUtilization: 80 });
  t.is(badDuration.code, 2);
  t.regex(badDuration.stderr, /duration must be a number of seconds or like 90s/);
  t.is(badMetric.code, 2);
  t.regex(badMetric.stderr, /--cpu must be a percentage/);
  const unknown = await kitfed(['sandbox', 'metrics', 'nowhere', '--cpu', '1', '--admin', admin]);
  t.is(unknown.code, 2);
  t.regex(unknown.stderr, /no sandbox cluster named nowhere/);
});
