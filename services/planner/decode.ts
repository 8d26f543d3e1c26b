/**
 * Decodes a preferences document the way Federation v1 did: Go `encoding/json` into structs
 * without json tags. That means: field names match case-insensitively (`Weight`, `WEIGHT`, and
 * `minRepliſas` with U+017F, as Go's fold does); unknown fields are ignored; `null` leaves a field
 * as it was (but `maxReplicas: null` means unbounded and `clusters: null` empties the map); a
 * repeated `clusters` key merges into the same map; a repeated cluster name replaces the entry;
 * numbers must be int64 literals (`1.0`, `1e2`, `"1"` are errors).
 *
 * The decoder never throws: it returns what v1 would have decoded and a list of issues, each
 * saying whether v1's decoder would have failed on it (v1 then silently used the default).
 */
import { members, scalar, isNull, type JsonNode } from './json-tree.js';
import { setOwn, type ClusterPreferences, type ReplicaPreferences } from './types.js';

export type IssueKind = 'syntax' | 'notObject' | 'notBoolean' | 'notInteger' | 'negative' | 'tooLarge';

export interface Issue {
  /** Path inside the document, e.g. `clusters["eu-1"].minReplicas` (`""` for the document itself). */
  field: string;
  kind: IssueKind;
  /** True when Go's decoder fails on it, i.e. v1 would have ignored the whole annotation. */
  v1Error: boolean;
  /** True when the value cannot be held exactly by a JavaScript number. */
  unsafe: boolean;
  detail?: string;
}

const INT64_MAX = 2n ** 63n - 1n;
const INT64_MIN = -(2n ** 63n);
const SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** Go's case-insensitive match of an object key against a field name (given in lower case). */
export function foldKey(key: string): string {
  return key
    .replace(/[A-Z]/g, (c) => c.toLowerCase())
    .replace(/\u017f/g, 's')
    .replace(/\u212a/g, 'k');
}

export const join = (base: string, name: string): string => (base ? `${base}.${name}` : name);
export const quoteKey = (name: string): string => `[${JSON.stringify(name)}]`;

/** Reads an int64 field: a number for a valid literal, `null` for JSON null, undefined on an issue. */
export function readInt(node: JsonNode, field: string, issues: Issue[]): number | null | undefined {
  const s = scalar(node);
  if (s.kind === 'null') return null;
  if (s.kind !== 'int') {
    issues.push({ field, kind: 'notInteger', v1Error: true, unsafe: false });
    return undefined;
  }
  const v = s.value;
  const outside = v > INT64_MAX || v < INT64_MIN;
  const unsafe = v > SAFE || v < -SAFE;
  if (v < 0n) issues.push({ field, kind: 'negative', v1Error: outside, unsafe });
  else if (unsafe) issues.push({ field, kind: 'tooLarge', v1Error: outside, unsafe });
  return outside ? undefined : Number(v);
}

function decodeCluster(node: JsonNode, field: string, issues: Issue[]): ClusterPreferences {
  const entry: ClusterPreferences = { minReplicas: 0, maxReplicas: null, weight: 0 };
  if (isNull(node)) return entry;
  const fields = members(node);
  if (!fields) {
    issues.push({ field, kind: 'notObject', v1Error: true, unsafe: false });
    return entry;
  }
  for (const [k, v] of fields) {
    const name = foldKey(k);
    if (name === 'minreplicas' || name === 'weight') {
      const n = readInt(v, join(field, k), issues);
      if (typeof n === 'number') entry[name === 'weight' ? 'weight' : 'minReplicas'] = n;
    } else if (name === 'maxreplicas') {
      const n = readInt(v, join(field, k), issues);
      if (n !== undefined) entry.maxReplicas = n;
    }
  }
  return entry;
}

function decodeClusters(
  node: JsonNode,
  field: string,
  into: Record<string, ClusterPreferences> | null,
  issues: Issue[],
): Record<string, ClusterPreferences> | null {
  if (isNull(node)) return null;
  const entries = members(node);
  if (!entries) {
    issues.push({ field, kind: 'notObject', v1Error: true, unsafe: false });
    return into;
  }
  const map = into ?? {};
  for (const [name, v] of entries) setOwn(map, name, decodeCluster(v, `${field}${quoteKey(name)}`, issues));
  return map;
}

/** Decodes a preferences document rooted at `node`; `base` prefixes every field path. */
export function decodePreferences(node: JsonNode, base = ''): { preferences: ReplicaPreferences; issues: Issue[] } {
  const issues: Issue[] = [];
  let rebalance = false;
  let clusters: Record<string, ClusterPreferences> | null = null;
  if (!isNull(node)) {
    const fields = members(node);
    if (!fields) issues.push({ field: base, kind: 'notObject', v1Error: true, unsafe: false });
    for (const [k, v] of fields ?? []) {
      const name = foldKey(k);
      if (name === 'rebalance') {
        const s = scalar(v);
        if (s.kind === 'bool') rebalance = s.value;
        else if (s.kind !== 'null')
          issues.push({ field: join(base, k), kind: 'notBoolean', v1Error: true, unsafe: false });
      } else if (name === 'clusters') {
        clusters = decodeClusters(v, join(base, k), clusters, issues);
      }
    }
  }
  return { preferences: { rebalance, clusters: clusters ?? {} }, issues };
}

/** The admission-time message for an issue. */
export function admissionMessage(issue: Issue): string {
  switch (issue.kind) {
    case 'syntax':
      return `invalid JSON: ${issue.detail ?? ''}`;
    case 'notObject':
      return 'must be a JSON object';
    case 'notBoolean':
      return 'must be a boolean';
    case 'notInteger':
    case 'negative':
      return 'must be a non-negative integer';
    case 'tooLarge':
      return `must be at most ${Number.MAX_SAFE_INTEGER}`;
  }
}

/** The message for an issue that Go's decoder (or a JavaScript number) cannot accept. */
export function decodeMessage(issue: Issue): string {
  if (issue.kind === 'syntax') return `invalid JSON: ${issue.detail ?? ''}`;
  if (issue.kind === 'notObject') return 'must be a JSON object';
  if (issue.kind === 'notBoolean') return 'must be a boolean';
  if (issue.kind === 'notInteger') return 'must be an integer';
  if (issue.unsafe || issue.v1Error)
    return `must be an integer between -${Number.MAX_SAFE_INTEGER} and ${Number.MAX_SAFE_INTEGER}`;
  return 'must be an integer';
}
