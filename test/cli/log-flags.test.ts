import test from 'ava';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../services/cli/main.js';

/** `kitfed …args` from source, stderr a pipe (not a terminal), with `env` over the test's environment. */
function kitfed(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', 'services/cli/kitfed.ts', ...args],
      { timeout: 120_000, env: { ...process.env, ...env } },
      (err, _stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ code, stderr: String(stderr) });
      },
    );
  });
}

const out = await mkdtemp(join(tmpdir(), 'kitfed-log-flags-'));
test.after.always(() => rm(out, { recursive: true, force: true }));

/** `kitfed render` of the example repo logs one `rendered` line (info) from the deploymentizer. */
const render = (name: string) => ['render', '--repo', '.', '--out', join(out, name)];

test('--log-format json before the command: JSON lines even where the environment asks for text', async (t) => {
  const r = await kitfed(['--log-format', 'json', '--log-level', 'info', ...render('a')], {
    KITFED_LOG_FORMAT: 'text',
  });
  t.is(r.code, 0, r.stderr);
  const lines = r.stderr.split('\n').filter((l) => l.startsWith('{'));
  const rendered = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.msg === 'rendered');
  t.like(rendered, { level: 30, component: 'deploymentizer', clusters: 3 });
});

test('--log-format=text after the command: readable lines on a pipe, no JSON', async (t) => {
  const r = await kitfed([...render('b'), '--log-format=text', '--log-level=info'], { KITFED_LOG_FORMAT: 'json' });
  t.is(r.code, 0, r.stderr);
  t.regex(r.stderr, /INFO.*deploymentizer {2}rendered {2}out=\S+ clusters=3/);
  t.false(
    r.stderr.split('\n').some((l) => l.startsWith('{')),
    r.stderr,
  );
});

test('--log-level warn leaves out info lines even where the environment asks for info', async (t) => {
  const r = await kitfed([...render('c'), '--log-level', 'warn', '--log-format', 'json'], { KITFED_LOG_LEVEL: 'info' });
  t.is(r.code, 0, r.stderr);
  t.false(r.stderr.includes('"rendered"'), r.stderr);
});

test('a bad or missing value is a usage error (exit 2) naming the flag and its choices', async (t) => {
  const bad = await kitfed(['--log-format', 'yaml', 'version']);
  t.is(bad.code, 2);
  t.regex(bad.stderr, /--log-format must be one of auto, json, text \(got "yaml"\)/);
  const missing = await kitfed(['version', '--log-level']);
  t.is(missing.code, 2);
  t.regex(missing.stderr, /--log-level needs a value: trace, debug, info, warn, error, fatal, silent/);
});

test.serial("every command's --help lists the log flags under Global Options", async (t) => {
  for (const args of [['--help'], ['render', '--help'], ['up', '--help']]) {
    let help = '';
    const write = process.stdout.write.bind(process.stdout);
    process.stdout.write = (chunk: string | Uint8Array) => {
      help += String(chunk);
      return true;
    };
    try {
      t.is(await main(args), 0);
    } finally {
      process.stdout.write = write;
    }
    t.regex(help, /--log-format <format>/, args.join(' '));
    t.regex(help, /--log-level <level>/, args.join(' '));
    if (args[0] !== '--help') t.regex(help, /Global Options:/);
  }
});
