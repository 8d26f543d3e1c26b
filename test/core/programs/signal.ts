/**
 * A program for shutdown.test.ts: waits for a signal through runUntilSignal with the stop the
 * first argument names: `clean` (stops at once), `leak` (stops but leaves a timer armed),
 * `stuck` (never finishes). Prints `ready` once the handlers are installed.
 */
import { createLogger } from '../../../services/core/log.js';
import { runUntilSignal } from '../../../services/core/process.js';

const mode = process.argv[2] ?? 'clean';
const log = createLogger('signal-test');
const server = setInterval(() => undefined, 1000); // stands in for a listening server
const stops: Record<string, () => Promise<void>> = {
  clean: async () => clearInterval(server),
  leak: async () => {
    clearInterval(server);
    setTimeout(() => undefined, 600_000);
  },
  stuck: () => new Promise<void>(() => undefined),
};
const stop = stops[mode];
if (!stop) throw new Error(`unknown mode ${mode}`);
const running = runUntilSignal(stop, log, { graceMs: 1500, lingerMs: 500 });
process.stdout.write('ready\n');
await running;
