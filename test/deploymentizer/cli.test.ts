import test from 'ava';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { ROOT, makeRepo, readTree, tempDir } from './helpers.js';

const run = promisify(execFile);
const KITFED = path.join(ROOT, 'services', 'cli', 'kitfed.ts');

async function kitfed(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', KITFED, ...args], {
      cwd: ROOT,
      env: { ...process.env, ...env },
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

test('kitfed render: exit 0, one line per cluster; kit env variables work as flag aliases', async (t) => {
  const out = path.join(await tempDir(t), 'out');
  const r = await kitfed(['render', '--repo', '.', '--out', out], { CLUSTER_NAME: 'us-east' });
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, /^us-east \(production\): 6 objects sha256:[0-9a-f]{12}\nwrote /);
  t.deepEqual(
    Object.keys(await readTree(out)).map((f) => f.split('/')[0]),
    Array(6).fill('us-east'),
  );
});

test('kitfed render: exit 1 with every problem listed; secret values never printed', async (t) => {
  const { repo, out } = await makeRepo(t, {
    'clusters/eu-1/cluster.yaml':
      'kind: ClusterNamespace\nmetadata: {name: eu-1, type: staging, branch: ' +
      'hotfix}\nresources:\n  auth: {containers: {auth-con: {env: [{name: TOKEN_A, external: ' +
      'true}, {name: TOKEN_B, external: true}]}}}\n',
  });
  const r = await kitfed(['render', '--repo', repo, '--out', out], {
    TOKEN_A: 'very-secret-value',
    KITFED_LOG_LEVEL: 'debug',
  });
  t.is(r.code, 1);
  t.true(
    r.stderr.includes(
      'clusters/eu-1/cluster.yaml: resources.auth.containers.auth-con.env.TOKEN_B: env TOKEN_B was not available as an external ENV',
    ),
    r.stderr,
  );
  t.true(r.stderr.includes('no image for branch "hotfix"'), r.stderr);
  t.false((r.stdout + r.stderr).includes('very-secret-value'));
  await t.throwsAsync(readTree(out));
});

test('kitfed render: exit 2 on usage errors', async (t) => {
  const a = await kitfed(['render', '--repo', '.', '--check', '--fast-rollback']);
  t.is(a.code, 2);
  t.true(a.stderr.includes('You must include the id if configuring fastRollbacks'));
  const b = await kitfed(['render', '--repo', '.', '--check', '--deployId', 'abc']);
  t.is(b.code, 2);
  t.true(b.stderr.includes('You must include the resource if deploying a specific id'));
});
