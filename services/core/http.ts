/** A fetch answer as CLI commands report it: the status, and the body as JSON when it parses, else its text. */
export async function answerOf(res: Response): Promise<{ status: number; body: unknown }> {
  const text = await res.text();
  try {
    return { status: res.status, body: JSON.parse(text) as unknown };
  } catch {
    return { status: res.status, body: text };
  }
}
