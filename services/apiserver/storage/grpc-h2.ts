import net from 'node:net';
import tls from 'node:tls';
import { HpackDecoder, hpackEncode } from './hpack.js';

/**
 * A gRPC client connection: HTTP/2 (RFC 9113) framed by hand on one TCP or TLS socket, for the etcd
 * client (etcd-kv.ts). Node's `http2` costs ≈ 150–250 µs of CPU per call under load (a Duplex
 * stream, header objects and events per call, crossings into nghttp2); framing the few frames a
 * gRPC call needs costs ≈ 45–80 µs (docs/benchmarks.md, seventh session).
 *
 * What it does: client streams only (no push, no server-initiated streams), send flow control per
 * stream and per connection (big Txns wait for etcd's WINDOW_UPDATEs), receive windows topped up
 * as data is read, the peer's MAX_CONCURRENT_STREAMS (extra streams wait their turn) and
 * MAX_FRAME_SIZE, PING (answered; `ping()` for keepalive), GOAWAY (streams etcd did not process
 * end as not sent, the others finish), RST_STREAM, CONTINUATION. gRPC messages are split out of
 * each stream's DATA whatever the chunking.
 */
export class GrpcConnection {
  /** Set once connected (TCP, and the TLS handshake when there is one). */
  connected = false;
  /** No new stream may start (GOAWAY received, closed, or failed). */
  draining = false;
  destroyed = false;
  private readonly socket: net.Socket;
  private readonly decoder = new HpackDecoder();
  private readonly streams = new Map<number, GrpcStream>();
  private readonly waiting: GrpcStream[] = [];
  private nextId = 1;
  private pending: Buffer | undefined;
  private headerBlock: { id: number; end: boolean; parts: Buffer[] } | undefined;
  // Peer settings (RFC 9113 6.5.2 defaults until its SETTINGS arrive).
  private peerMaxStreams = Infinity;
  private peerInitialWindow = 65_535;
  private peerMaxFrame = 16_384;
  private sendWindow = 65_535;
  private received = 0;
  private readonly pings = new Map<string, (err?: Error) => void>();
  private pingSeq = 0;
  private readonly closeListeners: ((err?: Error) => void)[] = [];
  private corked = false;
  /** The encoded headers every call to a path starts with. */
  private readonly requestHeaders = new Map<string, Buffer>();
  private readonly authority: string;
  private readonly scheme: string;

  constructor(endpoint: string, options: { ca: Buffer; cert?: Buffer; key?: Buffer } | undefined) {
    const url = new URL(endpoint);
    const host = url.hostname.replace(/^\[|\]$/g, '');
    const port = Number(url.port || (options ? 443 : 80));
    this.authority = url.host;
    this.scheme = options ? 'https' : 'http';
    this.socket = options
      ? tls.connect({
          host,
          port,
          ca: options.ca,
          cert: options.cert,
          key: options.key,
          // No SNI for an IP address (RFC 6066); the certificate is still checked against the host.
          servername: net.isIP(host) ? '' : host,
          ALPNProtocols: ['h2'],
        })
      : net.connect({ host, port });
    this.socket.setNoDelay(true);
    this.socket.once(options ? 'secureConnect' : 'connect', () => {
      this.connected = true;
    });
    this.socket.on('data', (chunk: Buffer) => this.read(chunk));
    this.socket.on('error', (err: Error) => this.destroy(err));
    this.socket.on('close', () => this.destroy(new Error('connection closed')));
    // Preface, our settings (no push; 4 MiB stream windows), and the connection window raised to 16 MiB.
    this.write(
      Buffer.concat([
        PREFACE,
        frame(
          SETTINGS,
          0,
          0,
          settingsPayload([
            [SETTINGS_ENABLE_PUSH, 0],
            [SETTINGS_INITIAL_WINDOW_SIZE, STREAM_WINDOW],
          ]),
        ),
        frame(WINDOW_UPDATE, 0, 0, u32(CONNECTION_WINDOW - 65_535)),
      ]),
    );
  }

  /** Whether the open connection keeps the process alive (as a listening socket would). */
  ref(on: boolean): void {
    if (on) this.socket.ref();
    else this.socket.unref();
  }

  onClose(listener: (err?: Error) => void): void {
    this.closeListeners.push(listener);
  }

  /**
   * Starts a call: its HEADERS (the gRPC request headers plus `headers`), then `message` as its
   * first gRPC message, ending the request side when `end`.
   */
  open(path: string, headers: readonly (readonly [string, string])[], events: StreamEvents): GrpcStream {
    let common = this.requestHeaders.get(path);
    if (!common) {
      common = hpackEncode([
        [':method', 'POST'],
        [':scheme', this.scheme],
        [':path', path],
        [':authority', this.authority],
        ['content-type', 'application/grpc'],
        ['te', 'trailers'],
      ]);
      this.requestHeaders.set(path, common);
    }
    const stream = new GrpcStream(
      this,
      events,
      headers.length === 0 ? common : Buffer.concat([common, hpackEncode(headers)]),
    );
    if (this.destroyed || this.draining) {
      queueMicrotask(() => stream.ended({ sent: false, error: new Error('connection closing') }));
      return stream;
    }
    if (this.streams.size >= this.peerMaxStreams) this.waiting.push(stream);
    else this.start(stream);
    return stream;
  }

  /** Sends a PING; `done` is called with its answer, or an error if the connection ends first. */
  ping(done: (err?: Error) => void): void {
    if (this.destroyed) return done(new Error('connection closed'));
    const data = Buffer.alloc(8);
    data.writeUInt32BE(++this.pingSeq, 4);
    this.pings.set(data.toString('hex'), done);
    this.write(frame(PING, 0, 0, data));
  }

  /** No new streams; the socket ends once the running ones have. */
  close(): void {
    this.drain(new Error('connection closing'));
    if (this.streams.size === 0) this.endSocket();
  }

  /** No new streams: the calls still waiting for a stream end, never sent. */
  private drain(error: Error): void {
    this.draining = true;
    for (const stream of this.waiting.splice(0)) stream.ended({ sent: false, error });
  }

  /** Ends every stream with `err` and the socket at once. */
  destroy(err?: Error): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.draining = true;
    this.socket.destroy();
    const cause = err ?? new Error('connection destroyed');
    for (const stream of this.waiting.splice(0)) stream.ended({ sent: false, error: cause });
    for (const stream of [...this.streams.values()]) {
      this.streams.delete(stream.id);
      stream.ended({ sent: this.connected, error: cause });
    }
    for (const done of this.pings.values()) done(cause);
    this.pings.clear();
    for (const listener of this.closeListeners.splice(0)) listener(err);
  }

  /** @internal (GrpcStream) */
  sendData(stream: GrpcStream): void {
    while (stream.out.length > 0) {
      const window = Math.min(this.sendWindow, stream.sendWindow, this.peerMaxFrame);
      const head = stream.out[0]!;
      const isLast = stream.out.length === 1 && stream.endAfter;
      if (head.length > 0 && window <= 0) return; // resumes on WINDOW_UPDATE or SETTINGS
      const n = Math.min(head.length, window);
      const chunk = head.subarray(0, n);
      if (n === head.length) stream.out.shift();
      else stream.out[0] = head.subarray(n);
      this.sendWindow -= n;
      stream.sendWindow -= n;
      this.write(frame(DATA, isLast && n === head.length ? END_STREAM : 0, stream.id, chunk));
    }
  }

  /** @internal (GrpcStream) */
  reset(stream: GrpcStream, code: number): void {
    if (!this.streams.delete(stream.id)) {
      const queued = this.waiting.indexOf(stream);
      if (queued >= 0) this.waiting.splice(queued, 1);
      return;
    }
    if (!this.destroyed) this.write(frame(RST_STREAM, 0, stream.id, u32(code)));
    this.released();
  }

  private start(stream: GrpcStream): void {
    if (this.nextId > 0x7fff_ffff) {
      // Out of stream identifiers: this connection takes no more (the caller's next one is new).
      const error = new Error('stream identifiers exhausted');
      this.drain(error);
      queueMicrotask(() => stream.ended({ sent: false, error }));
      return;
    }
    stream.id = this.nextId;
    this.nextId += 2;
    stream.sendWindow = this.peerInitialWindow;
    this.streams.set(stream.id, stream);
    this.write(
      frame(
        HEADERS,
        END_HEADERS | (stream.out.length === 0 && stream.endAfter ? END_STREAM : 0),
        stream.id,
        stream.headerBlock,
      ),
    );
    this.sendData(stream);
  }

  private released(): void {
    while (this.waiting.length > 0 && this.streams.size < this.peerMaxStreams && !this.draining) {
      this.start(this.waiting.shift()!);
    }
    if (this.draining && this.streams.size === 0) this.endSocket();
  }

  private endSocket(): void {
    if (this.destroyed) return;
    this.socket.end();
    this.destroy();
  }

  /**
   * Writes of one turn of the event loop go out together: the calls started by every request read
   * in the same poll phase leave in one `writev` (one loopback delivery for etcd to read).
   */
  private write(buf: Buffer): void {
    if (this.destroyed) return;
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      setImmediate(() => {
        this.corked = false;
        this.socket.uncork();
      });
    }
    this.socket.write(buf);
  }

  private read(chunk: Buffer): void {
    let buf = this.pending ? Buffer.concat([this.pending, chunk]) : chunk;
    this.pending = undefined;
    try {
      while (buf.length >= 9 && !this.destroyed) {
        const length = buf.readUIntBE(0, 3);
        if (buf.length < 9 + length) break;
        const type = buf[3]!;
        const flags = buf[4]!;
        const id = buf.readUInt32BE(5) & 0x7fff_ffff;
        this.frame(type, flags, id, buf.subarray(9, 9 + length));
        buf = buf.subarray(9 + length);
      }
    } catch (err) {
      // The peer broke the protocol (or its HPACK state is unknown): the connection cannot go on.
      this.write(
        frame(GOAWAY, 0, 0, Buffer.concat([u32(this.nextId - 2 > 0 ? this.nextId - 2 : 0), u32(PROTOCOL_ERROR)])),
      );
      this.destroy(new Error(`HTTP/2 protocol error from etcd: ${(err as Error).message}`));
      return;
    }
    if (buf.length > 0) this.pending = Buffer.from(buf);
  }

  private frame(type: number, flags: number, id: number, payload: Buffer): void {
    if (this.headerBlock && type !== CONTINUATION) throw new Error('expected CONTINUATION');
    switch (type) {
      case DATA: {
        this.received += payload.length;
        if (this.received >= CONNECTION_WINDOW / 2) {
          this.write(frame(WINDOW_UPDATE, 0, 0, u32(this.received)));
          this.received = 0;
        }
        const stream = this.streams.get(id);
        if (!stream) return;
        stream.data(unpadded(flags, payload), payload.length);
        if (flags & END_STREAM) this.remoteEnd(stream);
        else if (stream.received >= STREAM_WINDOW / 2) {
          this.write(frame(WINDOW_UPDATE, 0, id, u32(stream.received)));
          stream.received = 0;
        }
        return;
      }
      case HEADERS: {
        let block = unpadded(flags, payload);
        if (flags & PRIORITY_FLAG) block = block.subarray(5);
        this.headerBlock = { id, end: (flags & END_STREAM) !== 0, parts: [block] };
        if (flags & END_HEADERS) this.headersDone();
        return;
      }
      case CONTINUATION:
        if (!this.headerBlock || this.headerBlock.id !== id) throw new Error('unexpected CONTINUATION');
        this.headerBlock.parts.push(payload);
        if (flags & END_HEADERS) this.headersDone();
        return;
      case RST_STREAM: {
        const stream = this.streams.get(id);
        if (!stream) return;
        this.streams.delete(id);
        stream.ended({ sent: true, reset: payload.readUInt32BE(0) });
        this.released();
        return;
      }
      case SETTINGS:
        if (flags & ACK) return;
        for (let i = 0; i + 6 <= payload.length; i += 6)
          this.setting(payload.readUInt16BE(i), payload.readUInt32BE(i + 2));
        this.write(frame(SETTINGS, ACK, 0, Buffer.alloc(0)));
        this.released();
        return;
      case PING:
        if (flags & ACK) {
          const key = payload.toString('hex');
          const done = this.pings.get(key);
          this.pings.delete(key);
          done?.();
        } else {
          this.write(frame(PING, ACK, 0, payload));
        }
        return;
      case GOAWAY: {
        // Streams above the last one etcd processed never ran: safe to send again elsewhere.
        const last = payload.readUInt32BE(0) & 0x7fff_ffff;
        const error = new Error(`etcd sent GOAWAY (code ${payload.readUInt32BE(4)})`);
        this.drain(error);
        for (const stream of [...this.streams.values()]) {
          if (stream.id <= last) continue;
          this.streams.delete(stream.id);
          stream.ended({ sent: false, error });
        }
        this.released();
        return;
      }
      case WINDOW_UPDATE: {
        const increment = payload.readUInt32BE(0) & 0x7fff_ffff;
        if (id === 0) {
          this.sendWindow += increment;
          for (const stream of this.streams.values()) this.sendData(stream);
        } else {
          const stream = this.streams.get(id);
          if (!stream) return;
          stream.sendWindow += increment;
          this.sendData(stream);
        }
        return;
      }
      case PUSH_PROMISE:
        throw new Error('PUSH_PROMISE although push is disabled');
      default:
        return; // PRIORITY and unknown frame types are ignored (RFC 9113 4.1, 5.5)
    }
  }

  private headersDone(): void {
    const { id, end, parts } = this.headerBlock!;
    this.headerBlock = undefined;
    // Decoded even for a stream already gone: the dynamic table must stay in step with etcd's.
    const fields = this.decoder.decode(parts.length === 1 ? parts[0]! : Buffer.concat(parts));
    const stream = this.streams.get(id);
    if (!stream) return;
    stream.headers(fields);
    if (end) this.remoteEnd(stream);
  }

  private remoteEnd(stream: GrpcStream): void {
    if (!this.streams.delete(stream.id)) return;
    // The request side may still be open (a watch): etcd has answered, so it is reset, not ended.
    if (stream.out.length > 0 || !stream.endAfter) this.write(frame(RST_STREAM, 0, stream.id, u32(NO_ERROR)));
    stream.ended({ sent: true });
    this.released();
  }

  private setting(id: number, value: number): void {
    if (id === SETTINGS_MAX_CONCURRENT_STREAMS) this.peerMaxStreams = value;
    else if (id === SETTINGS_INITIAL_WINDOW_SIZE) {
      const delta = value - this.peerInitialWindow;
      this.peerInitialWindow = value;
      for (const stream of this.streams.values()) stream.sendWindow += delta;
      for (const stream of this.streams.values()) this.sendData(stream);
    } else if (id === SETTINGS_MAX_FRAME_SIZE) this.peerMaxFrame = value;
  }
}

export interface StreamEvents {
  /** One gRPC message of the response, in order. */
  message(body: Buffer): void;
  /**
   * The call is over, once: with the gRPC status etcd ended it with, or without one (`reset`: the
   * RST_STREAM code; `error`: the connection failed). `sent` is false only when the request surely
   * never reached etcd (no connection, or etcd's GOAWAY said it did not process the stream).
   */
  end(result: CallEnd): void;
}

export interface CallEnd {
  sent: boolean;
  status?: { code: number; message: string };
  reset?: number;
  error?: Error;
}

export class GrpcStream {
  id = 0;
  sendWindow = 0;
  received = 0;
  out: Buffer[] = [];
  endAfter = false;
  private status: { code: number; message: string } | undefined;
  private httpStatus: string | undefined;
  private messages: Buffer = Buffer.alloc(0);
  private done = false;

  constructor(
    private readonly connection: GrpcConnection,
    private readonly events: StreamEvents,
    readonly headerBlock: Buffer,
  ) {}

  /** Sends one gRPC message; `end` closes the request side. */
  send(message: Buffer, end: boolean): void {
    if (this.done) return;
    const framed = Buffer.allocUnsafe(5 + message.length);
    framed[0] = 0;
    framed.writeUInt32BE(message.length, 1);
    message.copy(framed, 5);
    this.out.push(framed);
    this.endAfter = end;
    if (this.id !== 0) this.connection.sendData(this);
  }

  /** Abandons the call (RST_STREAM CANCEL); `end` is not called. */
  cancel(): void {
    if (this.done) return;
    this.done = true;
    this.connection.reset(this, CANCEL);
  }

  /** @internal */
  data(body: Buffer, counted: number): void {
    this.received += counted;
    if (this.done) return;
    let buf = this.messages.length === 0 ? body : Buffer.concat([this.messages, body]);
    while (buf.length >= 5 && !this.done) {
      if (buf[0] !== 0) {
        this.cancel();
        this.events.end({ sent: true, error: new Error('compressed gRPC message (none was asked for)') });
        return;
      }
      const end = 5 + buf.readUInt32BE(1);
      if (buf.length < end) break;
      this.events.message(buf.subarray(5, end));
      buf = buf.subarray(end);
    }
    this.messages = buf.length === 0 ? EMPTY : buf;
  }

  /** @internal */
  headers(fields: [string, string][]): void {
    for (const [name, value] of fields) {
      if (name === ':status') this.httpStatus = value;
      else if (name === 'grpc-status') this.status = { code: Number(value), message: this.status?.message ?? '' };
      else if (name === 'grpc-message') this.status = { code: this.status?.code ?? 2, message: value };
    }
  }

  /** @internal */
  ended(result: CallEnd): void {
    if (this.done) return;
    this.done = true;
    if (result.error || result.reset !== undefined) return this.events.end(result);
    if (this.status) return this.events.end({ sent: true, status: this.status });
    if (this.httpStatus && this.httpStatus !== '200') {
      return this.events.end({ sent: true, status: { code: 2, message: `HTTP status ${this.httpStatus}` } });
    }
    this.events.end({ sent: true });
  }
}

const EMPTY: Buffer = Buffer.alloc(0);
const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
const STREAM_WINDOW = 4 << 20;
const CONNECTION_WINDOW = 16 << 20;

const DATA = 0x0;
const HEADERS = 0x1;
const RST_STREAM = 0x3;
const SETTINGS = 0x4;
const PUSH_PROMISE = 0x5;
const PING = 0x6;
const GOAWAY = 0x7;
const WINDOW_UPDATE = 0x8;
const CONTINUATION = 0x9;

const END_STREAM = 0x1;
const ACK = 0x1;
const END_HEADERS = 0x4;
const PADDED = 0x8;
const PRIORITY_FLAG = 0x20;

const SETTINGS_ENABLE_PUSH = 0x2;
const SETTINGS_MAX_CONCURRENT_STREAMS = 0x3;
const SETTINGS_INITIAL_WINDOW_SIZE = 0x4;
const SETTINGS_MAX_FRAME_SIZE = 0x5;

const NO_ERROR = 0x0;
const PROTOCOL_ERROR = 0x1;
const CANCEL = 0x8;

function frame(type: number, flags: number, id: number, payload: Buffer): Buffer {
  const out = Buffer.allocUnsafe(9 + payload.length);
  out.writeUIntBE(payload.length, 0, 3);
  out[3] = type;
  out[4] = flags;
  out.writeUInt32BE(id, 5);
  payload.copy(out, 9);
  return out;
}

function u32(value: number): Buffer {
  const out = Buffer.allocUnsafe(4);
  out.writeUInt32BE(value, 0);
  return out;
}

function settingsPayload(settings: [number, number][]): Buffer {
  const out = Buffer.allocUnsafe(6 * settings.length);
  settings.forEach(([id, value], i) => {
    out.writeUInt16BE(id, 6 * i);
    out.writeUInt32BE(value, 6 * i + 2);
  });
  return out;
}

function unpadded(flags: number, payload: Buffer): Buffer {
  if (!(flags & PADDED)) return payload;
  const pad = payload[0]!;
  if (pad >= payload.length) throw new Error('padding longer than the frame');
  return payload.subarray(1, payload.length - pad);
}
