import test from 'ava';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import YAML from 'yaml';
import { generatePki, issueClientCert, type Pki } from '../../services/apiserver/security.js';
import { KubeClient } from '../../services/core/kube-client.js';
import { Kubeconfig } from '../../services/core/kubeconfig.js';

/** What the server saw: the Authorization header, the impersonated user, the client certificate's CN. */
interface Seen {
  authorization: string | null;
  impersonate: string | null;
  cn: string | null;
}

let pki: Pki;
let server: https.Server;
let url: string;
let dir: string;

test.before(async () => {
  // The serving certificate names only kitfed.test: 127.0.0.1 verifies only with tls-server-name.
  pki = generatePki(['kitfed.test']);
  server = https.createServer(
    { key: pki.key, cert: pki.cert, ca: pki.caCert, requestCert: true, rejectUnauthorized: false },
    (req, res) => {
      const peer = (req.socket as TLSSocket).getPeerCertificate();
      const seen: Seen = {
        authorization: req.headers.authorization ?? null,
        impersonate: (req.headers['impersonate-user'] as string | undefined) ?? null,
        cn: (req.socket as TLSSocket).authorized && peer.subject ? String(peer.subject.CN) : null,
      };
      res.setHeader('Content-Type', 'application/json');
      res.end(JSON.stringify(seen));
    },
  );
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  dir = await mkdtemp(join(tmpdir(), 'kitfed-kubeconfig-'));
  await mkdir(join(dir, 'creds'));
  await writeFile(join(dir, 'creds', 'ca.crt'), pki.caCert);
  const client = issueClientCert(pki, 'jane', ['dev']);
  await writeFile(join(dir, 'creds', 'jane.crt'), client.cert);
  await writeFile(join(dir, 'creds', 'jane.key'), client.key);
  await writeFile(join(dir, 'creds', 'token'), 'token-from-file\n');
  await writeFile(
    join(dir, 'creds', 'plugin.mjs'),
    `process.stdout.write(JSON.stringify(${JSON.stringify({
      apiVersion: 'client.authentication.k8s.io/v1',
      kind: 'ExecCredential',
      status: { token: 'token-from-exec' },
    })}));\n`,
  );
});

test.after.always(async () => {
  server?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const b64 = (s: string) => Buffer.from(s).toString('base64');

/** A kubeconfig with one context per user entry, all on the test server (CA by relative file path). */
async function kubeconfig(
  users: Record<string, Record<string, unknown>>,
  cluster: Record<string, unknown> = {},
): Promise<string> {
  const file = join(dir, `kubeconfig-${Object.keys(users).join('-')}.yaml`);
  await writeFile(
    file,
    YAML.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [
        {
          name: 'test',
          cluster: {
            server: url,
            'certificate-authority': 'creds/ca.crt',
            'tls-server-name': 'kitfed.test',
            ...cluster,
          },
        },
      ],
      users: Object.entries(users).map(([name, user]) => ({ name, user })),
      contexts: Object.keys(users).map((name) => ({ name, context: { cluster: 'test', user: name, namespace: 'ns' } })),
      'current-context': Object.keys(users)[0],
    }),
  );
  return file;
}

async function whoami(file: string, context?: string): Promise<Seen> {
  const client = await KubeClient.fromKubeconfig({ file }, context, { timeoutMs: 60_000 });
  try {
    return await client.request<Seen>('GET', '/whoami');
  } finally {
    client.close();
  }
}

test('static credentials: token, token file, client cert (file or inline), basic auth, impersonation', async (t) => {
  const client = issueClientCert(pki, 'inline', []);
  const file = await kubeconfig({
    token: { token: 's3cr3t', as: 'someone-else' },
    tokenfile: { tokenFile: 'creds/token' },
    certfiles: { 'client-certificate': 'creds/jane.crt', 'client-key': 'creds/jane.key' },
    certdata: { 'client-certificate-data': b64(client.cert), 'client-key-data': b64(client.key) },
    basic: { username: 'admin', password: 'pw' },
  });
  t.deepEqual(await whoami(file), { authorization: 'Bearer s3cr3t', impersonate: 'someone-else', cn: null });
  t.is((await whoami(file, 'tokenfile')).authorization, 'Bearer token-from-file');
  t.is((await whoami(file, 'certfiles')).cn, 'jane');
  t.is((await whoami(file, 'certdata')).cn, 'inline');
  t.is((await whoami(file, 'basic')).authorization, `Basic ${b64('admin:pw')}`);
  const kc = Kubeconfig.read({ file });
  t.deepEqual(kc.contexts, ['token', 'tokenfile', 'certfiles', 'certdata', 'basic']);
  t.deepEqual(kc.target('basic'), { context: 'basic', server: url, namespace: 'ns' });
});

test('the server certificate is checked (CA, tls-server-name), or not with insecure-skip-tls-verify', async (t) => {
  const noServerName = await kubeconfig({ u1: { token: 'x' } }, { 'tls-server-name': undefined });
  await t.throwsAsync(whoami(noServerName), { message: /does not match|altnames|IP: 127\.0\.0\.1 is not in/i });
  const noCa = await kubeconfig({ u2: { token: 'x' } }, { 'certificate-authority': undefined });
  await t.throwsAsync(whoami(noCa), { message: /self[- ]signed|unable to (get|verify)/i });
  const insecure = await kubeconfig(
    { u3: { token: 'x' } },
    { 'certificate-authority': undefined, 'tls-server-name': undefined, 'insecure-skip-tls-verify': true },
  );
  t.is((await whoami(insecure)).authorization, 'Bearer x');
  const inlineCa = await kubeconfig(
    { u4: { token: 'y' } },
    { 'certificate-authority': undefined, 'certificate-authority-data': b64(pki.caCert) },
  );
  t.is((await whoami(inlineCa)).authorization, 'Bearer y');
});

test('plugin credentials (exec) are run through @kubernetes/client-node', async (t) => {
  const file = await kubeconfig({
    plugin: {
      exec: {
        apiVersion: 'client.authentication.k8s.io/v1',
        command: process.execPath,
        args: [join(dir, 'creds', 'plugin.mjs')],
        interactiveMode: 'Never',
      },
    },
  });
  t.true(Kubeconfig.read({ file }).resolve().plugin);
  t.is((await whoami(file)).authorization, 'Bearer token-from-exec');
});

test('errors name the kubeconfig and the field, list the contexts, and never quote the file', async (t) => {
  const file = await kubeconfig({ only: { token: 'tok' } });
  t.throws(() => Kubeconfig.read({ file }).resolve('other'), {
    message: 'kubeconfig has no context "other" (has: only)',
  });
  const broken = join(dir, 'broken.yaml');
  await writeFile(broken, 'users:\n- name: u\n  user: {token: s3cr3t-token\n');
  const err = t.throws(() => Kubeconfig.read({ file: broken }));
  t.regex(err.message, /^kubeconfig .*broken\.yaml: /);
  t.false(err.message.includes('s3cr3t-token'), err.message);
  const noServer = join(dir, 'no-server.yaml');
  await writeFile(noServer, YAML.stringify({ clusters: [{ name: 'c', cluster: {} }] }));
  t.throws(() => Kubeconfig.read({ file: noServer }), {
    message: /no-server\.yaml: clusters\[0\]\.cluster\.server is missing$/,
  });
  const missingFile = await kubeconfig({ gone: { tokenFile: 'creds/nope' } });
  await t.throwsAsync(KubeClient.fromKubeconfig({ file: missingFile }), { message: /creds\/nope: ENOENT/ });
  t.throws(() => Kubeconfig.read({ file: join(dir, 'absent.yaml') }), { message: /absent\.yaml: ENOENT/ });
});
