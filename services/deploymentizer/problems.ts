import { KitfedError } from '../core/errors.js';

/** One thing wrong with the inputs: the repo-relative file, the YAML path inside it, and what is wrong. */
export interface Problem {
  file: string;
  path: string;
  message: string;
}

/** Formats a problem the way every kitfed render error reads: `file: path: message`. */
export function formatProblem(p: Problem): string {
  return [p.file, p.path, p.message].filter((part) => part !== '').join(': ');
}

/**
 * Every problem found by one render, reported together. Thrown before anything is written,
 * so the previous output stays as it was. Over HTTP it is a 422 Invalid Status.
 */
export class RenderError extends KitfedError {
  override readonly name = 'RenderError';
  constructor(readonly problems: Problem[]) {
    super(
      `render failed with ${problems.length} problem${problems.length === 1 ? '' : 's'}:\n${problems.map((p) => `  ${formatProblem(p)}`).join('\n')}`,
      422,
      'Invalid',
      {
        kind: 'RenderInput',
        causes: problems.map((p) => ({ field: [p.file, p.path].filter(Boolean).join(': '), message: p.message })),
      },
    );
  }
}

/** Collects problems while validation goes on, so every one is reported, not just the first. */
export class Problems {
  readonly list: Problem[] = [];
  add(file: string, path: string, message: string): void {
    this.list.push({ file, path, message });
  }
  get size(): number {
    return this.list.length;
  }
  /** Throws a RenderError when anything was collected. */
  throwIfAny(): void {
    if (this.list.length > 0) throw new RenderError(this.list);
  }
}

/** Appends one YAML path segment: `a.b` + `c` → `a.b.c`; numbers become `[n]`. */
export function joinPath(base: string, segment: string | number): string {
  if (typeof segment === 'number') return `${base}[${segment}]`;
  return base === '' ? segment : `${base}.${segment}`;
}
