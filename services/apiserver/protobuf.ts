import protobuf from 'protobufjs';
import { errors } from '../core/errors.js';
import { buildDescriptor, fullName, KINDS, PACKAGES, type FieldJson } from './protobuf-schema.js';

/**
 * Decodes Kubernetes protobuf request bodies (`application/vnd.kubernetes.protobuf`) — what
 * client-go typed clients send, kubectl's imperative `create` commands included — into the
 * plain object a JSON client would have sent for the same object.
 *
 * Wire format: the 4-byte magic `k8s\x00`, then a `runtime.Unknown` message whose `typeMeta`
 * names the kind and whose `raw` holds the object encoded with its `generated.proto` message.
 */

/** The media type of Kubernetes protobuf bodies. */
export const PROTOBUF_MEDIA_TYPE = 'application/vnd.kubernetes.protobuf';

const MAGIC = Buffer.from([0x6b, 0x38, 0x73, 0x00]);

type Message = Record<string, unknown>;

const TIME = `${PACKAGES.meta}.Time`;
const MICRO_TIME = `${PACKAGES.meta}.MicroTime`;
const FIELDS_V1 = `${PACKAGES.meta}.FieldsV1`;
const QUANTITY = `${PACKAGES.resource}.Quantity`;
const INT_OR_STRING = `${PACKAGES.intstr}.IntOrString`;
const RAW_EXTENSION = `${PACKAGES.runtime}.RawExtension`;
const EXTRA_VALUE = `${PACKAGES.certificates}.ExtraValue`;
/** Seconds of Go's zero time.Time (0001-01-01T00:00:00Z): metav1.Time treats it as unset. */
const GO_ZERO_TIME_SECONDS = -62135596800;

interface Schema {
  root: protobuf.Root;
  unknown: protobuf.Type;
  fields: Map<string, FieldJson>;
}

let schema: Schema | undefined;

function loadSchema(): Schema {
  if (!schema) {
    const { descriptor, fields } = buildDescriptor();
    const root = protobuf.Root.fromJSON(descriptor);
    root.resolveAll();
    schema = { root, unknown: root.lookupType(fullName('runtime.Unknown')), fields };
  }
  return schema;
}

/** The message type for an envelope's apiVersion and kind, if this decoder knows it. */
export function protobufTypeFor(apiVersion: string, kind: string): string | undefined {
  const ref = KINDS[`${apiVersion}/${kind}`] ?? KINDS[`*/${kind}`];
  return ref ? fullName(ref) : undefined;
}

/**
 * Decodes one Kubernetes protobuf body into the equivalent JSON object, `apiVersion` and `kind`
 * taken from the envelope. Malformed bodies fail with 400 naming what failed; kinds this decoder
 * has no descriptor for fail with 415 (the client can send JSON instead).
 */
export function decodeKubeProtobuf(body: Buffer): Record<string, unknown> {
  const { root, unknown } = loadSchema();
  if (body.length < MAGIC.length || !body.subarray(0, MAGIC.length).equals(MAGIC)) {
    throw errors.badRequest(
      `the body of the request could not be decoded as ${PROTOBUF_MEDIA_TYPE}: it does not start with the k8s\\x00 magic prefix`,
    );
  }
  let envelope: Message;
  try {
    envelope = unknown.decode(body.subarray(MAGIC.length)) as unknown as Message;
  } catch (err) {
    throw errors.badRequest(
      `the body of the request could not be decoded as ${PROTOBUF_MEDIA_TYPE}: runtime.Unknown envelope: ${describe(err)}`,
    );
  }
  const typeMeta = (envelope.typeMeta ?? {}) as Message;
  const apiVersion = typeof typeMeta.apiVersion === 'string' ? typeMeta.apiVersion : '';
  const kind = typeof typeMeta.kind === 'string' ? typeMeta.kind : '';
  if (!apiVersion || !kind) {
    throw errors.badRequest(
      `the body of the request could not be decoded as ${PROTOBUF_MEDIA_TYPE}: the runtime.Unknown envelope names no apiVersion and kind`,
    );
  }
  const contentEncoding = typeof envelope.contentEncoding === 'string' ? envelope.contentEncoding : '';
  if (contentEncoding) {
    throw errors.unsupportedMediaType(
      `${PROTOBUF_MEDIA_TYPE} with content encoding ${JSON.stringify(contentEncoding)} (send ${kind} unencoded, or as application/json)`,
    );
  }
  const raw = envelope.raw instanceof Uint8Array ? Buffer.from(envelope.raw) : Buffer.alloc(0);
  const contentType = typeof envelope.contentType === 'string' ? envelope.contentType.split(';')[0]!.trim() : '';
  if (contentType === 'application/json') {
    // runtime.Unknown may carry JSON; the Kubernetes serializer never sends it, but it is well defined.
    try {
      const obj = JSON.parse(raw.toString('utf8')) as unknown;
      if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) throw new Error('not a JSON object');
      return { apiVersion, kind, ...(obj as Message) };
    } catch (err) {
      throw errors.badRequest(
        `the body of the request could not be decoded as ${PROTOBUF_MEDIA_TYPE}: the embedded JSON ${kind}: ${describe(err)}`,
      );
    }
  }
  if (contentType && contentType !== PROTOBUF_MEDIA_TYPE) {
    throw errors.unsupportedMediaType(`${PROTOBUF_MEDIA_TYPE} wrapping ${contentType}`);
  }
  const typeName = protobufTypeFor(apiVersion, kind);
  if (!typeName) {
    throw errors.unsupportedMediaType(
      `${PROTOBUF_MEDIA_TYPE} for ${kind} (${apiVersion}): this server decodes protobuf only for ` +
        `${knownKinds()}; send ${kind} as application/json, which is supported for every kind`,
    );
  }
  const type = root.lookupType(typeName);
  let decoded: Message;
  try {
    decoded = type.decode(raw) as unknown as Message;
  } catch (err) {
    throw errors.badRequest(
      `the body of the request could not be decoded as ${PROTOBUF_MEDIA_TYPE}: ${kind} (${typeName}): ${describe(err)}`,
    );
  }
  return { apiVersion, kind, ...toJson(type, decoded, kind) };
}

function knownKinds(): string {
  return Object.keys(KINDS)
    .map((k) => {
      const at = k.lastIndexOf('/');
      return k.startsWith('*/') ? k.slice(2) : `${k.slice(at + 1)} (${k.slice(0, at)})`;
    })
    .join(', ');
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message.split('\n')[0]! : String(err);
}

const hasOwn = (o: object, k: string): boolean => Object.prototype.hasOwnProperty.call(o, k);

/** A decoded message as the JSON object Go's encoding/json would produce for the same Go struct. */
function toJson(type: protobuf.Type, msg: Message, path: string): Message {
  const { fields } = loadSchema();
  const out: Message = {};
  for (const field of type.fieldsArray) {
    const spec = fields.get(`${type.fullName.slice(1)}.${field.name}`) ?? {
      json: field.name,
      pointer: false,
      inline: false,
    };
    const where = `${path}.${spec.json}`;
    const value = msg[field.name];
    let converted: unknown;
    if (field.map) {
      const entries = Object.entries((value ?? {}) as Message);
      if (entries.length === 0) continue;
      converted = Object.fromEntries(entries.map(([k, v]) => [k, element(field, v, `${where}[${k}]`)]));
    } else if (field.repeated) {
      const items = (value ?? []) as unknown[];
      if (items.length === 0) continue;
      converted = items.map((v, i) => element(field, v, `${where}[${i}]`));
    } else {
      if (!hasOwn(msg, field.name) || value === null || value === undefined) continue;
      converted = single(field, spec, value, where);
      if (converted === undefined) continue;
    }
    if (spec.inline && converted !== null && typeof converted === 'object' && !Array.isArray(converted))
      Object.assign(out, converted);
    else out[spec.json] = converted;
  }
  return out;
}

/** One element of a repeated or map field. */
function element(field: protobuf.Field, value: unknown, where: string): unknown {
  const t = field.resolvedType;
  if (t instanceof protobuf.Type) {
    const s = special(t, value as Message, true, where);
    return s === NOT_SPECIAL ? toJson(t, value as Message, where) : (s ?? null);
  }
  return scalar(field.type, value);
}

/** A singular field, or undefined when Go's `omitempty` would leave it out. */
function single(field: protobuf.Field, spec: FieldJson, value: unknown, where: string): unknown {
  const t = field.resolvedType;
  if (t instanceof protobuf.Type) {
    const s = special(t, value as Message, spec.pointer, where);
    if (s !== NOT_SPECIAL) return s;
    return toJson(t, value as Message, where);
  }
  const v = scalar(field.type, value);
  if (!spec.pointer && (v === '' || v === 0 || v === false)) return undefined;
  return v;
}

const NOT_SPECIAL = Symbol('not special');

/**
 * Messages whose JSON form is not an object: Time and MicroTime are RFC 3339 strings, Quantity
 * a string, IntOrString a number or a string, FieldsV1 and RawExtension embedded JSON, ExtraValue
 * its list of strings.
 * Returns undefined to omit the field, NOT_SPECIAL for ordinary messages.
 */
function special(type: protobuf.Type, msg: Message, keepZero: boolean, where: string): unknown {
  switch (type.fullName.slice(1)) {
    case TIME:
    case MICRO_TIME: {
      if (!hasOwn(msg, 'seconds') && !hasOwn(msg, 'nanos')) return undefined;
      const seconds = toNumber(msg.seconds);
      const nanos = toNumber(msg.nanos);
      if (seconds === GO_ZERO_TIME_SECONDS && nanos === 0) return undefined;
      const iso = new Date(seconds * 1000).toISOString().slice(0, 19);
      if (type.fullName.slice(1) === TIME) return `${iso}Z`;
      return `${iso}.${String(Math.floor(nanos / 1000)).padStart(6, '0')}Z`;
    }
    case QUANTITY: {
      const s = typeof msg.string === 'string' ? msg.string : '';
      return s === '' && !keepZero ? undefined : s || '0';
    }
    case INT_OR_STRING: {
      const isString = toNumber(msg.type) === 1;
      const v = isString ? (typeof msg.strVal === 'string' ? msg.strVal : '') : toNumber(msg.intVal);
      // A zero value struct (targetPort left unset) is what a JSON client would have omitted.
      if (!keepZero && (v === 0 || v === '')) return undefined;
      return v;
    }
    case FIELDS_V1:
    case RAW_EXTENSION: {
      const raw = hasOwn(msg, 'Raw') ? msg.Raw : msg.raw;
      if (!(raw instanceof Uint8Array) || raw.length === 0) return undefined;
      try {
        return JSON.parse(Buffer.from(raw).toString('utf8')) as unknown;
      } catch (err) {
        throw errors.badRequest(
          `the body of the request could not be decoded as ${PROTOBUF_MEDIA_TYPE}: ${where} is not JSON: ${describe(err)}`,
        );
      }
    }
    case EXTRA_VALUE:
      return Array.isArray(msg.items) ? msg.items : [];
    default:
      return NOT_SPECIAL;
  }
}

function scalar(type: string, value: unknown): unknown {
  if (value instanceof Uint8Array)
    return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64');
  if (type === 'int64' || type === 'uint64') return toNumber(value);
  return value;
}

/** int64 fields decode to Long objects when long.js is installed, to numbers otherwise. */
function toNumber(value: unknown): number {
  if (typeof value === 'number') return value;
  if (value !== null && typeof value === 'object' && 'toNumber' in value && typeof value.toNumber === 'function') {
    return (value as { toNumber(): number }).toNumber();
  }
  if (typeof value === 'string') return Number(value);
  return 0;
}
