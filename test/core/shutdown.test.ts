import { spawn } from 'node:child_process';
import { once } from 'node:events';
import test from 'ava';

interface Ended {
  code: number | null;
  ms: number;
  logs: string;
}

/** Starts the program, sends `signals` once it is ready, and reports how it ended (killed after 30 s). */
async function signalled(mode: string, signals: NodeJS.Signals[]): Promise<Ended> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/core/programs/signal.ts', mode], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, KITFED_LOG_LEVEL: 'info' },
  });
  let logs = '';
  child.stderr.on('data', (d: Buffer) => (logs += d.toString()));
  await new Promise<void>((resolve) =>
    child.stdout.on('data', (d: Buffer) => d.toString().includes('ready') && resolve()),
  );
  const started = Date.now();
  for (const [i, s] of signals.entries()) {
    // Two identical signals sent together may be delivered as one: space them.
    if (i > 0) await new Promise((r) => setTimeout(r, 200));
    child.kill(s);
  }
  const killer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  // 'close', not 'exit': the logs may still be in the pipe when the process has exited.
  const [code] = (await once(child, 'close')) as [number | null];
  clearTimeout(killer);
  return { code, ms: Date.now() - started, logs };
}

test('a clean stop exits 0 at once, logging the signal', async (t) => {
  const r = await signalled('clean', ['SIGTERM']);
  t.is(r.code, 0, r.logs);
  t.true(r.ms < 20_000, `${r.ms} ms`); // the killer fires at 30 s; a clean stop exits 0, a late one 1
  t.regex(r.logs, /"signal":"SIGTERM".*shutting down/);
  t.notRegex(r.logs, /still running after shutdown/);
});

test('something left armed after stop is named in the log and the process exits anyway', async (t) => {
  const r = await signalled('leak', ['SIGINT']);
  t.is(r.code, 0, r.logs);
  t.true(r.ms < 25_000, `${r.ms} ms`);
  t.regex(r.logs, /"holding":\[[^\]]*"Timeout"[^\]]*\].*still running after shutdown/);
});

test('a stop past its deadline exits 1; a second signal exits 130 at once', async (t) => {
  const late = await signalled('stuck', ['SIGTERM']);
  t.is(late.code, 1, late.logs);
  t.regex(late.logs, /shutdown did not finish in time/);
  const twice = await signalled('stuck', ['SIGINT', 'SIGINT']);
  t.is(twice.code, 130, twice.logs);
  t.regex(twice.logs, /second signal/);
});
