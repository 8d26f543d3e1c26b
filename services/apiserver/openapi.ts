import { createHash } from 'node:crypto';
import type { JSONSchemaProps, ResourceCatalog, ResourceType } from './resources.js';
import {
  definitionName,
  fieldDescription,
  parameterDoc,
  requiredFields,
  typeDescription,
} from './openapi/descriptions.js';
import { fieldsOf, listKeysOf, isSetList, type TypeRef } from './schema.js';

/**
 * OpenAPI v3 documents per group/version, generated from the resource table and the
 * client-node models: paths (with the `fieldValidation` parameter, so kubectl validates
 * server-side) and component schemas named as kube names them (`io.k8s.api.apps.v1.Deployment`),
 * with kube's descriptions (`kubectl explain`), required fields, patch merge keys and list-map keys.
 */

type Schema = Record<string, unknown>;

function primitive(t: TypeRef & { kind: 'primitive' }): Schema {
  switch (t.name) {
    case 'number':
      return { type: 'integer', format: 'int64' };
    case 'boolean':
      return { type: 'boolean' };
    case 'date':
      return { type: 'string', format: 'date-time' };
    case 'int-or-string':
      return { 'x-kubernetes-int-or-string': true };
    default:
      return { type: 'string' };
  }
}

const INT_OR_STRING = [
  'IntOrString is a type that can hold an int32 or a string.',
  ' When used in JSON or YAML marshalling and unmarshalling, it produces or consumes the inner type.',
  ' This allows you to have, for example, a JSON field that can accept a name or number.',
].join(' ');

class SchemaBuilder {
  readonly components: Record<string, Schema> = {};

  ref(t: TypeRef, parent?: string, field?: string): Schema {
    switch (t.kind) {
      case 'primitive':
        return t.name === 'int-or-string' ? this.intOrString() : primitive(t);
      case 'any':
      case 'struct':
        return { type: 'object', 'x-kubernetes-preserve-unknown-fields': true };
      case 'map':
        return { type: 'object', additionalProperties: this.ref(t.of) };
      case 'array': {
        const s: Schema = { type: 'array', items: this.ref(t.of) };
        const keys = t.of.kind === 'object' ? listKeysOf(t.of.name) : undefined;
        if (keys) {
          s['x-kubernetes-patch-merge-key'] = keys[0];
          s['x-kubernetes-patch-strategy'] = 'merge';
          s['x-kubernetes-list-type'] = 'map';
          s['x-kubernetes-list-map-keys'] = keys;
        } else if (parent && field && isSetList(parent, field)) {
          s['x-kubernetes-patch-strategy'] = 'merge';
          s['x-kubernetes-list-type'] = 'set';
        }
        return s;
      }
      case 'object':
        return { allOf: [{ $ref: `#/components/schemas/${this.define(t.name)}` }] };
    }
  }

  /** As kube: a reference to the IntOrString definition (`kubectl explain` prints `<IntOrString>`). */
  intOrString(): Schema {
    const name = 'io.k8s.apimachinery.pkg.util.intstr.IntOrString';
    this.components[name] ??= {
      description: INT_OR_STRING,
      type: 'string',
      format: 'int-or-string',
    };
    return { allOf: [{ $ref: `#/components/schemas/${name}` }] };
  }

  /** Defines a model's schema (and those it refers to); returns its component name. */
  define(model: string, gvk?: { group: string; version: string; kind: string }): string {
    const name = definitionName(model);
    const existing = this.components[name];
    if (existing) {
      if (gvk) existing['x-kubernetes-group-version-kind'] = [gvk];
      return name;
    }
    const s: Schema = { type: 'object' };
    const description = typeDescription(model);
    if (description) s.description = description;
    this.components[name] = s;
    const props: Record<string, Schema> = {};
    for (const [field, ft] of fieldsOf(model) ?? []) {
      const p = this.ref(ft, model, field);
      const d = fieldDescription(model, field);
      props[field] = d ? { ...p, description: d } : p;
    }
    s.properties = props;
    const required = requiredFields(model)?.filter((f) => f in props);
    if (required?.length) s.required = required;
    if (gvk) s['x-kubernetes-group-version-kind'] = [gvk];
    return name;
  }
}

/**
 * A type's own schema (a CRD version's) as published: apiVersion, kind and the standard
 * metadata added, as kube does, so `kubectl explain` shows them.
 */
function objectSchema(schema: JSONSchemaProps, b: SchemaBuilder): Schema {
  const properties = { ...(schema.properties ?? {}) } as Record<string, unknown>;
  properties.apiVersion = {
    type: 'string',
    description:
      'APIVersion defines the versioned schema of this representation of an object. Servers should convert recognized schemas to the latest internal value, and may reject unrecognized values. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#resources',
  };
  properties.kind = {
    type: 'string',
    description:
      'Kind is a string value representing the REST resource this object represents. Servers may infer this from the endpoint the client submits requests to. Cannot be updated. In CamelCase. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds',
  };
  properties.metadata = {
    ...b.ref({ kind: 'object', name: 'V1ObjectMeta' }),
    description:
      "Standard object's metadata. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata",
  };
  return { ...schema, type: 'object', properties };
}

const LIST_PARAMETERS = [
  'allowWatchBookmarks',
  'continue',
  'fieldSelector',
  'labelSelector',
  'limit',
  'resourceVersion',
  'resourceVersionMatch',
  'sendInitialEvents',
  'timeoutSeconds',
  'watch',
];

function params(names: string[]): object[] {
  return names.map((name) => ({
    name,
    in: 'query',
    description: parameterDoc(name)?.description,
    schema: { type: parameterDoc(name)?.type ?? 'string' },
    uniqueItems: true,
  }));
}

function pathParam(name: string, description: string): object {
  return { name, in: 'path', description, required: true, schema: { type: 'string' }, uniqueItems: true };
}

// PATCH operations declare no request content types on purpose: kubectl then computes strategic
// merge patches of built-in kinds from its compiled-in types (kube's exact patch strategies, e.g. a
// PDB selector's "replace") rather than from these schemas, which carry list merge keys only.
export function openApiV3(catalog: ResourceCatalog, group: string, version: string): object | undefined {
  const gv = catalog.groupVersions().get(`${group}/${version}`);
  if (!gv) return undefined;
  const b = new SchemaBuilder();
  const paths: Record<string, object> = {};
  const base = group ? `/apis/${group}/${version}` : `/api/${version}`;
  for (const t of gv.types) {
    const gvk = { group, version, kind: t.kind };
    const alias =
      t.group === group && t.version === version
        ? undefined
        : t.aliases?.find((a) => a.group === group && a.version === version);
    const model = alias?.model ?? t.model;
    // kube names custom resource schemas by the reversed group: com.example.v1.Widget.
    let schemaName = model ? definitionName(model) : `${group.split('.').reverse().join('.')}.${version}.${t.kind}`;
    // A served alias without its own model (extensions/v1beta1) has the storage version's fields.
    if (model && alias && !alias.model) schemaName = `${schemaName}.${group || 'core'}.${version}`;
    if (model && !(alias && !alias.model)) b.define(model, gvk);
    else if (model) {
      b.define(model);
      b.components[schemaName] = { ...b.components[definitionName(model)], 'x-kubernetes-group-version-kind': [gvk] };
    } else if (t.schema)
      b.components[schemaName] = { ...objectSchema(t.schema, b), 'x-kubernetes-group-version-kind': [gvk] };
    else
      b.components[schemaName] = {
        type: 'object',
        'x-kubernetes-preserve-unknown-fields': true,
        'x-kubernetes-group-version-kind': [gvk],
      };
    const body = { content: { 'application/json': { schema: { $ref: `#/components/schemas/${schemaName}` } } } };
    const ok = {
      '200': {
        description: 'OK',
        content: { 'application/json': { schema: { $ref: `#/components/schemas/${schemaName}` } } },
      },
    };
    // The list kind, as kube defines it (`io.k8s.api.core.v1.ServiceList`), when the model has one.
    const listModel = model && !(alias && !alias.model) ? `${model}List` : undefined;
    const listName =
      listModel && fieldsOf(listModel) ? b.define(listModel, { ...gvk, kind: `${t.kind}List` }) : undefined;
    const listed = listName
      ? {
          '200': {
            description: 'OK',
            content: { 'application/json': { schema: { $ref: `#/components/schemas/${listName}` } } },
          },
        }
      : ok;
    const ext = { 'x-kubernetes-group-version-kind': gvk };
    const coll = t.namespaced ? `${base}/namespaces/{namespace}/${t.plural}` : `${base}/${t.plural}`;
    const write = params(['dryRun', 'fieldManager', 'fieldValidation']);
    const scope = t.namespaced
      ? [pathParam('namespace', 'object name and auth scope, such as for teams and projects')]
      : [];
    paths[coll] = {
      get: {
        operationId: `list${t.kind}`,
        'x-kubernetes-action': 'list',
        ...ext,
        parameters: params(LIST_PARAMETERS),
        responses: listed,
      },
      post: {
        operationId: `create${t.kind}`,
        'x-kubernetes-action': 'post',
        ...ext,
        parameters: write,
        requestBody: body,
        responses: ok,
      },
      delete: {
        operationId: `deletecollection${t.kind}`,
        'x-kubernetes-action': 'deletecollection',
        ...ext,
        responses: ok,
      },
      parameters: scope,
    };
    const item = {
      get: { operationId: `read${t.kind}`, 'x-kubernetes-action': 'get', ...ext, responses: ok },
      put: {
        operationId: `replace${t.kind}`,
        'x-kubernetes-action': 'put',
        ...ext,
        parameters: write,
        requestBody: body,
        responses: ok,
      },
      patch: {
        operationId: `patch${t.kind}`,
        'x-kubernetes-action': 'patch',
        ...ext,
        parameters: params(['dryRun', 'fieldManager', 'fieldValidation', 'force']),
        responses: ok,
      },
      delete: { operationId: `delete${t.kind}`, 'x-kubernetes-action': 'delete', ...ext, responses: ok },
      parameters: [pathParam('name', `name of the ${t.kind}`), ...scope],
    };
    paths[`${coll}/{name}`] = item;
    for (const sub of t.subresources ?? []) paths[`${coll}/{name}/${sub}`] = { ...item, delete: undefined };
  }
  return {
    openapi: '3.0.0',
    info: { title: 'Kubernetes', version: 'v1.32.0-kitfed' },
    paths,
    components: { schemas: b.components },
  };
}

const docCaches = new WeakMap<ResourceCatalog, Map<string, { json: string; hash: string }>>();

export function openApiV3Doc(
  catalog: ResourceCatalog,
  group: string,
  version: string,
): { json: string; hash: string } | undefined {
  const key = `${group}/${version}`;
  let docCache = docCaches.get(catalog);
  if (!docCache) {
    const cache = (docCache = new Map<string, { json: string; hash: string }>());
    docCaches.set(catalog, cache);
    // A type added, changed or removed at run time (a CRD) invalidates the documents of its group/versions only.
    catalog.onChange((c) => {
      for (const t of [...c.added, ...c.updated, ...c.removed])
        for (const gv of [{ group: t.group, version: t.version }, ...(t.aliases ?? [])])
          cache.delete(`${gv.group}/${gv.version}`);
    });
  }
  let doc = docCache.get(key);
  if (doc) return doc;
  const spec = openApiV3(catalog, group, version);
  if (!spec) return undefined;
  const json = JSON.stringify(spec);
  doc = { json, hash: createHash('sha512').update(json).digest('hex').slice(0, 128).toUpperCase() };
  docCache.set(key, doc);
  return doc;
}

export function openApiV3Index(catalog: ResourceCatalog): object {
  const paths: Record<string, { serverRelativeURL: string }> = {};
  for (const gv of catalog.groupVersions().values()) {
    const p = gv.group ? `apis/${gv.group}/${gv.version}` : `api/${gv.version}`;
    const doc = openApiV3Doc(catalog, gv.group, gv.version)!;
    paths[p] = { serverRelativeURL: `/openapi/v3/${p}?hash=${doc.hash}` };
  }
  return { paths };
}

export type { ResourceType };
