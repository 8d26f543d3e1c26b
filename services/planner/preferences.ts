import { errors } from '../core/errors.js';
import type { StatusCause } from '../core/kube.js';
import { admissionMessage, decodeMessage, decodePreferences, type Issue } from './decode.js';
import { parseJsonTree } from './json-tree.js';
import { PREFERENCE_ANNOTATIONS, defaultPreferences, getOwn, type ReplicaPreferences } from './types.js';

export interface FieldError {
  field: string;
  message: string;
}

function decodeText(value: string): { preferences: ReplicaPreferences; issues: Issue[] } {
  const tree = parseJsonTree(value);
  if (!tree.ok) {
    return {
      preferences: defaultPreferences(),
      issues: [{ field: '', kind: 'syntax', v1Error: true, unsafe: false, detail: tree.message }],
    };
  }
  return decodePreferences(tree.root);
}

const describe = (e: FieldError): string => (e.field ? `${e.field}: ${e.message}` : e.message);

/**
 * Parses a preferences annotation value as Federation v1 did (case-insensitive field names,
 * `"*"` wildcard, unknown fields ignored). An absent annotation gives the default
 * `{"rebalance":false,"clusters":{"*":{"weight":1}}}`. Unlike v1, which silently fell back to
 * that default, a value v1 could not decode throws a 400 KitfedError naming the field.
 * Values v1 decoded but `validatePreferences` rejects (negative numbers) are returned as decoded.
 */
export function parsePreferences(annotationValue: string | undefined): ReplicaPreferences {
  if (annotationValue === undefined) return defaultPreferences();
  const { preferences, issues } = decodeText(annotationValue);
  const fatal = issues.filter((i) => i.v1Error).map((i) => ({ field: i.field, message: decodeMessage(i) }));
  if (fatal.length > 0) {
    throw errors.badRequest(`invalid replica preferences: ${fatal.map(describe).join(', ')}`, fatal);
  }
  return preferences;
}

/**
 * Admission check of a preferences annotation value: every problem with the field it concerns,
 * e.g. `{field: 'clusters["eu-1"].minReplicas', message: 'must be a non-negative integer'}`;
 * `[]` when valid. Numbers must be non-negative integer literals up to 2^53-1; `null` is allowed
 * wherever v1 allowed it; unknown fields are ignored and `minReplicas > maxReplicas` is valid,
 * both as in v1. A syntax error has the field `""`.
 */
export function validatePreferences(annotationValue: string): FieldError[] {
  return decodeText(annotationValue).issues.map((i) => ({ field: i.field, message: admissionMessage(i) }));
}

/**
 * `validatePreferences` over an object's annotations, as Status causes for a 422:
 * field `metadata.annotations[<annotation>]`, message `<path>: <problem>`.
 */
export function validatePreferenceAnnotations(
  annotations: Readonly<Record<string, string>> | undefined,
): StatusCause[] {
  const causes: StatusCause[] = [];
  for (const name of PREFERENCE_ANNOTATIONS) {
    const value = getOwn(annotations, name);
    if (value === undefined) continue;
    for (const e of validatePreferences(value)) {
      causes.push({ reason: 'FieldValueInvalid', field: `metadata.annotations[${name}]`, message: describe(e) });
    }
  }
  return causes;
}
