import test, { type ExecutionContext } from 'ava';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import YAML from 'yaml';
import { startFederationApiServer } from '../../services/apiserver/run.js';
import { main } from '../../services/cli/main.js';
import { kubectlFor, type Kubectl, type KubectlResult } from '../helpers/kubectl.js';

/**
 * User impersonation (`kubectl --as`, `--as-group`, `--as-uid`; the `Impersonate-*` headers) on the
 * federation API server, with real kubectl, users minted by `kitfed create user`, and RBAC deciding
 * who may impersonate whom.
 */

interface Setup {
  dir: string;
  url: string;
  ca: string;
  adminKubeconfig: string;
  admin: Kubectl;
  /** A kubectl for a user minted with `kitfed create user NAME ...args`, and its kubeconfig file. */
  user(name: string, ...args: string[]): Promise<{ kubectl: Kubectl; kubeconfig: string }>;
}

async function setup(t: ExecutionContext): Promise<Setup> {
  const dir = await mkdtemp(join(tmpdir(), 'kitfed-impersonation-'));
  const running = await startFederationApiServer({ listen: '127.0.0.1:0', dataDir: dir });
  t.teardown(async () => {
    await running.server.close();
    await rm(dir, { recursive: true, force: true });
  });
  const adminKubeconfig = join(dir, 'kubeconfig');
  await writeFile(adminKubeconfig, running.kubeconfig, { mode: 0o600 });
  return {
    dir,
    url: running.server.url,
    ca: await readFile(join(dir, 'pki', 'ca.crt'), 'utf8'),
    adminKubeconfig,
    admin: kubectlFor(adminKubeconfig, join(dir, 'cache')),
    async user(name, ...args) {
      const out = join(dir, `${name}.kubeconfig`);
      t.is(await main(['create', 'user', name, ...args, '--data-dir', dir, '--kubeconfig-out', out]), 0);
      return { kubectl: kubectlFor(out, join(dir, `cache-${name}`)), kubeconfig: out };
    },
  };
}

function ok(t: ExecutionContext, r: KubectlResult, what: string): void {
  t.is(r.code, 0, `${what}: ${r.stderr}`);
}

interface WhoAmI {
  status: { userInfo: { username: string; uid?: string; groups: string[]; extra?: Record<string, string[]> } };
}

async function whoami(k: Kubectl, ...flags: string[]): Promise<WhoAmI['status']['userInfo']> {
  const r = await k(['auth', 'whoami', '-o', 'json', ...flags]);
  if (r.code !== 0) throw new Error(`kubectl auth whoami ${flags.join(' ')}: ${r.stderr}`);
  return (JSON.parse(r.stdout) as WhoAmI).status.userInfo;
}

/**
 * A raw HTTPS request with the credentials of a kubeconfig (bearer token or client certificate)
 * and extra headers (an array value sends the header once per element, as Go clients do).
 */
async function raw(
  s: Setup,
  kubeconfig: string,
  method: string,
  path: string,
  headers: Record<string, string | string[]>,
  body?: unknown,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const config = YAML.parse(await readFile(kubeconfig, 'utf8')) as {
    users: { user: { token?: string; 'client-certificate-data'?: string; 'client-key-data'?: string } }[];
  };
  const { token, 'client-certificate-data': certData, 'client-key-data': keyData } = config.users[0]!.user;
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = https.request(
      `${s.url}${path}`,
      {
        method,
        ca: s.ca,
        ...(certData && keyData
          ? {
              cert: Buffer.from(certData, 'base64').toString(),
              key: Buffer.from(keyData, 'base64').toString(),
            }
          : {}),
        headers: {
          ...headers,
          ...(token ? { Authorization: `Bearer ${token}` } : {}),
          ...(payload ? { 'Content-Type': 'application/json' } : {}),
        },
      },
      (res) => {
        let out = '';
        res.on('data', (c: Buffer) => (out += c.toString()));
        res.on('end', () => {
          let parsed: Record<string, unknown>;
          try {
            parsed = JSON.parse(out) as Record<string, unknown>;
          } catch {
            parsed = { text: out };
          }
          resolve({ status: res.statusCode ?? 0, body: parsed });
        });
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

const SELF_SUBJECT_REVIEW = {
  path: '/apis/authentication.k8s.io/v1/selfsubjectreviews',
  body: { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' },
};

test('the admin acts as another user: whoami, RBAC and can-i all see the impersonated user', async (t) => {
  const s = await setup(t);

  // Without --as the admin is itself.
  t.is((await whoami(s.admin)).username, 'kitfed-admin');

  // --as / --as-group: the given groups plus system:authenticated.
  const user1 = await whoami(s.admin, '--as=user1', '--as-group=g1');
  t.is(user1.username, 'user1');
  t.deepEqual(user1.groups, ['g1', 'system:authenticated']);
  const table = await s.admin(['auth', 'whoami', '--as=user1', '--as-group=g1', '--as-group=g2']);
  ok(t, table, 'whoami table');
  t.regex(table.stdout, /^Username\s+user1$/m);
  t.regex(table.stdout, /^Groups\s+\[g1 g2 system:authenticated\]$/m);
  // No group asked: system:authenticated alone; --as-uid is carried.
  t.deepEqual(await whoami(s.admin, '--as=user2', '--as-uid=1234'), {
    username: 'user2',
    uid: '1234',
    groups: ['system:authenticated'],
  });
  // A ServiceAccount user gets the ServiceAccount groups.
  t.deepEqual((await whoami(s.admin, '--as=system:serviceaccount:default:builder')).groups, [
    'system:serviceaccounts',
    'system:serviceaccounts:default',
    'system:authenticated',
  ]);

  // bob has no role: the admin acting as bob is refused what bob may not do, naming bob.
  const secrets = await s.admin(['--as=bob', 'get', 'secrets', '-n', 'default']);
  t.is(secrets.code, 1);
  t.regex(
    secrets.stderr,
    /Error from server \(Forbidden\): secrets is forbidden: User "bob" cannot list resource "secrets" in API group "" in the namespace "default"/,
  );
  const del = await s.admin(['--as=bob', 'delete', 'namespace', 'default']);
  t.is(del.code, 1);
  t.regex(del.stderr, /User "bob" cannot delete resource "namespaces"/);
  ok(t, await s.admin(['get', 'namespace', 'default']), 'default namespace still there');
  t.is((await s.admin(['auth', 'can-i', 'list', 'secrets', '--as=bob'])).stdout.trim(), 'no');
  t.is((await s.admin(['auth', 'can-i', 'list', 'secrets'])).stdout.trim(), 'yes');

  // Once bob is granted edit in team-a, acting as bob there works — as bob, not as the admin.
  ok(t, await s.admin(['create', 'namespace', 'team-a']), 'namespace');
  ok(t, await s.admin(['create', 'rolebinding', 'bob-edit', '--clusterrole=edit', '--user=bob', '-n', 'team-a']), 'rb');
  ok(t, await s.admin(['--as=bob', '-n', 'team-a', 'create', 'configmap', 'c1', '--from-literal=a=1']), 'bob creates');
  t.is((await s.admin(['auth', 'can-i', 'create', 'configmaps', '-n', 'team-a', '--as=bob'])).stdout.trim(), 'yes');
  const escalate = await s.admin(['--as=bob', '-n', 'team-a', 'create', 'role', 'r', '--verb=get', '--resource=pods']);
  t.is(escalate.code, 1);
  t.regex(escalate.stderr, /User "bob" cannot create resource "roles" in API group "rbac.authorization.k8s.io"/);

  // Extras (key lower-cased and percent-decoded, repeatable), over raw HTTP as kubectl has no flag for them.
  const review = await raw(
    s,
    s.adminKubeconfig,
    'POST',
    SELF_SUBJECT_REVIEW.path,
    {
      'Impersonate-User': 'user3',
      'Impersonate-Group': ['a', 'b'],
      'Impersonate-Extra-Scopes': ['view', 'edit'],
      'Impersonate-Extra-Example.com%2FTeam': 'blue',
    },
    SELF_SUBJECT_REVIEW.body,
  );
  t.is(review.status, 201, JSON.stringify(review.body));
  t.deepEqual((review.body as unknown as WhoAmI).status.userInfo, {
    username: 'user3',
    groups: ['a', 'b', 'system:authenticated'],
    extra: { 'example.com/team': ['blue'], scopes: ['view', 'edit'] },
  });
});

test('impersonating without the impersonate verb is refused with kube 403 text', async (t) => {
  const s = await setup(t);
  const alice = await s.user('alice', '--clusterrole', 'view');
  // Discovery first, as alice herself: kubectl cannot read the Status of a refused discovery
  // request (it prints "unknown"), so the refusal is shown on the list, as with a warm cache.
  ok(t, await alice.kubectl(['get', 'configmaps', '-n', 'default']), 'alice lists configmaps');

  const asBob = await alice.kubectl(['--as=bob', 'get', 'configmaps', '-n', 'default']);
  t.is(asBob.code, 1);
  t.regex(
    asBob.stderr,
    /Error from server \(Forbidden\): users "bob" is forbidden: User "alice" cannot impersonate resource "users" in API group "" at the cluster scope/,
  );
  const asSa = await alice.kubectl(['--as=system:serviceaccount:kube-system:default', 'get', 'pods']);
  t.regex(
    asSa.stderr,
    /serviceaccounts "default" is forbidden: User "alice" cannot impersonate resource "serviceaccounts" in API group "" in the namespace "kube-system"/,
  );
  // Without --as alice is still alice.
  t.is((await whoami(alice.kubectl)).username, 'alice');

  // The Status itself, and the resources kube checks for groups, uids and extras.
  const refused = await raw(s, alice.kubeconfig, 'GET', '/api/v1/namespaces/default/configmaps', {
    'Impersonate-User': 'bob',
  });
  t.is(refused.status, 403);
  t.like(refused.body, {
    kind: 'Status',
    status: 'Failure',
    reason: 'Forbidden',
    code: 403,
    details: { name: 'bob', kind: 'users' },
  });
  t.is(
    refused.body.message,
    'users "bob" is forbidden: User "alice" cannot impersonate resource "users" in API group "" at the cluster scope',
  );
});

test('a ClusterRole granting impersonate on users named bob allows bob, not carol nor extra groups', async (t) => {
  const s = await setup(t);
  const role = {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRole',
    metadata: { name: 'impersonate-bob' },
    rules: [{ apiGroups: [''], resources: ['users'], verbs: ['impersonate'], resourceNames: ['bob'] }],
  };
  ok(t, await s.admin(['apply', '-f', '-'], JSON.stringify(role)), 'clusterrole');
  const support = await s.user('support', '--clusterrole', 'impersonate-bob');

  t.deepEqual(await whoami(support.kubectl, '--as=bob'), { username: 'bob', groups: ['system:authenticated'] });
  t.is((await whoami(support.kubectl)).username, 'support');
  // Acting as bob, support may do what bob may (nothing here): the refusal names bob.
  const asBob = await support.kubectl(['--as=bob', 'get', 'configmaps', '-n', 'default']);
  t.is(asBob.code, 1);
  t.regex(
    asBob.stderr,
    /configmaps is forbidden: User "bob" cannot list resource "configmaps" in API group "" in the namespace "default"/,
  );

  const carol = await support.kubectl(['--as=carol', 'get', 'configmaps', '-n', 'default']);
  t.is(carol.code, 1);
  t.regex(
    carol.stderr,
    /users "carol" is forbidden: User "support" cannot impersonate resource "users" in API group "" at the cluster scope/,
  );
  const group = await support.kubectl(['--as=bob', '--as-group=system:masters', 'get', 'configmaps', '-n', 'default']);
  t.is(group.code, 1);
  t.regex(
    group.stderr,
    /groups "system:masters" is forbidden: User "support" cannot impersonate resource "groups" in API group "" at the cluster scope/,
  );
  const uid = await raw(
    s,
    support.kubeconfig,
    'POST',
    SELF_SUBJECT_REVIEW.path,
    {
      'Impersonate-User': 'bob',
      'Impersonate-Uid': 'u-1',
    },
    SELF_SUBJECT_REVIEW.body,
  );
  t.is(uid.status, 403);
  t.is(
    uid.body.message,
    'uids.authentication.k8s.io "u-1" is forbidden: User "support" cannot impersonate resource "uids" ' +
      'in API group "authentication.k8s.io" at the cluster scope',
  );
  const extra = await raw(
    s,
    support.kubeconfig,
    'POST',
    SELF_SUBJECT_REVIEW.path,
    {
      'Impersonate-User': 'bob',
      'Impersonate-Extra-Scopes': 'admin',
    },
    SELF_SUBJECT_REVIEW.body,
  );
  t.is(extra.status, 403);
  t.is(
    extra.body.message,
    'userextras.authentication.k8s.io "admin" is forbidden: User "support" cannot impersonate resource ' +
      '"userextras/scopes" in API group "authentication.k8s.io" at the cluster scope',
  );

  // Granting groups and the extra key too lets the same request through.
  const more = {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRole',
    metadata: { name: 'impersonate-more' },
    rules: [
      { apiGroups: [''], resources: ['groups'], verbs: ['impersonate'], resourceNames: ['devs'] },
      { apiGroups: ['authentication.k8s.io'], resources: ['userextras/scopes'], verbs: ['impersonate'] },
    ],
  };
  ok(t, await s.admin(['apply', '-f', '-'], JSON.stringify(more)), 'clusterrole more');
  ok(
    t,
    await s.admin(['create', 'clusterrolebinding', 'support-more', '--clusterrole=impersonate-more', '--user=support']),
    'binding',
  );
  const allowed = await raw(
    s,
    support.kubeconfig,
    'POST',
    SELF_SUBJECT_REVIEW.path,
    {
      'Impersonate-User': 'bob',
      'Impersonate-Group': 'devs',
      'Impersonate-Extra-Scopes': 'admin',
    },
    SELF_SUBJECT_REVIEW.body,
  );
  t.is(allowed.status, 201, JSON.stringify(allowed.body));
  t.deepEqual((allowed.body as unknown as WhoAmI).status.userInfo, {
    username: 'bob',
    groups: ['devs', 'system:authenticated'],
    extra: { scopes: ['admin'] },
  });
});

test('groups, uid or extras without a user are a 400', async (t) => {
  const s = await setup(t);
  const groupOnly = await raw(s, s.adminKubeconfig, 'GET', '/api/v1/namespaces', { 'Impersonate-Group': 'g1' });
  t.is(groupOnly.status, 400);
  t.like(groupOnly.body, { kind: 'Status', reason: 'BadRequest', code: 400 });
  t.is(groupOnly.body.message, 'requested [{Group  g1    }] without impersonating a user');
  const uidOnly = await raw(s, s.adminKubeconfig, 'GET', '/api/v1/namespaces', {
    'Impersonate-Uid': 'u-1',
    'Impersonate-Extra-Scopes': 'x',
  });
  t.is(uidOnly.status, 400);
  t.is(
    uidOnly.body.message,
    'requested [{UserExtra  x  authentication.k8s.io/v1  scopes} {UID  u-1  authentication.k8s.io/v1  }] ' +
      'without impersonating a user',
  );
  // kubectl refuses the same before sending anything.
  const kubectl = await s.admin(['get', 'namespaces', '--as-group=g1']);
  t.is(kubectl.code, 1);
  t.regex(kubectl.stderr, /without impersonating a user/);
});
