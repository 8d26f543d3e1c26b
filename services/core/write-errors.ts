/** Errors of the image writer, split by whether retrying can help. */

/** Retrying cannot help: bad credentials, missing repo or branch, a file that is not a YAML mapping. */
export class PermanentWriteError extends Error {
  override readonly name = 'PermanentWriteError';
}

/** Retries were exhausted (the branch kept moving, or the remote kept failing). */
export class WriteRetriesExhaustedError extends Error {
  override readonly name = 'WriteRetriesExhaustedError';
}

const PERMANENT = [
  /authentication failed/i,
  /could not read (username|password)/i,
  /permission denied/i,
  /repository not found/i,
  /does not appear to be a git repository/i,
  /not found/i,
  /returned error: 40[134]/i,
  /couldn't find remote ref/i,
  /invalid username or password/i,
  /hook declined/i,
  /protected branch/i,
];

/** Removes `user:token@` from URLs so credentials never reach a log or an HTTP response. */
export function redactUrls(text: string): string {
  return text.replace(/(\/\/)[^/@\s]+@/g, '$1[redacted]@');
}

export function isPermanentGitError(err: unknown): boolean {
  const msg = err instanceof Error ? err.message : String(err);
  return PERMANENT.some((re) => re.test(msg));
}

export function isNonFastForward(err: unknown): boolean {
  const msg = err instanceof Error ? err.message : String(err);
  return /non-fast-forward|\[rejected\]|fetch first|cannot lock ref|failed to update ref|stale info/i.test(msg);
}
