/** Checks that a rendered file holds exactly one Kubernetes object (apiVersion, kind, metadata.name). */
import { parseAllDocuments } from 'yaml';
import { isObject } from '../core/kube.js';
import type { Problems } from './problems.js';

export interface ObjectIdentity {
  apiVersion: string;
  kind: string;
  namespace: string | null;
  name: string;
}

/** Returns the object's identity, or records problems (prefixed with `context`) and returns undefined. */
export function checkManifest(text: string, file: string, context: string, problems: Problems): ObjectIdentity | undefined {
  const docs = parseAllDocuments(text);
  if (!Array.isArray(docs) || docs.length !== 1) {
    const n = Array.isArray(docs) ? docs.length : 0;
    problems.add(file, '', `${context}: must render exactly one Kubernetes object (found ${n} YAML documents)`);
    return undefined;
  }
  const doc = docs[0]!;
  if (doc.errors.length > 0) {
    for (const e of doc.errors) problems.add(file, '', `${context}: rendered YAML does not parse: ${e.message.split('\n')[0]}`);
    return undefined;
  }
  const obj: unknown = doc.toJS();
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
