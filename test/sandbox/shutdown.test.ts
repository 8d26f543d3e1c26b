import { spawn } from 'node:child_process';
import { once } from 'node:events';
import test from 'ava';

const PROGRAM = ['--import', 'tsx', 'test/sandbox/programs/stop-mid-rollout.ts'];

/** Runs the program; resolves with how long the process lived after it printed `closed`. */
async function runOnce(
  delayMs: number,
): Promise<{ code: number | null; afterCloseMs: number | undefined; stderr: string }> {
  const child = spawn(process.execPath, [...PROGRAM, String(delayMs)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let closedAt: number | undefined;
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => {
    if (closedAt === undefined && d.toString().includes('closed')) closedAt = Date.now();
  });
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const killer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  // 'close', not 'exit': stderr may still be in the pipe when the process has exited.
  const [code] = (await once(child, 'close')) as [number | null];
  clearTimeout(killer);
  return { code, afterCloseMs: closedAt === undefined ? undefined : Date.now() - closedAt, stderr };
}

test('a sandbox closed mid-rollout leaves nothing armed: its process ends by itself at once', async (t) => {
  // Rollouts are in flight at close(): a simulator task finishing after stop() used to arm the
  // Deployment's 600 s progress-deadline timer, which kept `kitfed up` alive for 10 minutes.
  // The window is narrow (a task awaiting its SQLite write as stop() runs): close at several
  // points of the rollouts; before the fix about half of these runs hung.
  for (const delayMs of [60, 80, 100, 120, 140, 160]) {
    const r = await runOnce(delayMs);
    t.is(r.code, 0, r.stderr);
    t.not(r.afterCloseMs, undefined, 'the program reached close()');
    t.true(
      r.afterCloseMs! < 30_000,
      `closed after ${delayMs} ms: the process lived ${r.afterCloseMs} ms after close()`,
    );
  }
});
