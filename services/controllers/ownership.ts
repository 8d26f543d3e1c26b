import type { KubeObject } from '../core/kube.js';
import { MANAGED_BY_LABEL, MANAGED_BY_VALUE, ORIGIN_UID_ANNOTATION } from './constants.js';

/** True when kitfed created (or adopted) this member object. */
export function isManaged(local: KubeObject): boolean {
  return local.metadata.labels?.[MANAGED_BY_LABEL] === MANAGED_BY_VALUE;
}

export function originUid(local: KubeObject): string | undefined {
  return local.metadata.annotations?.[ORIGIN_UID_ANNOTATION];
}

/** `desired` with kitfed's ownership markers for the federated object `fed`. */
export function withMarkers(desired: KubeObject, fed: KubeObject): KubeObject {
  return {
    ...desired,
    metadata: {
      ...desired.metadata,
      labels: { ...(desired.metadata.labels ?? {}), [MANAGED_BY_LABEL]: MANAGED_BY_VALUE },
      annotations: { ...(desired.metadata.annotations ?? {}), [ORIGIN_UID_ANNOTATION]: fed.metadata.uid ?? '' },
    },
  };
}

/** `local` without kitfed's ownership markers (orphaning). */
export function withoutMarkers(local: KubeObject): KubeObject {
  const labels = { ...(local.metadata.labels ?? {}) };
  const annotations = { ...(local.metadata.annotations ?? {}) };
  delete labels[MANAGED_BY_LABEL];
  delete annotations[ORIGIN_UID_ANNOTATION];
  const { status: _s, ...rest } = local;
  void _s;
  return { ...rest, metadata: { ...local.metadata, labels, annotations } };
}
