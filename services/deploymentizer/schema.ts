/**
 * JSON Schemas of kit's input files, checked with ajv. Structure is checked here; rules that
 * span files (types exist, images exist, one primary container) are checked by the renderer.
 */
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import type { Problems } from './problems.js';
import { rolloutSchema } from './rollout.js';

const scalar = { type: ['string', 'number', 'boolean', 'null'] };
const DNS_LABELISH = '^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$';

const envEntry = {
  type: 'object',
  required: ['name'],
  properties: {
    name: { type: 'string', pattern: '^[-._a-zA-Z][-._a-zA-Z0-9]*$' },
    value: scalar,
    external: { type: 'boolean' },
    encoding: { enum: ['utf8', 'base64', 'binary', 'hex', 'ascii'] },
  },
};

const container = {
  type: 'object',
  properties: {
    name: { type: 'string', minLength: 1 },
    image_tag: { type: 'string', minLength: 1 },
    image: { type: 'string', minLength: 1 },
    branch: { type: 'string', minLength: 1 },
    primary: { type: 'boolean' },
    annotations: { type: ['object', 'null'] },
    env: { type: ['array', 'null'], items: envEntry },
  },
};

const resource = {
  type: ['object', 'null'],
  properties: {
    ...container.properties,
    env: { type: ['array', 'null'], items: { $ref: '#/$defs/envEntry' } },
    file: { type: 'string', minLength: 1 },
    disable: { type: 'boolean' },
    kind: { type: 'string' },
    svc: {
      type: ['object', 'null'],
      properties: { name: { type: 'string', pattern: DNS_LABELISH } },
    },
    containers: {
      type: ['object', 'null'],
      additionalProperties: { $ref: '#/$defs/container' },
    },
  },
};

export const clusterNamespaceSchema = {
  $defs: {
    envEntry,
    container: {
      ...container,
      properties: { ...container.properties, env: { type: ['array', 'null'], items: { $ref: '#/$defs/envEntry' } } },
    },
  },
  type: 'object',
  required: ['kind', 'metadata'],
  properties: {
    kind: { const: 'ClusterNamespace' },
    metadata: {
      type: 'object',
      required: ['name'],
      properties: {
        name: { type: 'string', pattern: DNS_LABELISH },
        branch: { type: 'string', minLength: 1 },
        type: { type: 'string', minLength: 1 },
        disable: { type: 'boolean' },
        allowFailure: { type: 'boolean' },
        labels: { type: 'object', additionalProperties: { type: 'string' } },
      },
    },
    resources: {
      type: ['object', 'null'],
      propertyNames: { pattern: '^[A-Za-z0-9][-A-Za-z0-9_.]*$' },
      additionalProperties: resource,
    },
  },
};

export const resourceConfigSchema = {
  type: 'object',
  required: ['kind'],
  properties: { kind: { const: 'ResourceConfig' } },
};

export const typeConfigSchema = {
  type: 'object',
  required: ['metadata'],
  properties: {
    kind: { const: 'ResourceConfig' },
    metadata: { type: 'object', required: ['type'], properties: { type: { type: 'string', minLength: 1 } } },
  },
};

/** An image file holds `<property>: <image reference>` (kit.yaml `images.property`, default `image`). */
export function imageFileSchema(property: string): object {
  let schema = imageSchemas.get(property);
  if (!schema) {
    schema = { type: 'object', required: [property], properties: { [property]: { type: 'string', minLength: 1 } } };
    imageSchemas.set(property, schema);
  }
  return schema;
}
const imageSchemas = new Map<string, object>();

const pathSection = { type: 'object', required: ['path'], properties: { path: { type: 'string', minLength: 1 } } };

export const kitYamlSchema = {
  type: 'object',
  required: ['base', 'images', 'type', 'cluster', 'resources'],
  properties: {
    version: scalar,
    base: pathSection,
    images: { ...pathSection, properties: { ...pathSection.properties, property: { type: 'string', minLength: 1 } } },
    type: pathSection,
    cluster: pathSection,
    resources: pathSection,
    output: pathSection,
    plugin: {
      type: 'object',
      required: ['path'],
      properties: { path: { type: 'string', minLength: 1 }, options: { type: ['object', 'null'] } },
    },
    kitfed: {
      type: 'object',
      additionalProperties: false,
      properties: { arrayMerge: { enum: ['index', 'replace'] }, strict: { type: 'boolean' } },
    },
    rollout: rolloutSchema,
  },
};

export const pluginResultSchema = {
  type: 'object',
  properties: { env: { type: ['array', 'null'], items: envEntry }, branch: { type: 'string' } },
};

const ajv = new Ajv({ allErrors: true, strict: false, validateSchema: false });
const cache = new Map<object, ValidateFunction>();

function compiled(schema: object): ValidateFunction {
  let fn = cache.get(schema);
  if (!fn) {
    fn = ajv.compile(schema);
    cache.set(schema, fn);
  }
  return fn;
}

/** `/resources/auth/containers/0` → `resources.auth.containers[0]`. */
export function pointerToPath(pointer: string): string {
  if (pointer === '') return '';
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replaceAll('~1', '/').replaceAll('~0', '~'))
    .reduce((acc, seg) => (/^\d+$/.test(seg) ? `${acc}[${seg}]` : acc === '' ? seg : `${acc}.${seg}`), '');
}

function describe(err: ErrorObject): { path: string; message: string } {
  const at = pointerToPath(err.instancePath);
  if (err.keyword === 'required') {
    const missing = String((err.params as { missingProperty: string }).missingProperty);
    return { path: at === '' ? missing : `${at}.${missing}`, message: 'is required' };
  }
  if (err.keyword === 'const') {
    return { path: at, message: `must be ${JSON.stringify((err.params as { allowedValue: unknown }).allowedValue)}` };
  }
  if (err.keyword === 'enum') {
    const allowed = (err.params as { allowedValues: unknown[] }).allowedValues.map(String).join(', ');
    return { path: at, message: `must be one of: ${allowed}` };
  }
  if (err.keyword === 'additionalProperties') {
    const extra = String((err.params as { additionalProperty: string }).additionalProperty);
    return { path: at === '' ? extra : `${at}.${extra}`, message: 'is not a known field' };
  }
  if (err.keyword === 'propertyNames') {
    return {
      path: at,
      message: `has an invalid key ${JSON.stringify((err.params as { propertyName: string }).propertyName)}`,
    };
  }
  return { path: at, message: err.message ?? 'is invalid' };
}

/** Validates `data` against `schema`; each violation becomes a problem naming `file` and the YAML path. */
export function check(schema: object, data: unknown, file: string, problems: Problems): boolean {
  const validate = compiled(schema);
  if (validate(data)) return true;
  const seen = new Set<string>();
  for (const err of validate.errors ?? []) {
    if (err.keyword === 'if' || (err.keyword === 'pattern' && err.propertyName !== undefined)) continue;
    const { path, message } = describe(err);
    const key = `${path}\0${message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    problems.add(file, path, message);
  }
  return false;
}
