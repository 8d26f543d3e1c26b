import { createRequire } from 'node:module';

/**
 * Field descriptions of the Kubernetes types (`descriptions.json`, generated from the
 * `kubernetes-models` declarations by `generate-descriptions.ts`), keyed by client-node model
 * name, with each type's OpenAPI definition name: what `kubectl explain` prints.
 */

interface TypeDoc {
  n: string;
  d?: string;
  p: Record<string, string>;
  r?: string[];
}

const require = createRequire(import.meta.url);
let docs: Record<string, TypeDoc> | undefined;

function all(): Record<string, TypeDoc> {
  docs ??= require('./descriptions.json') as Record<string, TypeDoc>;
  return docs;
}

const API_VERSION =
  'APIVersion defines the versioned schema of this representation of an object. Servers should convert recognized schemas to the latest internal value, and may reject unrecognized values. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#resources';
const KIND =
  'Kind is a string value representing the REST resource this object represents. Servers may infer this from the endpoint the client submits requests to. Cannot be updated. In CamelCase. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds';

/** The OpenAPI definition name of a model (`io.k8s.api.apps.v1.Deployment`), or the model name. */
export function definitionName(model: string): string {
  return all()[model]?.n ?? model;
}

export function typeDescription(model: string): string | undefined {
  return all()[model]?.d;
}

export function fieldDescription(model: string, field: string): string | undefined {
  const d = all()[model]?.p[field];
  if (d) return d;
  if (field === 'apiVersion') return API_VERSION;
  if (field === 'kind') return KIND;
  return undefined;
}

export function requiredFields(model: string): string[] | undefined {
  return all()[model]?.r;
}

let parameters: Record<string, { type: 'string' | 'boolean' | 'integer'; description: string }> | undefined;

/** A query parameter's type and kube's description of it (`parameters.json`, written by hand from kube's API). */
export function parameterDoc(
  name: string,
): { type: 'string' | 'boolean' | 'integer'; description: string } | undefined {
  parameters ??= require('./parameters.json') as typeof parameters;
  return parameters?.[name];
}
