/**
 * How the replica controller marks and recognises the member objects it manages, following
 * the controllers' shared convention (services/controllers/constants.ts): the managed-by label
 * and the federated object's uid. A same-named object without them (or with another uid) is not
 * kitfed's: it is left alone and reported, unless the federated object opts into adoption.
 */
import type { KubeObject } from '../../core/kube.js';
import {
  ADOPT_ANNOTATION,
  KITFED_PREFIX,
  MANAGED_BY_LABEL,
  MANAGED_BY_VALUE,
  ORIGIN_UID_ANNOTATION,
} from '../constants.js';

export { ADOPT_ANNOTATION, KITFED_PREFIX, MANAGED_BY_LABEL, MANAGED_BY_VALUE, ORIGIN_UID_ANNOTATION };

/**
 * True when kitfed created (or adopted) `member` (the managed-by label), as the sync controller
 * decides it. A copy made for an earlier federated object of the same name (another uid) is
 * still kitfed's: the next write re-marks it with the current uid.
 */
export function ownedBy(member: KubeObject, _federated?: KubeObject): boolean {
  return member.metadata.labels?.[MANAGED_BY_LABEL] === MANAGED_BY_VALUE;
}

/** True when `member` was made from exactly this federated object (same uid). */
export function madeFrom(member: KubeObject, federated: KubeObject): boolean {
  return ownedBy(member) && member.metadata.annotations?.[ORIGIN_UID_ANNOTATION] === federated.metadata.uid;
}

/** True when the federated object opts into adopting existing member objects. */
export function adoptionAllowed(federated: KubeObject): boolean {
  return federated.metadata.annotations?.[ADOPT_ANNOTATION] === 'true';
}
