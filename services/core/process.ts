import type { Logger } from './log.js';

/**
 * Waits for SIGINT or SIGTERM, then runs `stop` once and resolves when it is done. A failing
 * stop is logged, not thrown: the process is ending either way. The one shutdown path of every
 * long-running `kitfed` command.
 */
export async function runUntilSignal(stop: (signal: NodeJS.Signals) => Promise<unknown>, log: Logger, message = 'shutting down'): Promise<void> {
  await new Promise<void>((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      log.info({ signal }, message);
      stop(signal).then(
        () => resolve(),
        (err: unknown) => {
          log.error({ err: err instanceof Error ? err.message : String(err) }, 'shutdown failed');
          resolve();
        },
      );
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}
