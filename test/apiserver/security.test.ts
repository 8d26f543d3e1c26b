import test, { type ExecutionContext } from 'ava';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFederationApiServer } from '../../services/apiserver/run.js';
import { issueClientCert, ensurePki } from '../../services/apiserver/security.js';
import { kubectlFor } from '../helpers/kubectl.js';

async function setup(t: ExecutionContext) {
  const dir = await mkdtemp(join(tmpdir(), 'kitfed-sec-'));
  const running = await startFederationApiServer({ listen: '127.0.0.1:0', dataDir: dir });
  t.teardown(async () => {
    await running.server.close();
    await rm(dir, { recursive: true, force: true });
  });
  const kubeconfig = join(dir, 'kubeconfig');
  await writeFile(kubeconfig, running.kubeconfig);
  return { dir, ...running, kubectl: kubectlFor(kubeconfig, join(dir, 'cache')) };
}

function get(url: string, options: https.RequestOptions = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    https
      .get(url, options, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      })
      .on('error', reject);
  });
}

test('HTTPS with a generated CA; kubectl works with the written kubeconfig and no insecure flags', async (t) => {
  const { server, kubectl } = await setup(t);
  t.true(server.url.startsWith('https://'));
  const r = await kubectl(['get', 'namespaces', '-o', 'name']);
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, /namespace\/default/);
});

test('anonymous requests get 401 except health and version; client certificates signed by the CA authenticate', async (t) => {
  const { server, dir } = await setup(t);
  const pki = await ensurePki(dir, ['127.0.0.1']);
  const ca = pki.caCert;
  const anon = await get(`${server.url}/api/v1/namespaces`, { ca });
  t.is(anon.status, 401);
  t.is((JSON.parse(anon.body) as { reason: string }).reason, 'Unauthorized');
  for (const p of ['/healthz', '/livez', '/readyz', '/version'])
    t.is((await get(`${server.url}${p}`, { ca })).status, 200, p);
  const badToken = await get(`${server.url}/api/v1/namespaces`, { ca, headers: { Authorization: 'Bearer nope' } });
  t.is(badToken.status, 401);
  // A certificate authenticates (CN = user, O = groups); RBAC then decides: alice holds no role.
  const client = issueClientCert(pki, 'alice', ['devs']);
  const withCert = await get(`${server.url}/api/v1/namespaces`, { ca, cert: client.cert, key: client.key });
  t.is(withCert.status, 403);
  t.is(
    (JSON.parse(withCert.body) as { message: string }).message,
    'namespaces is forbidden: User "alice" cannot list resource "namespaces" in API group "" at the cluster scope',
  );
  const admin = issueClientCert(pki, 'root', ['system:masters']);
  t.is((await get(`${server.url}/api/v1/namespaces`, { ca, cert: admin.cert, key: admin.key })).status, 200);
});

test('Secrets are encrypted at rest and their data is never echoed in errors', async (t) => {
  const { dir, kubectl } = await setup(t);
  const secret = 'hunter2-very-secret-value';
  const created = await kubectl(
    ['apply', '-f', '-'],
    `apiVersion: v1\nkind: Secret\nmetadata: {name: db}\nstringData: {password: ${secret}}\n`,
  );
  t.is(created.code, 0, created.stderr);
  const read = await kubectl(['get', 'secret', 'db', '-o', 'jsonpath={.data.password}']);
  t.is(Buffer.from(read.stdout, 'base64').toString(), secret);
  const bad = await kubectl(
    ['apply', '-f', '-'],
    `apiVersion: v1\nkind: Secret\nmetadata: {name: Bad_Name}\nstringData: {password: ${secret}}\n`,
  );
  t.not(bad.code, 0);
  t.false(bad.stderr.includes(secret), 'the 422 does not echo Secret data');
  const b64 = Buffer.from(secret).toString('base64');
  for (const f of await readdir(dir)) {
    if (!f.startsWith('federation.db')) continue;
    const raw = await readFile(join(dir, f));
    t.false(raw.includes(secret), `${f} holds no plaintext`);
    t.false(raw.includes(b64), `${f} holds no base64 plaintext`);
  }
});

function post(url: string, ca: string, bearer: string, body: unknown): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      url,
      { method: 'POST', ca, headers: { Authorization: `Bearer ${bearer}`, 'content-type': 'application/json' } },
      (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      },
    );
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

test('a token file of 5,000 users: each token is its own user, a near miss is 401, TokenReview agrees', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'kitfed-sec-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const token = (i: number) => `tok-${String(i).padStart(5, '0')}-${'x'.repeat(32)}`;
  const admin = `admin-token-${'a'.repeat(32)}`;
  const lines = [`${admin},root,root,"system:masters"`];
  for (let i = 0; i < 5000; i++) lines.push(`${token(i)},user-${i},uid-${i}`);
  await writeFile(join(dir, 'tokens.csv'), `${lines.join('\n')}\n`, { mode: 0o600 });
  const { server } = await startFederationApiServer({ listen: '127.0.0.1:0', dataDir: dir });
  t.teardown(() => server.close());
  const { caCert: ca } = await ensurePki(dir, ['127.0.0.1']);
  const whoami = (bearer: string) =>
    post(`${server.url}/apis/authentication.k8s.io/v1/selfsubjectreviews`, ca, bearer, {
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'SelfSubjectReview',
    });
  for (const i of [0, 2500, 4999]) {
    const r = await whoami(token(i));
    t.is(r.status, 201, r.body);
    const review = JSON.parse(r.body) as { status: { userInfo: { username: string; uid: string } } };
    t.is(review.status.userInfo.username, `user-${i}`);
    t.is(review.status.userInfo.uid, `uid-${i}`);
  }
  const refused = await whoami(`${token(4999).slice(0, -1)}y`);
  t.is(refused.status, 401);
  t.false(refused.body.includes('tok-'), 'the 401 does not echo the token');
  const tr = await post(`${server.url}/apis/authentication.k8s.io/v1/tokenreviews`, ca, admin, {
    apiVersion: 'authentication.k8s.io/v1',
    kind: 'TokenReview',
    spec: { token: token(1234) },
  });
  t.is(tr.status, 201, tr.body);
  const status = (JSON.parse(tr.body) as { status: { authenticated: boolean; user: { username: string } } }).status;
  t.true(status.authenticated);
  t.is(status.user.username, 'user-1234');
});
