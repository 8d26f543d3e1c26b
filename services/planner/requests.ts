/**
 * Decoding of `kitfed plan` requests: one JSON object or an array of them, each
 * `{preferences, totalReplicas, clusters, currentReplicas?, estimatedCapacity?, key?}`.
 * `preferences` is the decoded annotation (an object, read with v1's rules: case-insensitive
 * field names, ...) or the annotation text itself (a string); absent or null means the default.
 * Every integer v1 accepts is accepted (negative ones too) as long as a JavaScript number holds
 * it exactly. Other fields (such as a test vector's `name`, `expected`) are ignored.
 */
import { errors } from '../core/errors.js';
import { decodeMessage, decodePreferences, join, quoteKey, readInt, type Issue } from './decode.js';
import { elements, isNull, members, parseJsonTree, scalar, type JsonNode } from './json-tree.js';
import { parsePreferences } from './preferences.js';
import { defaultPreferences, setOwn, type PlanInput, type ReplicaPreferences } from './types.js';

export interface PlanRequests {
  /** True when the input was one object (print one result), false for an array. */
  single: boolean;
  inputs: PlanInput[];
}

class BadField extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(field ? `${field}: ${message}` : message);
  }
}

function int(node: JsonNode, field: string): number {
  const issues: Issue[] = [];
  const v = readInt(node, field, issues);
  const bad = issues.find((i) => i.v1Error || i.unsafe);
  if (bad) throw new BadField(field, decodeMessage(bad));
  if (typeof v !== 'number') throw new BadField(field, 'must be an integer');
  return v;
}

function intRecord(node: JsonNode, field: string): Record<string, number> | undefined {
  if (node === undefined || isNull(node)) return undefined;
  const entries = members(node);
  if (!entries) throw new BadField(field, 'must be an object of cluster name to integer');
  const out: Record<string, number> = {};
  for (const [k, v] of entries) setOwn(out, k, int(v, `${field}${quoteKey(k)}`));
  return out;
}

function preferences(node: JsonNode | undefined, field: string): ReplicaPreferences {
  if (node === undefined || isNull(node)) return defaultPreferences();
  const s = scalar(node);
  if (s.kind === 'string') {
    try {
      return parsePreferences(s.value);
    } catch (err) {
      throw new BadField(field, err instanceof Error ? err.message : String(err));
    }
  }
  const { preferences: prefs, issues } = decodePreferences(node, field);
  const bad = issues.find((i) => i.v1Error || i.unsafe);
  if (bad) throw new BadField(bad.field, decodeMessage(bad));
  return prefs;
}

function strings(node: JsonNode | undefined, field: string): string[] {
  const items = node === undefined ? undefined : elements(node);
  if (!items) throw new BadField(field, 'must be an array of cluster names');
  return items.map((n, i) => {
    const s = scalar(n);
    if (s.kind !== 'string') throw new BadField(`${field}[${i}]`, 'must be a string');
    return s.value;
  });
}

function key(node: JsonNode, field: string): string {
  if (isNull(node)) return '';
  const s = scalar(node);
  if (s.kind !== 'string') throw new BadField(field, 'must be a string');
  return s.value;
}

function request(node: JsonNode, at: string): PlanInput {
  const fields = members(node);
  if (!fields) throw new BadField(at, 'must be an object');
  const f = new Map(fields);
  const total = f.get('totalReplicas');
  if (total === undefined) throw new BadField(join(at, 'totalReplicas'), 'is required');
  const input: PlanInput = {
    preferences: preferences(f.get('preferences'), join(at, 'preferences')),
    totalReplicas: int(total, join(at, 'totalReplicas')),
    clusters: strings(f.get('clusters'), join(at, 'clusters')),
    key: key(f.get('key') ?? null, join(at, 'key')),
  };
  const current = intRecord(f.get('currentReplicas') ?? null, join(at, 'currentReplicas'));
  const capacity = intRecord(f.get('estimatedCapacity') ?? null, join(at, 'estimatedCapacity'));
  if (current) input.currentReplicas = current;
  if (capacity) input.estimatedCapacity = capacity;
  return input;
}

/** Decodes the request text; throws a 400 KitfedError whose message names the bad field. */
export function decodePlanRequests(text: string): PlanRequests {
  const tree = parseJsonTree(text);
  if (!tree.ok) throw errors.badRequest(`input is not valid JSON: ${tree.message}`);
  try {
    const list = elements(tree.root);
    if (list) return { single: false, inputs: list.map((n, i) => request(n, `[${i}]`)) };
    return { single: true, inputs: [request(tree.root, '')] };
  } catch (err) {
    if (err instanceof BadField) throw errors.badRequest(err.message, [{ field: err.field, message: err.message }]);
    throw err;
  }
}
