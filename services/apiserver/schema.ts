import * as models from '@kubernetes/client-node';

/**
 * Field-level knowledge of the served kinds, read from @kubernetes/client-node's generated
 * models (the attribute maps of every Kubernetes type). One walker serves unknown-field
 * detection, strategic-merge-patch list keys, server-side-apply field sets and OpenAPI.
 */

export type TypeRef =
  | { kind: 'object'; name: string }
  /** `listType`/`keys` come from a schema's x-kubernetes-list-type/-list-map-keys (custom resources). */
  | { kind: 'array'; of: TypeRef; listType?: 'atomic' | 'set' | 'map'; keys?: string[] }
  | { kind: 'map'; of: TypeRef }
  | { kind: 'primitive'; name: 'string' | 'number' | 'boolean' | 'date' | 'int-or-string' }
  | { kind: 'any' }
  /** An object described by a structural schema (custom resources) rather than a client-node model. */
  | { kind: 'struct'; fields: ReadonlyMap<string, TypeRef>; preserveUnknown?: boolean; atomic?: boolean };

interface Attribute {
  baseName: string;
  type: string;
}

interface ModelClass {
  getAttributeTypeMap(): Attribute[];
}

const ANY: TypeRef = { kind: 'any' };

export function parseTypeString(type: string): TypeRef {
  const t = type.trim();
  if (t.startsWith('Array<')) return { kind: 'array', of: parseTypeString(t.slice(6, -1)) };
  const map = /^\{ \[key: string\]: (.*); \}$/.exec(t);
  if (map) return { kind: 'map', of: parseTypeString(map[1]!) };
  switch (t) {
    case 'string':
      return { kind: 'primitive', name: 'string' };
    case 'number':
      return { kind: 'primitive', name: 'number' };
    case 'boolean':
      return { kind: 'primitive', name: 'boolean' };
    case 'Date':
      return { kind: 'primitive', name: 'date' };
    case 'IntOrString':
      return { kind: 'primitive', name: 'int-or-string' };
    case 'any':
    case 'object':
      return ANY;
    default:
      return modelClass(t) ? { kind: 'object', name: t } : ANY;
  }
}

function modelClass(name: string): ModelClass | undefined {
  const c = (models as unknown as Record<string, unknown>)[name];
  return typeof c === 'function' && typeof (c as unknown as Partial<ModelClass>).getAttributeTypeMap === 'function'
    ? (c as unknown as ModelClass)
    : undefined;
}

const fieldCache = new Map<string, Map<string, TypeRef>>();

/** The JSON fields of a model type, or undefined for unknown types. */
export function fieldsOf(typeName: string): Map<string, TypeRef> | undefined {
  let fields = fieldCache.get(typeName);
  if (fields) return fields;
  const c = modelClass(typeName);
  if (!c) return undefined;
  fields = new Map(c.getAttributeTypeMap().map((a) => [a.baseName, parseTypeString(a.type)]));
  fieldCache.set(typeName, fields);
  return fields;
}

/**
 * Strategic-merge / server-side-apply list keys, by element type (the `patchMergeKey` and
 * `listMapKeys` of Kubernetes' Go types). Lists of other object types are atomic.
 */
const LIST_KEYS: Record<string, string[]> = {
  V1Container: ['name'],
  V1EphemeralContainer: ['name'],
  V1EnvVar: ['name'],
  V1ContainerPort: ['containerPort', 'protocol'],
  V1ServicePort: ['port', 'protocol'],
  V1Volume: ['name'],
  V1VolumeMount: ['mountPath'],
  V1VolumeDevice: ['devicePath'],
  V1LocalObjectReference: ['name'],
  V1OwnerReference: ['uid'],
  V1HostAlias: ['ip'],
  V1TopologySpreadConstraint: ['topologyKey', 'whenUnsatisfiable'],
  V1ContainerResizePolicy: ['resourceName'],
  V1PodSchedulingGate: ['name'],
  V1PodResourceClaim: ['name'],
  V1PodCondition: ['type'],
  V1ReplicaSetCondition: ['type'],
  V1DeploymentCondition: ['type'],
  V1NamespaceCondition: ['type'],
  V1DaemonSetCondition: ['type'],
  V1JobCondition: ['type'],
  V1NodeCondition: ['type'],
  V1Condition: ['type'],
  V1NodeAddress: ['type'],
  V1ManagedFieldsEntry: [],
};

/** The SMP merge key of the list element type (first list key), if the list merges by key. */
export function mergeKeyOf(elementTypeName: string): string | undefined {
  return LIST_KEYS[elementTypeName]?.[0];
}

export function listKeysOf(elementTypeName: string): string[] | undefined {
  const keys = LIST_KEYS[elementTypeName];
  return keys && keys.length > 0 ? keys : undefined;
}

/** Primitive lists merged as sets by strategic merge patch (by field name within their parent type). */
const SET_LISTS = new Set(['V1ObjectMeta.finalizers']);

export function isSetList(parentType: string, field: string): boolean {
  return SET_LISTS.has(`${parentType}.${field}`);
}

/** The type of `field` inside a value of type `t`. */
export function childType(t: TypeRef, field: string): TypeRef {
  if (t.kind === 'object') return fieldsOf(t.name)?.get(field) ?? ANY;
  if (t.kind === 'struct') return t.fields.get(field) ?? ANY;
  if (t.kind === 'map') return t.of;
  return ANY;
}

/** The keys identifying items of a list of type `t` when it merges by key (associative list), else undefined. */
export function listKeysOfList(t: TypeRef): string[] | undefined {
  if (t.kind !== 'array') return undefined;
  if (t.keys) return t.keys;
  return t.of.kind === 'object' ? listKeysOf(t.of.name) : undefined;
}

/** Whether the list `field` of `parent` (of type `t`) is a set of primitives. */
export function isSetListOf(t: TypeRef, parent: TypeRef, field: string): boolean {
  if (t.kind === 'array' && t.listType === 'set') return true;
  return parent.kind === 'object' && isSetList(parent.name, field);
}

/**
 * Removes fields the type does not define, returning their paths (`spec.template.foo`).
 * Objects of unknown type (`any`) are left alone.
 */
export function pruneUnknownFields(value: unknown, t: TypeRef, path = ''): string[] {
  const found: string[] = [];
  walkPrune(value, t, path, found);
  return found;
}

function walkPrune(value: unknown, t: TypeRef, path: string, found: string[]): void {
  if (value === null || typeof value !== 'object') return;
  if (t.kind === 'array' && Array.isArray(value)) {
    value.forEach((v, i) => walkPrune(v, t.of, `${path}[${i}]`, found));
    return;
  }
  if (Array.isArray(value)) return;
  const obj = value as Record<string, unknown>;
  if (t.kind === 'map') {
    for (const [k, v] of Object.entries(obj)) walkPrune(v, t.of, `${path}[${k}]`, found);
    return;
  }
  if (t.kind !== 'object' && t.kind !== 'struct') return;
  const fields = t.kind === 'struct' ? t.fields : fieldsOf(t.name);
  if (!fields) return;
  for (const [k, v] of Object.entries(obj)) {
    const ft = fields.get(k);
    const p = path ? `${path}.${k}` : k;
    if (!ft) {
      if (t.kind === 'struct' && t.preserveUnknown) continue;
      found.push(p);
      delete obj[k];
    } else {
      walkPrune(v, ft, p, found);
    }
  }
}
