/**
 * Checks that a rendered file holds exactly one Kubernetes object (apiVersion, kind, metadata.name).
 * js-yaml here: it is ~10× faster than `yaml` on rendered manifests, and this runs once per output file.
 */
import { loadAll, YAMLException } from 'js-yaml';
import { isObject } from '../core/kube.js';
import { YAML_SCHEMA } from './files.js';
import type { Problems } from './problems.js';

export interface ObjectIdentity {
  apiVersion: string;
  kind: string;
  namespace: string | null;
  name: string;
}

/** Returns the object's identity, or records problems (prefixed with `context`) and returns undefined. */
export function checkManifest(
  text: string,
  file: string,
  context: string,
  problems: Problems,
): ObjectIdentity | undefined {
  let docs: unknown[];
  try {
    docs = loadAll(text, undefined, { schema: YAML_SCHEMA });
  } catch (err) {
    const why =
      err instanceof YAMLException
        ? `${err.reason} (line ${err.mark.line + 1}, column ${err.mark.column + 1})`
        : String(err);
    problems.add(file, '', `${context}: rendered YAML does not parse: ${why}`);
    return undefined;
  }
  if (docs.length !== 1) {
    problems.add(
      file,
      '',
      `${context}: must render exactly one Kubernetes object (found ${docs.length} YAML documents)`,
    );
    return undefined;
  }
  const obj = docs[0];
  if (!isObject(obj)) {
    problems.add(file, '', `${context}: rendered YAML is not a Kubernetes object (not a mapping)`);
    return undefined;
  }
  const meta = isObject(obj.metadata) ? obj.metadata : undefined;
  let ok = true;
  const need = (value: unknown, path: string): void => {
    if (typeof value !== 'string' || value === '') {
      problems.add(file, path, `${context}: is required (a non-empty string) in a Kubernetes object`);
      ok = false;
    }
  };
  need(obj.apiVersion, 'apiVersion');
  need(obj.kind, 'kind');
  need(meta?.name, 'metadata.name');
  if (meta?.namespace !== undefined && meta.namespace !== null && typeof meta.namespace !== 'string') {
    problems.add(file, 'metadata.namespace', `${context}: must be a string`);
    ok = false;
  }
  if (!ok || !meta) return undefined;
  return {
    apiVersion: obj.apiVersion as string,
    kind: obj.kind as string,
    namespace: typeof meta.namespace === 'string' && meta.namespace !== '' ? meta.namespace : null,
    name: meta.name as string,
  };
}
