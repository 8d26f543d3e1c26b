/** A fetch answer as CLI commands report it: the status, and the body as JSON when it parses, else its text. */
export async function answerOf(res: Response): Promise<{ status: number; body: unknown }> {
  const text = await res.text();
  try {
    return { status: res.status, body: JSON.parse(text) as unknown };
  } catch {
    return { status: res.status, body: text };
  }
}

/**
 * Whether a request's `If-None-Match` (a list of entity tags, or `*`) matches the current ETag, with
 * weak comparison (RFC 9110 §13.1.2): a server answers 304 when it does.
 */
export function matchesEtag(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  const strip = (t: string) => t.trim().replace(/^W\//, '');
  return header.split(',').some((t) => t.trim() === '*' || strip(t) === strip(etag));
}
