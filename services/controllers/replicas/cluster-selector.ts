/**
 * The `federation.alpha.kubernetes.io/cluster-selector` annotation (Federation v1 JSON syntax,
 * reference §3.6): a JSON array of `{key, operator, values}` requirements, ANDed, matched against
 * the labels of the Cluster object. Used by the replica controller until the shared helper lands.
 */
import { KitfedError } from '../../core/errors.js';

export const CLUSTER_SELECTOR_ANNOTATION = 'federation.alpha.kubernetes.io/cluster-selector';

export interface ClusterRequirement {
  key: string;
  operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist' | 'Equals' | 'NotEquals' | 'GreaterThan' | 'LessThan';
  values: string[];
}

const OPERATORS: Record<string, ClusterRequirement['operator']> = {
  in: 'In', In: 'In',
  notin: 'NotIn', NotIn: 'NotIn',
  exists: 'Exists', Exists: 'Exists',
  '!': 'DoesNotExist', DoesNotExist: 'DoesNotExist',
  '=': 'Equals', '==': 'Equals',
  '!=': 'NotEquals',
  gt: 'GreaterThan', Gt: 'GreaterThan', '>': 'GreaterThan',
  lt: 'LessThan', Lt: 'LessThan', '<': 'LessThan',
};

const invalid = (message: string): KitfedError => new KitfedError(`invalid cluster selector: ${message}`, 400, 'BadRequest', { causes: [{ field: `metadata.annotations[${CLUSTER_SELECTOR_ANNOTATION}]`, message }] });

/** Parses the annotation value; `undefined` (annotation absent) selects every cluster. Throws a 400 KitfedError. */
export function parseClusterSelector(value: string | undefined): ClusterRequirement[] {
  if (value === undefined) return [];
  let doc: unknown;
  try {
    doc = JSON.parse(value);
  } catch (err) {
    throw invalid(`invalid JSON: ${(err as Error).message}`);
  }
  if (doc === null) return [];
  if (!Array.isArray(doc)) throw invalid('must be a JSON array of {"key","operator","values"}');
  return doc.map((r: unknown, i) => {
    if (typeof r !== 'object' || r === null || Array.isArray(r)) throw invalid(`[${i}]: must be a JSON object`);
    const { key, operator, values } = r as { key?: unknown; operator?: unknown; values?: unknown };
    if (typeof key !== 'string' || key === '') throw invalid(`[${i}].key: must be a non-empty string`);
    const op = typeof operator === 'string' ? OPERATORS[operator] : undefined;
    if (!op || !Object.hasOwn(OPERATORS, operator as string)) throw invalid(`[${i}].operator: ${JSON.stringify(operator)} is not a valid operator`);
    if (values !== undefined && values !== null && (!Array.isArray(values) || values.some((v) => typeof v !== 'string'))) throw invalid(`[${i}].values: must be an array of strings`);
    const vals = (values as string[] | null | undefined) ?? [];
    switch (op) {
      case 'In':
      case 'NotIn':
        if (vals.length === 0) throw invalid(`[${i}].values: must have at least one value for ${String(operator)}`);
        break;
      case 'Exists':
      case 'DoesNotExist':
        if (vals.length !== 0) throw invalid(`[${i}].values: must be empty for ${String(operator)}`);
        break;
      case 'Equals':
      case 'NotEquals':
        if (vals.length !== 1) throw invalid(`[${i}].values: must have exactly one value for ${String(operator)}`);
        break;
      case 'GreaterThan':
      case 'LessThan':
        if (vals.length !== 1 || !/^-?\d+$/.test(vals[0]!)) throw invalid(`[${i}].values: must be exactly one integer for ${String(operator)}`);
        break;
    }
    return { key, operator: op, values: vals };
  });
}

/** True when the cluster's labels satisfy every requirement. */
export function clusterMatches(requirements: readonly ClusterRequirement[], labels: Readonly<Record<string, string>> | undefined): boolean {
  const l = labels ?? {};
  return requirements.every((r) => {
    const has = Object.hasOwn(l, r.key);
    const v = has ? l[r.key]! : '';
    switch (r.operator) {
      case 'In':
        return has && r.values.includes(v);
      case 'NotIn':
        return !has || !r.values.includes(v);
      case 'Exists':
        return has;
      case 'DoesNotExist':
        return !has;
      case 'Equals':
        return has && v === r.values[0];
      case 'NotEquals':
        return !has || v !== r.values[0];
      case 'GreaterThan':
      case 'LessThan': {
        if (!has || !/^-?\d+$/.test(v)) return false;
        const a = BigInt(v);
        const b = BigInt(r.values[0]!);
        return r.operator === 'GreaterThan' ? a > b : a < b;
      }
    }
  });
}
