import { createHash } from 'node:crypto';
import protobuf from 'protobufjs';
import YAML from 'yaml';
import type { ResourceCatalog } from '../resources.js';
import { openApiV3 } from '../openapi.js';

/**
 * `/openapi/v2`: the Swagger 2.0 document kubectl reads for client-side validation (it
 * validates a `kind: List` manifest item by item against it) and as `kubectl explain`'s
 * fallback. Built from the same component schemas as the v3 documents, converted to v2
 * (`#/definitions/…` references, int-or-string as `type: string, format: int-or-string`).
 * Paths come from the v3 documents too, with kube's parameter descriptions.
 * Served as JSON, or in the protobuf encoding client-go asks for
 * (`application/com.github.proto-openapi.spec.v2@v1.0+protobuf`, gnostic's `openapi.v2.Document`,
 * sent as `application/octet-stream` as kube-openapi does). The protobuf form carries the
 * definitions only (its `paths` is empty): client-go reads nothing else from it.
 */

/** The protobuf media types clients ask for (client-go: the `@` form; newer clients: the `.v1.0` form). */
export const OPENAPI_V2_PROTOBUF_SUBTYPE = /com\.github\.proto-openapi\.spec\.v2[@.]v1\.0\+protobuf/;

type Schema = Record<string, unknown>;

function toV2(s: unknown): unknown {
  if (Array.isArray(s)) return s.map(toV2);
  if (typeof s !== 'object' || s === null) return s;
  const o = s as Schema;
  const out: Schema = {};
  // kube's v2 form of a reference with a description: the $ref alone (siblings are ignored by v2).
  if (Array.isArray(o.allOf) && o.allOf.length === 1 && typeof (o.allOf[0] as Schema).$ref === 'string') {
    out.$ref = String((o.allOf[0] as Schema).$ref).replace('#/components/schemas/', '#/definitions/');
    if (o.description !== undefined) out.description = o.description;
    return out;
  }
  for (const [k, v] of Object.entries(o)) {
    if (k === '$ref') out.$ref = String(v).replace('#/components/schemas/', '#/definitions/');
    else if (k === 'x-kubernetes-int-or-string' && v === true) {
      out.type = 'string';
      out.format = 'int-or-string';
    } else out[k] = toV2(v);
  }
  return out;
}

interface V3Parameter {
  name: string;
  in: string;
  description?: string;
  required?: boolean;
  schema?: { type?: string };
}

interface V3Operation {
  parameters?: V3Parameter[];
  requestBody?: { content: Record<string, { schema: Schema }> };
  responses?: Record<string, { description: string; content?: Record<string, { schema: Schema }> }>;
  [k: string]: unknown;
}

function parameterToV2(p: V3Parameter): Schema {
  return {
    name: p.name,
    in: p.in,
    ...(p.description ? { description: p.description } : {}),
    ...(p.required ? { required: true } : {}),
    type: p.schema?.type ?? 'string',
    uniqueItems: true,
  };
}

/** A v3 path item in v2 form: typed parameters, the request body as an `in: body` parameter. */
function pathToV2(item: Record<string, unknown>): Schema {
  const out: Schema = {};
  for (const [method, value] of Object.entries(item)) {
    if (value === undefined) continue;
    if (method === 'parameters') {
      out.parameters = (value as V3Parameter[]).map(parameterToV2);
      continue;
    }
    const { parameters, requestBody, responses, ...rest } = value as V3Operation;
    const bodyTypes = Object.keys(requestBody?.content ?? {});
    const bodySchema = Object.values(requestBody?.content ?? {})[0]?.schema;
    const ok = responses?.['200'];
    const okSchema = Object.values(ok?.content ?? {})[0]?.schema;
    out[method] = {
      ...rest,
      consumes: bodyTypes.length > 0 ? bodyTypes : ['*/*'],
      produces: ['application/json', 'application/yaml', 'application/vnd.kubernetes.protobuf'],
      schemes: ['https'],
      parameters: [
        ...(parameters ?? []).map(parameterToV2),
        ...(bodySchema ? [{ name: 'body', in: 'body', required: true, schema: toV2(bodySchema) }] : []),
      ],
      responses: { '200': { description: 'OK', ...(okSchema ? { schema: toV2(okSchema) } : {}) } },
    };
  }
  return out;
}

export interface OpenApiV2Doc {
  json: string;
  proto: Uint8Array;
  etag: string;
}

const cache = new WeakMap<ResourceCatalog, { generation: number; doc: OpenApiV2Doc }>();

/** The whole API as one Swagger 2.0 document (definitions of every served group/version). */
export function openApiV2(catalog: ResourceCatalog): OpenApiV2Doc {
  const hit = cache.get(catalog);
  if (hit && hit.generation === catalog.generation) return hit.doc;
  const definitions: Record<string, unknown> = {};
  const paths: Record<string, unknown> = {};
  for (const gv of catalog.groupVersions().values()) {
    const v3 = openApiV3(catalog, gv.group, gv.version) as {
      paths: Record<string, Record<string, unknown>>;
      components: { schemas: Record<string, Schema> };
    };
    for (const [path, item] of Object.entries(v3.paths)) paths[path] = pathToV2(item);
    for (const [name, schema] of Object.entries(v3.components.schemas)) {
      const prev = definitions[name] as Schema | undefined;
      const gvks = [
        ...((prev?.['x-kubernetes-group-version-kind'] as unknown[] | undefined) ?? []),
        ...((schema['x-kubernetes-group-version-kind'] as unknown[] | undefined) ?? []),
      ];
      const converted = toV2(schema) as Schema;
      if (gvks.length > 0)
        converted['x-kubernetes-group-version-kind'] = [...new Map(gvks.map((g) => [JSON.stringify(g), g])).values()];
      definitions[name] = converted;
    }
  }
  const spec = {
    swagger: '2.0',
    info: { title: 'Kubernetes', version: 'v1.32.0-kitfed' },
    paths: Object.fromEntries(
      Object.keys(paths)
        .sort()
        .map((k) => [k, paths[k]]),
    ),
    definitions: Object.fromEntries(
      Object.keys(definitions)
        .sort()
        .map((k) => [k, definitions[k]]),
    ),
  };
  const json = JSON.stringify(spec);
  const doc = {
    json,
    proto: encodeDocument(spec),
    etag: createHash('sha512').update(json).digest('hex').slice(0, 32).toUpperCase(),
  };
  cache.set(catalog, { generation: catalog.generation, doc });
  return doc;
}

// ---- gnostic openapi.v2 protobuf encoding (field numbers of OpenAPIv2.proto) -------------

type W = protobuf.Writer;

function str(w: W, field: number, v: unknown): void {
  if (typeof v === 'string' && v !== '') w.uint32((field << 3) | 2).string(v);
}

function msg(w: W, field: number, body: (w: W) => void): void {
  w.uint32((field << 3) | 2).fork();
  body(w);
  w.ldelim();
}

/** A vendor extension: NamedAny { name, value: Any { yaml } }. */
function extension(w: W, field: number, name: string, value: unknown): void {
  msg(w, field, (n) => {
    str(n, 1, name);
    msg(n, 2, (a) => str(a, 2, YAML.stringify(value)));
  });
}

const SCHEMA_KEYS = new Set([
  '$ref',
  'format',
  'title',
  'description',
  'required',
  'additionalProperties',
  'type',
  'items',
  'allOf',
  'properties',
]);

function schema(w: W, s: Schema): void {
  str(w, 1, s.$ref);
  str(w, 2, s.format);
  str(w, 3, s.title);
  str(w, 4, s.description);
  for (const r of Array.isArray(s.required) ? s.required : []) str(w, 19, r);
  if (typeof s.additionalProperties === 'object' && s.additionalProperties !== null)
    msg(w, 21, (a) => msg(a, 1, (x) => schema(x, s.additionalProperties as Schema)));
  else if (typeof s.additionalProperties === 'boolean')
    msg(w, 21, (a) => a.uint32((2 << 3) | 0).bool(s.additionalProperties as boolean));
  if (typeof s.type === 'string') msg(w, 22, (t) => str(t, 1, s.type));
  if (typeof s.items === 'object' && s.items !== null)
    msg(w, 23, (i) => msg(i, 1, (x) => schema(x, s.items as Schema)));
  for (const sub of Array.isArray(s.allOf) ? (s.allOf as Schema[]) : []) msg(w, 24, (x) => schema(x, sub));
  if (typeof s.properties === 'object' && s.properties !== null)
    msg(w, 25, (p) => {
      for (const [name, sub] of Object.entries(s.properties as Record<string, Schema>))
        msg(p, 1, (n) => {
          str(n, 1, name);
          msg(n, 2, (x) => schema(x, sub));
        });
    });
  for (const [k, v] of Object.entries(s)) if (k.startsWith('x-') && !SCHEMA_KEYS.has(k)) extension(w, 31, k, v);
}

function encodeDocument(spec: {
  swagger: string;
  info: { title: string; version: string };
  definitions: Record<string, unknown>;
}): Uint8Array {
  const w = protobuf.Writer.create();
  str(w, 1, spec.swagger);
  msg(w, 2, (i) => {
    str(i, 1, spec.info.title);
    str(i, 2, spec.info.version);
  });
  msg(w, 8, () => undefined);
  msg(w, 9, (d) => {
    for (const [name, s] of Object.entries(spec.definitions))
      msg(d, 1, (n) => {
        str(n, 1, name);
        msg(n, 2, (x) => schema(x, s as Schema));
      });
  });
  return w.finish();
}
