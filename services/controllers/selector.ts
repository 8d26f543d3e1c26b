/**
 * The v1 cluster selector (`federation.alpha.kubernetes.io/cluster-selector`): a JSON array
 * of {key, operator, values} requirements, ANDed, matched against Cluster labels.
 */
export interface Requirement {
  key: string;
  operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist' | 'Equals' | 'NotEquals' | 'Gt' | 'Lt';
  values: string[];
}

export class SelectorError extends Error {
  override readonly name = 'SelectorError';
}

const OPERATORS: Record<string, Requirement['operator']> = {
  in: 'In',
  In: 'In',
  notin: 'NotIn',
  NotIn: 'NotIn',
  exists: 'Exists',
  Exists: 'Exists',
  '!': 'DoesNotExist',
  DoesNotExist: 'DoesNotExist',
  '=': 'Equals',
  '==': 'Equals',
  '!=': 'NotEquals',
  gt: 'Gt',
  Gt: 'Gt',
  '>': 'Gt',
  lt: 'Lt',
  Lt: 'Lt',
  '<': 'Lt',
};

/** Parses the annotation value; undefined/empty → no requirements (every cluster). Throws SelectorError. */
export function parseClusterSelector(value: string | undefined): Requirement[] {
  if (value === undefined || value.trim() === '') return [];
  let raw: unknown;
  try {
    raw = JSON.parse(value);
  } catch (err) {
    throw new SelectorError(`not valid JSON: ${(err as Error).message}`);
  }
  if (!Array.isArray(raw)) throw new SelectorError('must be a JSON array of {"key","operator","values"}');
  return raw.map((r: unknown, i) => {
    if (typeof r !== 'object' || r === null) throw new SelectorError(`[${i}]: must be an object`);
    const { key, operator, values } = r as { key?: unknown; operator?: unknown; values?: unknown };
    if (typeof key !== 'string' || key === '') throw new SelectorError(`[${i}].key: must be a non-empty string`);
    const op = typeof operator === 'string' ? OPERATORS[operator] : undefined;
    if (!op) throw new SelectorError(`[${i}].operator: ${JSON.stringify(operator)} is not a valid operator`);
    const vals = values === undefined || values === null ? [] : values;
    if (!Array.isArray(vals) || vals.some((v) => typeof v !== 'string'))
      throw new SelectorError(`[${i}].values: must be an array of strings`);
    const n = vals.length;
    if ((op === 'In' || op === 'NotIn') && n < 1)
      throw new SelectorError(`[${i}].values: ${operator} needs at least one value`);
    if ((op === 'Exists' || op === 'DoesNotExist') && n !== 0)
      throw new SelectorError(`[${i}].values: ${operator} takes no values`);
    if ((op === 'Equals' || op === 'NotEquals') && n !== 1)
      throw new SelectorError(`[${i}].values: ${operator} needs exactly one value`);
    if (op === 'Gt' || op === 'Lt') {
      if (n !== 1 || !/^-?\d+$/.test(vals[0] as string))
        throw new SelectorError(`[${i}].values: ${operator} needs exactly one integer value`);
    }
    return { key, operator: op, values: vals as string[] };
  });
}

export function matchesSelector(reqs: Requirement[], labels: Record<string, string> | undefined): boolean {
  const l = labels ?? {};
  return reqs.every((r) => {
    const has = Object.prototype.hasOwnProperty.call(l, r.key);
    const v = l[r.key];
    switch (r.operator) {
      case 'In':
      case 'Equals':
        return has && r.values.includes(v!);
      case 'NotIn':
      case 'NotEquals':
        return !has || !r.values.includes(v!);
      case 'Exists':
        return has;
      case 'DoesNotExist':
        return !has;
      case 'Gt':
      case 'Lt': {
        if (!has || !/^-?\d+$/.test(v!)) return false;
        const a = Number(v);
        const b = Number(r.values[0]);
        return r.operator === 'Gt' ? a > b : a < b;
      }
    }
    return false;
  });
}
