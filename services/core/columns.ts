/**
 * Text tables as kubectl prints them: a header row, then one row per item, each column as wide as its
 * widest cell and three spaces from the next, no borders and no trailing spaces (kubectl's tabwriter
 * settings). Widths count code points, as kubectl counts runes. `paint` styles a cell after it is padded,
 * so colour codes never count towards a width. Every kitfed command prints its tables through this.
 */
export function columns(
  headers: readonly string[],
  rows: ReadonlyArray<ReadonlyArray<string | number>>,
  paint?: (text: string, row: number, column: number) => string,
): string {
  const cells = rows.map((r) => headers.map((_, i) => String(r[i] ?? '')));
  const width = (s: string) => [...s].length;
  const widths = headers.map((h, i) => Math.max(width(h), ...cells.map((r) => width(r[i]!))));
  const line = (r: readonly string[], row: number) =>
    r
      .map((c, i) => {
        const last = i === r.length - 1;
        // A multi-line last cell (an error) continues under its own column.
        const start = widths.slice(0, i).reduce((a, w) => a + w + 3, 0);
        const padded = last ? c.replaceAll('\n', `\n${' '.repeat(start)}`) : c + ' '.repeat(widths[i]! - width(c) + 3);
        return paint && row >= 0 ? paint(padded, row, i) : padded;
      })
      .join('')
      .trimEnd();
  return `${[line(headers, -1), ...cells.map(line)].join('\n')}\n`;
}
