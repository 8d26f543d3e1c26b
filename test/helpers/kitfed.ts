import { execFile } from 'node:child_process';

/** The kitfed CLI from source (`services/cli/kitfed.ts` through tsx): exit code, stdout, stderr. */
export function kitfed(args: string[], timeoutMs = 60_000): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', 'services/cli/kitfed.ts', ...args],
      { timeout: timeoutMs },
      (err, stdout, stderr) =>
        resolve({
          code: err ? (typeof err.code === 'number' ? err.code : 1) : 0,
          stdout: String(stdout),
          stderr: String(stderr),
        }),
    );
  });
}
