import test from 'ava';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const VECTORS = readFileSync(new URL('../fixtures/planner-vectors.json', import.meta.url), 'utf8');

/** Runs `kitfed plan` as a real child process with `stdin` as input. */
function kitfedPlan(stdin: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'services/cli/kitfed.ts', 'plan'], { cwd: ROOT });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(stdin);
  });
}

test('an array of requests (the public vectors, extra fields ignored) gives an array of plans in order', async (t) => {
  const vectors = JSON.parse(VECTORS) as Array<{
    expected: Record<string, number>;
    expectedOverflow: Record<string, number>;
  }>;
  const run = await kitfedPlan(VECTORS);
  t.is(run.code, 0, run.stderr);
  t.deepEqual(
    JSON.parse(run.stdout),
    vectors.map((v) => ({ plan: v.expected, overflow: v.expectedOverflow })),
  );
});

test('one request gives one plan; preferences may be the annotation text; absent preferences are the default', async (t) => {
  const run = await kitfedPlan(
    JSON.stringify([
      { preferences: '{"Clusters":{"A":{"Weight":1},"B":{"Weight":2}}}', totalReplicas: 60, clusters: ['A', 'B', 'C'] },
      { totalReplicas: 50, clusters: ['A', 'B', 'C'], key: 'test-ns/test-deployment' },
    ]),
  );
  t.is(run.code, 0, run.stderr);
  t.deepEqual(JSON.parse(run.stdout), [
    { plan: { A: 20, B: 40, C: 0 }, overflow: {} },
    { plan: { A: 17, B: 17, C: 16 }, overflow: {} },
  ]);
  const single = await kitfedPlan(
    '{"preferences":{"rebalance":true,"clusters":{"*":{"weight":1}}},"totalReplicas":50,"clusters":["A","B","C"],"estimatedCapacity":{"C":10},"key":""}',
  );
  t.is(single.code, 0, single.stderr);
  t.deepEqual(JSON.parse(single.stdout), { plan: { A: 20, B: 20, C: 10 }, overflow: { C: 7 } });
});

test('invalid input exits 2 with a message naming the bad field', async (t) => {
  const cases: Array<[string, RegExp]> = [
    [
      '[{"totalReplicas":1,"clusters":["a"]},{"totalReplicas":1.5,"clusters":["a"]}]',
      /\[1\]\.totalReplicas: must be an integer/,
    ],
    [
      '{"totalReplicas":3,"clusters":["a"],"preferences":{"clusters":{"a":{"MaxReplicas":"2"}}}}',
      /preferences\.clusters\["a"\]\.MaxReplicas: must be an integer/,
    ],
    ['{"totalReplicas":3,"clusters":"a"}', /clusters: must be an array/],
    ['{"totalReplicas":3', /not valid JSON/],
  ];
  const runs = await Promise.all(cases.map(([input]) => kitfedPlan(input)));
  runs.forEach((run, i) => {
    t.is(run.code, 2, cases[i]![0]);
    t.regex(run.stderr, cases[i]![1]);
    t.is(run.stdout, '');
  });
});

test('a request that arrives in two parts with a pause between them is read whole', async (t) => {
  // stdin is read with blocking reads until end of file: the first read returns the first part only.
  const request = JSON.stringify({ totalReplicas: 9, clusters: ['a', 'b', 'c'], key: 'default/nginx' });
  const child = spawn(process.execPath, ['--import', 'tsx', 'services/cli/kitfed.ts', 'plan'], { cwd: ROOT });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const closed = new Promise<number | null>((resolve) => child.on('close', resolve));
  child.stdin.write(request.slice(0, 20));
  await new Promise((r) => setTimeout(r, 2_000)); // the child is up and has read the first part
  t.is(child.exitCode, null, 'still waiting for the rest');
  child.stdin.end(request.slice(20));
  t.is(await closed, 0, stderr);
  t.deepEqual(JSON.parse(stdout), { plan: { a: 3, b: 3, c: 3 }, overflow: {} });
});
