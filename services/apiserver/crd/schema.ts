import { Ajv, type ValidateFunction } from 'ajv';
import { isObject, type KubeObject, type StatusCause } from '../../core/kube.js';
import type { JSONSchemaProps } from '../resources.js';
import { pruneUnknownFields, type TypeRef } from '../schema.js';

/**
 * Structural schemas (a CustomResourceDefinition version's `openAPIV3Schema`): the rules kube
 * checks on the schema itself, and what the schema does to custom resources — field types for
 * pruning and server-side apply, defaulting, and validation (with ajv, messages in kube's words).
 */

type Json = Record<string, unknown>;

const PRESERVE = 'x-kubernetes-preserve-unknown-fields';
const INT_OR_STRING = 'x-kubernetes-int-or-string';
const EMBEDDED = 'x-kubernetes-embedded-resource';
const LIST_TYPE = 'x-kubernetes-list-type';
const LIST_MAP_KEYS = 'x-kubernetes-list-map-keys';
const MAP_TYPE = 'x-kubernetes-map-type';

function props(s: JSONSchemaProps): Record<string, JSONSchemaProps> {
  return isObject(s.properties) ? s.properties : {};
}

function schemaOf(v: unknown): JSONSchemaProps | undefined {
  return isObject(v) ? v : undefined;
}

// ---- field paths and values in kube's notation ---------------------------------------------

function child(path: string, name: string): string {
  return path ? `${path}.${name}` : name;
}

function key(path: string, k: string): string {
  return `${path}[${k}]`;
}

/** Go's rendering of a bad value in field errors: strings quoted, numbers and booleans bare, the rest as JSON. */
export function formatValue(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return JSON.stringify(v);
}

function required(field: string, detail = ''): StatusCause {
  return { reason: 'FieldValueRequired', field, message: detail ? `Required value: ${detail}` : 'Required value' };
}

function forbidden(field: string, detail: string): StatusCause {
  return { reason: 'FieldValueForbidden', field, message: `Forbidden: ${detail}` };
}

function invalid(field: string, value: unknown, detail: string): StatusCause {
  return { reason: 'FieldValueInvalid', field, message: `Invalid value: ${formatValue(value)}: ${detail}` };
}

function notSupported(field: string, value: unknown, supported: string[]): StatusCause {
  return {
    reason: 'FieldValueNotSupported',
    field,
    message: `Unsupported value: ${formatValue(value)}: supported values: ${supported.map((s) => JSON.stringify(s)).join(', ')}`,
  };
}

// ---- the schema's own rules --------------------------------------------------------------

type Level = 'root' | 'item' | 'field';

const UNSUPPORTED: Array<[string, string]> = [
  ['$ref', '$ref is not supported'],
  ['definitions', 'definitions is not supported'],
  ['dependencies', 'dependencies is not supported'],
  ['patternProperties', 'patternProperties is not supported'],
  ['additionalItems', 'additionalItems is not supported'],
  ['id', 'id is not supported'],
];

const TYPES = ['array', 'boolean', 'integer', 'number', 'object', 'string'];

/**
 * Checks that `schema` is a structural schema kube would accept (the subset of kube's rules
 * users meet; `docs/apiserver.md` lists them). `path` names the schema in the CRD
 * (`spec.versions[0].schema.openAPIV3Schema`).
 */
export function structuralErrors(schema: JSONSchemaProps, path: string): StatusCause[] {
  const out: StatusCause[] = [];
  checkNode(schema, 'root', path, out);
  if (out.length === 0) checkDefaults(schema, path, out, false);
  return out.sort((a, b) => `${a.field}: ${a.message}`.localeCompare(`${b.field}: ${b.message}`));
}

function checkNode(s: JSONSchemaProps, lvl: Level, path: string, out: StatusCause[]): void {
  for (const [kw, msg] of UNSUPPORTED) if (s[kw] !== undefined) out.push(forbidden(child(path, kw), msg));
  if (s.uniqueItems === true)
    out.push(
      forbidden(
        child(path, 'uniqueItems'),
        'uniqueItems cannot be set to true since the runtime complexity becomes quadratic',
      ),
    );
  if (s.type === 'null') out.push(forbidden(child(path, 'type'), 'type cannot be set to null'));
  else if (s.type !== undefined && s.type !== '' && !TYPES.includes(String(s.type)))
    out.push(notSupported(child(path, 'type'), s.type, TYPES));
  if (Array.isArray(s.items))
    out.push(forbidden(child(path, 'items'), 'items must be a schema object and not an array'));
  if (s[PRESERVE] === false) out.push(invalid(child(path, PRESERVE), false, 'must be true or undefined'));
  const type = typeof s.type === 'string' ? s.type : '';
  const intOrString = s[INT_OR_STRING] === true;
  const preserve = s[PRESERVE] === true;
  const embedded = s[EMBEDDED] === true;
  const properties = props(s);
  const ap = s.additionalProperties;
  if (ap !== undefined) {
    if (Object.keys(properties).length > 0)
      out.push(
        forbidden(child(path, 'additionalProperties'), 'additionalProperties and properties are mutual exclusive'),
      );
    else if (ap === false)
      out.push(forbidden(child(path, 'additionalProperties'), 'additionalProperties cannot be set to false'));
    if (lvl === 'root') out.push(forbidden(child(path, 'additionalProperties'), 'must not be used at the root'));
    if (embedded)
      out.push(
        forbidden(child(path, 'additionalProperties'), 'must not be used if x-kubernetes-embedded-resource is set'),
      );
    const aps = schemaOf(ap);
    if (aps) checkNode(aps, 'field', child(path, 'additionalProperties'), out);
  }
  if (type === 'array') {
    const items = schemaOf(s.items);
    if (!items) out.push(required(child(path, 'items'), 'must be specified'));
  }
  const items = schemaOf(s.items);
  if (items && !Array.isArray(s.items)) checkNode(items, 'item', child(path, 'items'), out);
  for (const [k, v] of Object.entries(properties)) checkNode(v, 'field', key(child(path, 'properties'), k), out);

  if (embedded && type !== 'object') {
    if (!type) out.push(required(child(path, 'type'), 'must be object if x-kubernetes-embedded-resource is true'));
    else out.push(invalid(child(path, 'type'), type, 'must be object if x-kubernetes-embedded-resource is true'));
  } else if (!type && !intOrString && !preserve) {
    const detail =
      lvl === 'root'
        ? 'must not be empty at the root'
        : lvl === 'item'
          ? 'must not be empty for specified array items'
          : 'must not be empty for specified object fields';
    out.push(required(child(path, 'type'), detail));
  }
  if (lvl === 'root' && type && type !== 'object')
    out.push(invalid(child(path, 'type'), type, 'must be object at the root'));
  if (intOrString && preserve)
    out.push(invalid(child(path, PRESERVE), true, 'must be false if x-kubernetes-int-or-string is true'));
  if (intOrString && embedded)
    out.push(invalid(child(path, EMBEDDED), true, 'must be false if x-kubernetes-int-or-string is true'));
  if (embedded && !preserve && Object.keys(properties).length === 0)
    out.push(
      required(
        child(path, 'properties'),
        'must not be empty if x-kubernetes-embedded-resource is true without x-kubernetes-preserve-unknown-fields',
      ),
    );

  const checkMetadata = lvl === 'root' || embedded;
  if (checkMetadata) {
    for (const f of ['kind', 'apiVersion']) {
      const p = properties[f];
      if (p && p.type !== 'string')
        out.push(invalid(child(key(child(path, 'properties'), f), 'type'), p.type ?? '', 'must be string'));
    }
    const m = properties.metadata;
    if (m && m.type !== 'object')
      out.push(invalid(child(key(child(path, 'properties'), 'metadata'), 'type'), m.type ?? '', 'must be object'));
  }
  const meta = properties.metadata;
  if (lvl === 'root' && meta) {
    const { type: _t, properties: mp, description: _d, ...rest } = meta;
    void _t;
    void _d;
    const extra = Object.keys(isObject(mp) ? mp : {}).filter((k) => k !== 'name' && k !== 'generateName');
    if (extra.length > 0 || Object.keys(rest).length > 0)
      out.push(
        forbidden(
          key(child(path, 'properties'), 'metadata'),
          'must not specify anything other than name and generateName, but metadata is implicitly specified',
        ),
      );
  }

  // list types
  const listType = s[LIST_TYPE];
  if (listType !== undefined) {
    if (type !== 'array') out.push(invalid(child(path, LIST_TYPE), listType, 'must only be used on type=array'));
    else if (!['atomic', 'set', 'map'].includes(String(listType)))
      out.push(notSupported(child(path, LIST_TYPE), listType, ['atomic', 'set', 'map']));
  }
  const keys = s[LIST_MAP_KEYS];
  if (listType === 'map') {
    if (!Array.isArray(keys) || keys.length === 0)
      out.push(required(child(path, LIST_MAP_KEYS), 'must not be empty if x-kubernetes-list-type is map'));
    if (items && items.type !== 'object')
      out.push(
        invalid(
          child(child(path, 'items'), 'type'),
          items.type ?? '',
          "must be object if parent array's x-kubernetes-list-type is map",
        ),
      );
    if (items && Array.isArray(keys)) {
      const ip = props(items);
      const req = Array.isArray(items.required) ? items.required : [];
      for (const k of keys as string[]) {
        const kp = ip[k];
        if (!kp)
          out.push(
            required(
              key(child(child(path, 'items'), 'properties'), k),
              `must have all properties listed in x-kubernetes-list-map-keys`,
            ),
          );
        else if (kp.type === 'object' || kp.type === 'array')
          out.push(
            invalid(
              child(key(child(child(path, 'items'), 'properties'), k), 'type'),
              kp.type,
              "must be a scalar type if parent array's x-kubernetes-list-type is map",
            ),
          );
        else if (!req.includes(k) && kp.default === undefined)
          out.push(
            required(
              child(child(path, 'items'), 'required'),
              `must contain ${JSON.stringify(k)} or the property must have a default, as it is a key of x-kubernetes-list-map-keys`,
            ),
          );
      }
    }
  } else if (keys !== undefined && (!Array.isArray(keys) || keys.length > 0)) {
    out.push(invalid(child(path, LIST_MAP_KEYS), keys, 'must be empty if x-kubernetes-list-type is not map'));
  }
  const mapType = s[MAP_TYPE];
  if (mapType !== undefined && !['granular', 'atomic'].includes(String(mapType)))
    out.push(notSupported(child(path, MAP_TYPE), mapType, ['granular', 'atomic']));

  if (typeof s.pattern === 'string') {
    try {
      new RegExp(s.pattern);
    } catch (err) {
      out.push(
        invalid(
          child(path, 'pattern'),
          s.pattern,
          `must be a valid regular expression, but isn't: ${(err as Error).message}`,
        ),
      );
    }
  }

  // value validations (allOf, anyOf, oneOf, not) may not define structure
  const intOrStringAnyOf = (v: unknown) =>
    Array.isArray(v) &&
    v.length === 2 &&
    JSON.stringify(v) === JSON.stringify([{ type: 'integer' }, { type: 'string' }]);
  for (const junctor of ['allOf', 'anyOf', 'oneOf'] as const) {
    const list = s[junctor];
    if (list === undefined) continue;
    if (!Array.isArray(list)) continue;
    if (junctor === 'anyOf' && intOrStringAnyOf(list)) continue;
    list.forEach((v, i) => {
      if (junctor === 'allOf' && i === 0 && isObject(v) && intOrStringAnyOf(v.anyOf)) return;
      checkNested(schemaOf(v) ?? {}, `${child(path, junctor)}[${i}]`, path, s, out);
    });
  }
  const not = schemaOf(s.not);
  if (not) checkNested(not, child(path, 'not'), path, s, out);
}

/** A schema under allOf/anyOf/oneOf/not: value validations only, and nothing the structure does not specify. */
function checkNested(
  v: JSONSchemaProps,
  path: string,
  ownerPath: string,
  owner: JSONSchemaProps,
  out: StatusCause[],
): void {
  const forbid: Array<[string, string]> = [
    ['type', 'must be empty to be structural'],
    ['additionalProperties', 'must be undefined to be structural'],
    ['default', 'must be undefined to be structural'],
    ['title', 'must be empty to be structural'],
    ['description', 'must be empty to be structural'],
    [PRESERVE, 'must be false to be structural'],
    [EMBEDDED, 'must be false to be structural'],
    [INT_OR_STRING, 'must be false to be structural'],
    [LIST_MAP_KEYS, 'must be empty to be structural'],
    [LIST_TYPE, 'must be undefined to be structural'],
  ];
  for (const [kw, msg] of forbid) if (v[kw] !== undefined && v[kw] !== false) out.push(forbidden(child(path, kw), msg));
  if (v.nullable === true) out.push(forbidden(child(path, 'nullable'), 'must be false to be structural'));
  const vp = props(v);
  if (vp.metadata)
    out.push(forbidden(key(child(path, 'properties'), 'metadata'), 'must not be specified in a nested context'));
  // completeness: every property named here must be specified in the structural part
  const op = props(owner);
  for (const k of Object.keys(vp)) {
    if (!op[k] && owner[PRESERVE] !== true && !isObject(owner.additionalProperties))
      out.push(
        required(
          key(child(ownerPath, 'properties'), k),
          `because it is defined in ${key(child(path, 'properties'), k)}`,
        ),
      );
  }
  const items = schemaOf(v.items);
  if (items && !schemaOf(owner.items) && owner[PRESERVE] !== true)
    out.push(required(child(ownerPath, 'items'), `because it is defined in ${child(path, 'items')}`));
  for (const junctor of ['allOf', 'anyOf', 'oneOf'] as const) {
    const list = v[junctor];
    if (Array.isArray(list))
      list.forEach((x, i) => checkNested(schemaOf(x) ?? {}, `${child(path, junctor)}[${i}]`, ownerPath, owner, out));
  }
  const not = schemaOf(v.not);
  if (not) checkNested(not, child(path, 'not'), ownerPath, owner, out);
}

/** Defaults must validate against their schema, survive pruning, and may not appear inside metadata. */
function checkDefaults(s: JSONSchemaProps, path: string, out: StatusCause[], inMetadata: boolean): void {
  if (s.default !== undefined) {
    if (inMetadata) out.push(forbidden(child(path, 'default'), 'must not be set inside metadata'));
    else {
      const value = JSON.parse(JSON.stringify(s.default)) as unknown;
      const pruned = pruneUnknownFields(value, toTypeRef(s));
      if (pruned.length > 0)
        out.push(invalid(child(path, 'default'), s.default, `must not have unknown fields (${pruned.join(', ')})`));
      else
        for (const c of validatorFor(s, false)(value, ''))
          out.push({ ...c, field: c.field ? `${child(path, 'default')}.${c.field}` : child(path, 'default') });
    }
  }
  for (const [k, v] of Object.entries(props(s)))
    checkDefaults(
      v,
      key(child(path, 'properties'), k),
      out,
      inMetadata || (k === 'metadata' && path.endsWith('openAPIV3Schema')),
    );
  const items = schemaOf(s.items);
  if (items) checkDefaults(items, child(path, 'items'), out, inMetadata);
  const ap = schemaOf(s.additionalProperties);
  if (ap) checkDefaults(ap, child(path, 'additionalProperties'), out, inMetadata);
}

// ---- field types (pruning, server-side apply) ------------------------------------------------

const OBJECT_META: TypeRef = { kind: 'object', name: 'V1ObjectMeta' };
const STRING: TypeRef = { kind: 'primitive', name: 'string' };
const ANY: TypeRef = { kind: 'any' };
const typeRefs = new WeakMap<JSONSchemaProps, TypeRef>();

/** The field types of a custom resource, from its structural schema (cached per schema object). */
export function resourceTypeRef(schema: JSONSchemaProps): TypeRef {
  let t = typeRefs.get(schema);
  if (!t) {
    t = toTypeRef(schema, true);
    typeRefs.set(schema, t);
  }
  return t;
}

function toTypeRef(s: JSONSchemaProps, resource = false): TypeRef {
  if (s[INT_OR_STRING] === true) return { kind: 'primitive', name: 'int-or-string' };
  switch (s.type) {
    case 'object': {
      const properties = props(s);
      const ap = s.additionalProperties;
      if (Object.keys(properties).length === 0 && ap !== undefined && ap !== false)
        return { kind: 'map', of: isObject(ap) ? toTypeRef(ap) : ANY };
      const fields = new Map<string, TypeRef>();
      for (const [k, v] of Object.entries(properties)) fields.set(k, toTypeRef(v));
      if (resource || s[EMBEDDED] === true) {
        fields.set('apiVersion', STRING);
        fields.set('kind', STRING);
        fields.set('metadata', OBJECT_META);
      }
      return {
        kind: 'struct',
        fields,
        preserveUnknown: s[PRESERVE] === true,
        atomic: s[MAP_TYPE] === 'atomic',
      };
    }
    case 'array': {
      const items = schemaOf(s.items);
      const listType = s[LIST_TYPE];
      const keys = s[LIST_MAP_KEYS];
      return {
        kind: 'array',
        of: items ? toTypeRef(items) : ANY,
        listType: listType === 'set' || listType === 'map' ? listType : 'atomic',
        ...(listType === 'map' && Array.isArray(keys) ? { keys: keys as string[] } : {}),
      };
    }
    case 'string':
      return STRING;
    case 'integer':
    case 'number':
      return { kind: 'primitive', name: 'number' };
    case 'boolean':
      return { kind: 'primitive', name: 'boolean' };
    default:
      return ANY;
  }
}

// ---- defaulting ------------------------------------------------------------------------------

/**
 * kube's structural defaulting: a missing field (or a null one that is not nullable) takes its
 * schema default; then nulls of non-nullable fields without a default are dropped.
 */
export function applySchemaDefaults(obj: KubeObject, schema: JSONSchemaProps): void {
  defaultValue(obj, schema);
}

function nonNullableNull(v: unknown, s: JSONSchemaProps | undefined): boolean {
  return v === null && !!s && s.nullable !== true;
}

function defaultValue(x: unknown, s: JSONSchemaProps | undefined): void {
  if (!s) return;
  if (Array.isArray(x)) {
    const items = schemaOf(s.items);
    for (let i = 0; i < x.length; i++) {
      if (nonNullableNull(x[i], items) && items?.default !== undefined) x[i] = structuredClone(items.default);
      defaultValue(x[i], items);
    }
    return;
  }
  if (!isObject(x)) return;
  const properties = props(s);
  for (const [k, p] of Object.entries(properties)) {
    if (p.default === undefined) continue;
    if (!(k in x) || nonNullableNull(x[k], p)) x[k] = structuredClone(p.default);
  }
  const ap = schemaOf(s.additionalProperties);
  for (const [k, v] of Object.entries(x)) {
    const p = properties[k] ?? ap;
    if (!p) continue;
    if (nonNullableNull(v, p)) {
      if (p.default !== undefined) x[k] = structuredClone(p.default);
      else {
        delete x[k];
        continue;
      }
    }
    defaultValue(x[k], p);
  }
}

// ---- validation --------------------------------------------------------------------------

const ajv = new Ajv({
  allErrors: true,
  strict: false,
  unicodeRegExp: false,
  validateFormats: true,
  formats: kubeFormats(),
});

/** The formats kube checks on custom resources (others are accepted as plain strings, as in kube). */
function kubeFormats(): Record<string, RegExp | ((s: string) => boolean)> {
  const uuid = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;
  const ipv4 = /^((25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;
  const isIPv6 = (s: string) => /^[0-9a-fA-F:.]+$/.test(s) && s.includes(':') && (s.match(/::/g) ?? []).length <= 1;
  return {
    'date-time': (s) =>
      /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:?\d{2})?$/.test(s) &&
      !Number.isNaN(Date.parse(s)),
    datetime: (s) => /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:?\d{2})?$/.test(s),
    date: /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$/,
    email: /^[^\s@]+@[^\s@]+\.[^\s@]+$/,
    hostname:
      /^(?=.{1,253}$)[a-zA-Z0-9]([-a-zA-Z0-9]{0,61}[a-zA-Z0-9])?(\.[a-zA-Z0-9]([-a-zA-Z0-9]{0,61}[a-zA-Z0-9])?)*$/,
    ipv4,
    ipv6: isIPv6,
    cidr: (s) => {
      const [ip, bits, ...rest] = s.split('/');
      if (rest.length > 0 || bits === undefined || !/^\d+$/.test(bits)) return false;
      return ipv4.test(ip ?? '') ? Number(bits) <= 32 : isIPv6(ip ?? '') && Number(bits) <= 128;
    },
    mac: /^([0-9a-fA-F]{2}[:-]){5}[0-9a-fA-F]{2}$/,
    uri: (s) => {
      try {
        return new URL(s).protocol.length > 0;
      } catch {
        return false;
      }
    },
    uuid,
    uuid3: uuid,
    uuid4: uuid,
    uuid5: uuid,
    byte: /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/,
  };
}

const KNOWN_FORMATS = new Set(Object.keys(kubeFormats()));

/** The JSON Schema ajv checks for an OpenAPI v3 (CRD) schema. */
function toAjvSchema(s: JSONSchemaProps): Json {
  const out: Json = {};
  const copy = [
    'required',
    'enum',
    'minimum',
    'maximum',
    'minLength',
    'maxLength',
    'pattern',
    'minItems',
    'maxItems',
    'multipleOf',
    'minProperties',
    'maxProperties',
  ];
  for (const k of copy) if (s[k] !== undefined) out[k] = s[k];
  if (typeof s.type === 'string' && s.type) out.type = s.type;
  if (s[INT_OR_STRING] === true) out.type = ['integer', 'string'];
  if (typeof s.format === 'string' && KNOWN_FORMATS.has(s.format) && s.type === 'string') out.format = s.format;
  if (s.exclusiveMinimum === true && typeof s.minimum === 'number') {
    out.exclusiveMinimum = s.minimum;
    delete out.minimum;
  }
  if (s.exclusiveMaximum === true && typeof s.maximum === 'number') {
    out.exclusiveMaximum = s.maximum;
    delete out.maximum;
  }
  if (s.nullable === true) {
    if (out.type !== undefined) out.type = [...(Array.isArray(out.type) ? out.type : [out.type]), 'null'];
    if (Array.isArray(out.enum)) out.enum = [...(out.enum as unknown[]), null];
  }
  const properties = props(s);
  if (Object.keys(properties).length > 0)
    out.properties = Object.fromEntries(Object.entries(properties).map(([k, v]) => [k, toAjvSchema(v)]));
  const ap = schemaOf(s.additionalProperties);
  if (ap) out.additionalProperties = toAjvSchema(ap);
  const items = schemaOf(s.items);
  if (items) out.items = toAjvSchema(items);
  for (const junctor of ['allOf', 'anyOf', 'oneOf'] as const) {
    const list = s[junctor];
    if (Array.isArray(list)) out[junctor] = list.map((x) => toAjvSchema(schemaOf(x) ?? {}));
  }
  const not = schemaOf(s.not);
  if (not) out.not = toAjvSchema(not);
  return out;
}

type Validator = (value: unknown, rootPath: string) => StatusCause[];
const validators = new WeakMap<JSONSchemaProps, Validator>();

/** A validator for values of `schema`, answering kube's field errors (cached per schema object). */
export function validatorFor(schema: JSONSchemaProps, resource = true): Validator {
  const cached = resource ? validators.get(schema) : undefined;
  if (cached) return cached;
  const compiled = ajv.compile(toAjvSchema(schema));
  const v: Validator = (value, rootPath) => {
    const causes: StatusCause[] = [];
    if (!compiled(value)) causes.push(...toCauses(compiled, value, rootPath));
    causes.push(...listAndEmbeddedErrors(value, schema, rootPath));
    return causes;
  };
  if (resource) validators.set(schema, v);
  return v;
}

/** Validates a custom resource against its version's schema. */
export function validateCustomResource(obj: KubeObject, schema: JSONSchemaProps): StatusCause[] {
  return validatorFor(schema)(obj, '');
}

function jsonType(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

/** `/spec/items/0/name` → `spec.items[0].name` (indexes where the data holds arrays). */
function fieldPath(pointer: string, data: unknown, rootPath: string): { path: string; value: unknown } {
  let path = rootPath;
  let cur: unknown = data;
  for (const raw of pointer.split('/').slice(1)) {
    const seg = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(cur)) {
      path = `${path}[${seg}]`;
      cur = cur[Number(seg)];
    } else {
      path = child(path, seg);
      cur = isObject(cur) ? cur[seg] : undefined;
    }
  }
  return { path, value: cur };
}

function toCauses(compiled: ValidateFunction, data: unknown, rootPath: string): StatusCause[] {
  const errs = compiled.errors ?? [];
  // Errors inside the branches of anyOf/oneOf/not are summarised by the junctor's own error, as in kube.
  const junctors = errs.filter((e) => ['anyOf', 'oneOf', 'not'].includes(e.keyword)).map((e) => e.schemaPath);
  const out: StatusCause[] = [];
  const seen = new Set<string>();
  for (const e of errs) {
    if (junctors.some((j) => e.schemaPath !== j && e.schemaPath.startsWith(`${j}/`))) continue;
    const { path, value } = fieldPath(e.instancePath, data, rootPath);
    const name = path;
    const p = e.params as Record<string, unknown>;
    let c: StatusCause;
    switch (e.keyword) {
      case 'type': {
        const t = Array.isArray(p.type) ? (p.type as string[]).filter((x) => x !== 'null').join(',') : String(p.type);
        const got = jsonType(value);
        c = {
          reason: 'FieldValueTypeInvalid',
          field: name,
          message: `Invalid value: ${JSON.stringify(got)}: ${name} in body must be of type ${t}: ${JSON.stringify(got)}`,
        };
        break;
      }
      case 'required':
        c = required(child(name, String(p.missingProperty)));
        break;
      case 'enum':
        c = notSupported(
          name,
          value,
          ((p.allowedValues as unknown[] | undefined) ?? [])
            .filter((x) => x !== null)
            .map((x) => (typeof x === 'string' ? x : JSON.stringify(x))),
        );
        break;
      case 'maxLength':
        c = {
          reason: 'FieldValueTooLong',
          field: name,
          message: `Too long: may not be longer than ${String(p.limit)}`,
        };
        break;
      case 'maxItems':
        c = {
          reason: 'FieldValueTooMany',
          field: name,
          message: `Too many: ${Array.isArray(value) ? value.length : 0}: must have at most ${String(p.limit)} items`,
        };
        break;
      case 'maxProperties':
        c = {
          reason: 'FieldValueTooMany',
          field: name,
          message: `Too many: ${isObject(value) ? Object.keys(value).length : 0}: must have at most ${String(p.limit)} items`,
        };
        break;
      case 'minimum':
        c = invalid(name, value, `${name} in body should be greater than or equal to ${String(p.limit)}`);
        break;
      case 'exclusiveMinimum':
        c = invalid(name, value, `${name} in body should be greater than ${String(p.limit)}`);
        break;
      case 'maximum':
        c = invalid(name, value, `${name} in body should be less than or equal to ${String(p.limit)}`);
        break;
      case 'exclusiveMaximum':
        c = invalid(name, value, `${name} in body should be less than ${String(p.limit)}`);
        break;
      case 'minLength':
        c = invalid(name, value, `${name} in body should be at least ${String(p.limit)} chars long`);
        break;
      case 'pattern':
        c = invalid(name, value, `${name} in body should match '${String(p.pattern)}'`);
        break;
      case 'minItems':
        c = invalid(name, value, `${name} in body should have at least ${String(p.limit)} items`);
        break;
      case 'minProperties':
        c = invalid(name, value, `${name} in body should have at least ${String(p.limit)} properties`);
        break;
      case 'multipleOf':
        c = invalid(name, value, `${name} in body should be a multiple of ${String(p.multipleOf)}`);
        break;
      case 'format':
        c = {
          reason: 'FieldValueTypeInvalid',
          field: name,
          message: `Invalid value: ${formatValue(value)}: ${name} in body must be of type ${String(p.format)}: ${formatValue(value)}`,
        };
        break;
      case 'anyOf':
        c = invalid(name, value, `${name} in body must validate at least one schema (anyOf)`);
        break;
      case 'oneOf':
        c = invalid(name, value, `${name} in body must validate one and only one schema (oneOf)`);
        break;
      case 'not':
        c = invalid(name, value, `${name} in body must not validate the schema (not)`);
        break;
      default:
        c = invalid(name, value, e.message ?? 'invalid');
    }
    const id = `${c.field ?? ''}|${c.message}`;
    if (!seen.has(id)) {
      seen.add(id);
      out.push(c);
    }
  }
  return out;
}

/** What ajv does not check: list-type set/map uniqueness and embedded resources' apiVersion/kind. */
function listAndEmbeddedErrors(value: unknown, s: JSONSchemaProps, path: string): StatusCause[] {
  const out: StatusCause[] = [];
  const walk = (v: unknown, sc: JSONSchemaProps | undefined, p: string) => {
    if (!sc) return;
    if (Array.isArray(v)) {
      const items = schemaOf(sc.items);
      const listType = sc[LIST_TYPE];
      if (listType === 'set' || listType === 'map') {
        const keys =
          listType === 'map' && Array.isArray(sc[LIST_MAP_KEYS]) ? (sc[LIST_MAP_KEYS] as string[]) : undefined;
        const seen = new Set<string>();
        v.forEach((item, i) => {
          const id = keys
            ? JSON.stringify(Object.fromEntries(keys.map((k) => [k, isObject(item) ? item[k] : undefined])))
            : JSON.stringify(item);
          if (seen.has(id))
            out.push({
              reason: 'FieldValueDuplicate',
              field: `${p}[${i}]`,
              message: `Duplicate value: ${keys ? id : formatValue(item)}`,
            });
          seen.add(id);
        });
      }
      v.forEach((item, i) => walk(item, items, `${p}[${i}]`));
      return;
    }
    if (!isObject(v)) return;
    if (sc[EMBEDDED] === true && p !== path) {
      for (const f of ['apiVersion', 'kind'])
        if (typeof v[f] !== 'string' || v[f] === '') out.push(required(child(p, f), 'must not be empty'));
    }
    const properties = props(sc);
    const ap = schemaOf(sc.additionalProperties);
    for (const [k, x] of Object.entries(v)) walk(x, properties[k] ?? ap, child(p, k));
  };
  walk(value, s, path);
  return out;
}

/** Removes the fields the schema does not specify (unless preserved); returns their paths. */
export function pruneCustomResource(obj: KubeObject, schema: JSONSchemaProps): string[] {
  return pruneUnknownFields(obj, resourceTypeRef(schema));
}
