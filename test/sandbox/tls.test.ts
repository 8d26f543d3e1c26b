import https from 'node:https';
import test from 'ava';
import { eventually } from '../helpers/eventually.js';
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

test('a sandbox cluster with tls authorizes with RBAC: a ServiceAccount token gets what its role grants, kube-root-ca.crt holds the sandbox CA', async (t) => {
  const s = await startTestSandbox(t, { tls: true, clusters: [{ name: 'a', region: 'r1' }] });
  const [a] = s.sandbox.clusters;
  const k = (...args: string[]) => s.kubectl(['--context', 'a', ...args]);
  t.is((await k('create', 'namespace', 'apps')).code, 0);
  t.is((await k('-n', 'apps', 'create', 'serviceaccount', 'ci')).code, 0);
  t.is(
    (await k('-n', 'apps', 'create', 'rolebinding', 'ci', '--clusterrole=edit', '--serviceaccount=apps:ci')).code,
    0,
  );
  const token = (await k('-n', 'apps', 'create', 'token', 'ci')).stdout.trim();
  const asCi = (...args: string[]) => s.kubectl(['--context', 'a', '--token', token, ...args]);
  const made = await asCi('-n', 'apps', 'create', 'deployment', 'web', '--image=nginx');
  t.is(made.code, 0, made.stderr);
  const denied = await asCi('get', 'nodes');
  t.regex(
    denied.stderr,
    /nodes is forbidden: User "system:serviceaccount:apps:ci" cannot list resource "nodes" in API group "" at the cluster scope/,
  );
  await eventually(
    async () =>
      (await k('-n', 'apps', 'get', 'configmap', 'kube-root-ca.crt', '-o', 'jsonpath={.data.ca\\.crt}')).stdout ===
      a!.caCert,
    15_000,
  );
  t.is((await k('auth', 'can-i', '*', '*')).stdout.trim(), 'yes', 'the sandbox kubeconfig is an admin');
});
