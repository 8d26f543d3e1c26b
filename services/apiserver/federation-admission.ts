import { validatePreferenceAnnotations } from '../planner/index.js';
import type { AdmissionPlugin } from './registry.js';

/**
 * Admission for the federation API: objects carrying replica preferences are rejected
 * with 422 naming the bad field, instead of Federation v1's silent fallback.
 */
export const replicaPreferencesAdmission: AdmissionPlugin = {
  name: 'ReplicaPreferences',
  kinds: ['ReplicaSet', 'Deployment'],
  admit: (_op, _t, obj) => validatePreferenceAnnotations(obj.metadata.annotations),
};

/** Every admission plugin of the federation API server. */
export function federationAdmission(): AdmissionPlugin[] {
  return [replicaPreferencesAdmission];
}
