import protobuf from 'protobufjs/minimal.js';
import { GrpcConnection } from './grpc-h2.js';

/**
 * The etcd client of the store: the calls it makes, `KV/Range`, `KV/Txn` and `KV/Compact`, on one
 * connection, and the watch cache's `Watch/Watch` stream (on a connection of its own); HTTP/2 is
 * framed by grpc-h2.ts, messages read and written with protobufjs's wire Reader/Writer. Through
 * `etcd3` and `@grpc/grpc-js` (the store's client until the fifth session) one unary call cost
 * ≈ 250 µs of CPU; through `node:http2` streams (until the seventh) ≈ 150–250 µs under load; now
 * ≈ 45–80 µs (docs/benchmarks.md). The caller (EtcdStore.call) keeps the deadlines and retry
 * rules, the watch's caller (EtcdStore.watch) its resumption.
 *
 * Errors carry what the store's error mapping reads: etcd's own message (`etcdserver: leader
 * changed`, `… has been compacted`), the gRPC status name (`Unavailable`, `DeadlineExceeded`), and
 * `No connection established` only when the request surely never reached etcd. A failure of the
 * connection moves the next call to the next endpoint.
 */
export class EtcdKv {
  private session: GrpcConnection | undefined;
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

  private connect(): GrpcConnection {
    if (this.session?.draining) {
      // GOAWAY (or out of stream identifiers): the next calls go to the next member.
      this.session = undefined;
      this.next++;
    }
    if (this.session) return this.session;
    const session = this.dial(this.endpoints[this.next % this.endpoints.length]!);
    session.onClose(() => {
      if (this.session === session) {
        this.session = undefined;
        this.next++;
      }
    });
    // Idle, it holds no process open: a call in flight does (its deadline timer). A watch's
    // connection stays referenced while the watch is open, as a listening socket would.
    session.ref(false);
    this.session = session;
    return session;
  }

  private dial(endpoint: string): GrpcConnection {
    const session = new GrpcConnection(endpoint, this.tls);
    // A connection that went silent (a member partitioned away, a dead peer without a reset) is
    // noticed within 15 s: a ping every 10 s, 5 s to answer, else the connection is destroyed and
    // its calls and watch fail over to the next endpoint.
    const keepalive = setInterval(() => {
      const timer = setTimeout(() => session.destroy(new Error('keepalive ping unanswered for 5 s')), 5000);
      timer.unref();
      session.ping((err) => {
        clearTimeout(timer);
        if (err) session.destroy(err);
      });
    }, 10_000);
    keepalive.unref();
    session.onClose(() => clearInterval(keepalive));
    return session;
  }

  /**
   * Opens one etcd watch on a connection of its own, on the next endpoint in turn (so a watch that
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
      stream.cancel();
      session.destroy();
      then?.();
    };
    const stream = session.open('/etcdserverpb.Watch/Watch', [['hasleader', 'true']], {
      message: (message) => {
        if (done) return;
        try {
          const res = decodeWatch(new Reader(message));
          if (res.created) on.created();
          if (res.events.length > 0 && !done) on.events(res.events);
          if (res.canceled && !done) finish(() => on.canceled(res.cancel_reason, res.compact_revision));
        } catch (err) {
          finish(() =>
            on.ended(new EtcdKvError('Internal', `malformed etcd watch response: ${(err as Error).message}`)),
          );
        }
      },
      end: (result) =>
        finish(() => {
          if (result.status) {
            const name = grpcName(result.status.code);
            const why = percentDecoded(result.status.message) || name;
            return on.ended(new EtcdKvError(name, `unavailable (${name}): watch ended: ${why}`));
          }
          const why = result.error
            ? `watch stream failed: ${result.error.message}`
            : `watch ended without a status (${result.reset ?? 'no reset code'})`;
          on.ended(new EtcdKvError('Unavailable', `unavailable: ${why}`));
        }),
    });
    // The request side stays open: etcd ends the watch when the client half-closes.
    stream.send(encodeWatchCreate(req), false);
    return () => finish();
  }

  private unary(path: string, message: Buffer, deadline: number): Promise<Buffer> {
    if (this.closed) return Promise.reject(new EtcdKvError('Unavailable', 'unavailable: client closed'));
    return new Promise<Buffer>((resolve, reject) => {
      const session = this.connect();
      const ms = Math.max(1, deadline - Date.now());
      let body: Buffer | undefined;
      let settled = false;
      const finish = (err: Error | undefined) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (err) reject(err);
        else resolve(body!);
      };
      const timer = setTimeout(() => {
        stream.cancel();
        finish(new EtcdKvError('DeadlineExceeded', `unavailable: deadline exceeded after ${ms} ms`));
      }, ms);
      const stream = session.open(path, [['grpc-timeout', `${ms}m`]], {
        message: (m) => {
          body ??= m;
        },
        end: (result) => {
          if (result.error) {
            this.failed(session);
            // Never on the wire (no connection, or etcd's GOAWAY said it did not process it): it surely did not apply.
            const what = result.sent ? 'unavailable: stream failed' : 'unavailable: No connection established';
            return finish(new EtcdKvError('Unavailable', `${what}: ${result.error.message}`));
          }
          if (!result.status) {
            this.failed(session);
            return finish(
              new EtcdKvError(
                'Unavailable',
                `unavailable: stream ended without a status (${result.reset ?? 'no reset code'})`,
              ),
            );
          }
          if (result.status.code !== 0) {
            const name = grpcName(result.status.code);
            const text = percentDecoded(result.status.message);
            if (!TRANSIENT.has(name)) return finish(new EtcdKvError(name, text || name));
            // etcd's message (`etcdserver: leader changed`) decides whether a retry is safe; a member that
            // cannot serve sends the next calls elsewhere.
            if (name === 'Unavailable') this.failed(session);
            return finish(new EtcdKvError(name, `unavailable (${name}): ${text}`));
          }
          if (!body) return finish(new EtcdKvError('Internal', 'gRPC response without a message'));
          finish(undefined);
        },
      });
      stream.send(message, true);
    });
  }

  /**
   * The connection or its member misbehaved: the next call connects afresh, to the next endpoint.
   * Calls in flight on the old connection finish there (it is closed, not destroyed).
   */
  private failed(session: GrpcConnection): void {
    if (this.session !== session) return;
    this.session = undefined;
    this.next++;
    session.close();
  }
}

function grpcName(code: number): string {
  return GRPC_CODES[code] ?? `Status${code}`;
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
