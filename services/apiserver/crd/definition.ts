import { JSONPath } from 'jsonpath-plus';
import { isObject, type KubeObject, type StatusCause } from '../../core/kube.js';
import type { AdmissionPlugin } from '../registry.js';
import type { JSONSchemaProps, ResourceType, TableColumn } from '../resources.js';
import { humanDuration } from '../table.js';
import { validateName } from '../validation.js';
import { formatValue, structuralErrors } from './schema.js';

/**
 * CustomResourceDefinition objects (apiextensions.k8s.io/v1): kube's defaulting and validation
 * of the definition itself, and the resource types a definition serves.
 */

export const CRD_GROUP = 'apiextensions.k8s.io';
export const CRD_KIND = 'CustomResourceDefinition';
export const CLEANUP_FINALIZER = 'customresourcecleanup.apiextensions.k8s.io';

export interface CrdNames {
  plural: string;
  singular?: string;
  kind: string;
  listKind?: string;
  shortNames?: string[];
  categories?: string[];
}

export interface CrdVersion {
  name: string;
  served: boolean;
  storage: boolean;
  deprecated?: boolean;
  deprecationWarning?: string;
  schema?: { openAPIV3Schema?: JSONSchemaProps };
  subresources?: {
    status?: Record<string, never>;
    scale?: { specReplicasPath: string; statusReplicasPath: string; labelSelectorPath?: string };
  };
  additionalPrinterColumns?: Array<{
    name: string;
    type: string;
    format?: string;
    description?: string;
    priority?: number;
    jsonPath: string;
  }>;
  selectableFields?: Array<{ jsonPath: string }>;
}

export interface CrdSpec {
  group: string;
  names: CrdNames;
  scope: string;
  versions: CrdVersion[];
  conversion?: { strategy?: string };
  preserveUnknownFields?: boolean;
}

export interface CrdCondition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  lastTransitionTime?: string;
  reason?: string;
  message?: string;
}

export interface CrdStatus {
  acceptedNames?: Partial<CrdNames>;
  conditions?: CrdCondition[];
  storedVersions?: string[];
}

export function specOf(crd: KubeObject): CrdSpec {
  return (isObject(crd.spec) ? crd.spec : {}) as unknown as CrdSpec;
}

export function statusOf(crd: KubeObject): CrdStatus {
  return isObject(crd.status) ? crd.status : {};
}

export function condition(crd: KubeObject, type: string): CrdCondition | undefined {
  return statusOf(crd).conditions?.find((c) => c.type === type);
}

export function storageVersion(spec: CrdSpec): string | undefined {
  return (Array.isArray(spec.versions) ? spec.versions : []).find((v) => v.storage === true)?.name;
}

/** kube's version order: GA before beta before alpha, higher major/minor first, then others alphabetically. */
export function compareVersions(a: string, b: string): number {
  const parse = (v: string) => {
    const m = /^v(\d+)(?:(alpha|beta)(\d+))?$/.exec(v);
    if (!m) return { rank: 0, major: 0, minor: 0, v };
    const rank = m[2] === undefined ? 3 : m[2] === 'beta' ? 2 : 1;
    return { rank, major: Number(m[1]), minor: Number(m[3] ?? 0), v };
  };
  const x = parse(a);
  const y = parse(b);
  if (x.rank !== y.rank) return y.rank - x.rank;
  if (x.rank === 0) return a.localeCompare(b);
  if (x.major !== y.major) return y.major - x.major;
  return y.minor - x.minor;
}

// ---- defaulting ---------------------------------------------------------------------------

/** kube's defaults for a CRD: singular and listKind from the kind, conversion strategy None. */
export function defaultCrd(crd: KubeObject): void {
  if (!isObject(crd.spec)) return;
  const spec = crd.spec as unknown as CrdSpec;
  if (isObject(spec.names)) {
    const names = spec.names;
    if (!names.singular && typeof names.kind === 'string') names.singular = names.kind.toLowerCase();
    if (!names.listKind && typeof names.kind === 'string' && names.kind) names.listKind = `${names.kind}List`;
  }
  spec.conversion ??= { strategy: 'None' };
  if (isObject(spec.conversion)) spec.conversion.strategy ??= 'None';
}

// ---- validation ---------------------------------------------------------------------------

function required(field: string, detail = ''): StatusCause {
  return { reason: 'FieldValueRequired', field, message: detail ? `Required value: ${detail}` : 'Required value' };
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

const DNS1035 = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const DNS1035_MSG =
  "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an " +
  "alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or " +
  "'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";

function dns1035(value: string): string | undefined {
  if (value.length > 63) return 'must be no more than 63 characters';
  return DNS1035.test(value) ? undefined : DNS1035_MSG;
}

function validateNames(names: Partial<CrdNames>, path: string): StatusCause[] {
  const out: StatusCause[] = [];
  const check = (field: string, value: unknown, lower = false) => {
    if (typeof value !== 'string' || value === '') return;
    const err = dns1035(lower ? value.toLowerCase() : value);
    if (err)
      out.push(
        invalid(`${path}.${field}`, value, lower ? `may have mixed case, but should otherwise match: ${err}` : err),
      );
  };
  check('plural', names.plural);
  check('singular', names.singular);
  check('kind', names.kind, true);
  check('listKind', names.listKind, true);
  (names.shortNames ?? []).forEach((s, i) => {
    const err = dns1035(String(s));
    if (err) out.push(invalid(`${path}.shortNames[${i}]`, s, err));
  });
  if (names.kind && names.kind === names.listKind)
    out.push(invalid(`${path}.listKind`, names.listKind, 'kind and listKind may not be the same'));
  (names.categories ?? []).forEach((c, i) => {
    const err = dns1035(String(c));
    if (err) out.push(invalid(`${path}.categories[${i}]`, c, err));
  });
  return out;
}

const COLUMN_TYPES = ['boolean', 'date', 'integer', 'number', 'string'];
const COLUMN_FORMATS = ['byte', 'date', 'date-time', 'double', 'float', 'int32', 'int64', 'password'];

function validateJsonPath(value: unknown, field: string, under?: '.spec.' | '.status.'): StatusCause[] {
  if (typeof value !== 'string' || value === '') return [required(field)];
  if (!value.startsWith('.')) return [invalid(field, value, 'must be a simple json path starting with .')];
  if (under && !value.startsWith(under))
    return [invalid(field, value, `should be a json path under ${under.slice(0, -1)}`)];
  if (under && /[[\]]/.test(value)) return [invalid(field, value, 'should be a json path without the array notation')];
  return [];
}

/** kube's validation of a CRD (create, or update from `old`), plus the structural schema rules. */
export function validateCrd(crd: KubeObject, old: KubeObject | undefined): StatusCause[] {
  const out: StatusCause[] = [];
  const spec = specOf(crd);
  const names = (isObject(spec.names) ? spec.names : {}) as Partial<CrdNames>;
  const name = crd.metadata.name ?? '';
  if (typeof spec.group !== 'string' || spec.group === '') out.push(required('spec.group'));
  else {
    const errs = validateName(spec.group, 'dns1123-subdomain', 'spec.group');
    if (errs.length > 0) out.push(...errs);
    else if (!spec.group.includes('.'))
      out.push(invalid('spec.group', spec.group, 'should be a domain with at least one dot'));
    else if (
      /(^|\.)(k8s|kubernetes)\.io$/.test(spec.group) &&
      !crd.metadata.annotations?.['api-approved.kubernetes.io']
    )
      out.push(
        required(
          'metadata.annotations[api-approved.kubernetes.io]',
          'protected groups must have approval annotation "api-approved.kubernetes.io", see https://github.com/kubernetes/enhancements/pull/1111',
        ),
      );
  }
  if (name && name !== `${String(names.plural ?? '')}.${String(spec.group ?? '')}`)
    out.push(invalid('metadata.name', name, 'must be spec.names.plural+"."+spec.group'));

  if (!spec.scope) out.push(required('spec.scope'));
  else if (spec.scope !== 'Cluster' && spec.scope !== 'Namespaced')
    out.push(notSupported('spec.scope', spec.scope, ['Cluster', 'Namespaced']));

  for (const f of ['plural', 'singular', 'kind', 'listKind'] as const)
    if (!names[f]) out.push(required(`spec.names.${f}`));
  out.push(...validateNames(names, 'spec.names'));

  if (spec.preserveUnknownFields === true)
    out.push(
      invalid(
        'spec.preserveUnknownFields',
        true,
        'cannot set to true, set x-kubernetes-preserve-unknown-fields to true in spec.versions[*].schema instead',
      ),
    );
  const strategy = isObject(spec.conversion) ? spec.conversion.strategy : undefined;
  if (strategy !== undefined && strategy !== 'None')
    out.push(notSupported('spec.conversion.strategy', strategy, ['None']));

  const versions = Array.isArray(spec.versions) ? spec.versions : [];
  if (versions.length === 0)
    out.push(required('spec.versions', 'must have exactly one version marked as storage version'));
  else {
    const seen = new Set<string>();
    let storage = 0;
    versions.forEach((v, i) => {
      const path = `spec.versions[${i}]`;
      if (v.storage === true) storage++;
      const vname = typeof v.name === 'string' ? v.name : '';
      if (seen.has(vname)) out.push(invalid('spec.versions', vname, 'must contain unique version names'));
      seen.add(vname);
      const err = dns1035(vname);
      if (err) out.push(invalid(`${path}.name`, vname, err));
      out.push(...validateVersion(v, path));
    });
    if (storage !== 1)
      out.push(
        invalid(
          'spec.versions',
          versions.map((v) => v.name),
          'must have exactly one version marked as storage version',
        ),
      );
  }

  if (old) {
    const oldSpec = specOf(old);
    const established = condition(old, 'Established')?.status === 'True';
    const immutable = (field: string, a: unknown, b: unknown) => {
      if (a !== b) out.push(invalid(field, a, 'field is immutable'));
    };
    if (established) {
      immutable('spec.scope', spec.scope, oldSpec.scope);
      immutable('spec.names.kind', names.kind, oldSpec.names?.kind);
    }
    immutable('spec.group', spec.group, oldSpec.group);
    immutable('spec.names.plural', names.plural, oldSpec.names?.plural);
  }

  const stored = statusOf(crd).storedVersions ?? [];
  const defined = new Set(versions.map((v) => v.name));
  stored.forEach((v, i) => {
    if (!defined.has(v)) out.push(invalid(`status.storedVersions[${i}]`, v, 'must appear in spec.versions'));
  });
  return out;
}

function validateVersion(v: CrdVersion, path: string): StatusCause[] {
  const out: StatusCause[] = [];
  const schema = isObject(v.schema) ? v.schema.openAPIV3Schema : undefined;
  if (!isObject(schema)) out.push(required(`${path}.schema.openAPIV3Schema`, 'schemas are required'));
  else out.push(...structuralErrors(schema, `${path}.schema.openAPIV3Schema`));
  const scale = isObject(v.subresources) ? v.subresources.scale : undefined;
  if (isObject(scale)) {
    const p = `${path}.subresources.scale`;
    out.push(...validateJsonPath(scale.specReplicasPath, `${p}.specReplicasPath`, '.spec.'));
    out.push(...validateJsonPath(scale.statusReplicasPath, `${p}.statusReplicasPath`, '.status.'));
    if (scale.labelSelectorPath)
      out.push(...validateJsonPath(scale.labelSelectorPath, `${p}.labelSelectorPath`, '.status.'));
  }
  (Array.isArray(v.additionalPrinterColumns) ? v.additionalPrinterColumns : []).forEach((c, i) => {
    const p = `${path}.additionalPrinterColumns[${i}]`;
    if (!c.name) out.push(required(`${p}.name`));
    if (!c.type) out.push(required(`${p}.type`, `must be one of ${COLUMN_TYPES.join(',')}`));
    else if (!COLUMN_TYPES.includes(c.type))
      out.push(invalid(`${p}.type`, c.type, `must be one of ${COLUMN_TYPES.join(',')}`));
    if (c.format && !COLUMN_FORMATS.includes(c.format))
      out.push(invalid(`${p}.format`, c.format, `must be one of ${COLUMN_FORMATS.join(',')}`));
    out.push(...validateJsonPath(c.jsonPath, `${p}.jsonPath`));
  });
  (Array.isArray(v.selectableFields) ? v.selectableFields : []).forEach((f, i) => {
    out.push(...validateJsonPath(f.jsonPath, `${path}.selectableFields[${i}].jsonPath`));
  });
  return out;
}

/** Defaulting and validation of CRDs, and their storedVersions, as an admission plugin. */
export const crdAdmission: AdmissionPlugin = {
  name: 'CustomResourceDefinitions',
  kinds: [CRD_KIND],
  admit(_op, t, obj, old) {
    if (t.group !== CRD_GROUP) return [];
    defaultCrd(obj);
    const storage = storageVersion(specOf(obj));
    const status = (isObject(obj.status) ? obj.status : (obj.status = {})) as CrdStatus;
    if (!old) status.acceptedNames ??= { plural: '', kind: '' };
    status.storedVersions ??= [];
    if (storage && !status.storedVersions.includes(storage)) status.storedVersions.push(storage);
    return validateCrd(obj, old);
  },
};

// ---- the types a CRD serves ---------------------------------------------------------------

function cellFor(type: string, value: unknown, now: number): unknown {
  if (value === undefined) return null;
  switch (type) {
    case 'date': {
      const ms = typeof value === 'string' ? Date.parse(value) : NaN;
      return Number.isNaN(ms) ? '<invalid>' : humanDuration(now - ms);
    }
    case 'string':
      return typeof value === 'string' ? value : JSON.stringify(value);
    case 'integer':
      return typeof value === 'number' && Number.isInteger(value) ? value : null;
    case 'number':
      return typeof value === 'number' ? value : null;
    case 'boolean':
      return typeof value === 'boolean' ? value : null;
    default:
      return value;
  }
}

function column(c: NonNullable<CrdVersion['additionalPrinterColumns']>[number]): TableColumn {
  const path = `$${c.jsonPath}`;
  return {
    name: c.name,
    type: c.type as TableColumn['type'],
    ...(c.format ? { format: c.format } : {}),
    description: c.description ?? `Custom resource definition column (in JSONPath format): ${c.jsonPath}`,
    ...(c.priority ? { priority: c.priority } : {}),
    value: (o) => {
      const found: unknown[] = JSONPath({ path, json: o, wrap: true });
      return cellFor(c.type, found[0], Date.now());
    },
  };
}

const AGE_COLUMN = {
  name: 'Age',
  type: 'date',
  description:
    'CreationTimestamp is a timestamp representing the server time when this object was ' +
    'created. It is not guaranteed to be set in happens-before order across separate operations. ' +
    'Clients may not set this value. It is represented in RFC3339 form and is in ' +
    'UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: ' +
    'https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata',
  jsonPath: '.metadata.creationTimestamp',
};

/** One resource type per served version of `crd`, under its accepted `names`, in kube's version order. */
export function crdTypes(crd: KubeObject, names: CrdNames): ResourceType[] {
  const spec = specOf(crd);
  const storage = storageVersion(spec) ?? '';
  const served = spec.versions.filter((v) => v.served).sort((a, b) => compareVersions(a.name, b.name));
  return served.map((v) => {
    const sub = v.subresources ?? {};
    const columns = v.additionalPrinterColumns?.length ? v.additionalPrinterColumns : [AGE_COLUMN];
    const subresources: ResourceType['subresources'] = [
      ...(sub.status ? (['status'] as const) : []),
      ...(sub.scale ? (['scale'] as const) : []),
    ];
    const t: ResourceType = {
      group: spec.group,
      version: v.name,
      kind: names.kind,
      plural: names.plural,
      singular: names.singular ?? names.kind.toLowerCase(),
      namespaced: spec.scope === 'Namespaced',
      hasStatus: !!sub.status,
      columns: columns.map(column),
      ageColumn: false,
      schema: v.schema?.openAPIV3Schema ?? { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
      custom: {
        crd: crd.metadata.name!,
        storageVersion: storage,
        ...(crd.metadata.deletionTimestamp ? { terminating: true } : {}),
      },
    };
    if (names.shortNames?.length) t.shortNames = [...names.shortNames];
    if (names.categories?.length) t.categories = [...names.categories];
    if (subresources.length > 0) t.subresources = subresources;
    if (sub.scale)
      t.scale = {
        specReplicasPath: sub.scale.specReplicasPath,
        statusReplicasPath: sub.scale.statusReplicasPath,
        ...(sub.scale.labelSelectorPath ? { labelSelectorPath: sub.scale.labelSelectorPath } : {}),
      };
    if (v.selectableFields?.length) t.fieldSelectors = v.selectableFields.map((f) => f.jsonPath.replace(/^\./, ''));
    return t;
  });
}
