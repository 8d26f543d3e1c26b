import type { Logger } from './log.js';

export interface ShutdownOptions {
  /** Logged when the first signal arrives. */
  readonly message?: string;
  /** Deadline for `stop`; past it the process exits with code 1 (default 30 s). */
  readonly graceMs?: number;
  /**
   * Once `stop` is done the process should end on its own; if something left armed (a timer, a
   * socket) still holds it this long, that is logged with what holds it and the process exits
   * anyway (default 3 s). The check never delays a clean exit: its timer does not hold the process.
   */
  readonly lingerMs?: number;
}

/**
 * Waits for SIGINT or SIGTERM, then runs `stop` once and resolves when it is done. A failing
 * stop is logged, not thrown: the process is ending either way. A second signal exits at once
 * (130); a stop past its deadline exits with 1. The one shutdown path of every long-running
 * `kitfed` command.
 */
export async function runUntilSignal(
  stop: (signal: NodeJS.Signals) => Promise<unknown>,
  log: Logger,
  options: ShutdownOptions = {},
): Promise<void> {
  const { message = 'shutting down', graceMs = 30_000, lingerMs = 3000 } = options;
  await new Promise<void>((resolve) => {
    let stopping = false;
    const onSignal = (signal: NodeJS.Signals) => {
      if (stopping) {
        log.warn({ signal }, 'second signal: exiting without finishing the shutdown');
        process.exit(130);
      }
      stopping = true;
      log.info({ signal, graceMs }, message);
      const deadline = setTimeout(() => {
        log.error({ graceMs }, 'shutdown did not finish in time: exiting');
        process.exit(1);
      }, graceMs);
      deadline.unref();
      const done = () => {
        clearTimeout(deadline);
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
        const linger = setTimeout(() => {
          log.warn({ holding: process.getActiveResourcesInfo() }, 'still running after shutdown: exiting');
          process.exit(process.exitCode ?? 0);
        }, lingerMs);
        linger.unref();
        resolve();
      };
      stop(signal).then(done, (err: unknown) => {
        log.error({ err: err instanceof Error ? err.message : String(err) }, 'shutdown failed');
        done();
      });
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}
