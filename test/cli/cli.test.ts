import test from 'ava';
import { execFile } from 'node:child_process';
import { buildProgram, main } from '../../services/cli/main.js';

function kitfed(args: string[], input?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      ['--import', 'tsx', 'services/cli/kitfed.ts', ...args],
      { timeout: 60_000 },
      (err, stdout, stderr) => {
        resolve({
          code: err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0,
          stdout: String(stdout),
          stderr: String(stderr),
        });
      },
    );
    child.stdin?.end(input ?? '');
  });
}

const subcommands = (await buildProgram()).commands.map((c) => c.name());

test('the binary lists every documented subcommand group', (t) => {
  for (const name of [
    'up',
    'apiserver',
    'controllers',
    'sandbox',
    'join',
    'unjoin',
    'get',
    'describe',
    'plan',
    'render',
    'deploy',
    'webhooks',
    'runs',
    'simulate',
  ]) {
    t.true(subcommands.includes(name), name);
  }
});

test.serial('every subcommand --help exits 0 and shows examples', async (t) => {
  for (const name of subcommands) {
    let out = '';
    const write = process.stdout.write.bind(process.stdout);
    process.stdout.write = (chunk: string | Uint8Array) => {
      out += String(chunk);
      return true;
    };
    let code: number;
    try {
      code = await main([name, '--help']);
    } finally {
      process.stdout.write = write;
    }
    t.is(code, 0, name);
    t.regex(out, new RegExp(`Usage: kitfed ${name}`), name);
    t.regex(out, /Example/i, `${name} shows examples`);
  }
  const real = await kitfed(['up', '--help']);
  t.is(real.code, 0, 'the real process exits 0 too');
});

test('unknown flags and bad values exit 2 with the message', async (t) => {
  const unknown = await kitfed(['get', 'clusters', '--no-such-flag']);
  t.is(unknown.code, 2);
  t.regex(unknown.stderr, /unknown option '--no-such-flag'/);
  const badOutput = await kitfed(['get', 'clusters', '-o', 'xml', '--kubeconfig', 'package.json']);
  t.is(badOutput.code, 2);
  t.regex(badOutput.stderr, /-o must be one of table, json, yaml, name/);
  const badCount = await kitfed(['up', '--clusters', 'many']);
  t.is(badCount.code, 2);
  t.regex(badCount.stderr, /--clusters must be an integer/);
});

test('kitfed plan -o json output parses', async (t) => {
  const r = await kitfed(
    ['plan'],
    JSON.stringify({ totalReplicas: 9, clusters: ['a', 'b', 'c'], key: 'default/nginx' }),
  );
  t.is(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { plan: Record<string, number> };
  t.deepEqual(out.plan, { a: 3, b: 3, c: 3 });
});

test('output into a closed pipe (kitfed … | head) ends quietly, without an EPIPE crash', async (t) => {
  const { spawn } = await import('node:child_process');
  const child = spawn(process.execPath, ['--import', 'tsx', 'services/cli/kitfed.ts', 'plan', '--help'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdout.destroy(); // the reader is gone before the first write
  // 'close', not 'exit': stderr may still be in the pipe when the process has exited.
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  t.is(code, 0, stderr);
  t.notRegex(stderr, /EPIPE|Unhandled/);
});
