import http2 from 'node:http2';
import { isIP } from 'node:net';
import protobuf from 'protobufjs/minimal.js';

/**
 * The etcd client of the store: the calls it makes, `KV/Range`, `KV/Txn` and `KV/Compact` (gRPC
 * framed by hand on one `node:http2` session), and the watch cache's `Watch/Watch` stream (on a
 * session of its own), messages read and written with protobufjs's wire Reader/Writer. Through
 * `etcd3` and `@grpc/grpc-js` (the store's client until the fifth session) one unary call cost
 * ≈ 250 µs of CPU (call layers, interceptors, proto-loader objects with 64-bit integers as
 * strings); here ≈ 90 µs (docs/benchmarks.md). The caller (EtcdStore.call) keeps the deadlines
 * and retry rules, the watch's caller (EtcdStore.watch) its resumption.
 *
 * Errors carry what the store's error mapping reads: etcd's own message (`etcdserver: leader
 * changed`, `… has been compacted`), the gRPC status name (`Unavailable`, `DeadlineExceeded`), and
 * `No connection established` only when the request surely never reached etcd. A failure of the
 * connection moves the next call to the next endpoint.
 */
export class EtcdKv {
  private session: http2.ClientHttp2Session | undefined;
  private next = 0;
  private watchNext = 0;
  private closed = false;

  constructor(
    private readonly endpoints: string[],
    private readonly tls: { ca: Buffer; cert?: Buffer; key?: Buffer } | undefined,
  ) {}

  async range(req: RangeRequest, options: { deadline: number }): Promise<RangeResponse> {
    return decoded(decodeRange, await this.unary('/etcdserverpb.KV/Range', encodeRange(req), options.deadline));
  }

  async txn(req: TxnRequest, options: { deadline: number }): Promise<TxnResponse> {
    return decoded(decodeTxn, await this.unary('/etcdserverpb.KV/Txn', encodeTxn(req), options.deadline));
  }

  /** Compacts etcd's history before `revision` (logically: etcd frees the space in the background). */
  async compact(req: { revision: number }, options: { deadline: number }): Promise<void> {
    await this.unary('/etcdserverpb.KV/Compact', new Writer().varint(1, req.revision).finish(), options.deadline);
  }

  close(): void {
    this.closed = true;
    this.session?.close();
    this.session = undefined;
  }

  private connect(): http2.ClientHttp2Session {
    if (this.session && !this.session.closed && !this.session.destroyed) return this.session;
    const session = this.dial(this.endpoints[this.next % this.endpoints.length]!);
    const drop = () => {
      if (this.session === session) {
        this.session = undefined;
        this.next++;
      }
    };
    session.on('error', drop);
    session.on('close', drop);
    session.on('goaway', drop);
    // Idle, it holds no process open: a call in flight does (its deadline timer). A watch's
    // session stays referenced while the watch is open, as a listening socket would.
    session.unref();
    this.session = session;
    return session;
  }

  private dial(endpoint: string): http2.ClientHttp2Session {
    // No SNI for an IP address (RFC 6066); the certificate is still checked against the host.
    const host = new URL(endpoint).hostname.replace(/^\[|\]$/g, '');
    const session = http2.connect(
      endpoint,
      this.tls ? { ca: this.tls.ca, cert: this.tls.cert, key: this.tls.key, servername: isIP(host) ? '' : host } : {},
    );
    // Errors reach the streams (and the listeners above); an unhandled 'error' would throw.
    session.on('error', () => {});
    // A connection that went silent (a member partitioned away, a dead peer without a reset) is
    // noticed within 15 s: a ping every 10 s, 5 s to answer, else the session is destroyed and its
    // calls and watch fail over to the next endpoint.
    const keepalive = setInterval(() => {
      const timer = setTimeout(() => session.destroy(new Error('keepalive ping unanswered for 5 s')), 5000);
      timer.unref();
      const sent = session.ping((err) => {
        clearTimeout(timer);
        if (err && !session.destroyed) session.destroy(err);
      });
      if (!sent) clearTimeout(timer);
    }, 10_000);
    keepalive.unref();
    session.once('close', () => clearInterval(keepalive));
    return session;
  }

  /**
   * Opens one etcd watch on a session of its own, on the next endpoint in turn (so a watch that
   * ended reconnects elsewhere). It asks etcd to end it when the member loses its leader
   * (`hasleader`, as kube-apiserver does); a silent connection ends it too (see dial()). Exactly
   * one of `canceled` and `ended` is called, once, unless the returned function (stop) is called
   * first; after either or after stop, nothing more is called.
   */
  watch(req: WatchCreateRequest, on: WatchHandlers): () => void {
    if (this.closed) {
      queueMicrotask(() => on.ended(new EtcdKvError('Unavailable', 'unavailable: client closed')));
      return () => {};
    }
    const session = this.dial(this.endpoints[this.watchNext++ % this.endpoints.length]!);
    let done = false;
    const finish = (then?: () => void) => {
      if (done) return;
      done = true;
      stream.close(http2.constants.NGHTTP2_CANCEL);
      session.destroy();
      then?.();
    };
    const stream = session.request({
      ':method': 'POST',
      ':path': '/etcdserverpb.Watch/Watch',
      'content-type': 'application/grpc',
      te: 'trailers',
      hasleader: 'true',
    });
    const status = grpcStatus(stream);
    const frames = new FrameReader();
    stream.on('data', (chunk: Buffer) => {
      try {
        for (const message of frames.push(chunk)) {
          if (done) return;
          const res = decodeWatch(new Reader(message));
          if (res.created) on.created();
          if (res.events.length > 0 && !done) on.events(res.events);
          if (res.canceled && !done) finish(() => on.canceled(res.cancel_reason, res.compact_revision));
        }
      } catch (err) {
        finish(() => on.ended(new EtcdKvError('Internal', `malformed etcd watch response: ${(err as Error).message}`)));
      }
    });
    stream.on('error', (err: Error) =>
      finish(() => on.ended(new EtcdKvError('Unavailable', `unavailable: watch stream failed: ${err.message}`))),
    );
    stream.on('close', () =>
      finish(() => {
        const name = status.code === undefined ? 'Unavailable' : status.name;
        const why =
          status.code === undefined ? `stream ended without a status (${stream.rstCode})` : status.message || name;
        on.ended(new EtcdKvError(name, `unavailable (${name}): watch ended: ${why}`));
      }),
    );
    // The request side stays open: etcd ends the watch when the client half-closes.
    stream.write(grpcFrame(encodeWatchCreate(req)));
    return () => finish();
  }

  private unary(path: string, message: Buffer, deadline: number): Promise<Buffer> {
    if (this.closed) return Promise.reject(new EtcdKvError('Unavailable', 'unavailable: client closed'));
    return new Promise<Buffer>((resolve, reject) => {
      const session = this.connect();
      const connected = !session.connecting;
      const ms = Math.max(1, deadline - Date.now());
      let stream: http2.ClientHttp2Stream;
      try {
        stream = session.request({
          ':method': 'POST',
          ':path': path,
          'content-type': 'application/grpc',
          te: 'trailers',
          'grpc-timeout': `${ms}m`,
        });
      } catch (err) {
        this.failed(session);
        reject(new EtcdKvError('Unavailable', `unavailable: No connection established: ${(err as Error).message}`));
        return;
      }
      const chunks: Buffer[] = [];
      const status = grpcStatus(stream);
      let settled = false;
      const finish = (err: Error | undefined, body?: Buffer) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (err) reject(err);
        else resolve(body!);
      };
      const timer = setTimeout(() => {
        stream.close(http2.constants.NGHTTP2_CANCEL);
        finish(new EtcdKvError('DeadlineExceeded', `unavailable: deadline exceeded after ${ms} ms`));
      }, ms);
      stream.on('data', (d: Buffer) => chunks.push(d));
      stream.on('error', (err: Error) => {
        this.failed(session);
        // Refused before the request was on the wire: it surely did not apply.
        const sent = connected || !/ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|ETIMEDOUT/.test(err.message);
        const what = sent ? 'unavailable: stream failed' : 'unavailable: No connection established';
        finish(new EtcdKvError('Unavailable', `${what}: ${err.message}`));
      });
      stream.on('close', () => {
        if (status.code === undefined) {
          this.failed(session);
          return finish(
            new EtcdKvError('Unavailable', `unavailable: stream ended without a status (${stream.rstCode})`),
          );
        }
        if (status.code !== '0') {
          const name = status.name;
          if (!TRANSIENT.has(name)) return finish(new EtcdKvError(name, status.message || name));
          // etcd's message (`etcdserver: leader changed`) decides whether a retry is safe; a member that
          // cannot serve sends the next calls elsewhere.
          if (name === 'Unavailable') this.failed(session);
          return finish(new EtcdKvError(name, `unavailable (${name}): ${status.message}`));
        }
        const body = Buffer.concat(chunks);
        if (body.length < 5 || body[0] !== 0) {
          return finish(new EtcdKvError('Internal', `malformed gRPC response (${body.length} bytes)`));
        }
        finish(undefined, body.subarray(5, 5 + body.readUInt32BE(1)));
      });
      stream.end(grpcFrame(message));
    });
  }

  /**
   * The connection or its member misbehaved: the next call connects afresh, to the next endpoint.
   * Calls in flight on the old session finish there (it is closed, not destroyed).
   */
  private failed(session: http2.ClientHttp2Session): void {
    if (this.session !== session) return;
    this.session = undefined;
    this.next++;
    session.close();
  }
}

/**
 * The gRPC status a call's stream ends with, as its headers (a trailers-only answer) or trailers
 * report it: `code` stays undefined until one arrives.
 */
function grpcStatus(stream: http2.ClientHttp2Stream): { code?: string; readonly name: string; message: string } {
  const status = {
    code: undefined as string | undefined,
    message: '',
    get name(): string {
      return GRPC_CODES[Number(this.code)] ?? `Status${this.code}`;
    },
  };
  const read = (h: http2.IncomingHttpHeaders) => {
    if (h['grpc-status'] === undefined) return;
    status.code = String(h['grpc-status']);
    status.message = percentDecoded(String(h['grpc-message'] ?? ''));
  };
  stream.on('response', read);
  stream.on('trailers', read);
  return status;
}

/** gRPC percent-encodes its status message; a malformed one is kept as sent (never a throw in a stream handler). */
function percentDecoded(message: string): string {
  try {
    return decodeURIComponent(message);
  } catch {
    return message;
  }
}

/** A failed call; the name is the gRPC status (the store's error mapping reads it). */
export class EtcdKvError extends Error {
  constructor(status: string, message: string) {
    super(message);
    this.name = `${status}Error`;
  }
}

/** One gRPC message on the wire: uncompressed flag, length, bytes. */
function grpcFrame(message: Buffer): Buffer {
  const frame = Buffer.allocUnsafe(5 + message.length);
  frame[0] = 0;
  frame.writeUInt32BE(message.length, 1);
  message.copy(frame, 5);
  return frame;
}

/** Splits a gRPC response stream into its messages, whatever the chunking. */
class FrameReader {
  private pending: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): Buffer[] {
    let buf = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    const out: Buffer[] = [];
    while (buf.length >= 5) {
      if (buf[0] !== 0) throw new Error('compressed gRPC message (none was asked for)');
      const end = 5 + buf.readUInt32BE(1);
      if (buf.length < end) break;
      out.push(buf.subarray(5, end));
      buf = buf.subarray(end);
    }
    this.pending = buf;
    return out;
  }
}

const TRANSIENT = new Set(['Unavailable', 'DeadlineExceeded', 'Cancelled']);

const GRPC_CODES = [
  'OK',
  'Cancelled',
  'Unknown',
  'InvalidArgument',
  'DeadlineExceeded',
  'NotFound',
  'AlreadyExists',
  'PermissionDenied',
  'ResourceExhausted',
  'FailedPrecondition',
  'Aborted',
  'OutOfRange',
  'Unimplemented',
  'Internal',
  'Unavailable',
  'DataLoss',
  'Unauthenticated',
];

export interface RangeRequest {
  key: Buffer;
  range_end?: Buffer;
  limit?: number;
  revision?: number;
  count_only?: boolean;
}

export interface KvPair {
  key: Buffer;
  value: Buffer;
  create_revision: number;
  mod_revision: number;
}

export interface RangeResponse {
  header: { revision: number };
  kvs: KvPair[];
  more: boolean;
  count: number;
}

/** etcd's CompareTarget and CompareResult values (rpc.proto). */
export const CompareTarget = { Version: 0, Create: 1, Mod: 2 } as const;
export const CompareResult = { Equal: 0, Greater: 1, Less: 2, NotEqual: 3 } as const;

export interface Compare {
  key: Buffer;
  /** etcd's CompareTarget: 1 create revision, 2 mod revision. */
  target: number;
  /** etcd's CompareResult: 0 equal, 1 greater, 2 less, 3 not equal. */
  result: number;
  create_revision?: number;
  mod_revision?: number;
}

export interface RequestOp {
  request_range?: { key: Buffer };
  request_put?: { key: Buffer; value: Buffer };
  request_delete_range?: { key: Buffer; prev_kv?: boolean };
}

export interface TxnRequest {
  compare: Compare[];
  success: RequestOp[];
  failure: RequestOp[];
}

export interface TxnResponse {
  header: { revision: number };
  succeeded: boolean;
  responses: Array<{
    response_range?: RangeResponse;
    response_delete_range?: { prev_kvs: KvPair[] };
  }>;
}

export interface WatchCreateRequest {
  key: Buffer;
  range_end: Buffer;
  start_revision: number;
  prev_kv: boolean;
}

export interface WatchEvent {
  type: 'put' | 'delete';
  kv: KvPair;
  prev_kv?: KvPair;
}

export interface WatchHandlers {
  /** etcd created the watch: events from the start revision follow. */
  created(): void;
  /** Events of one response, in revision order. */
  events(events: WatchEvent[]): void;
  /** etcd cancelled the watch; `compactRevision` > 0 when its start revision is compacted. */
  canceled(reason: string, compactRevision: number): void;
  /** The stream or its connection ended (the member went away, lost its leader, stopped answering). */
  ended(err: EtcdKvError): void;
}

interface WatchResponse {
  created: boolean;
  canceled: boolean;
  compact_revision: number;
  cancel_reason: string;
  events: WatchEvent[];
}

// --- protobuf: protobufjs's wire Reader/Writer, etcd's rpc.proto / kv.proto field numbers by hand (no
// schema objects, no 64-bit integers as strings: the two calls' few fields are read straight into numbers).

class Writer {
  private readonly w = protobuf.Writer.create();

  varint(field: number, value: number): this {
    this.w.uint32((field << 3) | 0).uint64(value);
    return this;
  }

  bytes(field: number, value: Uint8Array): this {
    this.w.uint32((field << 3) | 2).bytes(value);
    return this;
  }

  finish(): Buffer {
    // Node's protobufjs writer is a BufferWriter: finish() is a Buffer.
    return this.w.finish() as Buffer;
  }
}

class Reader {
  private readonly r: protobuf.Reader;

  constructor(buf: Uint8Array) {
    this.r = protobuf.Reader.create(buf);
  }

  get done(): boolean {
    return this.r.pos >= this.r.len;
  }

  varint(): number {
    const v = this.r.uint64();
    return typeof v === 'number' ? v : protobuf.util.LongBits.from(v).toNumber(true);
  }

  bytes(): Buffer {
    return this.r.bytes() as Buffer;
  }

  /** Next field: [number, wire type]. */
  field(): [number, number] {
    const t = this.r.uint32();
    return [t >>> 3, t & 7];
  }

  skip(wire: number): void {
    this.r.skipType(wire);
  }
}

/** Decodes an etcd answer; a malformed one (protobufjs throws RangeError/Error) is an `Internal` error. */
function decoded<T>(decode: (r: Reader) => T, body: Buffer): T {
  try {
    return decode(new Reader(body));
  } catch (err) {
    throw new EtcdKvError('Internal', `malformed etcd response: ${(err as Error).message}`);
  }
}

function encodeRange(req: RangeRequest): Buffer {
  const w = new Writer().bytes(1, req.key);
  if (req.range_end) w.bytes(2, req.range_end);
  if (req.limit) w.varint(3, req.limit);
  if (req.revision) w.varint(4, req.revision);
  if (req.count_only) w.varint(8, 1);
  return w.finish();
}

function encodeCompare(c: Compare): Buffer {
  const w = new Writer().varint(1, c.result).varint(2, c.target).bytes(3, c.key);
  // The target value is a oneof: set even when 0.
  if (c.create_revision !== undefined) w.varint(5, c.create_revision);
  if (c.mod_revision !== undefined) w.varint(6, c.mod_revision);
  return w.finish();
}

function encodeOp(op: RequestOp): Buffer {
  const w = new Writer();
  if (op.request_range) w.bytes(1, encodeRange(op.request_range));
  if (op.request_put) w.bytes(2, new Writer().bytes(1, op.request_put.key).bytes(2, op.request_put.value).finish());
  if (op.request_delete_range) {
    const d = new Writer().bytes(1, op.request_delete_range.key);
    if (op.request_delete_range.prev_kv) d.varint(3, 1);
    w.bytes(3, d.finish());
  }
  return w.finish();
}

function encodeTxn(req: TxnRequest): Buffer {
  const w = new Writer();
  for (const c of req.compare) w.bytes(1, encodeCompare(c));
  for (const op of req.success) w.bytes(2, encodeOp(op));
  for (const op of req.failure) w.bytes(3, encodeOp(op));
  return w.finish();
}

function decodeHeader(r: Reader): { revision: number } {
  let revision = 0;
  while (!r.done) {
    const [f, wire] = r.field();
    if (f === 3 && wire === 0) revision = r.varint();
    else r.skip(wire);
  }
  return { revision };
}

function decodeKv(r: Reader): KvPair {
  const kv: KvPair = { key: EMPTY, value: EMPTY, create_revision: 0, mod_revision: 0 };
  while (!r.done) {
    const [f, wire] = r.field();
    if (f === 1 && wire === 2) kv.key = r.bytes();
    else if (f === 2 && wire === 0) kv.create_revision = r.varint();
    else if (f === 3 && wire === 0) kv.mod_revision = r.varint();
    else if (f === 5 && wire === 2) kv.value = r.bytes();
    else r.skip(wire);
  }
  return kv;
}

const EMPTY = Buffer.alloc(0);

function decodeRange(r: Reader): RangeResponse {
  const res: RangeResponse = { header: { revision: 0 }, kvs: [], more: false, count: 0 };
  while (!r.done) {
    const [f, wire] = r.field();
    if (f === 1 && wire === 2) res.header = decodeHeader(new Reader(r.bytes()));
    else if (f === 2 && wire === 2) res.kvs.push(decodeKv(new Reader(r.bytes())));
    else if (f === 3 && wire === 0) res.more = r.varint() !== 0;
    else if (f === 4 && wire === 0) res.count = r.varint();
    else r.skip(wire);
  }
  return res;
}

function decodeTxn(r: Reader): TxnResponse {
  const res: TxnResponse = { header: { revision: 0 }, succeeded: false, responses: [] };
  while (!r.done) {
    const [f, wire] = r.field();
    if (f === 1 && wire === 2) res.header = decodeHeader(new Reader(r.bytes()));
    else if (f === 2 && wire === 0) res.succeeded = r.varint() !== 0;
    else if (f === 3 && wire === 2) {
      const op = new Reader(r.bytes());
      const out: TxnResponse['responses'][number] = {};
      while (!op.done) {
        const [of, ow] = op.field();
        if (of === 1 && ow === 2) out.response_range = decodeRange(new Reader(op.bytes()));
        else if (of === 3 && ow === 2) {
          const d = new Reader(op.bytes());
          const prev: KvPair[] = [];
          while (!d.done) {
            const [df, dw] = d.field();
            if (df === 3 && dw === 2) prev.push(decodeKv(new Reader(d.bytes())));
            else d.skip(dw);
          }
          out.response_delete_range = { prev_kvs: prev };
        } else op.skip(ow);
      }
      res.responses.push(out);
    } else r.skip(wire);
  }
  return res;
}

function encodeWatchCreate(req: WatchCreateRequest): Buffer {
  const create = new Writer().bytes(1, req.key).bytes(2, req.range_end);
  if (req.start_revision) create.varint(3, req.start_revision);
  if (req.prev_kv) create.varint(6, 1);
  return new Writer().bytes(1, create.finish()).finish();
}

function decodeWatch(r: Reader): WatchResponse {
  const res: WatchResponse = { created: false, canceled: false, compact_revision: 0, cancel_reason: '', events: [] };
  while (!r.done) {
    const [f, wire] = r.field();
    if (f === 3 && wire === 0) res.created = r.varint() !== 0;
    else if (f === 4 && wire === 0) res.canceled = r.varint() !== 0;
    else if (f === 5 && wire === 0) res.compact_revision = r.varint();
    else if (f === 6 && wire === 2) res.cancel_reason = r.bytes().toString('utf8');
    else if (f === 11 && wire === 2) {
      const e = new Reader(r.bytes());
      const event: WatchEvent = { type: 'put', kv: { key: EMPTY, value: EMPTY, create_revision: 0, mod_revision: 0 } };
      while (!e.done) {
        const [ef, ew] = e.field();
        if (ef === 1 && ew === 0) event.type = e.varint() === 1 ? 'delete' : 'put';
        else if (ef === 2 && ew === 2) event.kv = decodeKv(new Reader(e.bytes()));
        else if (ef === 3 && ew === 2) event.prev_kv = decodeKv(new Reader(e.bytes()));
        else e.skip(ew);
      }
      res.events.push(event);
    } else r.skip(wire);
  }
  return res;
}
