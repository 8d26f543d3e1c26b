/**
 * Retries `fn` until it returns without throwing (and, if it returns a boolean, returns
 * true), or fails with its last error after `timeoutMs`. For bounded waits in tests.
 */
export async function eventually<T>(
  fn: () => T | Promise<T>,
  timeoutMs = 10_000,
  intervalMs = 20,
): Promise<Exclude<T, false>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== false) return v as Exclude<T, false>;
      last = new Error('condition still false');
    } catch (err) {
      last = err;
    }
    if (Date.now() >= deadline) {
      const msg = last instanceof Error ? last.message : String(last);
      throw new Error(`not within ${timeoutMs} ms: ${msg}`, { cause: last });
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/**
 * `p`'s value, or an error naming `what` once `timeoutMs` passed first: a bounded wait for one
 * promise (a held request that must be answered well before its own timeout).
 */
export async function within<T>(p: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    return await Promise.race([p, late]);
  } finally {
    clearTimeout(timer);
  }
}
