import https from 'node:https';
import test from 'ava';
import { startTestSandbox } from './helpers.js';

function get(url: string, ca: string, token?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = https.get(
      url,
      { ca, agent: false, headers: token ? { Authorization: `Bearer ${token}` } : {} },
      (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    );
    req.on('error', reject);
  });
}

test('with tls each cluster serves HTTPS under the sandbox CA with its own certificate and token', async (t) => {
  const s = await startTestSandbox(t, {
    tls: true,
    clusters: [
      { name: 'a', region: 'r1' },
      { name: 'b', region: 'r2' },
    ],
  });
  const [a, b] = s.sandbox.clusters;
  t.regex(a!.url, /^https:\/\//);
  t.not(a!.token, b!.token);
  t.is(await get(`${a!.url}/api/v1/namespaces`, a!.caCert!), 401);
  t.is(await get(`${a!.url}/api/v1/namespaces`, a!.caCert!, b!.token), 401, "another cluster's token is refused");
  t.is(await get(`${a!.url}/api/v1/namespaces`, a!.caCert!, a!.token), 200);
  t.is(await get(`${a!.url}/healthz`, a!.caCert!), 200);
  for (const ctx of ['a', 'b']) {
    const nodes = await s.kubectl(['--context', ctx, 'get', 'nodes', '-o', 'name']);
    t.is(nodes.code, 0, nodes.stderr);
    t.is(nodes.stdout.trim(), `node/${ctx}-r${ctx === 'a' ? 1 : 2}-a-1`);
  }
  await a!.fault('down');
  await a!.fault('up');
  t.is(await get(`${a!.url}/api/v1/namespaces`, a!.caCert!, a!.token), 200, 'TLS again after a restart');
});
