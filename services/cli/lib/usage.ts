/**
 * The CLI's exit codes and its one usage error. Commands and `lib/*` import them from here, not from
 * `main.ts`, which imports the command table: commands ↔ main would be an import cycle.
 */
export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

/** Thrown by commands for bad flags or input: exit code 2 with the message. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}
