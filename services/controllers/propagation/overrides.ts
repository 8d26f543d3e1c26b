/**
 * Per-cluster overrides: `federation.kitfed.io/v1beta1` `Override` objects in the federation
 * name target objects and, per cluster name or cluster label selector, a list of RFC 6902 JSON
 * patch operations and/or an RFC 7386 merge patch (docs/federation.md "Overrides"). Validation
 * (admission, 422 naming the field), targeting and deterministic application. Pure code.
 */
import fastJsonPatch from 'fast-json-patch';
import { cloneJson, isObject, parseApiVersion, type KubeObject, type StatusCause } from '../../core/kube.js';
import { selectorMatches } from '../../planner/index.js';
import { FEDERATION_NAMESPACE } from '../../core/controller/index.js';
import { KITFED_PREFIX } from '../constants.js';

type Obj = Record<string, unknown>;

export const OVERRIDE_API_VERSION = 'federation.kitfed.io/v1beta1';
export const OVERRIDE_KIND = 'Override';

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: Array<{ key: string; operator: string; values?: string[] }>;
}

export interface OverrideTarget {
  apiVersion: string;
  kind: string;
  name?: string;
  /** Only in Overrides of kitfed-system, which may target any namespace and cluster-scoped objects. */
  namespace?: string;
  labelSelector?: LabelSelector;
}

export interface JsonPatchOp {
  op: 'add' | 'remove' | 'replace' | 'move' | 'copy' | 'test';
  path: string;
  value?: unknown;
  from?: string;
}

export interface OverrideRule {
  /** Cluster names; with `clusterSelector` both must match; neither: every cluster. */
  clusters?: string[];
  clusterSelector?: LabelSelector;
  /** Applied after `mergePatch`. */
  jsonPatch?: JsonPatchOp[];
  mergePatch?: Obj;
}

export interface OverrideSpec {
  /** Lower first; equal priorities in namespace/name order. @default 0 */
  priority?: number;
  resourceSelectors: OverrideTarget[];
  rules: OverrideRule[];
}

export type OverrideObject = KubeObject & { spec: OverrideSpec };

export interface ClusterRef {
  name: string;
  labels?: Readonly<Record<string, string>> | undefined;
}

// ---- validation ----------------------------------------------------------------------------

const OPS = new Set(['add', 'remove', 'replace', 'move', 'copy', 'test']);
const SELECTOR_OPERATORS = ['DoesNotExist', 'Exists', 'In', 'NotIn'];

/** JSON pointer (RFC 6901) tokens of `path`, or an error message. */
function pointerTokens(path: string): string[] | string {
  if (path === '') return [];
  if (!path.startsWith('/')) return 'must be a JSON pointer starting with "/"';
  if (/~[^01]|~$/.test(path)) return 'has an invalid escape ("~" must be followed by 0 or 1)';
  return path
    .slice(1)
    .split('/')
    .map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/** Why an override may not touch this pointer (identity, type, status, kitfed's own markers), if it may not. */
function forbiddenPointer(tokens: string[]): string | undefined {
  const [top, sub, key] = tokens;
  if (top === undefined) return 'may not replace the whole object';
  if (top === 'apiVersion' || top === 'kind') return `may not change ${top}`;
  if (top === 'status') return 'may not change status (members write their own)';
  if (top === 'metadata') {
    if (sub !== 'labels' && sub !== 'annotations') return 'may only change metadata.labels and metadata.annotations';
    if (key?.startsWith(KITFED_PREFIX)) return `may not change kitfed's own ${sub} (${KITFED_PREFIX}*)`;
  }
  return undefined;
}

function validateSelector(sel: unknown, field: string, causes: StatusCause[]): void {
  if (!isObject(sel)) {
    causes.push({ reason: 'FieldValueInvalid', field, message: 'Invalid value: must be a label selector object' });
    return;
  }
  if (sel.matchLabels !== undefined) {
    if (!isObject(sel.matchLabels) || Object.values(sel.matchLabels).some((v) => typeof v !== 'string'))
      causes.push({
        reason: 'FieldValueInvalid',
        field: `${field}.matchLabels`,
        message: 'Invalid value: must be a map of strings',
      });
  }
  if (sel.matchExpressions !== undefined) {
    if (!Array.isArray(sel.matchExpressions)) {
      causes.push({
        reason: 'FieldValueInvalid',
        field: `${field}.matchExpressions`,
        message: 'Invalid value: must be a list',
      });
      return;
    }
    sel.matchExpressions.forEach((e: unknown, i) => {
      const f = `${field}.matchExpressions[${i}]`;
      if (!isObject(e)) {
        causes.push({ reason: 'FieldValueInvalid', field: f, message: 'Invalid value: must be an object' });
        return;
      }
      if (typeof e.key !== 'string' || e.key === '')
        causes.push({ reason: 'FieldValueRequired', field: `${f}.key`, message: 'Required value' });
      if (typeof e.operator !== 'string' || !SELECTOR_OPERATORS.includes(e.operator)) {
        causes.push({
          reason: 'FieldValueNotSupported',
          field: `${f}.operator`,
          message:
            `Unsupported value: ${JSON.stringify(e.operator)}: ` +
            `supported values: ${SELECTOR_OPERATORS.map((o) => `"${o}"`).join(', ')}`,
        });
        return;
      }
      const values = e.values;
      if (values !== undefined && (!Array.isArray(values) || values.some((v) => typeof v !== 'string'))) {
        causes.push({
          reason: 'FieldValueInvalid',
          field: `${f}.values`,
          message: 'Invalid value: must be a list of strings',
        });
        return;
      }
      const n = Array.isArray(values) ? values.length : 0;
      if ((e.operator === 'In' || e.operator === 'NotIn') && n === 0)
        causes.push({
          reason: 'FieldValueRequired',
          field: `${f}.values`,
          message: "Required value: must be specified when `operator` is 'In' or 'NotIn'",
        });
      if ((e.operator === 'Exists' || e.operator === 'DoesNotExist') && n > 0)
        causes.push({
          reason: 'FieldValueForbidden',
          field: `${f}.values`,
          message: "Forbidden: may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
        });
    });
  }
}

function validateMergePatch(patch: unknown, field: string, causes: StatusCause[]): void {
  if (!isObject(patch)) {
    causes.push({
      reason: 'FieldValueInvalid',
      field,
      message: 'Invalid value: must be a JSON object (RFC 7386 merge patch)',
    });
    return;
  }
  for (const [k, v] of Object.entries(patch)) {
    if (k !== 'metadata') {
      const why = forbiddenPointer([k]);
      if (why) causes.push({ reason: 'FieldValueForbidden', field: `${field}.${k}`, message: `Forbidden: ${why}` });
      continue;
    }
    if (!isObject(v)) {
      causes.push({
        reason: 'FieldValueInvalid',
        field: `${field}.metadata`,
        message: 'Invalid value: must be an object',
      });
      continue;
    }
    for (const [mk, mv] of Object.entries(v)) {
      const why =
        forbiddenPointer(['metadata', mk]) ??
        (isObject(mv)
          ? Object.keys(mv)
              .map((x) => forbiddenPointer(['metadata', mk, x]))
              .find(Boolean)
          : undefined);
      if (why)
        causes.push({ reason: 'FieldValueForbidden', field: `${field}.metadata.${mk}`, message: `Forbidden: ${why}` });
    }
  }
}

function validatePatchOp(op: unknown, field: string, causes: StatusCause[]): void {
  if (!isObject(op)) {
    causes.push({
      reason: 'FieldValueInvalid',
      field,
      message: 'Invalid value: must be a JSON patch operation object',
    });
    return;
  }
  if (typeof op.op !== 'string' || !OPS.has(op.op)) {
    causes.push({
      reason: 'FieldValueNotSupported',
      field: `${field}.op`,
      message:
        `Unsupported value: ${JSON.stringify(op.op)}: ` +
        'supported values: "add", "copy", "move", "remove", "replace", "test"',
    });
    return;
  }
  for (const which of ['path', ...(op.op === 'move' || op.op === 'copy' ? ['from'] : [])]) {
    const p = op[which];
    if (typeof p !== 'string') {
      causes.push({
        reason: 'FieldValueRequired',
        field: `${field}.${which}`,
        message: 'Required value: a JSON pointer',
      });
      continue;
    }
    const tokens = pointerTokens(p);
    if (typeof tokens === 'string') {
      causes.push({
        reason: 'FieldValueInvalid',
        field: `${field}.${which}`,
        message: `Invalid value: ${JSON.stringify(p)}: ${tokens}`,
      });
      continue;
    }
    // A test or copy source may read anything; everything else writes.
    const writes = which === 'path' ? op.op !== 'test' : op.op === 'move';
    const why = writes ? forbiddenPointer(tokens) : undefined;
    if (why)
      causes.push({
        reason: 'FieldValueForbidden',
        field: `${field}.${which}`,
        message: `Forbidden: ${JSON.stringify(p)} ${why}`,
      });
  }
  if ((op.op === 'add' || op.op === 'replace' || op.op === 'test') && !('value' in op))
    causes.push({
      reason: 'FieldValueRequired',
      field: `${field}.value`,
      message: `Required value: "${op.op}" needs a value`,
    });
}

/** Admission check of an Override: every problem with the field it concerns (422 causes). */
export function validateOverride(obj: KubeObject): StatusCause[] {
  const causes: StatusCause[] = [];
  const spec = obj.spec;
  if (!isObject(spec)) return [{ reason: 'FieldValueRequired', field: 'spec', message: 'Required value' }];
  if (spec.priority !== undefined && !Number.isInteger(spec.priority))
    causes.push({ reason: 'FieldValueInvalid', field: 'spec.priority', message: 'Invalid value: must be an integer' });
  const global = obj.metadata.namespace === FEDERATION_NAMESPACE;
  if (!Array.isArray(spec.resourceSelectors) || spec.resourceSelectors.length === 0)
    causes.push({
      reason: 'FieldValueRequired',
      field: 'spec.resourceSelectors',
      message: 'Required value: at least one target (apiVersion, kind, and name or labelSelector)',
    });
  else
    spec.resourceSelectors.forEach((t: unknown, i) => {
      const f = `spec.resourceSelectors[${i}]`;
      if (!isObject(t)) {
        causes.push({ reason: 'FieldValueInvalid', field: f, message: 'Invalid value: must be an object' });
        return;
      }
      for (const k of ['apiVersion', 'kind'])
        if (typeof t[k] !== 'string' || t[k] === '')
          causes.push({ reason: 'FieldValueRequired', field: `${f}.${k}`, message: 'Required value' });
      if (t.name !== undefined && (typeof t.name !== 'string' || t.name === ''))
        causes.push({
          reason: 'FieldValueInvalid',
          field: `${f}.name`,
          message: 'Invalid value: must be a non-empty string',
        });
      if (t.namespace !== undefined && !global)
        causes.push({
          reason: 'FieldValueForbidden',
          field: `${f}.namespace`,
          message:
            'Forbidden: an Override targets objects in its own namespace; ' +
            `only Overrides in ${FEDERATION_NAMESPACE} name other namespaces`,
        });
      if (t.labelSelector !== undefined) validateSelector(t.labelSelector, `${f}.labelSelector`, causes);
    });
  if (!Array.isArray(spec.rules) || spec.rules.length === 0)
    causes.push({ reason: 'FieldValueRequired', field: 'spec.rules', message: 'Required value: at least one rule' });
  else
    spec.rules.forEach((r: unknown, i) => {
      const f = `spec.rules[${i}]`;
      if (!isObject(r)) {
        causes.push({ reason: 'FieldValueInvalid', field: f, message: 'Invalid value: must be an object' });
        return;
      }
      if (
        r.clusters !== undefined &&
        (!Array.isArray(r.clusters) || r.clusters.some((c) => typeof c !== 'string' || c === ''))
      )
        causes.push({
          reason: 'FieldValueInvalid',
          field: `${f}.clusters`,
          message: 'Invalid value: must be a list of cluster names',
        });
      if (r.clusterSelector !== undefined) validateSelector(r.clusterSelector, `${f}.clusterSelector`, causes);
      if (r.jsonPatch === undefined && r.mergePatch === undefined)
        causes.push({ reason: 'FieldValueRequired', field: f, message: 'Required value: jsonPatch or mergePatch' });
      if (r.mergePatch !== undefined) validateMergePatch(r.mergePatch, `${f}.mergePatch`, causes);
      if (r.jsonPatch !== undefined) {
        if (!Array.isArray(r.jsonPatch))
          causes.push({
            reason: 'FieldValueInvalid',
            field: `${f}.jsonPatch`,
            message: 'Invalid value: must be a list of JSON patch operations',
          });
        else r.jsonPatch.forEach((op: unknown, j) => validatePatchOp(op, `${f}.jsonPatch[${j}]`, causes));
      }
    });
  return causes;
}

// ---- targeting ------------------------------------------------------------------------------

/** True when `override` names the federated object `obj` (group and kind, any version). */
export function targets(override: OverrideObject, obj: KubeObject): boolean {
  const ns = override.metadata.namespace;
  const global = ns === FEDERATION_NAMESPACE;
  if (!global && obj.metadata.namespace !== ns) return false;
  const group = parseApiVersion(obj.apiVersion).group;
  return (override.spec.resourceSelectors ?? []).some((t) => {
    if (!isObject(t) || t.kind !== obj.kind || parseApiVersion(String(t.apiVersion)).group !== group) return false;
    if (t.name !== undefined && t.name !== obj.metadata.name) return false;
    if (global && t.namespace !== undefined && t.namespace !== (obj.metadata.namespace ?? '')) return false;
    if (t.labelSelector !== undefined && !selectorMatches(t.labelSelector, obj.metadata.labels)) return false;
    return true;
  });
}

/** Overrides in the order they apply: priority, then namespace/name. */
export function orderOverrides(list: readonly OverrideObject[]): OverrideObject[] {
  const key = (o: OverrideObject) => `${o.metadata.namespace ?? ''}/${o.metadata.name ?? ''}`;
  return [...list].sort((a, b) => {
    const pa = typeof a.spec.priority === 'number' ? a.spec.priority : 0;
    const pb = typeof b.spec.priority === 'number' ? b.spec.priority : 0;
    if (pa !== pb) return pa - pb;
    return key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0;
  });
}

function ruleMatches(rule: OverrideRule, cluster: ClusterRef): boolean {
  if (rule.clusters !== undefined && !rule.clusters.includes(cluster.name)) return false;
  if (rule.clusterSelector !== undefined && !selectorMatches(rule.clusterSelector, cluster.labels)) return false;
  return true;
}

/** True when some rule of these (ordered) overrides applies to `cluster`. */
export function affects(overrides: readonly OverrideObject[], cluster: ClusterRef): boolean {
  return overrides.some((o) => (o.spec.rules ?? []).some((r) => isObject(r) && ruleMatches(r, cluster)));
}

function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return cloneJson(patch);
  const out: Obj = isObject(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

/**
 * `obj` as `cluster` gets it: every matching rule of the (ordered) overrides, in order, its merge
 * patch then its JSON patch. A patch that does not apply (e.g. `replace` of a missing path) is an
 * error naming the override, rule and operation; nothing is half-applied.
 */
export function applyOverrides(
  obj: KubeObject,
  overrides: readonly OverrideObject[],
  cluster: ClusterRef,
): { object: KubeObject; applied: string[] } | { error: string } {
  let cur: unknown = obj;
  const applied: string[] = [];
  for (const o of overrides) {
    const id = `${o.metadata.namespace}/${o.metadata.name}`;
    const rules = Array.isArray(o.spec.rules) ? o.spec.rules : [];
    for (const [i, rule] of rules.entries()) {
      if (!isObject(rule) || !ruleMatches(rule, cluster)) continue;
      if (rule.mergePatch !== undefined) cur = mergePatch(cur, rule.mergePatch);
      const ops = Array.isArray(rule.jsonPatch) ? rule.jsonPatch : [];
      for (const [j, op] of ops.entries()) {
        try {
          cur = fastJsonPatch.applyOperation(cur, op as fastJsonPatch.Operation, true, false).newDocument;
        } catch (err) {
          const message = (err instanceof Error ? err.message : String(err)).split('\n')[0];
          return {
            error: `override ${id} rules[${i}].jsonPatch[${j}] (${op.op} ${op.path}): ${message}`,
          };
        }
      }
      applied.push(`${id} rules[${i}]`);
    }
  }
  if (!isObject(cur)) return { error: 'overrides produced something that is not an object' };
  return { object: cur as KubeObject, applied };
}

// ---- effective object diff (kitfed describe) ---------------------------------------------------

export interface FieldChange {
  path: string;
  /** undefined: absent. */
  from?: unknown;
  to?: unknown;
}

/** The leaf-level differences between `a` and `b`, as JSON pointers, sorted. */
export function diffObjects(a: unknown, b: unknown, path = ''): FieldChange[] {
  // An object on one side only is compared field by field with nothing.
  if ((isObject(a) || a === undefined) && (isObject(b) || b === undefined) && (a !== undefined || b !== undefined)) {
    const x = isObject(a) ? a : {};
    const y = isObject(b) ? b : {};
    const keys = [...new Set([...Object.keys(x), ...Object.keys(y)])].sort();
    return keys.flatMap((k) => diffObjects(x[k], y[k], `${path}/${k.replace(/~/g, '~0').replace(/\//g, '~1')}`));
  }
  if (Array.isArray(a) && Array.isArray(b) && a.length === b.length)
    return a.flatMap((x, i) => diffObjects(x, b[i], `${path}/${i}`));
  if (JSON.stringify(a) === JSON.stringify(b)) return [];
  const change: FieldChange = { path: path || '/' };
  if (a !== undefined) change.from = a;
  if (b !== undefined) change.to = b;
  return [change];
}
