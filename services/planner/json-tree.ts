/**
 * Strict JSON in, a syntax tree out that still has what `JSON.parse` throws away and Go's
 * `encoding/json` looks at: the literal text of numbers (`1.0` is not an integer to Go, `2^63`
 * does not fit an int64) and repeated keys. `JSON.parse` checks the syntax; a small scanner over
 * the text it accepted builds the tree, with integer literals as BigInt.
 */

export type Scalar =
  | { kind: 'int'; value: bigint }
  | { kind: 'number' }
  | { kind: 'string'; value: string }
  | { kind: 'bool'; value: boolean }
  | { kind: 'null' }
  | { kind: 'other' };

export type JsonNode =
  | { type: 'object'; members: Array<[string, JsonNode]> }
  | { type: 'array'; items: JsonNode[] }
  | { type: 'scalar'; scalar: Scalar }
  | null;

export type ParseOutcome = { ok: true; root: JsonNode } | { ok: false; message: string };

const SPACE = /[ \t\n\r]*/y;
const STRING = /"(?:[^"\\]|\\.)*"/y;
const NUMBER = /-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?/y;

/** A scanner over text that `JSON.parse` accepted, so it only has to find where each token ends. */
class Scanner {
  private pos = 0;
  constructor(private readonly text: string) {}

  private skipSpace(): void {
    SPACE.lastIndex = this.pos;
    SPACE.exec(this.text);
    this.pos = SPACE.lastIndex;
  }

  private match(re: RegExp): RegExpExecArray {
    re.lastIndex = this.pos;
    const m = re.exec(this.text);
    if (!m) throw new SyntaxError(`unexpected character at position ${this.pos}`);
    this.pos = re.lastIndex;
    return m;
  }

  private string(): string {
    return JSON.parse(this.match(STRING)[0]) as string;
  }

  /** The next character after white space, consumed. */
  private next(): string {
    this.skipSpace();
    return this.text[this.pos++] ?? '';
  }

  value(): JsonNode {
    this.skipSpace();
    const c = this.text[this.pos];
    if (c === '{') {
      this.pos++;
      const members: Array<[string, JsonNode]> = [];
      this.skipSpace();
      if (this.text[this.pos] === '}') this.pos++;
      else
        do {
          this.skipSpace();
          const key = this.string();
          this.next(); // ':'
          members.push([key, this.value()]);
        } while (this.next() === ',');
      return { type: 'object', members };
    }
    if (c === '[') {
      this.pos++;
      const items: JsonNode[] = [];
      this.skipSpace();
      if (this.text[this.pos] === ']') this.pos++;
      else
        do items.push(this.value());
        while (this.next() === ',');
      return { type: 'array', items };
    }
    if (c === '"') return { type: 'scalar', scalar: { kind: 'string', value: this.string() } };
    for (const [word, scalar] of LITERALS) {
      if (this.text.startsWith(word, this.pos)) {
        this.pos += word.length;
        return { type: 'scalar', scalar };
      }
    }
    const m = this.match(NUMBER);
    return {
      type: 'scalar',
      scalar: m[1] === undefined && m[2] === undefined ? { kind: 'int', value: BigInt(m[0]) } : { kind: 'number' },
    };
  }
}

const LITERALS: Array<[string, Scalar]> = [
  ['true', { kind: 'bool', value: true }],
  ['false', { kind: 'bool', value: false }],
  ['null', { kind: 'null' }],
];

export function parseJsonTree(text: string): ParseOutcome {
  try {
    JSON.parse(text);
  } catch (err) {
    return { ok: false, message: err instanceof Error ? err.message : String(err) };
  }
  try {
    return { ok: true, root: new Scanner(text).value() };
  } catch (err) {
    if (err instanceof RangeError) return { ok: false, message: 'JSON nested too deeply' };
    throw err;
  }
}

export const isNull = (n: JsonNode): boolean => n === null || (n.type === 'scalar' && n.scalar.kind === 'null');

/** The object's members in document order (repeated keys included), or undefined if not an object. */
export function members(n: JsonNode): Array<[string, JsonNode]> | undefined {
  return n?.type === 'object' ? n.members : undefined;
}

export function elements(n: JsonNode): JsonNode[] | undefined {
  return n?.type === 'array' ? n.items : undefined;
}

export function scalar(n: JsonNode): Scalar {
  if (n === null) return { kind: 'null' };
  return n.type === 'scalar' ? n.scalar : { kind: 'other' };
}
