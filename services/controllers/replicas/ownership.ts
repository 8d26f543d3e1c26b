/**
 * How the replica controller marks and recognises the member objects it manages.
 * Member objects carry the managed-by label and the federated object's uid; an object of the
 * same name without them (or with another uid) is not kitfed's and is left alone and reported,
 * unless the federated object opts into adoption.
 */
import type { KubeObject } from '../../core/kube.js';

/** Label on every member object kitfed created: `kitfed.io/managed-by: kitfed`. */
export const MANAGED_BY_LABEL = 'kitfed.io/managed-by';
export const MANAGED_BY_VALUE = 'kitfed';
/** Annotation on member objects: the uid of the federated object they were created from. */
export const FEDERATED_UID_ANNOTATION = 'kitfed.io/federated-uid';
/** Annotation on a federated object: `"true"` lets kitfed take over same-named member objects it did not create. */
export const ADOPT_ANNOTATION = 'kitfed.io/adopt';

/** True when `member` was created by kitfed for `federated` (same uid). */
export function ownedBy(member: KubeObject, federated: KubeObject): boolean {
  return member.metadata.labels?.[MANAGED_BY_LABEL] === MANAGED_BY_VALUE && member.metadata.annotations?.[FEDERATED_UID_ANNOTATION] === federated.metadata.uid;
}

/** True when the federated object opts into adopting existing member objects. */
export function adoptionAllowed(federated: KubeObject): boolean {
  return federated.metadata.annotations?.[ADOPT_ANNOTATION] === 'true';
}
