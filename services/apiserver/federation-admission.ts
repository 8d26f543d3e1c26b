import { REPLICA_PREFERENCES_ANNOTATION, validateOverride } from '../controllers/index.js';
import type { StatusCause } from '../core/kube.js';
import { JOB_PREFERENCES_ANNOTATION, validatePreferenceAnnotations, validatePreferences } from '../planner/index.js';
import type { AdmissionPlugin } from './registry.js';

/**
 * Admission for the federation API: objects carrying replica preferences are rejected
 * with 422 naming the bad field, instead of Federation v1's silent fallback; so is an Indexed
 * Job asked to be split (job preferences).
 */
export const replicaPreferencesAdmission: AdmissionPlugin = {
  name: 'ReplicaPreferences',
  admit: (_op, t, obj) => {
    const annotations = obj.metadata.annotations;
    if (!annotations) return;
    const causes: StatusCause[] = validatePreferenceAnnotations(annotations);
    const generic = annotations[REPLICA_PREFERENCES_ANNOTATION];
    if (generic !== undefined)
      for (const e of validatePreferences(generic))
        causes.push({
          reason: 'FieldValueInvalid',
          field: `metadata.annotations[${REPLICA_PREFERENCES_ANNOTATION}]`,
          message: e.field ? `${e.field}: ${e.message}` : e.message,
        });
    if (
      t.group === 'batch' &&
      t.kind === 'Job' &&
      annotations[JOB_PREFERENCES_ANNOTATION] !== undefined &&
      (obj.spec as { completionMode?: unknown } | undefined)?.completionMode === 'Indexed'
    )
      causes.push({
        reason: 'FieldValueForbidden',
        field: `metadata.annotations[${JOB_PREFERENCES_ANNOTATION}]`,
        message:
          'an Indexed Job cannot be split over clusters: every copy would run the same indexes ' +
          '(remove the annotation to run the whole Job in every cluster, or use completionMode NonIndexed)',
      });
    return causes;
  },
};

/** Overrides are checked whole at admission: a bad path, operation or selector is a 422 naming it. */
export const overrideAdmission: AdmissionPlugin = {
  name: 'Override',
  kinds: ['Override'],
  admit: (_op, t, obj) => (t.group === 'federation.kitfed.io' ? validateOverride(obj) : undefined),
};

/** Every admission plugin of the federation API server. */
export function federationAdmission(): AdmissionPlugin[] {
  return [replicaPreferencesAdmission, overrideAdmission];
}
