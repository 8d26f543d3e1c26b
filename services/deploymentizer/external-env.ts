/**
 * "External" env entries (`external: true`) take their value from the CI environment.
 *
 * kit wrote those values into the rendered manifest in plaintext. kitfed, by default, puts a
 * placeholder in the template view; after rendering, an env entry `{name, value: <placeholder>}`
 * becomes `valueFrom.secretKeyRef` into a per-resource Secret `<resource>-external-env`, and a
 * placeholder inside a Secret's `data`/`stringData` is replaced by the value (that is where it belongs).
 * Anywhere else is an error. `inline` mode keeps kit's behaviour (values written where templates put them).
 */
import { randomBytes } from 'node:crypto';
import { isMap, isScalar, isSeq, parseDocument, type Document, type Node, type YAMLMap } from 'yaml';
import type { EnvEntry } from './repo.js';
import type { Problems } from './problems.js';

export type ExternalMode = 'secret' | 'inline';

export interface ExternalRef {
  placeholder: string;
  key: string;
  value: string;
}

export interface SecretUse {
  secretName: string;
  namespace: string | undefined;
  keys: Map<string, string>;
}

export class ExternalEnv {
  private readonly nonce = randomBytes(8).toString('hex');
  private counter = 0;
  constructor(
    readonly mode: ExternalMode,
    private readonly env: Record<string, string | undefined>,
  ) {}

  /** The value to put in the view for an external entry, or undefined (problem recorded) when unavailable. */
  resolve(entry: EnvEntry, refs: ExternalRef[], file: string, path: string, problems: Problems): string | undefined {
    const raw = this.env[entry.name];
    if (raw === undefined || raw === '') {
      problems.add(file, path, `env ${entry.name} was not available as an external ENV`);
      return undefined;
    }
    const value = Buffer.from(raw, 'utf8').toString(entry.encoding ?? 'utf8');
    if (this.mode === 'inline') return value;
    const existing = refs.find((r) => r.key === entry.name);
    if (existing) {
      if (existing.value === value) return existing.placeholder;
      problems.add(file, path, `external env ${entry.name} is used twice in this resource with different encodings`);
      return undefined;
    }
    const placeholder = `kitfed-external-${this.nonce}-${this.counter++}`;
    refs.push({ placeholder, key: entry.name, value });
    return placeholder;
  }

  mentions(text: string): boolean {
    return this.mode === 'secret' && text.includes(`kitfed-external-${this.nonce}-`);
  }
}

function replaceIn(text: string, refs: ExternalRef[]): string {
  let out = text;
  for (const r of refs) out = out.replaceAll(r.placeholder, r.value);
  return out;
}

function isEnvEntry(map: YAMLMap): boolean {
  return map.has('name') && map.has('value');
}

interface WalkState {
  refs: ExternalRef[];
  secretName: string;
  used: Map<string, string>;
  bad: string[];
  isSecret: boolean;
}

function walk(node: unknown, path: string, state: WalkState): void {
  if (isMap(node)) {
    if (isEnvEntry(node)) {
      const v = node.get('value', true);
      const ref = isScalar(v) ? state.refs.find((r) => r.placeholder === v.value) : undefined;
      if (ref) {
        node.delete('value');
        node.set('valueFrom', { secretKeyRef: { name: state.secretName, key: ref.key } });
        state.used.set(ref.key, ref.value);
      }
    }
    for (const pair of node.items) {
      const key = isScalar(pair.key) ? String(pair.key.value) : '?';
      const child = path === '' ? key : `${path}.${key}`;
      if (
        state.isSecret &&
        (path === 'data' || path === 'stringData') &&
        isScalar(pair.value) &&
        typeof pair.value.value === 'string'
      ) {
        pair.value.value = replaceIn(pair.value.value, state.refs);
      } else walk(pair.value, child, state);
    }
  } else if (isSeq(node)) {
    node.items.forEach((item, i) => walk(item, `${path}[${i}]`, state));
  } else if (
    isScalar(node) &&
    typeof node.value === 'string' &&
    state.refs.some((r) => (node.value as string).includes(r.placeholder))
  ) {
    state.bad.push(path);
  }
}

/**
 * Rewrites one rendered document: placeholders become secretKeyRefs or Secret data.
 * Returns the new text and the Secret keys it refers to; problems for any other use.
 */
export function bindExternal(
  text: string,
  refs: ExternalRef[],
  secretName: string,
  file: string,
  problems: Problems,
): { text: string; used: Map<string, string>; doc: Document } | undefined {
  // YAML 1.1, as Kubernetes reads manifests: `0777` stays octal and is written back as `0777`.
  const doc = parseDocument(text, { version: '1.1' });
  if (doc.errors.length > 0) return undefined;
  const root = doc.contents as Node | null;
  const kind = isMap(root) ? root.get('kind') : undefined;
  const state: WalkState = { refs, secretName, used: new Map(), bad: [], isSecret: kind === 'Secret' };
  walk(root, '', state);
  for (const at of state.bad) {
    problems.add(
      file,
      at,
      'an external env value is used outside a container env entry or Secret data; render it into an env entry or a Secret, or use --inline-external-env',
    );
  }
  if (state.bad.length > 0) return undefined;
  return { text: doc.toString({ lineWidth: 0 }), used: state.used, doc };
}
