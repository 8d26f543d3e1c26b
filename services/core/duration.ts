const UNITS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const;

/**
 * `"90s"`, `"1500ms"`, `"5m"`, `"1h"` → milliseconds; a bare number is in `bareUnit`. Undefined when
 * `text` is not a duration (callers say which flag or field was wrong).
 */
export function parseDuration(text: string, bareUnit: keyof typeof UNITS): number | undefined {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!m) return undefined;
  return Math.round(Number(m[1]) * UNITS[(m[2] as keyof typeof UNITS | undefined) ?? bareUnit]);
}
