/**
 * The console as a view-only user sees it: RBAC on the federation API decides, since the console
 * reads with the token of whoever signed in. A ServiceAccount bound to `view` across the
 * federation sees the fleet in a real browser; what `view` does not grant (Secrets) is shown as
 * denied; its writes with the same token are refused with kube's 403, and the console itself
 * takes no writes.
 */
import test from 'ava';
import { mkdtemp, rm } from 'node:fs/promises';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFederationApiServer } from '../../services/apiserver/run.js';
import {
  federationAccess,
  startConsoleServer,
  type MemberPods,
  type StreamMessage,
} from '../../services/console/index.js';
import { KubeClient } from '../../services/core/kube-client.js';
import { openBrowser } from './browser.js';
import { streamMessages } from './stream.js';

const VIEWER = 'system:serviceaccount:default:viewer';

test('a view-only user sees the fleet in the console; its writes are refused with 403', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'kitfed-console-rbac-'));
  const fed = await startFederationApiServer({ listen: '127.0.0.1:0', dataDir: dir });
  const admin = await KubeClient.fromKubeconfig({ text: fed.kubeconfig }, 'federation');
  const access = federationAccess({ text: fed.kubeconfig });
  const console = await startConsoleServer({ port: 0, federation: access, lingerMs: 200 });
  t.teardown(async () => {
    await console.close();
    admin.close();
    await fed.server.close();
    await rm(dir, { recursive: true, force: true });
  });

  // The fleet: one Ready cluster, made by the admin.
  const created = await admin.create({
    apiVersion: 'federation.kitfed.io/v1beta1',
    kind: 'Cluster',
    metadata: { name: 'east' },
    spec: { serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: 'https://10.0.0.1' }] },
  });
  const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  await admin.update(
    {
      ...created,
      status: {
        region: 'us-east1',
        zones: ['us-east1-a'],
        conditions: [
          { type: 'Ready', status: 'True', reason: 'ClusterReady', lastProbeTime: now, lastTransitionTime: now },
        ],
      },
    },
    { subresource: 'status' },
  );

  // A view-only identity with a bearer token: a ServiceAccount bound to `view` cluster-wide.
  await admin.create({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'viewer', namespace: 'default' } });
  await admin.create({
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRoleBinding',
    metadata: { name: 'viewer-view' },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'view' },
    subjects: [{ kind: 'ServiceAccount', name: 'viewer', namespace: 'default' }],
  });
  const api = (path: string, init: { method?: string; body?: unknown; token: string; contentType?: string }) =>
    new Promise<{ status: number; body: Record<string, unknown> }>((resolve, reject) => {
      const req = https.request(
        `${fed.server.url}${path}`,
        {
          method: init.method ?? 'GET',
          ca: access.caCert,
          headers: {
            Authorization: `Bearer ${init.token}`,
            'content-type': init.contentType ?? 'application/json',
          },
        },
        (res) => {
          let text = '';
          res.on('data', (c: Buffer) => (text += c.toString()));
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as Record<string, unknown> }),
          );
        },
      );
      req.on('error', reject);
      req.end(init.body === undefined ? undefined : JSON.stringify(init.body));
    });
  const minted = await api('/api/v1/namespaces/default/serviceaccounts/viewer/token', {
    method: 'POST',
    token: access.token!,
    body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: 3600 } },
  });
  t.is(minted.status, 201, JSON.stringify(minted.body));
  const token = (minted.body.status as { token: string }).token;

  // The members' pods go through the federation's clusters/proxy, which `view` does not grant:
  // each member says so, by the federation's own 403.
  const pods = await fetch(`${console.url}api/pods?namespace=default&selector=app%3Dweb`, {
    headers: { Authorization: `Bearer ${token}` },
  });
  t.is(pods.status, 200);
  const answer = (await pods.json()) as MemberPods;
  t.deepEqual(
    answer.clusters.map((c) => c.cluster),
    ['east'],
  );
  t.regex(answer.clusters[0]?.error ?? '', /cannot get resource "clusters\/proxy" in API group "federation.kitfed.io"/);
  const noSelector = await fetch(`${console.url}api/pods?namespace=default`, {
    headers: { Authorization: `Bearer ${token}` },
  });
  t.is(noSelector.status, 400);

  // The console's session and stream, with the viewer's token: the fleet is there, Secrets are denied.
  const session = await fetch(`${console.url}api/session`, { headers: { Authorization: `Bearer ${token}` } });
  t.is(session.status, 200);
  t.is(((await session.json()) as { user: string }).user, VIEWER);
  const msgs: StreamMessage[] = [];
  const ctrl = new AbortController();
  const deadline = setTimeout(() => ctrl.abort(), 90_000);
  try {
    const res = await fetch(`${console.url}api/stream`, {
      headers: { Authorization: `Bearer ${token}` },
      signal: ctrl.signal,
    });
    t.is(res.status, 200);
    const has = (resource: string) =>
      msgs.some((m) => (m.type === 'reset' || m.type === 'denied') && m.resource === resource);
    for await (const m of streamMessages(res.body!)) {
      msgs.push(m);
      if (has('federation.kitfed.io/v1beta1/clusters') && has('v1/secrets')) break;
    }
  } finally {
    clearTimeout(deadline);
    ctrl.abort();
  }
  const clusters = msgs.find((m) => m.type === 'reset' && m.resource === 'federation.kitfed.io/v1beta1/clusters');
  t.deepEqual(clusters?.type === 'reset' ? clusters.items.map((c) => c.metadata.name) : undefined, ['east']);
  const secrets = msgs.find((m) => (m.type === 'reset' || m.type === 'denied') && m.resource === 'v1/secrets');
  t.like(secrets, { type: 'denied', code: 403 });

  // In a browser, signed in with that token: the fleet shows the cluster, Ready.
  const browser = await openBrowser();
  t.teardown(() => browser.close());
  await browser.page.goto(`${console.url}#token=${encodeURIComponent(token)}`);
  await browser.page.waitForSelector('table.fleet tr[data-cluster="east"][data-health="Ready"]', { timeout: 60_000 });

  // Writes with the same token: kube's 403 texts, and nothing changed.
  const cm = await api('/api/v1/namespaces/default/configmaps', {
    method: 'POST',
    token,
    body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'nope' } },
  });
  t.is(cm.status, 403);
  t.is(
    cm.body.message,
    `configmaps is forbidden: User "${VIEWER}" cannot create resource "configmaps" in API group "" in the namespace "default"`,
  );
  const del = await api('/apis/federation.kitfed.io/v1beta1/clusters/east', { method: 'DELETE', token });
  t.is(del.status, 403);
  t.is(
    del.body.message,
    `clusters.federation.kitfed.io "east" is forbidden: User "${VIEWER}" cannot delete resource "clusters" ` +
      'in API group "federation.kitfed.io" at the cluster scope',
  );
  const patch = await api('/apis/federation.kitfed.io/v1beta1/clusters/east', {
    method: 'PATCH',
    token,
    contentType: 'application/merge-patch+json',
    body: { metadata: { labels: { hacked: 'yes' } } },
  });
  t.is(patch.status, 403);
  const east = await admin.get('federation.kitfed.io/v1beta1', 'Cluster', undefined, 'east');
  t.is(east.metadata.labels?.hacked, undefined);
  t.is(await admin.tryGet('v1', 'ConfigMap', 'default', 'nope'), undefined);
  // The console server has no write path at all.
  const post = await fetch(`${console.url}api/stream`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${token}` },
  });
  t.is(post.status, 405);
  t.deepEqual(browser.errors, []);
});
