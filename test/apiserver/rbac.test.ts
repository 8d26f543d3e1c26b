import test, { type ExecutionContext } from 'ava';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFederationApiServer } from '../../services/apiserver/run.js';
import { main } from '../../services/cli/main.js';
import { eventually } from '../helpers/eventually.js';
import { kubectlFor, type Kubectl } from '../helpers/kubectl.js';

/**
 * RBAC on the federation API server, with real kubectl and users minted by `kitfed create user`
 * (client certificates signed by the server's CA).
 */

interface Setup {
  dir: string;
  url: string;
  ca: string;
  admin: Kubectl;
  /** A kubectl for a user minted with `kitfed create user NAME ...args`. */
  user(name: string, ...args: string[]): Promise<Kubectl>;
}

async function setup(t: ExecutionContext): Promise<Setup> {
  const dir = await mkdtemp(join(tmpdir(), 'kitfed-rbac-'));
  const running = await startFederationApiServer({ listen: '127.0.0.1:0', dataDir: dir });
  t.teardown(async () => {
    await running.server.close();
    await rm(dir, { recursive: true, force: true });
  });
  const kubeconfig = join(dir, 'kubeconfig');
  await writeFile(kubeconfig, running.kubeconfig, { mode: 0o600 });
  const admin = kubectlFor(kubeconfig, join(dir, 'cache'));
  return {
    dir,
    url: running.server.url,
    ca: await readFile(join(dir, 'pki', 'ca.crt'), 'utf8'),
    admin,
    async user(name, ...args) {
      const out = join(dir, `${name.replace(/[^a-z0-9]/gi, '_')}.kubeconfig`);
      // The real command line, run in this process (a node + tsx start per user is slow on a loaded machine).
      t.is(await main(['create', 'user', name, ...args, '--data-dir', dir, '--kubeconfig-out', out]), 0);
      return kubectlFor(out, join(dir, `cache-${name}`));
    },
  };
}

function ok(t: ExecutionContext, r: { code: number; stderr: string }, what: string): void {
  t.is(r.code, 0, `${what}: ${r.stderr}`);
}

/** A raw HTTPS request with a client certificate from a kubeconfig written by `kitfed create user`. */
async function rawAs(
  s: Setup,
  kubeconfigFile: string,
  method: string,
  path: string,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const text = await readFile(kubeconfigFile, 'utf8');
  const cert = Buffer.from(/client-certificate-data: (\S+)/.exec(text)![1]!, 'base64').toString();
  const key = Buffer.from(/client-key-data: (\S+)/.exec(text)![1]!, 'base64').toString();
  return new Promise((resolve, reject) => {
    const req = https.request(`${s.url}${path}`, { method, ca: s.ca, cert, key }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => {
        let parsed: Record<string, unknown> = {};
        try {
          parsed = JSON.parse(body) as Record<string, unknown>;
        } catch {
          parsed = { text: body };
        }
        resolve({ status: res.statusCode ?? 0, body: parsed });
      });
    });
    req.on('error', reject);
    req.end();
  });
}

test('a scoped user from `kitfed create user`: allowed what view grants in its namespace, refused the rest with kube 403 text', async (t) => {
  const s = await setup(t);
  ok(t, await s.admin(['create', 'namespace', 'team-a']), 'create namespace');
  ok(t, await s.admin(['-n', 'team-a', 'create', 'configmap', 'settings', '--from-literal=a=1']), 'create cm');
  const alice = await s.user('alice', '--clusterrole', 'view', '--namespace', 'team-a');

  const list = await alice(['get', 'configmaps', '-n', 'team-a', '-o', 'name']);
  ok(t, list, 'alice lists configmaps');
  t.regex(list.stdout, /configmap\/settings/);

  const create = await alice(['-n', 'team-a', 'create', 'secret', 'generic', 'db', '--from-literal=p=x']);
  t.is(create.code, 1);
  t.is(
    create.stderr.trim(),
    'error: failed to create secret secrets is forbidden: User "alice" cannot create resource "secrets" in API group "" in the namespace "team-a"',
  );
  const elsewhere = await alice(['get', 'configmaps', '-n', 'default']);
  t.is(elsewhere.code, 1);
  t.regex(
    elsewhere.stderr,
    /Error from server \(Forbidden\): configmaps is forbidden: User "alice" cannot list resource "configmaps" in API group "" in the namespace "default"/,
  );
  const named = await alice(['get', 'secret', 'x', '-n', 'team-a']);
  t.regex(
    named.stderr,
    /secrets "x" is forbidden: User "alice" cannot get resource "secrets" in API group "" in the namespace "team-a"/,
  );
  const cluster = await alice(['get', 'namespaces']);
  t.regex(
    cluster.stderr,
    /namespaces is forbidden: User "alice" cannot list resource "namespaces" in API group "" at the cluster scope/,
  );

  // The Status itself: 403, reason Forbidden, details naming the resource.
  const raw = await rawAs(s, join(s.dir, 'alice.kubeconfig'), 'GET', '/api/v1/namespaces/team-a/secrets/x');
  t.is(raw.status, 403);
  t.like(raw.body, {
    kind: 'Status',
    status: 'Failure',
    reason: 'Forbidden',
    code: 403,
    details: { name: 'x', kind: 'secrets' },
  });
  // Non-resource URLs follow the bootstrap policy: /version for everyone, /metrics only for system:monitoring.
  t.is((await rawAs(s, join(s.dir, 'alice.kubeconfig'), 'GET', '/version')).status, 200);
  const metrics = await rawAs(s, join(s.dir, 'alice.kubeconfig'), 'GET', '/metrics');
  t.is(metrics.status, 403);
  t.is(metrics.body.message, 'forbidden: User "alice" cannot get path "/metrics"');

  // The admin kubeconfig stays a superuser.
  ok(t, await s.admin(['get', 'secrets', '-A']), 'admin lists secrets');
});

test('kubectl auth can-i, can-i --list and whoami give kube answers', async (t) => {
  const s = await setup(t);
  ok(t, await s.admin(['create', 'namespace', 'team-b']), 'ns');
  const bob = await s.user('bob', '--clusterrole', 'edit', '--namespace', 'team-b', '--group', 'devs');

  const yes = await bob(['auth', 'can-i', 'create', 'deployments.apps', '-n', 'team-b']);
  t.is(yes.stdout.trim(), 'yes');
  t.is(yes.code, 0);
  const no = await bob(['auth', 'can-i', 'create', 'roles.rbac.authorization.k8s.io', '-n', 'team-b']);
  t.is(no.stdout.trim(), 'no');
  t.is(no.code, 1);
  t.is((await bob(['auth', 'can-i', 'get', 'secrets', '-n', 'default'])).stdout.trim(), 'no');
  t.is((await bob(['auth', 'can-i', 'get', '/version'])).stdout.trim(), 'yes');
  t.is((await bob(['auth', 'can-i', 'get', '/metrics'])).stdout.trim(), 'no');
  // --as: impersonation is not granted to bob, but the admin may ask about bob through SubjectAccessReview.
  t.is((await s.admin(['auth', 'can-i', 'delete', 'secrets', '-n', 'team-b'])).stdout.trim(), 'yes');

  const list = await bob(['auth', 'can-i', '--list', '-n', 'team-b']);
  ok(t, list, 'can-i --list');
  const lines = list.stdout.split('\n');
  t.regex(lines[0]!, /^Resources\s+Non-Resource URLs\s+Resource Names\s+Verbs$/);
  t.true(
    lines.some((l) =>
      /^configmaps\s+\[\]\s+\[\]\s+\[create update patch delete deletecollection get list watch\]/.test(l),
    ),
    list.stdout,
  );
  t.true(lines.some((l) => /^selfsubjectaccessreviews\.authorization\.k8s\.io\s+\[\]\s+\[\]\s+\[create\]/.test(l)));
  t.true(lines.some((l) => /^\s+\[\/version\]\s+\[\]\s+\[get\]/.test(l)));
  const adminList = await s.admin(['auth', 'can-i', '--list']);
  t.regex(adminList.stdout, /^\*\.\*\s+\[\]\s+\[\]\s+\[\*\]$/m);

  const who = await bob(['auth', 'whoami']);
  ok(t, who, 'whoami');
  t.regex(who.stdout, /^ATTRIBUTE\s+VALUE$/m);
  t.regex(who.stdout, /^Username\s+bob$/m);
  t.regex(who.stdout, /^Groups\s+\[devs system:authenticated\]$/m);
  const whoJson = JSON.parse((await s.admin(['auth', 'whoami', '-o', 'json'])).stdout) as {
    kind: string;
    status: { userInfo: { username: string; groups: string[] } };
  };
  t.is(whoJson.kind, 'SelfSubjectReview');
  t.is(whoJson.status.userInfo.username, 'kitfed-admin');
  t.deepEqual(whoJson.status.userInfo.groups, ['system:masters', 'system:authenticated']);

  // SubjectAccessReview and LocalSubjectAccessReview, asked by the admin about bob.
  const sar = await s.admin(
    ['create', '-o', 'json', '-f', '-'],
    JSON.stringify({
      apiVersion: 'authorization.k8s.io/v1',
      kind: 'SubjectAccessReview',
      spec: {
        user: 'bob',
        groups: ['devs'],
        resourceAttributes: { namespace: 'team-b', verb: 'update', group: 'apps', resource: 'deployments' },
      },
    }),
  );
  ok(t, sar, 'SubjectAccessReview');
  const sarStatus = (JSON.parse(sar.stdout) as { status: { allowed: boolean; reason: string } }).status;
  t.true(sarStatus.allowed);
  t.is(sarStatus.reason, 'RBAC: allowed by RoleBinding "user:bob:edit/team-b" of ClusterRole "edit" to User "bob"');
  const lsar = await s.admin(
    ['create', '-n', 'team-b', '-f', '-'],
    JSON.stringify({
      apiVersion: 'authorization.k8s.io/v1',
      kind: 'LocalSubjectAccessReview',
      spec: { user: 'bob', resourceAttributes: { namespace: 'other', verb: 'get', resource: 'pods' } },
    }),
  );
  t.is(lsar.code, 1);
  t.regex(lsar.stderr, /spec\.resourceAttributes\.namespace must match namespace: team-b/);
  const badSar = await s.admin(
    ['create', '-f', '-'],
    JSON.stringify({ apiVersion: 'authorization.k8s.io/v1', kind: 'SubjectAccessReview', spec: { user: 'bob' } }),
  );
  t.regex(
    badSar.stderr,
    new RegExp(
      String.raw`SubjectAccessReview.* is invalid: spec.resourceAttributes: Invalid value: "?null"?: ` +
        'exactly one of nonResourceAttributes or resourceAttributes must be specified',
    ),
  );
});

test('escalation is prevented as in kube, and allowed with escalate and bind', async (t) => {
  const s = await setup(t);
  ok(t, await s.admin(['create', 'namespace', 'esc']), 'ns');
  const carol = await s.user('carol', '--clusterrole', 'admin', '--namespace', 'esc');

  // Within what admin grants: fine.
  ok(t, await carol(['-n', 'esc', 'create', 'role', 'reader', '--verb=get,list', '--resource=configmaps']), 'role');
  ok(t, await carol(['-n', 'esc', 'create', 'rolebinding', 'reader', '--role=reader', '--user=dave']), 'binding');

  // Beyond it: refused with kube's text, and nothing stored.
  const role = await carol(['-n', 'esc', 'create', 'role', 'wider', '--verb=delete', '--resource=namespaces']);
  t.is(role.code, 1);
  t.is(
    role.stderr.trim(),
    'Error from server (Forbidden): roles.rbac.authorization.k8s.io "wider" is forbidden: user "carol" ' +
      '(groups=["system:authenticated"]) is attempting to grant RBAC permissions not currently held:\n' +
      '{APIGroups:[""], Resources:["namespaces"], Verbs:["delete"]}',
  );
  const binding = await carol([
    '-n',
    'esc',
    'create',
    'rolebinding',
    'root',
    '--clusterrole=cluster-admin',
    '--user=dave',
  ]);
  t.is(binding.code, 1);
  t.regex(
    binding.stderr,
    new RegExp(
      String.raw`rolebindings.rbac.authorization.k8s.io "root" is forbidden: user "carol" ` +
        String.raw`\(groups=\["system:authenticated"\]\) is attempting to grant RBAC permissions not currently held:\n` +
        String.raw`\{APIGroups:\["\*"\], Resources:\["\*"\], Verbs:\["\*"\]\}`,
    ),
  );
  const missing = await carol([
    '-n',
    'esc',
    'create',
    'rolebinding',
    'ghost',
    '--clusterrole=no-such-role',
    '--user=dave',
  ]);
  t.regex(missing.stderr, /clusterroles.rbac.authorization.k8s.io "no-such-role" not found/);
  for (const [kind, name] of [
    ['role', 'wider'],
    ['rolebinding', 'root'],
    ['rolebinding', 'ghost'],
  ] as const) {
    const r = await s.admin(['-n', 'esc', 'get', kind, name]);
    t.regex(r.stderr, /NotFound/, `${kind}/${name} was not stored`);
  }
  // Editing a role to grant more is refused too; the stored role is unchanged.
  const patch = await carol([
    '-n',
    'esc',
    'patch',
    'role',
    'reader',
    '--type=json',
    '-p',
    '[{"op":"add","path":"/rules/-","value":{"apiGroups":[""],"resources":["nodes"],"verbs":["get"]}}]',
  ]);
  t.regex(
    patch.stderr,
    /is attempting to grant RBAC permissions not currently held:\n\{APIGroups:\[""\], Resources:\["nodes"\], Verbs:\["get"\]\}/,
  );
  t.is(
    (await s.admin(['-n', 'esc', 'get', 'role', 'reader', '-o', 'jsonpath={.rules[*].resources}'])).stdout,
    '["configmaps"]',
  );

  // escalate on roles and bind on clusterroles lift the checks.
  ok(
    t,
    await s.admin(['-n', 'esc', 'create', 'role', 'granter', '--verb=escalate,bind', '--resource=roles,clusterroles']),
    'granter',
  );
  ok(
    t,
    await s.admin(['-n', 'esc', 'create', 'rolebinding', 'granter', '--role=granter', '--user=carol']),
    'granter binding',
  );
  ok(
    t,
    await carol(['-n', 'esc', 'create', 'role', 'wider', '--verb=delete', '--resource=namespaces']),
    'with escalate',
  );
  ok(
    t,
    await carol(['-n', 'esc', 'create', 'rolebinding', 'root', '--clusterrole=cluster-admin', '--user=dave']),
    'with bind',
  );
});

test('bad RBAC objects get kube 422s naming the field; custom verbs are kept', async (t) => {
  const s = await setup(t);
  const apply = (yaml: string) => s.admin(['apply', '-f', '-'], yaml);
  const noVerbs = await apply(
    [
      'apiVersion: rbac.authorization.k8s.io/v1',
      'kind: Role',
      'metadata: {name: bad, namespace: default}',
      'rules:',
      '- apiGroups: [""]',
      '  resources: [pods]',
      '  verbs: []',
      '',
    ].join('\n'),
  );
  t.regex(
    noVerbs.stderr,
    /The Role "bad" is invalid: rules\[0\]\.verbs: Required value: verbs must contain at least one value/,
  );
  const badKind = await apply(
    [
      'apiVersion: rbac.authorization.k8s.io/v1',
      'kind: RoleBinding',
      'metadata: {name: b, namespace: default}',
      'roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Foo, name: view}',
      'subjects: [{kind: User, name: x}]',
      '',
    ].join('\n'),
  );
  t.regex(
    badKind.stderr,
    /The RoleBinding "b" is invalid: roleRef\.kind: Unsupported value: "Foo": supported values: "Role", "ClusterRole"/,
  );
  const crbRole = await apply(
    [
      'apiVersion: rbac.authorization.k8s.io/v1',
      'kind: ClusterRoleBinding',
      'metadata: {name: c}',
      'roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: view}',
      'subjects: [{kind: ServiceAccount, name: x}]',
      '',
    ].join('\n'),
  );
  t.regex(crbRole.stderr, /roleRef\.kind: Unsupported value: "Role": supported values: "ClusterRole"/);
  t.regex(crbRole.stderr, /subjects\[0\]\.namespace: Required value/);
  const nonResourceInRole = await apply(
    [
      'apiVersion: rbac.authorization.k8s.io/v1',
      'kind: Role',
      'metadata: {name: nonresource, namespace: default}',
      'rules:',
      '- nonResourceURLs: [/healthz]',
      '  verbs: [get]',
      '',
    ].join('\n'),
  );
  t.regex(
    nonResourceInRole.stderr,
    /rules\[0\]\.nonResourceURLs: Invalid value: .*namespaced rules cannot apply to non-resource URLs/,
  );
  // roleRef is immutable.
  ok(t, await s.admin(['create', 'rolebinding', 'fixed', '--clusterrole=view', '--user=x']), 'binding');
  const changed = await s.admin(['patch', 'rolebinding', 'fixed', '--type=merge', '-p', '{"roleRef":{"name":"edit"}}']);
  t.regex(changed.stderr, /roleRef: Invalid value: .*cannot change roleRef/);
  // kube keeps verbs it does not know (custom verbs such as `use` or `frobnicate`); kubectl only warns.
  const custom = await s.admin(['create', 'role', 'custom', '--verb=frobnicate', '--resource=configmaps']);
  ok(t, custom, 'custom verb');
  t.regex(custom.stderr, /Warning: 'frobnicate' is not a standard resource verb/);
  const dave = await s.user('dave');
  ok(t, await s.admin(['create', 'rolebinding', 'dave-custom', '--role=custom', '--user=dave']), 'bind');
  const can = await dave(['auth', 'can-i', 'frobnicate', 'configmaps']);
  t.is(can.stdout.trim(), 'yes');
  t.regex(can.stderr, /verb 'frobnicate' is not a known verb/);
  // An HTTP method the API does not know: refused (no verb to grant) for dave, 405 for a superuser.
  t.is((await rawAs(s, join(s.dir, 'dave.kubeconfig'), 'MKCOL', '/api/v1/namespaces/default/configmaps')).status, 403);
  await s.user('root', '--group', 'system:masters');
  const mkcol = await rawAs(s, join(s.dir, 'root.kubeconfig'), 'MKCOL', '/api/v1/namespaces/default/configmaps');
  t.is(mkcol.status, 405);
  t.is(mkcol.body.reason, 'MethodNotAllowed');
});

test('aggregated ClusterRoles follow the roles their selectors match, and so do their users', async (t) => {
  const s = await setup(t);
  ok(t, await s.admin(['create', 'namespace', 'agg']), 'ns');
  const erin = await s.user('erin', '--clusterrole', 'view', '--namespace', 'agg');
  t.is((await erin(['auth', 'can-i', 'list', 'leases.coordination.k8s.io', '-n', 'agg'])).stdout.trim(), 'no');

  ok(
    t,
    await s.admin(
      ['apply', '-f', '-'],
      [
        'apiVersion: rbac.authorization.k8s.io/v1',
        'kind: ClusterRole',
        'metadata: {name: monitoring}',
        'aggregationRule:',
        '  clusterRoleSelectors:',
        '  - matchLabels: {example.com/aggregate-to-monitoring: "true"}',
        'rules: []',
        '',
      ].join('\n'),
    ),
    'aggregated role',
  );
  ok(
    t,
    await s.admin(
      ['apply', '-f', '-'],
      [
        'apiVersion: rbac.authorization.k8s.io/v1',
        'kind: ClusterRole',
        'metadata:',
        '  name: view-leases',
        '  labels: {rbac.authorization.k8s.io/aggregate-to-view: "true", example.com/aggregate-to-monitoring: "true"}',
        'rules:',
        '- apiGroups: [coordination.k8s.io]',
        '  resources: [leases]',
        '  verbs: [get, list, watch]',
        '',
      ].join('\n'),
    ),
    'labelled role',
  );
  const rulesOf = async (name: string) =>
    JSON.parse((await s.admin(['get', 'clusterrole', name, '-o', 'json'])).stdout).rules as Array<{
      resources?: string[];
    }>;
  await eventually(async () => (await rulesOf('monitoring')).some((r) => r.resources?.includes('leases')), 15_000);
  await eventually(async () => (await rulesOf('view')).some((r) => r.resources?.includes('leases')), 15_000);
  await eventually(
    async () =>
      (await erin(['auth', 'can-i', 'list', 'leases.coordination.k8s.io', '-n', 'agg'])).stdout.trim() === 'yes',
    15_000,
  );
  // edit aggregates view, admin aggregates edit: the rule reaches both.
  await eventually(async () => (await rulesOf('admin')).some((r) => r.resources?.includes('leases')), 15_000);

  // Removing the label (or the role) takes the rules back out.
  ok(t, await s.admin(['label', 'clusterrole', 'view-leases', 'example.com/aggregate-to-monitoring-']), 'unlabel');
  await eventually(async () => (await rulesOf('monitoring')).length === 0, 15_000);
  ok(t, await s.admin(['delete', 'clusterrole', 'view-leases']), 'delete');
  await eventually(
    async () =>
      (await erin(['auth', 'can-i', 'list', 'leases.coordination.k8s.io', '-n', 'agg'])).stdout.trim() === 'no',
    15_000,
  );

  // Only a cluster-admin may write an aggregationRule (it can gather anything).
  ok(
    t,
    await s.admin(['create', 'clusterrolebinding', 'erin-rbac', '--clusterrole=rbac-editor', '--user=erin']),
    'crb',
  );
  ok(
    t,
    await s.admin([
      'create',
      'clusterrole',
      'rbac-editor',
      '--verb=create,get,list,update,patch',
      '--resource=clusterroles.rbac.authorization.k8s.io',
    ]),
    'role',
  );
  const agg = await erin(
    ['apply', '-f', '-'],
    [
      'apiVersion: rbac.authorization.k8s.io/v1',
      'kind: ClusterRole',
      'metadata: {name: grab}',
      'aggregationRule:',
      '  clusterRoleSelectors:',
      '  - matchLabels: {x: "y"}',
      '',
    ].join('\n'),
  );
  t.regex(
    agg.stderr,
    /clusterroles.rbac.authorization.k8s.io "grab" is forbidden: must have cluster-admin privileges to use the aggregationRule/,
  );
});

test('the bootstrap policy: kube roles with kubectl columns, kitfed roles, and autoupdate reconciliation on restart', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'kitfed-rbac-boot-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  let running = await startFederationApiServer({ listen: '127.0.0.1:0', dataDir: dir });
  t.teardown(() => running.server.close());
  const kubeconfig = join(dir, 'kubeconfig');
  const admin: Kubectl = async (args, input) => {
    await writeFile(kubeconfig, running.kubeconfig, { mode: 0o600 });
    return kubectlFor(kubeconfig, join(dir, 'cache'))(args, input);
  };
  const roles = await admin(['get', 'clusterroles']);
  ok(t, roles, 'get clusterroles');
  t.regex(roles.stdout.split('\n')[0]!, /^NAME\s+CREATED AT$/);
  for (const name of [
    'cluster-admin',
    'admin',
    'edit',
    'view',
    'system:discovery',
    'system:basic-user',
    'system:public-info-viewer',
    'system:monitoring',
    'system:auth-delegator',
    'kitfed:controller-manager',
    'kitfed:deployer',
  ])
    t.regex(roles.stdout, new RegExp(`^${name}\\s+\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ$`, 'm'), name);
  const crbs = await admin(['get', 'clusterrolebindings', '-o', 'wide']);
  t.regex(crbs.stdout.split('\n')[0]!, /^NAME\s+ROLE\s+AGE\s+USERS\s+GROUPS\s+SERVICEACCOUNTS$/);
  t.regex(crbs.stdout, /^cluster-admin\s+ClusterRole\/cluster-admin\s+\S+\s+system:masters\s*$/m);
  t.regex(
    crbs.stdout,
    /^system:public-info-viewer\s+ClusterRole\/system:public-info-viewer\s+\S+\s+system:authenticated, system:unauthenticated/m,
  );
  t.regex(crbs.stdout, /^system:kube-dns\s+ClusterRole\/system:kube-dns\s+\S+\s+kube-system\/kube-dns$/m);
  const resources = await admin(['api-resources', '--api-group=rbac.authorization.k8s.io', '-o', 'name']);
  t.deepEqual(resources.stdout.trim().split('\n').sort(), [
    'clusterrolebindings.rbac.authorization.k8s.io',
    'clusterroles.rbac.authorization.k8s.io',
    'rolebindings.rbac.authorization.k8s.io',
    'roles.rbac.authorization.k8s.io',
  ]);

  // A bootstrap role edited by hand gets its permissions back on restart...
  ok(t, await admin(['patch', 'clusterrole', 'system:basic-user', '--type=merge', '-p', '{"rules":[]}']), 'strip');
  ok(t, await admin(['patch', 'clusterrole', 'system:monitoring', '--type=merge', '-p', '{"rules":[]}']), 'strip');
  ok(
    t,
    await admin([
      'annotate',
      '--overwrite',
      'clusterrole',
      'system:monitoring',
      'rbac.authorization.kubernetes.io/autoupdate=false',
    ]),
    'opt out',
  );
  await running.server.close();
  running = await startFederationApiServer({ listen: '127.0.0.1:0', dataDir: dir });
  const basic = JSON.parse((await admin(['get', 'clusterrole', 'system:basic-user', '-o', 'json'])).stdout) as {
    rules: Array<{ resources: string[] }>;
  };
  t.deepEqual(
    basic.rules.flatMap((r) => r.resources),
    ['selfsubjectaccessreviews', 'selfsubjectrulesreviews', 'selfsubjectreviews'],
  );
  // ...unless annotated rbac.authorization.kubernetes.io/autoupdate: "false".
  t.is((await admin(['get', 'clusterrole', 'system:monitoring', '-o', 'jsonpath={.rules}'])).stdout, '[]');
});

test('kitfed create user: bad flags exit 2, a data dir without a CA exits 1 naming the file', async (t) => {
  t.is(await main(['create', 'user', 'x', '--role', 'r']), 2);
  t.is(await main(['create', 'user', 'x', '--clusterrole', 'a', '--role', 'b', '-n', 'n']), 2);
  t.is(await main(['create', 'user', 'x', '--days', '0']), 2);
  const dir = await mkdtemp(join(tmpdir(), 'kitfed-noca-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const errors: string[] = [];
  const write = process.stderr.write.bind(process.stderr);
  process.stderr.write = (chunk: string | Uint8Array) => {
    errors.push(String(chunk));
    return true;
  };
  try {
    t.is(await main(['create', 'user', 'x', '--data-dir', dir]), 1);
  } finally {
    process.stderr.write = write;
  }
  t.regex(errors.join(''), new RegExp(`${join(dir, 'pki', 'ca.crt')} not found: start the API server once`));
});

test('a CertificateSigningRequest records who sent it, whatever its body claims, and starts with no status', async (t) => {
  const s = await setup(t);
  const csr = (name: string) => `apiVersion: certificates.k8s.io/v1
kind: CertificateSigningRequest
metadata: {name: ${name}}
spec:
  signerName: kubernetes.io/kube-apiserver-client
  usages: [client auth]
  username: someone-else
  groups: [system:masters]
  request: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURSBSRVFVRVNULS0tLS0KLS0tLS1FTkQgQ0VSVElGSUNBVEUgUkVRVUVTVC0tLS0tCg==
status:
  conditions: [{type: Approved, status: "True", reason: Self}]
`;
  ok(t, await s.admin(['create', '-f', '-'], csr('by-admin')), 'admin creates');
  const byAdmin = JSON.parse((await s.admin(['get', 'csr', 'by-admin', '-o', 'json'])).stdout);
  t.is(byAdmin.spec.username, 'kitfed-admin');
  t.deepEqual(byAdmin.spec.groups, ['system:masters', 'system:authenticated']);
  t.deepEqual(byAdmin.status ?? {}, {});
  const alice = await s.user('alice', '--clusterrole', 'edit');
  ok(
    t,
    await s.admin([
      'create',
      'clusterrole',
      'csr-creator',
      '--verb=create,get',
      '--resource=certificatesigningrequests',
    ]),
    'role',
  );
  ok(
    t,
    await s.admin(['create', 'clusterrolebinding', 'alice-csr', '--clusterrole=csr-creator', '--user=alice']),
    'binding',
  );
  ok(t, await alice(['create', '-f', '-'], csr('by-alice')), 'alice creates');
  const byAlice = JSON.parse((await s.admin(['get', 'csr', 'by-alice', '-o', 'json'])).stdout);
  t.is(byAlice.spec.username, 'alice');
  t.false((byAlice.spec.groups as string[]).includes('system:masters'));
  t.regex(
    (await s.admin(['get', 'csr', 'by-alice'])).stdout,
    /by-alice\s+\S+\s+kubernetes\.io\/kube-apiserver-client\s+alice\s+<none>\s+Pending/,
  );
});
