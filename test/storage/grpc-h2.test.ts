import test from 'ava';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { GrpcConnection, type CallEnd } from '../../services/apiserver/storage/grpc-h2.js';
import { HpackDecoder, huffmanDecode } from '../../services/apiserver/storage/hpack.js';

// The etcd client's HTTP/2 framing against an independent implementation: Node's own HTTP/2
// server (nghttp2), which Huffman-encodes and indexes the headers it sends. The etcd tests run the
// same client against real etcd (plain, TLS, failover, silent connections).

interface Served {
  url: string;
  server: http2.Http2Server;
  requests: http2.IncomingHttpHeaders[];
  maxConcurrent: number;
  close(): Promise<void>;
}

async function serve(
  handler: (stream: http2.ServerHttp2Stream, body: Buffer, headers: http2.IncomingHttpHeaders) => void,
  settings: http2.Settings = {},
): Promise<Served> {
  const requests: http2.IncomingHttpHeaders[] = [];
  const served = { maxConcurrent: 0 } as Served;
  let open = 0;
  const server = http2.createServer({ settings });
  // Node's server stops reading a session once it has sent GOAWAY and its streams are done, so it
  // would never see the client's close: close() destroys the sessions itself.
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on('session', (session) => {
    sessions.add(session);
    session.on('close', () => sessions.delete(session));
  });
  server.on('stream', (stream, headers) => {
    stream.on('error', () => {}); // a stream this side resets errors on this side
    requests.push(headers);
    open++;
    served.maxConcurrent = Math.max(served.maxConcurrent, open);
    stream.on('close', () => open--);
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => handler(stream, Buffer.concat(chunks), headers));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return Object.assign(served, {
    url: `http://127.0.0.1:${port}`,
    server,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const session of sessions) session.destroy();
      }),
  });
}

/** One gRPC message: flag, length, bytes. */
function grpc(message: Buffer): Buffer {
  const out = Buffer.alloc(5 + message.length);
  out.writeUInt32BE(message.length, 1);
  message.copy(out, 5);
  return out;
}

/** Answers with the request's messages echoed back, then the given trailers. */
function echo(trailers: http2.OutgoingHttpHeaders = { 'grpc-status': '0' }) {
  return (stream: http2.ServerHttp2Stream, body: Buffer) => {
    stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
    stream.on('wantTrailers', () => stream.sendTrailers(trailers));
    stream.end(body);
  };
}

function call(
  connection: GrpcConnection,
  path: string,
  message: Buffer,
  headers: [string, string][] = [],
): Promise<{ messages: Buffer[]; end: CallEnd }> {
  return new Promise((resolve) => {
    const messages: Buffer[] = [];
    const stream = connection.open(path, headers, {
      message: (m) => messages.push(Buffer.from(m)),
      end: (end) => resolve({ messages, end }),
    });
    stream.send(message, true);
  });
}

test('HPACK decodes the RFC 7541 C.4 examples (Huffman strings, the dynamic table)', (t) => {
  const decoder = new HpackDecoder();
  const first = decoder.decode(Buffer.from('828684418cf1e3c2e5f23a6ba0ab90f4ff', 'hex'));
  t.deepEqual(first, [
    [':method', 'GET'],
    [':scheme', 'http'],
    [':path', '/'],
    [':authority', 'www.example.com'],
  ]);
  // Index 62 (0xbe) is the first dynamic entry: the authority the first block added.
  const second = decoder.decode(Buffer.from('828684be5886a8eb10649cbf', 'hex'));
  t.deepEqual(second.slice(3), [
    [':authority', 'www.example.com'],
    ['cache-control', 'no-cache'],
  ]);
  t.throws(() => decoder.decode(Buffer.from('ff00', 'hex')), { message: /index .* out of range/ });
  // Padding longer than 7 bits, or not all ones, is malformed (RFC 7541 5.2).
  t.throws(() => huffmanDecode(Buffer.from('f1e3c2e5f23a6ba0ab90f4ffff', 'hex')), { message: /padding/ });
});

test('a call sends gRPC headers and its message, and reads back messages and the status through Node’s HTTP/2 server', async (t) => {
  const served = await serve((stream, body) => {
    stream.respond(
      // Values long and repetitive enough that nghttp2 Huffman-codes and indexes them.
      { ':status': 200, 'content-type': 'application/grpc', 'x-etcd-member': 'member-aaaaaaaaaaaaaaaa' },
      { waitForTrailers: true },
    );
    stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0', 'grpc-message': 'all good here' }));
    stream.write(grpc(body.subarray(5)));
    stream.end(grpc(Buffer.from('second')));
  });
  t.teardown(() => served.close());
  const connection = new GrpcConnection(served.url, undefined);
  t.teardown(() => connection.destroy());
  for (let i = 0; i < 5; i++) {
    const { messages, end } = await call(connection, '/etcdserverpb.KV/Range', Buffer.from(`request ${i}`), [
      ['grpc-timeout', '3000m'],
    ]);
    t.deepEqual(
      messages.map((m) => m.toString()),
      [`request ${i}`, 'second'],
    );
    t.deepEqual(end, { sent: true, status: { code: 0, message: 'all good here' } });
  }
  const seen = served.requests[4]!;
  t.is(seen[':method'], 'POST');
  t.is(seen[':path'], '/etcdserverpb.KV/Range');
  t.is(seen['content-type'], 'application/grpc');
  t.is(seen.te, 'trailers');
  t.is(seen['grpc-timeout'], '3000m');
  t.is(served.requests.length, 5);
});

test('messages larger than every flow-control window go through in both directions', async (t) => {
  // 3 MiB each way: the server's windows are 64 KiB until it reads, ours 4 MiB per stream.
  const big = Buffer.alloc(3 << 20, 'x');
  big.write('head', 0);
  big.write('tail', big.length - 4);
  const served = await serve(echo());
  t.teardown(() => served.close());
  const connection = new GrpcConnection(served.url, undefined);
  t.teardown(() => connection.destroy());
  const results = await Promise.all([1, 2, 3].map(() => call(connection, '/big', big)));
  for (const { messages, end } of results) {
    t.is(end.status?.code, 0);
    t.is(messages.length, 1);
    t.true(messages[0]!.equals(big));
  }
  // 9 MiB received in all: the connection window (16 MiB) was topped up before running out.
  const more = await call(connection, '/big', big);
  t.true(more.messages[0]!.equals(big));
});

test('calls beyond the server’s MAX_CONCURRENT_STREAMS wait their turn', async (t) => {
  const served = await serve((stream, body) => setTimeout(() => echo()(stream, body), 20), {
    maxConcurrentStreams: 2,
  });
  t.teardown(() => served.close());
  const connection = new GrpcConnection(served.url, undefined);
  t.teardown(() => connection.destroy());
  // The first call lets the server's SETTINGS arrive; then ten at once.
  await call(connection, '/one', Buffer.from('0'));
  const results = await Promise.all(
    Array.from({ length: 10 }, (_, i) => call(connection, '/one', Buffer.from(String(i)))),
  );
  t.deepEqual(
    results.map((r) => r.messages[0]!.toString()),
    Array.from({ length: 10 }, (_, i) => String(i)),
  );
  t.true(results.every((r) => r.end.status?.code === 0));
  t.is(served.maxConcurrent, 2);
});

test('an error status, a reset stream and a trailers-only answer each end the call as sent', async (t) => {
  const served = await serve((stream, body, headers) => {
    if (headers[':path'] === '/fail') {
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
      stream.on('wantTrailers', () =>
        stream.sendTrailers({ 'grpc-status': '14', 'grpc-message': 'etcdserver%3A leader changed' }),
      );
      stream.end();
    } else if (headers[':path'] === '/reset') {
      stream.close(http2.constants.NGHTTP2_REFUSED_STREAM);
    } else {
      // Trailers-only: the status in the only HEADERS frame, which ends the stream.
      stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '5' }, { endStream: true });
    }
    void body;
  });
  t.teardown(() => served.close());
  const connection = new GrpcConnection(served.url, undefined);
  t.teardown(() => connection.destroy());
  const fail = await call(connection, '/fail', Buffer.from('x'));
  t.deepEqual(fail.end, { sent: true, status: { code: 14, message: 'etcdserver%3A leader changed' } });
  const reset = await call(connection, '/reset', Buffer.from('x'));
  t.deepEqual(reset.end, { sent: true, reset: http2.constants.NGHTTP2_REFUSED_STREAM });
  const only = await call(connection, '/only', Buffer.from('x'));
  t.deepEqual(only.end, { sent: true, status: { code: 5, message: '' } });
  // The connection is still good after all three.
  t.false(connection.draining);
});

test('GOAWAY ends the calls the server did not process as not sent; a refused connection sends nothing', async (t) => {
  const held: http2.ServerHttp2Stream[] = [];
  const served = await serve((stream) => {
    held.push(stream);
    if (held.length === 2) {
      // Processed the first stream (id 1) only; the second (id 3) never ran.
      stream.session!.goaway(http2.constants.NGHTTP2_NO_ERROR, 1);
      echo()(held[0]!, Buffer.from(grpc(Buffer.from('first'))));
    }
  });
  t.teardown(() => served.close());
  const connection = new GrpcConnection(served.url, undefined);
  t.teardown(() => connection.destroy());
  const first = call(connection, '/a', Buffer.from('1'));
  const second = call(connection, '/b', Buffer.from('2'));
  const [a, b] = await Promise.all([first, second]);
  t.deepEqual(a.end, { sent: true, status: { code: 0, message: '' } });
  t.deepEqual(a.messages.map(String), ['first']);
  t.false(b.end.sent);
  t.regex(b.end.error?.message ?? '', /GOAWAY/);
  t.true(connection.draining);

  await served.close();
  const refused = new GrpcConnection(served.url, undefined);
  const end = (await call(refused, '/a', Buffer.from('1'))).end;
  t.false(end.sent);
  t.regex(end.error?.message ?? '', /ECONNREFUSED/);
});

test('PING is answered and a cancelled call leaves the connection usable', async (t) => {
  const served = await serve((stream, body, headers) => {
    if (headers[':path'] === '/slow') return; // never answers
    echo()(stream, body);
  });
  t.teardown(() => served.close());
  const connection = new GrpcConnection(served.url, undefined);
  t.teardown(() => connection.destroy());
  await new Promise<void>((resolve, reject) => connection.ping((err) => (err ? reject(err) : resolve())));
  const ended: CallEnd[] = [];
  const slow = connection.open('/slow', [], { message: () => {}, end: (e) => ended.push(e) });
  slow.send(Buffer.from('x'), true);
  slow.cancel();
  const after = await call(connection, '/fast', Buffer.from('ok'));
  t.deepEqual(after.messages.map(String), ['ok']);
  t.deepEqual(ended, [], 'a cancelled call reports nothing');
});
