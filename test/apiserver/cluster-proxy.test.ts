/**
 * `clusters/NAME/proxy/…`: a member cluster's API through the federation. Both ends are real API
 * servers as users run them (HTTPS, tokens, RBAC). The federation's RBAC on `clusters/proxy`
 * decides who may go through; the member sees the caller (impersonated with the Cluster's own
 * credential), so the member's RBAC decides what the caller may do there; bodies stream (a watch).
 */
import test, { type ExecutionContext } from 'ava';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startFederationApiServer, type RunningFederationApiServer } from '../../services/apiserver/run.js';
import { KubeClient } from '../../services/core/kube-client.js';
import type { KubeObject } from '../../services/core/kube.js';
import { kitfed } from '../helpers/kitfed.js';

const run = promisify(execFile);
const PROXY = '/apis/federation.kitfed.io/v1beta1/clusters';
const VIEWER = 'system:serviceaccount:default:viewer';

async function server(
  t: ExecutionContext,
  name: string,
): Promise<{ api: RunningFederationApiServer; admin: KubeClient }> {
  const dir = await mkdtemp(join(tmpdir(), `kitfed-proxy-${name}-`));
  const api = await startFederationApiServer({ listen: '127.0.0.1:0', dataDir: dir });
  const admin = await KubeClient.fromKubeconfig({ text: api.kubeconfig }, 'federation');
  t.teardown(async () => {
    admin.close();
    await api.server.close().catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  });
  return { api, admin };
}

/** A Cluster whose credential is `kubeconfig`, marked Ready as the cluster controller would. */
async function join_(admin: KubeClient, name: string, kubeconfig: string, ready = true): Promise<void> {
  await admin
    .create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'kitfed-system' } })
    .catch(() => undefined);
  await admin.create({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: `cluster-${name}`, namespace: 'kitfed-system' },
    data: { kubeconfig: Buffer.from(kubeconfig).toString('base64') },
  });
  const created = await admin.create({
    apiVersion: 'federation.kitfed.io/v1beta1',
    kind: 'Cluster',
    metadata: { name },
    spec: { secretRef: { name: `cluster-${name}` } },
  });
  const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  await admin.update(
    {
      ...created,
      status: {
        conditions: [
          ready
            ? { type: 'Ready', status: 'True', reason: 'ClusterReady', lastProbeTime: now, lastTransitionTime: now }
            : {
                type: 'Ready',
                status: 'False',
                reason: 'ClusterNotReachable',
                message: '/readyz: connection refused',
                lastProbeTime: now,
                lastTransitionTime: now,
              },
        ],
      },
    },
    { subresource: 'status' },
  );
}

const binding = (name: string, role: string, kind = 'ClusterRole'): KubeObject => ({
  apiVersion: 'rbac.authorization.k8s.io/v1',
  kind: 'ClusterRoleBinding',
  metadata: { name },
  roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind, name: role },
  subjects: [{ kind: 'ServiceAccount', name: 'viewer', namespace: 'default' }],
});

/** A request's status code, body, and the message of a Status body. */
async function status(
  client: KubeClient,
  method: string,
  path: string,
): Promise<{ code: number; body: string; message: string }> {
  const res = await client.stream(method, path, { headers: { Accept: 'application/json' } });
  const chunks: Buffer[] = [];
  for await (const c of res) chunks.push(c as Buffer);
  const body = Buffer.concat(chunks).toString('utf8');
  let message = '';
  try {
    message = String((JSON.parse(body) as { message?: unknown }).message ?? '');
  } catch {
    message = body;
  }
  return { code: res.statusCode ?? 0, body, message };
}

test('the federation proxies to a member as the caller: its RBAC on clusters/proxy, then the member RBAC', async (t) => {
  const fed = await server(t, 'fed');
  const member = await server(t, 'member');
  await member.admin.create({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'only-in-member', namespace: 'default' },
    data: { where: 'member' },
  });
  await join_(fed.admin, 'east', member.api.kubeconfig);
  await join_(fed.admin, 'down', member.api.kubeconfig, false);

  // The federation's admin, through the proxy, with the real kubectl pointed at the proxy URL.
  const dir = await mkdtemp(join(tmpdir(), 'kitfed-proxy-kubectl-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const kubeconfig = join(dir, 'kubeconfig');
  await writeFile(kubeconfig, fed.api.kubeconfig);
  const kubectl = (args: string[]) =>
    run('kubectl', ['--kubeconfig', kubeconfig, '--cache-dir', join(dir, 'cache'), ...args], { timeout: 30_000 });
  const proxyUrl = `${fed.api.server.url}${PROXY}/east/proxy`;
  const listed = await kubectl(['--server', proxyUrl, 'get', 'configmaps', '-n', 'default', '-o', 'name']);
  t.true(listed.stdout.split('\n').includes('configmap/only-in-member'), listed.stdout);
  const created = await kubectl(['--server', proxyUrl, 'create', 'configmap', 'via-proxy', '-n', 'default']);
  t.regex(created.stdout, /configmap\/via-proxy created/);
  t.truthy(await member.admin.tryGet('v1', 'ConfigMap', 'default', 'via-proxy'));
  t.is(await fed.admin.tryGet('v1', 'ConfigMap', 'default', 'via-proxy'), undefined);

  // A watch streams through: an event the member emits after the watch started arrives.
  const east = fed.admin.at(`${PROXY}/east/proxy`);
  t.teardown(() => east.close());
  const seen: string[] = [];
  const watch = await east.watch('v1', 'ConfigMap', 'default', { resourceVersion: '0' }, (type, o) =>
    seen.push(`${type} ${o.metadata.name ?? ''}`),
  );
  await member.admin.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'later', namespace: 'default' } });
  for (let i = 0; i < 100 && !seen.includes('ADDED later'); i++) await new Promise((r) => setTimeout(r, 50));
  watch.stop();
  t.true(seen.includes('ADDED later'), seen.join(', '));

  // A ServiceAccount of the federation, with a token.
  await fed.admin.create({
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: { name: 'viewer', namespace: 'default' },
  });
  const minted = await fed.admin.request<{ status: { token: string } }>(
    'POST',
    '/api/v1/namespaces/default/serviceaccounts/viewer/token',
    { body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: 3600 } } },
  );
  const token = minted.status.token;
  const viewerConfig = join(dir, 'viewer');
  await writeFile(viewerConfig, fed.api.kubeconfig.replace(/token: .*/, `token: ${token}`));
  const viewer = await KubeClient.fromKubeconfig({ file: viewerConfig }, 'federation');
  t.teardown(() => viewer.close());

  // 1. No RBAC on clusters/proxy in the federation: the federation refuses, the member is not asked.
  const denied = await status(viewer, 'GET', `${PROXY}/east/proxy/api/v1/namespaces/default/configmaps`);
  t.is(denied.code, 403);
  t.regex(denied.message, /cannot get resource "clusters\/proxy" in API group "federation.kitfed.io"/);

  // 2. Allowed to proxy (get only), but nothing granted in the member: the member refuses the
  // caller by name, so it was asked as the viewer, not with the Cluster's admin credential.
  await fed.admin.create({
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRole',
    metadata: { name: 'proxy-reader' },
    rules: [{ apiGroups: ['federation.kitfed.io'], resources: ['clusters/proxy'], verbs: ['get'] }],
  });
  await fed.admin.create(binding('viewer-proxy', 'proxy-reader'));
  const memberDenied = await status(viewer, 'GET', `${PROXY}/east/proxy/api/v1/namespaces/default/configmaps`);
  t.is(memberDenied.code, 403);
  t.true(memberDenied.message.includes(`User "${VIEWER}" cannot list resource "configmaps"`), memberDenied.message);

  // 3. The member grants `view`: the viewer reads the member's ConfigMaps through the federation.
  await member.admin.create(binding('viewer-view', 'view'));
  const read = await status(viewer, 'GET', `${PROXY}/east/proxy/api/v1/namespaces/default/configmaps`);
  t.is(read.code, 200, read.body);
  t.true((JSON.parse(read.body) as { items: KubeObject[] }).items.some((c) => c.metadata.name === 'only-in-member'));
  // A write needs `create` on clusters/proxy in the federation, which the viewer lacks.
  const write = await status(viewer, 'POST', `${PROXY}/east/proxy/api/v1/namespaces/default/configmaps`);
  t.is(write.code, 403);
  t.regex(write.message, /cannot create resource "clusters\/proxy"/);

  // Given `create` on clusters/proxy too, kubectl auth whoami (a POST) through the proxy names the viewer.
  await fed.admin.patch('rbac.authorization.k8s.io/v1', 'ClusterRole', undefined, 'proxy-reader', {
    rules: [{ apiGroups: ['federation.kitfed.io'], resources: ['clusters/proxy'], verbs: ['get', 'create'] }],
  });
  const whoami = await run(
    'kubectl',
    [
      '--kubeconfig',
      viewerConfig,
      '--cache-dir',
      join(dir, 'cache2'),
      '--server',
      proxyUrl,
      'auth',
      'whoami',
      '-o',
      'json',
    ],
    { timeout: 30_000 },
  );
  t.is((JSON.parse(whoami.stdout) as { status: { userInfo: { username: string } } }).status.userInfo.username, VIEWER);
  // Errors are Statuses naming the cluster.
  const missing = await status(fed.admin, 'GET', `${PROXY}/nowhere/proxy/api`);
  t.is(missing.code, 404);
  t.regex(missing.message, /clusters.federation.kitfed.io "nowhere" not found/);
  const notReady = await status(fed.admin, 'GET', `${PROXY}/down/proxy/api`);
  t.is(notReady.code, 503);
  t.regex(notReady.message, /cluster "down" is not Ready: \/readyz: connection refused/);
  // The member stops answering while its Cluster still reads Ready.
  await member.api.server.close();
  const gone = await status(fed.admin, 'GET', `${PROXY}/east/proxy/api`);
  t.is(gone.code, 503);
  t.regex(gone.message, /cluster "east" did not answer/);
  t.notRegex(gone.body, /token/i);
});

/** A pod of `app` on `node`, its first container running since `at` (or still waiting). */
async function pod(client: KubeClient, name: string, app: string, node: string, at?: string): Promise<void> {
  const created = await client.create({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default', labels: { app } },
    spec: {
      nodeName: node,
      containers: [
        { name: 'app', image: `${app}:1` },
        { name: 'proxy', image: 'envoy:1' },
      ],
    },
  });
  const state = (n: string, image: string) => ({
    name: n,
    image,
    imageID: '',
    restartCount: 0,
    ready: !!at,
    state: at ? { running: { startedAt: at } } : { waiting: { reason: 'ContainerCreating' } },
  });
  await client.update(
    {
      ...created,
      status: {
        phase: at ? 'Running' : 'Pending',
        containerStatuses: [state('app', `${app}:1`), state('proxy', 'envoy:1')],
      },
    },
    { subresource: 'status' },
  );
}

test("kitfed logs, get --members and describe read every member through the proxy: logs, tables, a workload's pods", async (t) => {
  const fed = await server(t, 'fed');
  const east = await server(t, 'east');
  const west = await server(t, 'west');
  const web: KubeObject = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'default' },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: 'web' } },
      template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'app', image: 'web:1' }] } },
    },
  };
  // The Deployment exists only in the members (as the deployer applies it), not in the federation.
  for (const m of [east, west]) await m.admin.create(web);
  await pod(east.admin, 'web-a', 'web', 'east-1', '2026-12-05T10:00:00Z');
  await pod(east.admin, 'other', 'api', 'east-1', '2026-12-05T10:00:00Z');
  await pod(west.admin, 'web-b', 'web', 'west-1', '2026-12-05T10:01:00Z');
  await join_(fed.admin, 'east', east.api.kubeconfig);
  await join_(fed.admin, 'west', west.api.kubeconfig);
  const dir = await mkdtemp(join(tmpdir(), 'kitfed-logs-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const kubeconfig = join(dir, 'kubeconfig');
  await writeFile(kubeconfig, fed.api.kubeconfig);

  const all = await kitfed(['logs', 'deploy/web', '--kubeconfig', kubeconfig, '--timestamps']);
  t.is(all.code, 0, all.stderr);
  t.deepEqual(all.stdout.trimEnd().split('\n'), [
    '[east/web-a/app] 2026-12-05T10:00:00Z sandbox: started container app (image web:1) on node east-1',
    '[west/web-b/app] 2026-12-05T10:01:00Z sandbox: started container app (image web:1) on node west-1',
  ]);
  const one = await kitfed(['logs', 'web-b', '--kubeconfig', kubeconfig, '--all-containers', '--no-prefix']);
  t.is(one.code, 0, one.stderr);
  t.deepEqual(one.stdout.trimEnd().split('\n'), [
    'sandbox: started container app (image web:1) on node west-1',
    'sandbox: started container proxy (image envoy:1) on node west-1',
  ]);

  // kitfed get --members: each member's own table (kubectl's columns for pods) under CLUSTER.
  const listed = await kitfed([
    'get',
    'pods',
    '-n',
    'default',
    '-l',
    'app=web',
    '--members',
    '--kubeconfig',
    kubeconfig,
  ]);
  t.is(listed.code, 0, listed.stderr);
  const rows = listed.stdout
    .trimEnd()
    .split('\n')
    .map((l) => l.split(/\s+/));
  t.deepEqual(rows[0], ['CLUSTER', 'NAME', 'READY', 'STATUS', 'RESTARTS', 'AGE']);
  t.deepEqual(
    rows.slice(1).map((r) => [r[0], r[1], r[2], r[3]]),
    [
      ['east', 'web-a', '2/2', 'Running'],
      ['west', 'web-b', '2/2', 'Running'],
    ],
  );
  const deployments = await kitfed(['get', 'deploy', '--members', '--clusters', 'west', '--kubeconfig', kubeconfig]);
  t.is(deployments.code, 0, deployments.stderr);
  t.regex(
    deployments.stdout,
    /^CLUSTER\s+NAMESPACE\s+NAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+AGE\nwest\s+default\s+web\s/,
  );

  // kitfed describe of the federated Deployment lists its pods in the members, and says which
  // member it could not read (north is not Ready).
  await fed.admin.create(web);
  await join_(fed.admin, 'north', east.api.kubeconfig, false);
  const described = await kitfed(['describe', 'deploy', 'web', '--kubeconfig', kubeconfig]);
  t.is(described.code, 0, described.stderr);
  const section = described.stdout.slice(described.stdout.indexOf('Pods in the members:'));
  t.regex(section, /CLUSTER\s+POD\s+READY\s+STATUS\s+RESTARTS\s+NODE\s+AGE\n/);
  t.regex(section, /\neast\s+web-a\s+2\/2\s+Running\s+0\s+east-1\s/);
  t.regex(section, /\nwest\s+web-b\s+2\/2\s+Running\s+0\s+west-1\s/);
  t.notRegex(section, /other/);
  t.regex(section, /\n {2}north: not Ready: its pods were not read\n/);
  await fed.admin.delete('federation.kitfed.io/v1beta1', 'Cluster', undefined, 'north');

  // A container still starting: the others print, the failure names cluster/pod/container, exit 1.
  await pod(west.admin, 'web-c', 'web', 'west-1');
  const partly = await kitfed(['logs', 'deploy/web', '--kubeconfig', kubeconfig, '--clusters', 'west']);
  t.is(partly.code, 1);
  t.is(partly.stdout, '[west/web-b/app] sandbox: started container app (image web:1) on node west-1\n');
  t.regex(partly.stderr, /west\/web-c\/app: container "app" in pod "web-c" is waiting to start: ContainerCreating/);

  const unknown = await kitfed(['logs', 'deploy/web', '--kubeconfig', kubeconfig, '--clusters', 'mars']);
  t.is(unknown.code, 2);
  t.regex(unknown.stderr, /no cluster "mars" in the federation \(clusters: east, west\)/);
  const notWorkload = await kitfed(['logs', 'svc/web', '--kubeconfig', kubeconfig]);
  t.is(notWorkload.code, 2);
  t.regex(notWorkload.stderr, /"svc" is not a kind with pods/);
});
