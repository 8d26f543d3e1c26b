import { hash } from 'node:crypto';

/**
 * Values found by bearer token, keyed by the token's SHA-256 digest: one hash and one map read
 * per request whatever the number of tokens (a scan comparing every token costs O(tokens) per
 * request), and the tokens themselves are never kept as keys or printed. Comparing digests
 * instead of tokens leaks nothing useful through timing: a caller cannot choose a digest's prefix.
 */
export class TokenIndex<V> {
  private byDigest = new Map<string, V>();

  constructor(entries: Iterable<readonly [string, V]> = []) {
    for (const [token, value] of entries) this.set(token, value);
  }

  /** One-shot `crypto.hash`: no Hash object per request (a third of the digest's cost). */
  static digest(token: string): string {
    return hash('sha256', token, 'base64');
  }

  get size(): number {
    return this.byDigest.size;
  }

  get(token: string): V | undefined {
    return this.byDigest.get(TokenIndex.digest(token));
  }

  set(token: string, value: V): void {
    this.byDigest.set(TokenIndex.digest(token), value);
  }

  delete(token: string): void {
    this.byDigest.delete(TokenIndex.digest(token));
  }

  clear(): void {
    this.byDigest = new Map();
  }
}
