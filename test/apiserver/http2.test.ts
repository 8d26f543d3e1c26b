/**
 * The API server over TLS speaks HTTP/2 and HTTP/1.1 (ALPN), as kube-apiserver; KubeClient's `http2`
 * option multiplexes a burst of requests over one connection and falls back to HTTP/1.1 where a server
 * offers nothing else.
 */
import test, { type ExecutionContext } from 'ava';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import http2 from 'node:http2';
import https from 'node:https';
import net, { type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { kubeconfigFor, startFederationApiServer } from '../../services/apiserver/run.js';
import { ensurePki, issueClientCert } from '../../services/apiserver/security.js';
import { KubeClient } from '../../services/core/kube-client.js';
import { kubectlFor } from '../helpers/kubectl.js';

async function setup(t: ExecutionContext) {
  const dir = await mkdtemp(join(tmpdir(), 'kitfed-h2-'));
  const running = await startFederationApiServer({ listen: '127.0.0.1:0', dataDir: dir });
  t.teardown(async () => {
    await running.server.close();
    await rm(dir, { recursive: true, force: true });
  });
  const pki = await ensurePki(dir, ['127.0.0.1']);
  return { dir, pki, ...running };
}

/** A TCP relay in front of `port` that counts the connections clients open through it. */
async function countingRelay(t: ExecutionContext, port: number): Promise<{ port: number; connections: () => number }> {
  let connections = 0;
  const relay = net.createServer((client) => {
    connections++;
    const upstream = net.connect(port, '127.0.0.1');
    client.pipe(upstream).pipe(client);
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
  });
  relay.listen(0, '127.0.0.1');
  await once(relay, 'listening');
  t.teardown(() => {
    relay.close();
  });
  return { port: (relay.address() as AddressInfo).port, connections: () => connections };
}

function h2get(
  session: http2.ClientHttp2Session,
  path: string,
): Promise<{ status: number; protocol: string; body: string }> {
  return new Promise((resolve, reject) => {
    const stream = session.request({ ':path': path, accept: 'application/json' });
    let status = 0;
    let body = '';
    stream.on('response', (h) => (status = Number(h[':status'])));
    stream.setEncoding('utf8');
    stream.on('data', (c: string) => (body += c));
    stream.on('end', () => resolve({ status, protocol: session.alpnProtocol ?? '', body }));
    stream.on('error', reject);
  });
}

test('HTTPS negotiates HTTP/2: client certificates authenticate, RBAC decides, watches stream in DATA frames', async (t) => {
  const { server, pki, dir, kubeconfig } = await setup(t);
  const admin = issueClientCert(pki, 'root', ['system:masters']);
  const session = http2.connect(server.url, { ca: pki.caCert, cert: admin.cert, key: admin.key });
  t.teardown(() => session.close());
  const list = await h2get(session, '/api/v1/namespaces');
  t.is(list.protocol, 'h2');
  t.is(list.status, 200, list.body);
  t.true((JSON.parse(list.body) as { items: unknown[] }).items.length >= 3);

  const alice = issueClientCert(pki, 'alice', ['devs']);
  const denied = http2.connect(server.url, { ca: pki.caCert, cert: alice.cert, key: alice.key });
  t.teardown(() => denied.close());
  const refused = await h2get(denied, '/api/v1/namespaces');
  t.is(refused.status, 403);
  t.is(
    (JSON.parse(refused.body) as { message: string }).message,
    'namespaces is forbidden: User "alice" cannot list resource "namespaces" in API group "" at the cluster scope',
  );

  // A watch over HTTP/2 sees an object created by kubectl.
  const watch = session.request({ ':path': '/api/v1/namespaces/default/configmaps?watch=true' });
  watch.setEncoding('utf8');
  let events = '';
  const added = new Promise<void>((resolve) =>
    watch.on('data', (c: string) => {
      events += c;
      if (events.includes('"name":"over-h2"')) resolve();
    }),
  );
  await new Promise<void>((resolve) => watch.once('response', () => resolve()));
  await writeFile(join(dir, 'kubeconfig'), kubeconfig);
  const kubectl = kubectlFor(join(dir, 'kubeconfig'), join(dir, 'cache'));
  const created = await kubectl(['create', 'configmap', 'over-h2', '--from-literal=a=b']);
  t.is(created.code, 0, created.stderr);
  await added;
  t.regex(events, /^\{"type":"ADDED","object":\{"apiVersion":"v1","kind":"ConfigMap","metadata":\{"name":"over-h2"/m);
  watch.close();
});

test('HTTP/1.1 clients are still served on the same port', async (t) => {
  const { server, pki } = await setup(t);
  const status = await new Promise<number>((resolve, reject) =>
    https
      .get(`${server.url}/version`, { ca: pki.caCert }, (res) => {
        res.resume();
        t.is(res.httpVersion, '1.1');
        resolve(res.statusCode ?? 0);
      })
      .on('error', reject),
  );
  t.is(status, 200);
});

test('KubeClient with http2 sends a burst of requests over one connection; without it, over a pool', async (t) => {
  const { server, kubeconfig } = await setup(t);
  const relay = await countingRelay(t, server.port);
  const relayed = kubeconfig.replace(server.url, `https://127.0.0.1:${relay.port}`);
  const burst = async (http2: boolean): Promise<number> => {
    const before = relay.connections();
    const client = await KubeClient.fromKubeconfig({ text: relayed }, undefined, { http2 });
    try {
      const lists = await Promise.all(
        Array.from({ length: 20 }, () => client.request<{ items: unknown[] }>('GET', '/api/v1/namespaces')),
      );
      t.true(lists.every((l) => l.items.length >= 3));
      // Writes and their errors travel the same way.
      await client.request('POST', '/api/v1/namespaces/default/configmaps', {
        body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `burst-${http2 ? 'h2' : 'h1'}` } },
      });
      const conflict = await t.throwsAsync(
        client.request('POST', '/api/v1/namespaces/default/configmaps', {
          body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `burst-${http2 ? 'h2' : 'h1'}` } },
        }),
      );
      t.regex(conflict?.message ?? '', /configmaps "burst-h[12]" already exists/);
    } finally {
      client.close();
    }
    return relay.connections() - before;
  };
  t.is(await burst(true), 1);
  t.true((await burst(false)) > 1);
});

test('KubeClient with http2 falls back to HTTP/1.1 where the server offers only that', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'kitfed-h1-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const pki = await ensurePki(dir, ['127.0.0.1']);
  const served: string[] = [];
  const h1 = https.createServer({ key: pki.key, cert: pki.cert }, (req, res) => {
    served.push(`${req.httpVersion} ${req.url}`);
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ kind: 'NamespaceList', apiVersion: 'v1', items: [] }));
  });
  h1.listen(0, '127.0.0.1');
  await once(h1, 'listening');
  t.teardown(() => {
    h1.close();
    h1.closeAllConnections();
  });
  const url = `https://127.0.0.1:${(h1.address() as AddressInfo).port}`;
  const client = await KubeClient.fromKubeconfig({ text: kubeconfigFor(url, 'x', { caCert: pki.caCert }) }, 'x', {
    http2: true,
  });
  t.teardown(() => client.close());
  const lists = await Promise.all(
    [1, 2, 3].map(() => client.request<{ items: unknown[] }>('GET', '/api/v1/namespaces')),
  );
  t.deepEqual(
    lists.map((l) => l.items),
    [[], [], []],
  );
  t.deepEqual(served, ['1.1 /api/v1/namespaces', '1.1 /api/v1/namespaces', '1.1 /api/v1/namespaces']);
});
