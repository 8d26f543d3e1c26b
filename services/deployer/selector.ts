/**
 * Kubernetes label selectors in their string form (`a=b,c!=d,e in (x,y),!f,g`), parsed once and
 * matched against label maps. Used for kit's `kit-deployer/dependency-selector` annotation.
 */

export type Requirement =
  { op: 'exists' | 'not-exists'; key: string } | { op: 'in' | 'notin'; key: string; values: string[] };

const KEY = /^([a-z0-9A-Z]([-a-z0-9A-Z_.]*[a-z0-9A-Z])?\/)?[a-z0-9A-Z]([-a-z0-9A-Z_.]*[a-z0-9A-Z])?$/;
const VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

/** Splits on commas outside parentheses. */
function terms(selector: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of selector) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      out.push(cur.trim());
      cur = '';
    } else cur += ch;
  }
  if (cur.trim() || out.length > 0) out.push(cur.trim());
  return out;
}

function checkKey(key: string, selector: string): string {
  if (!KEY.test(key))
    throw new Error(`invalid label selector ${JSON.stringify(selector)}: bad key ${JSON.stringify(key)}`);
  return key;
}

function checkValues(values: string[], selector: string): string[] {
  for (const v of values)
    if (!VALUE.test(v))
      throw new Error(`invalid label selector ${JSON.stringify(selector)}: bad value ${JSON.stringify(v)}`);
  return values;
}

function parseTerm(term: string, selector: string): Requirement {
  const set = /^(\S+)\s+(in|notin)\s*\(([^)]*)\)$/.exec(term);
  if (set) {
    const values = set[3]!.split(',').map((v) => v.trim());
    return { op: set[2] as 'in' | 'notin', key: checkKey(set[1]!, selector), values: checkValues(values, selector) };
  }
  const eq = /^([^!=\s]+)\s*(==|=|!=)\s*(\S*)$/.exec(term);
  if (eq)
    return {
      op: eq[2] === '!=' ? 'notin' : 'in',
      key: checkKey(eq[1]!, selector),
      values: checkValues([eq[3]!], selector),
    };
  if (term.startsWith('!')) return { op: 'not-exists', key: checkKey(term.slice(1).trim(), selector) };
  return { op: 'exists', key: checkKey(term, selector) };
}

/**
 * Parses a selector; throws Error with the selector in the message when it is malformed. An empty selector matches
 * everything.
 */
export function parseSelector(selector: string): Requirement[] {
  return terms(selector).map((t) => {
    if (!t) throw new Error(`invalid label selector ${JSON.stringify(selector)}: empty term`);
    return parseTerm(t, selector);
  });
}

export function matches(requirements: Requirement[], labels: Record<string, string> | undefined): boolean {
  const l = labels ?? {};
  return requirements.every((r) => {
    const has = Object.prototype.hasOwnProperty.call(l, r.key);
    switch (r.op) {
      case 'exists':
        return has;
      case 'not-exists':
        return !has;
      case 'in':
        return has && r.values.includes(l[r.key]!);
      case 'notin':
        return !has || !r.values.includes(l[r.key]!);
    }
  });
}
