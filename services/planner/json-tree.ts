/**
 * Strict JSON in, a syntax tree out that still has what `JSON.parse` throws away and Go's
 * `encoding/json` looks at: the literal text of numbers (`1.0` is not an integer to Go, `2^63`
 * does not fit an int64) and repeated keys. `JSON.parse` checks the syntax; the `yaml` library
 * (YAML 1.2 is a superset of JSON) builds the tree with integers as BigInt.
 */
import { isMap, isScalar, isSeq, parseDocument, type Node, type Pair } from 'yaml';

export type JsonNode = Node | null;

export type ParseOutcome = { ok: true; root: JsonNode } | { ok: false; message: string };

export function parseJsonTree(text: string): ParseOutcome {
  try {
    JSON.parse(text);
  } catch (err) {
    return { ok: false, message: err instanceof Error ? err.message : String(err) };
  }
  const doc = parseDocument(text, { uniqueKeys: false, intAsBigInt: true, schema: 'core', prettyErrors: false });
  if (doc.errors.length > 0) return { ok: false, message: doc.errors[0]!.message };
  return { ok: true, root: doc.contents ?? null };
}

export const isNull = (n: JsonNode): boolean => n === null || (isScalar(n) && n.value === null);

/** The object's members in document order (repeated keys included), or undefined if not an object. */
export function members(n: JsonNode): Array<[string, JsonNode]> | undefined {
  if (!isMap(n)) return undefined;
  return n.items.map((p: Pair<unknown, unknown>) => [
    String(isScalar(p.key) ? p.key.value : p.key),
    (p.value ?? null) as JsonNode,
  ]);
}

export function elements(n: JsonNode): JsonNode[] | undefined {
  return isSeq(n) ? n.items.map((i) => (i ?? null) as JsonNode) : undefined;
}

export type Scalar =
  | { kind: 'int'; value: bigint }
  | { kind: 'number' }
  | { kind: 'string'; value: string }
  | { kind: 'bool'; value: boolean }
  | { kind: 'null' }
  | { kind: 'other' };

export function scalar(n: JsonNode): Scalar {
  if (n === null) return { kind: 'null' };
  if (!isScalar(n)) return { kind: 'other' };
  const v: unknown = n.value;
  if (v === null) return { kind: 'null' };
  if (typeof v === 'bigint') return { kind: 'int', value: v };
  if (typeof v === 'number') return { kind: 'number' };
  if (typeof v === 'string') return { kind: 'string', value: v };
  if (typeof v === 'boolean') return { kind: 'bool', value: v };
  return { kind: 'other' };
}
