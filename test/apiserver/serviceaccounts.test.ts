import test, { type ExecutionContext } from 'ava';
import { createPrivateKey } from 'node:crypto';
import { mkdtemp, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFederationApiServer, type RunningFederationApiServer } from '../../services/apiserver/run.js';
import { startApiServer } from '../../services/apiserver/server.js';
import { eventually } from '../helpers/eventually.js';
import { kubectlFor, type Kubectl } from '../helpers/kubectl.js';

/** ServiceAccounts, their tokens (TokenRequest, TokenReview) and the per-namespace defaults, with real kubectl. */

interface Fed {
  dir: string;
  running: RunningFederationApiServer;
  admin: Kubectl;
  /** kubectl with only a bearer token (no admin credentials). */
  withToken(token: string): Kubectl;
  restart(): Promise<void>;
}

async function federation(t: ExecutionContext): Promise<Fed> {
  const dir = await mkdtemp(join(tmpdir(), 'kitfed-sa-'));
  const fed: Fed = {
    dir,
    running: await startFederationApiServer({ listen: '127.0.0.1:0', dataDir: dir }),
    admin: (args, input) => kubectlFor(join(dir, 'kubeconfig'), join(dir, 'cache'))(args, input),
    withToken(token) {
      return (args, input) =>
        kubectlFor(join(dir, 'token.kubeconfig'), join(dir, 'cache-token'))(['--token', token, ...args], input);
    },
    async restart() {
      await fed.running.server.close();
      fed.running = await startFederationApiServer({ listen: '127.0.0.1:0', dataDir: dir });
      await writeKubeconfigs();
    },
  };
  const writeKubeconfigs = async () => {
    await writeFile(join(dir, 'kubeconfig'), fed.running.kubeconfig, { mode: 0o600 });
    // The same cluster and CA, without the admin token.
    await writeFile(join(dir, 'token.kubeconfig'), fed.running.kubeconfig.replace(/\n\s+token: \S+/, ''), {
      mode: 0o600,
    });
  };
  await writeKubeconfigs();
  t.teardown(async () => {
    await fed.running.server.close();
    await rm(dir, { recursive: true, force: true });
  });
  return fed;
}

function ok(t: ExecutionContext, r: { code: number; stderr: string }, what: string): void {
  t.is(r.code, 0, `${what}: ${r.stderr}`);
}

async function tokenReview(fed: Fed, token: string, audiences?: string[]) {
  const r = await fed.admin(
    ['create', '-o', 'json', '-f', '-'],
    JSON.stringify({
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'TokenReview',
      spec: { token, ...(audiences ? { audiences } : {}) },
    }),
  );
  return JSON.parse(r.stdout) as {
    status: {
      authenticated?: boolean;
      error?: string;
      audiences?: string[];
      user?: { username?: string; uid?: string; groups?: string[] };
    };
  };
}

test('every namespace gets a default ServiceAccount and kube-root-ca.crt, and keeps them', async (t) => {
  const fed = await federation(t);
  const ca = await readFile(join(fed.dir, 'pki', 'ca.crt'), 'utf8');
  ok(t, await fed.admin(['create', 'namespace', 'fresh']), 'create ns');
  await eventually(async () => (await fed.admin(['-n', 'fresh', 'get', 'sa', 'default'])).code === 0, 15_000);
  const cm = await eventually(async () => {
    const r = await fed.admin(['-n', 'fresh', 'get', 'configmap', 'kube-root-ca.crt', '-o', 'json']);
    return r.code === 0 && (JSON.parse(r.stdout) as { data: Record<string, string> });
  }, 15_000);
  t.is(cm.data['ca.crt'], ca);
  const sas = await fed.admin(['-n', 'fresh', 'get', 'serviceaccounts']);
  t.regex(sas.stdout, /^NAME\s+SECRETS\s+AGE\ndefault\s+0\s+\S+\n$/);

  // Deleted or edited, they come back as they were.
  ok(t, await fed.admin(['-n', 'fresh', 'delete', 'sa', 'default']), 'delete sa');
  ok(t, await fed.admin(['-n', 'fresh', 'delete', 'configmap', 'kube-root-ca.crt']), 'delete cm');
  await eventually(async () => (await fed.admin(['-n', 'fresh', 'get', 'sa', 'default'])).code === 0, 15_000);
  await eventually(async () => (await fed.admin(['-n', 'fresh', 'get', 'cm', 'kube-root-ca.crt'])).code === 0, 15_000);
  ok(t, await fed.admin(['-n', 'fresh', 'patch', 'cm', 'kube-root-ca.crt', '-p', '{"data":{"ca.crt":"x"}}']), 'edit');
  await eventually(
    async () =>
      (await fed.admin(['-n', 'fresh', 'get', 'cm', 'kube-root-ca.crt', '-o', 'jsonpath={.data.ca\\.crt}'])).stdout ===
      ca,
    15_000,
  );
  // A namespace going away takes them along (nothing recreates them there).
  ok(t, await fed.admin(['delete', 'namespace', 'fresh', '--wait=true', '--timeout=60s']), 'delete ns');
  t.regex((await fed.admin(['get', 'namespace', 'fresh'])).stderr, /NotFound/);
});

test('kubectl create token: the token works with its ServiceAccount rights until the ServiceAccount is deleted; TokenReview agrees', async (t) => {
  const fed = await federation(t);
  ok(t, await fed.admin(['create', 'namespace', 'apps']), 'ns');
  ok(t, await fed.admin(['-n', 'apps', 'create', 'serviceaccount', 'robot']), 'sa');
  ok(
    t,
    await fed.admin([
      '-n',
      'apps',
      'create',
      'rolebinding',
      'robot-view',
      '--clusterrole=view',
      '--serviceaccount=apps:robot',
    ]),
    'rb',
  );
  const uid = (await fed.admin(['-n', 'apps', 'get', 'sa', 'robot', '-o', 'jsonpath={.metadata.uid}'])).stdout;

  const created = await fed.admin(['-n', 'apps', 'create', 'token', 'robot', '--duration=15m']);
  ok(t, created, 'create token');
  const token = created.stdout.trim();
  t.regex(token, /^eyJ[\w-]+\.[\w-]+\.[\w-]+$/);
  const claims = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;
  t.is(claims.sub, 'system:serviceaccount:apps:robot');
  t.is(claims.iss, 'https://kubernetes.default.svc.cluster.local');
  t.is((claims.exp as number) - (claims.iat as number), 900);
  t.deepEqual(claims['kubernetes.io'], { namespace: 'apps', serviceaccount: { name: 'robot', uid } });

  const robot = fed.withToken(token);
  ok(t, await robot(['-n', 'apps', 'get', 'configmaps']), 'robot reads configmaps');
  const denied = await robot(['-n', 'apps', 'get', 'secrets']);
  t.regex(
    denied.stderr,
    /secrets is forbidden: User "system:serviceaccount:apps:robot" cannot list resource "secrets" in API group "" in the namespace "apps"/,
  );
  const who = await robot(['auth', 'whoami']);
  t.regex(who.stdout, /^Username\s+system:serviceaccount:apps:robot$/m);
  t.regex(who.stdout, new RegExp(`^UID\\s+${uid}$`, 'm'));
  t.regex(who.stdout, /^Groups\s+\[system:serviceaccounts system:serviceaccounts:apps system:authenticated\]$/m);
  t.regex(who.stdout, /^Extra: authentication.kubernetes.io\/credential-id\s+\[JTI=[\w-]+\]$/m);

  const review = await tokenReview(fed, token);
  t.true(review.status.authenticated);
  t.deepEqual(review.status.user, {
    username: 'system:serviceaccount:apps:robot',
    uid,
    groups: ['system:serviceaccounts', 'system:serviceaccounts:apps', 'system:authenticated'],
    extra: { 'authentication.kubernetes.io/credential-id': [`JTI=${String(claims.jti)}`] },
  });
  t.deepEqual(review.status.audiences, ['https://kubernetes.default.svc.cluster.local']);
  t.false((await tokenReview(fed, token, ['vault'])).status.authenticated, 'wrong audience');
  const forVault = (await fed.admin(['-n', 'apps', 'create', 'token', 'robot', '--audience=vault'])).stdout.trim();
  const vault = await tokenReview(fed, forVault, ['vault']);
  t.true(vault.status.authenticated);
  t.deepEqual(vault.status.audiences, ['vault']);
  t.regex(
    (await fed.withToken(forVault)(['-n', 'apps', 'get', 'cm'])).stderr,
    /Unauthorized|provide credentials/,
    'not for the API',
  );

  // The ServiceAccount goes: the token stops working, even once a new one of the same name exists.
  ok(t, await fed.admin(['-n', 'apps', 'delete', 'sa', 'robot']), 'delete sa');
  const gone = await robot(['-n', 'apps', 'get', 'configmaps']);
  t.is(gone.code, 1);
  t.regex(gone.stderr, /You must be logged in to the server|Unauthorized/);
  const deadReview = await tokenReview(fed, token);
  t.falsy(deadReview.status.authenticated);
  t.is(deadReview.status.error, '[invalid bearer token, serviceaccounts "robot" not found]');
  ok(t, await fed.admin(['-n', 'apps', 'create', 'serviceaccount', 'robot']), 'recreate');
  await eventually(async () => (await tokenReview(fed, token)).status.error?.includes('does not match claim') === true);
  t.is((await robot(['-n', 'apps', 'get', 'configmaps'])).code, 1);
});

test('token lifetimes: bounds are checked, expired tokens are refused', async (t) => {
  const fed = await federation(t);
  const short = await fed.admin(['create', 'token', 'default', '--duration=5m']);
  t.is(short.code, 1);
  t.regex(
    short.stderr,
    /TokenRequest.authentication.k8s.io "" is invalid: spec.expirationSeconds: Invalid value: 300: may not specify a duration less than 10 minutes/,
  );
  const missing = await fed.admin(['create', 'token', 'nobody']);
  t.regex(missing.stderr, /serviceaccounts "nobody" not found/);
  const byDefault = (await fed.admin(['create', 'token', 'default'])).stdout.trim();
  const claims = JSON.parse(Buffer.from(byDefault.split('.')[1]!, 'base64url').toString()) as Record<string, number>;
  t.is(claims.exp! - claims.iat!, 3600, 'an hour by default');

  // A token whose lifetime is over (signed with the server's own key, issued two hours ago).
  const key = createPrivateKey(await readFile(join(fed.dir, 'pki', 'sa.key'), 'utf8'));
  const { newClaims, signToken, keyId } = await import('../../services/apiserver/auth/tokens.js');
  const { createPublicKey } = await import('node:crypto');
  const uid = (await fed.admin(['get', 'sa', 'default', '-o', 'jsonpath={.metadata.uid}'])).stdout;
  const old = newClaims(
    'https://kubernetes.default.svc.cluster.local',
    ['https://kubernetes.default.svc.cluster.local'],
    { namespace: 'default', name: 'default', uid },
    3600,
    Date.now() - 2 * 3600_000,
  );
  const pub = createPublicKey(key);
  const expired = signToken({ signingKey: key, signingKid: keyId(pub), verifyKeys: new Map() }, old);
  const review = await tokenReview(fed, expired);
  t.falsy(review.status.authenticated);
  t.is(review.status.error, '[invalid bearer token, service account token has expired]');
  t.regex((await fed.withToken(expired)(['get', 'cm'])).stderr, /You must be logged in to the server|Unauthorized/);
  // A token signed by a key the server does not know.
  const forged = signToken(
    {
      signingKey: createPrivateKey(
        (await import('node:crypto'))
          .generateKeyPairSync('rsa', { modulusLength: 2048 })
          .privateKey.export({ type: 'pkcs8', format: 'pem' }),
      ),
      signingKid: 'x',
      verifyKeys: new Map(),
    },
    newClaims(
      'https://kubernetes.default.svc.cluster.local',
      ['https://kubernetes.default.svc.cluster.local'],
      { namespace: 'default', name: 'default', uid },
      3600,
    ),
  );
  t.regex((await tokenReview(fed, forged)).status.error ?? '', /signature is invalid/);
});

test('signing key: 0600 in the data dir, and a rotated-out key keeps verifying while its public key stays', async (t) => {
  const fed = await federation(t);
  const pki = join(fed.dir, 'pki');
  t.is((await stat(join(pki, 'sa.key'))).mode & 0o777, 0o600);
  const before = (await fed.admin(['create', 'token', 'default', '--duration=1h'])).stdout.trim();
  ok(t, await fed.withToken(before)(['auth', 'whoami']), 'token works');

  // Rotate: keep the old public key as sa.<name>.pub, let the server generate a new signing key.
  await rename(join(pki, 'sa.pub'), join(pki, 'sa.previous.pub'));
  await rm(join(pki, 'sa.key'));
  await fed.restart();
  const after = (await fed.admin(['create', 'token', 'default'])).stdout.trim();
  const kid = (tok: string) =>
    (JSON.parse(Buffer.from(tok.split('.')[0]!, 'base64url').toString()) as { kid: string }).kid;
  t.not(kid(after), kid(before), 'new tokens are signed with the new key');
  ok(t, await fed.withToken(after)(['auth', 'whoami']), 'new token works');
  ok(t, await fed.withToken(before)(['auth', 'whoami']), 'old token still verifies');

  // The old key retired: its tokens stop working.
  await rm(join(pki, 'sa.previous.pub'));
  await fed.restart();
  t.is((await fed.withToken(before)(['auth', 'whoami'])).code, 1);
  ok(t, await fed.withToken(after)(['auth', 'whoami']), 'new token still works');
});

test('servers without authentication (in-process, sandboxes without --tls) keep defaults without RBAC', async (t) => {
  const server = await startApiServer();
  t.teardown(() => server.close());
  const ns = server.registry.catalog.byKind('', 'v1', 'Namespace')!;
  await server.registry.create(ns, undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'x' } });
  const sa = server.registry.catalog.byKind('', 'v1', 'ServiceAccount')!;
  await eventually(async () => !!(await server.registry.tryGet(sa, 'x', 'default')));
  // No CA, so no kube-root-ca.crt; everyone is a superuser.
  const cm = server.registry.catalog.byKind('', 'v1', 'ConfigMap')!;
  t.is((await server.registry.list(cm, 'x')).items.length, 0);
  const res = await fetch(`${server.url}/apis/authorization.k8s.io/v1/selfsubjectaccessreviews`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({
      apiVersion: 'authorization.k8s.io/v1',
      kind: 'SelfSubjectAccessReview',
      spec: { resourceAttributes: { verb: 'delete', resource: 'secrets', namespace: 'x' } },
    }),
  });
  t.is(res.status, 201);
  t.like(await res.json(), { status: { allowed: true } });
  const whoami = await fetch(`${server.url}/apis/authentication.k8s.io/v1/selfsubjectreviews`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' }),
  });
  t.like(await whoami.json(), { status: { userInfo: { username: 'system:unsecured' } } });
  const get = await fetch(`${server.url}/apis/authorization.k8s.io/v1/selfsubjectaccessreviews`);
  t.is(get.status, 405);
});
