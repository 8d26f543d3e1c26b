import { errors } from '../core/errors.js';

/**
 * Label selectors in kube's string syntax (`a=b,c!=d,e in (x,y),f notin (z),g,!h`) and
 * field selectors (`metadata.name=x,metadata.namespace!=y`).
 */

export type Requirement = { key: string; op: 'in' | 'notin'; values: string[] } | { key: string; op: 'exists' | '!' };

export type Selector = Requirement[];

const KEY = /^([a-z0-9]([-a-z0-9.]*[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;

export function parseLabelSelector(text: string): Selector {
  const out: Selector = [];
  const s = text.trim();
  let i = 0;
  const fail = (why: string): never => {
    throw errors.badRequest(`unable to parse requirement: ${why} (in label selector "${text}")`);
  };
  const skipWs = () => {
    while (i < s.length && s[i] === ' ') i++;
  };
  const readKey = () => {
    skipWs();
    const start = i;
    while (i < s.length && !' =!,()'.includes(s[i]!)) i++;
    const key = s.slice(start, i);
    if (!KEY.test(key)) fail(`invalid label key "${key}"`);
    return key;
  };
  const readValue = () => {
    skipWs();
    const start = i;
    while (i < s.length && !' ,()'.includes(s[i]!)) i++;
    return s.slice(start, i);
  };
  while (i < s.length) {
    skipWs();
    if (s[i] === '!') {
      i++;
      out.push({ key: readKey(), op: '!' });
    } else {
      const key = readKey();
      skipWs();
      if (s.startsWith('==', i) || s.startsWith('!=', i)) {
        const op = s[i] === '!' ? 'notin' : 'in';
        i += 2;
        out.push({ key, op, values: [readValue()] });
      } else if (s[i] === '=') {
        i++;
        out.push({ key, op: 'in', values: [readValue()] });
      } else if (/^(in|notin)\s*\(/.test(s.slice(i))) {
        const op = s.startsWith('notin', i) ? 'notin' : 'in';
        i += op.length;
        skipWs();
        i++; // (
        const values: string[] = [];
        for (;;) {
          values.push(readValue());
          skipWs();
          if (s[i] === ',') i++;
          else if (s[i] === ')') {
            i++;
            break;
          } else fail(`expected "," or ")" at position ${i}`);
        }
        out.push({ key, op, values: values.filter((v) => v !== '') });
      } else {
        out.push({ key, op: 'exists' });
      }
    }
    skipWs();
    if (i < s.length) {
      if (s[i] !== ',') fail(`unexpected "${s[i]}" at position ${i}`);
      i++;
    }
  }
  return out;
}

/** Converts a `metav1.LabelSelector` (matchLabels/matchExpressions) to requirements. */
export function fromLabelSelector(
  sel:
    | {
        matchLabels?: Record<string, string>;
        matchExpressions?: Array<{ key: string; operator: string; values?: string[] }>;
      }
    | undefined,
): Selector {
  const out: Selector = [];
  for (const [key, value] of Object.entries(sel?.matchLabels ?? {})) out.push({ key, op: 'in', values: [value] });
  for (const e of sel?.matchExpressions ?? []) {
    const op = e.operator.toLowerCase();
    if (op === 'in' || op === 'notin') out.push({ key: e.key, op, values: e.values ?? [] });
    else if (op === 'exists') out.push({ key: e.key, op: 'exists' });
    else if (op === 'doesnotexist') out.push({ key: e.key, op: '!' });
  }
  return out;
}

export function matchesLabels(selector: Selector, labels: Record<string, string> | undefined): boolean {
  const l = labels ?? {};
  for (const r of selector) {
    const has = Object.prototype.hasOwnProperty.call(l, r.key);
    switch (r.op) {
      case 'exists':
        if (!has) return false;
        break;
      case '!':
        if (has) return false;
        break;
      case 'in':
        if (!has || !r.values.includes(l[r.key]!)) return false;
        break;
      case 'notin':
        if (has && r.values.includes(l[r.key]!)) return false;
        break;
    }
  }
  return true;
}

export interface FieldRequirement {
  field: string;
  value: string;
  negate: boolean;
}

/** Parses `a=b,c!=d`. `supported` lists the field paths the type allows. */
export function parseFieldSelector(text: string, supported: readonly string[]): FieldRequirement[] {
  const out: FieldRequirement[] = [];
  for (const part of text
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const m = /^([^!=]+)(==|=|!=)(.*)$/.exec(part);
    if (!m) throw errors.badRequest(`invalid field selector: "${part}"`);
    const field = m[1]!.trim();
    if (!supported.includes(field)) {
      throw errors.badRequest(`field label not supported: ${field}`);
    }
    out.push({ field, value: m[3]!.trim(), negate: m[2] === '!=' });
  }
  return out;
}

export function matchesFields(reqs: readonly FieldRequirement[], obj: unknown): boolean {
  for (const r of reqs) {
    let cur: unknown = obj;
    for (const p of r.field.split('.'))
      cur = typeof cur === 'object' && cur !== null ? (cur as Record<string, unknown>)[p] : undefined;
    const v = cur === undefined || cur === null ? '' : String(cur);
    if ((v === r.value) === r.negate) return false;
  }
  return true;
}

/** Renders requirements in kube's string syntax (the `status.selector` of a Scale). */
export function selectorToString(selector: Selector): string {
  return selector
    .map((r) => {
      if (r.op === 'exists') return r.key;
      if (r.op === '!') return `!${r.key}`;
      if (r.op !== 'in' && r.op !== 'notin') return '';
      if (r.values.length === 1) return `${r.key}${r.op === 'in' ? '=' : '!='}${r.values[0]}`;
      return `${r.key} ${r.op} (${r.values.join(',')})`;
    })
    .join(',');
}
