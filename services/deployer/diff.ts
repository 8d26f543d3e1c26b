/**
 * Live vs desired as a unified diff, the way `kubectl diff` shows it: both sides are what the
 * server has / would have after the apply (server-side dry run), without managedFields, status,
 * resourceVersion, uid, generation, timestamps and kitfed's own bookkeeping. Secret values are
 * replaced by a short digest, so a change shows without the value.
 */
import { createHash } from 'node:crypto';
import { createTwoFilesPatch } from 'diff';
import YAML from 'yaml';
import { cloneJson, isObject, type KubeObject } from '../core/kube.js';
import { COMMIT_ANNOTATION, COMMIT_TIME_ANNOTATION, DIGEST_ANNOTATION, MANAGED_LABEL } from './inventory.js';

const META_DROP = [
  'managedFields',
  'resourceVersion',
  'uid',
  'generation',
  'creationTimestamp',
  'selfLink',
  'deletionTimestamp',
];
const OURS = [DIGEST_ANNOTATION, COMMIT_ANNOTATION, COMMIT_TIME_ANNOTATION];

function redactSecret(o: Record<string, unknown>): void {
  for (const key of ['data', 'stringData']) {
    const m = o[key];
    if (!isObject(m)) continue;
    for (const [k, v] of Object.entries(m)) {
      const h = createHash('sha256').update(String(v)).digest('hex').slice(0, 12);
      m[k] = `(redacted, sha256 ${h}, ${String(v).length} bytes)`;
    }
  }
}

/** The object as the diff shows it (a copy). */
export function normalize(obj: KubeObject | undefined): Record<string, unknown> | undefined {
  if (!obj) return undefined;
  const o = cloneJson(obj) as Record<string, unknown> & KubeObject;
  delete o.status;
  const meta = o.metadata as Record<string, unknown>;
  for (const k of META_DROP) delete meta[k];
  const ann = o.metadata.annotations;
  if (ann) {
    for (const k of OURS) delete ann[k];
    if (Object.keys(ann).length === 0) delete o.metadata.annotations;
  }
  const labels = o.metadata.labels;
  if (labels) {
    delete labels[MANAGED_LABEL];
    if (Object.keys(labels).length === 0) delete o.metadata.labels;
  }
  if (o.kind === 'Secret') redactSecret(o);
  return o;
}

function text(o: Record<string, unknown> | undefined): string {
  return o ? YAML.stringify(o, { sortMapEntries: true }) : '';
}

/** A unified diff for one object ('' when identical); `name` labels both sides. */
export function objectDiff(name: string, live: KubeObject | undefined, desired: KubeObject | undefined): string {
  const a = text(normalize(live));
  const b = text(normalize(desired));
  if (a === b) return '';
  return createTwoFilesPatch(
    live ? `live/${name}` : '/dev/null',
    desired ? `desired/${name}` : '/dev/null',
    a,
    b,
    '',
    '',
    { context: 3 },
  );
}
