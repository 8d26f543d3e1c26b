/**
 * The console server on its own, against a real federation API server (TLS, bearer tokens,
 * SQLite): its HTTP answers, the stream protocol, sign-in in a browser, a phone-sized screen,
 * the keyboard, and the page catching up by itself after the console server restarts.
 */
import test, { type ExecutionContext } from 'ava';
import https from 'node:https';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFederationApiServer } from '../../services/apiserver/run.js';
import {
  federationAccess,
  startConsoleServer,
  type ConsoleServer,
  type StreamMessage,
} from '../../services/console/index.js';
import { KubeClient } from '../../services/core/kube-client.js';
import YAML from 'yaml';
import type { KubeObject } from '../../services/core/kube.js';
import { CRONTAB_CRD, crontab } from '../helpers/crd.js';
import { eventually } from '../helpers/eventually.js';
import { openBrowser } from './browser.js';
import { streamMessages } from './stream.js';

interface Fixture {
  console: ConsoleServer;
  token: string;
  client: KubeClient;
  access: ReturnType<typeof federationAccess>;
}

const CRD_NAME = 'crontabs.stable.example.com';

async function fixture(t: ExecutionContext): Promise<Fixture> {
  const dir = await mkdtemp(join(tmpdir(), 'kitfed-console-srv-'));
  const fed = await startFederationApiServer({ listen: '127.0.0.1:0', dataDir: dir });
  const access = federationAccess({ text: fed.kubeconfig });
  const client = await KubeClient.fromKubeconfig({ text: fed.kubeconfig }, 'federation');
  const console = await startConsoleServer({ port: 0, federation: access, lingerMs: 200 });
  t.teardown(async () => {
    await console.close();
    client.close();
    await fed.server.close();
    await rm(dir, { recursive: true, force: true });
  });
  return { console, token: access.token!, client, access };
}

async function cluster(client: KubeClient, name: string, region: string): Promise<void> {
  const c = await client.create({
    apiVersion: 'federation.kitfed.io/v1beta1',
    kind: 'Cluster',
    metadata: { name },
    spec: { serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: 'https://10.0.0.1' }] },
  });
  const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  await client.update(
    {
      ...c,
      status: {
        region,
        zones: [`${region}-a`],
        conditions: [
          { type: 'Ready', status: 'True', reason: 'ClusterReady', lastProbeTime: now, lastTransitionTime: now },
          { type: 'Offline', status: 'False', reason: 'ClusterReachable', lastProbeTime: now, lastTransitionTime: now },
        ],
      },
    },
    { subresource: 'status' },
  );
}

/** Reads the stream until `until` holds for the messages so far; `during` runs once Secrets are live. */
async function readStream(
  url: string,
  token: string,
  until: (msgs: StreamMessage[]) => boolean,
  during?: () => Promise<void>,
): Promise<StreamMessage[]> {
  const ctrl = new AbortController();
  const res = await fetch(`${url}api/stream`, { headers: { Authorization: `Bearer ${token}` }, signal: ctrl.signal });
  if (!res.ok || !res.body) throw new Error(`stream: HTTP ${res.status}`);
  const msgs: StreamMessage[] = [];
  let started = false;
  const deadline = setTimeout(() => ctrl.abort(), 90_000);
  try {
    for await (const m of streamMessages(res.body)) {
      msgs.push(m);
      if (!started && during && msgs.some((m) => m.type === 'reset' && m.resource === 'v1/secrets')) {
        started = true;
        void during();
      }
      if (until(msgs)) break;
    }
  } finally {
    clearTimeout(deadline);
    ctrl.abort();
  }
  return msgs;
}

test(
  'the console server: Status errors for a missing or wrong token, unknown paths and writes; ' +
    'static files with CSP, ETag and gzip',
  async (t) => {
    const f = await fixture(t);
    const url = f.console.url;
    const none = await fetch(`${url}api/stream`);
    t.is(none.status, 401);
    t.like(await none.json(), { kind: 'Status', code: 401, reason: 'Unauthorized' });
    const wrong = await fetch(`${url}api/session`, { headers: { Authorization: 'Bearer not-a-token' } });
    t.is(wrong.status, 401);
    const body = (await wrong.json()) as { message: string };
    t.false(body.message.includes('not-a-token'), 'the token is never echoed');
    const session = await fetch(`${url}api/session`, { headers: { Authorization: `Bearer ${f.token}` } });
    t.is(session.status, 200);
    t.truthy(((await session.json()) as { user: string }).user);
    t.is((await fetch(`${url}api/nope`)).status, 404);
    t.is((await fetch(`${url}nope.js`)).status, 404);
    t.is((await fetch(`${url}api/stream`, { method: 'POST' })).status, 405);
    t.like(await (await fetch(`${url}api/info`)).json(), { product: 'kitfed', webhooks: false, sandbox: false });

    const index = await fetch(url);
    t.is(index.status, 200);
    t.regex(index.headers.get('content-security-policy') ?? '', /default-src 'none'; script-src 'self'/);
    t.regex(await index.text(), /<script type="module" src="app.js">/);
    const js = await fetch(`${url}app.js`, { headers: { 'Accept-Encoding': 'gzip' } });
    t.is(js.headers.get('content-type'), 'text/javascript; charset=utf-8');
    t.true((await js.text()).length > 1000, 'fetch decodes the gzip body');
    const etag = js.headers.get('etag');
    t.truthy(etag);
    t.is((await fetch(`${url}app.js`, { headers: { 'If-None-Match': etag! } })).status, 304);
  },
);

test(
  'the stream: hello, the current state of every kind, then changes in batches; Secret data never ' +
    'leaves the server; federation-only objects are not shown',
  async (t) => {
    const f = await fixture(t);
    await cluster(f.client, 'east', 'us-east1');
    await f.client.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop' } });
    const msgs = await readStream(
      f.console.url,
      f.token,
      (m) =>
        m.some(
          (x) =>
            x.type === 'changes' &&
            x.changes.some((c) => c.object.kind === 'Secret' && c.object.metadata.name === 'db'),
        ),
      async () => {
        await f.client.create({
          apiVersion: 'v1',
          kind: 'Secret',
          metadata: { name: 'db', namespace: 'shop' },
          data: { password: Buffer.from('hunter2').toString('base64') },
        });
      },
    );
    const hello = msgs[0];
    t.is(hello?.type, 'hello');
    const resources = hello?.type === 'hello' ? hello.resources : [];
    t.truthy(resources.find((r) => r.role === 'clusters' && r.kind === 'Cluster'));
    t.truthy(resources.find((r) => r.key === 'apps/v1/deployments'));
    const clusters = msgs.find((m) => m.type === 'reset' && m.resource === 'federation.kitfed.io/v1beta1/clusters');
    t.deepEqual(clusters?.type === 'reset' ? clusters.items.map((c) => c.metadata.name) : [], ['east']);
    const text = JSON.stringify(msgs);
    t.false(text.includes(Buffer.from('hunter2').toString('base64')), 'no Secret data');
    t.false(text.includes('managedFields'));
    const secrets = msgs.find((m) => m.type === 'reset' && m.resource === 'v1/secrets');
    t.deepEqual(secrets?.type === 'reset' ? secrets.items : undefined, [], 'nothing of kitfed-system or kube-system');
  },
);

test('the stream shows custom resources: a CRD Established in the federation adds its kind, its deletion removes it', async (t) => {
  const f = await fixture(t);
  await f.client.create(YAML.parse(CRONTAB_CRD) as KubeObject);
  await eventually(async () => {
    const crd = await f.client.get('apiextensions.k8s.io/v1', 'CustomResourceDefinition', undefined, CRD_NAME);
    const conditions = (crd.status as { conditions?: Array<{ type: string; status: string }> }).conditions ?? [];
    if (!conditions.some((c) => c.type === 'Established' && c.status === 'True')) throw new Error('not Established');
  }, 10_000);
  await f.client.create({
    ...(YAML.parse(crontab('nightly')) as KubeObject),
    metadata: { name: 'nightly', namespace: 'default' },
  });

  const ctrl = new AbortController();
  const deadline = setTimeout(() => ctrl.abort(), 60_000);
  t.teardown(() => {
    clearTimeout(deadline);
    ctrl.abort();
  });
  const res = await fetch(`${f.console.url}api/stream`, {
    headers: { Authorization: `Bearer ${f.token}` },
    signal: ctrl.signal,
  });
  const key = 'stable.example.com/v1/crontabs';
  let shown = false;
  let deleted = false;
  let removed = false;
  for await (const m of streamMessages(res.body!)) {
    if (!shown && m.type === 'reset' && m.resource === key) {
      t.deepEqual(
        m.items.map((o) => o.metadata.name),
        ['nightly'],
      );
      shown = true;
    }
    if (
      !shown &&
      m.type === 'changes' &&
      m.changes.some((c) => c.resource === key && c.object.metadata.name === 'nightly')
    )
      shown = true;
    if (m.type === 'hello' && shown && deleted && !m.resources.some((r) => r.key === key)) {
      removed = true;
      break;
    }
    if (m.type === 'hello' && !deleted) {
      const r = m.resources.find((x) => x.key === key);
      if (r) t.like(r, { apiVersion: 'stable.example.com/v1', kind: 'CronTab', namespaced: true, role: 'federated' });
    }
    if (shown && !deleted) {
      deleted = true;
      await f.client.delete('apiextensions.k8s.io/v1', 'CustomResourceDefinition', undefined, CRD_NAME);
    }
  }
  t.true(shown, 'the custom resource reached the stream');
  t.true(removed, 'a hello without the kind once its CRD is gone');
});

test(
  'in a browser: a wrong token is refused with the reason, the right one signs in, sign-out ' +
    'returns to the form; the keyboard reaches every view; a phone screen needs no sideways ' +
    'scrolling',
  async (t) => {
    const f = await fixture(t);
    for (const [n, region] of [
      ['us-east', 'us-east1'],
      ['eu-west', 'europe-west1'],
    ] as const)
      await cluster(f.client, n, region);
    const browser = await openBrowser();
    t.teardown(() => browser.close());
    const { page } = browser;
    await page.goto(f.console.url);
    await page.getByLabel('Bearer token').fill('wrong-token');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForSelector('[role="alert"]:has-text("Your token was not accepted")');
    await page.getByLabel('Bearer token').fill(f.token);
    await page.keyboard.press('Enter');
    await page.waitForSelector('table.fleet tr[data-cluster="eu-west"][data-health="Ready"]');

    // Keyboard only: the skip link first, then every view, then sign-out; Enter follows a link.
    const order: string[] = [];
    for (let i = 0; i < 7; i++) {
      await page.keyboard.press('Tab');
      order.push(await page.evaluate<string>("document.activeElement?.textContent ?? ''"));
    }
    t.deepEqual(order, ['Skip to content', 'Fleet', 'Objects', 'Runs', 'Rollouts', 'Events', 'Sign out']);
    await page.keyboard.press('Shift+Tab');
    await page.keyboard.press('Enter');
    await page.waitForSelector('h1:has-text("Events")');
    t.is(await page.evaluate<string>('location.hash'), '#/events');
    t.is(await page.getAttribute('nav a:has-text("Events")', 'aria-current'), 'page');
    // Focus moves once the view has rendered (after its heading appears): wait for it, bounded.
    // (Polled with evaluate: waitForFunction evaluates a string, which the page's CSP refuses.)
    await eventually(
      async () => (await page.evaluate<string>('document.activeElement?.id')) === 'main',
      10_000,
      100,
    ).catch(() => undefined);
    t.is(await page.evaluate<string>('document.activeElement?.id'), 'main', 'focus moves to the new view');

    // A phone: the page itself never scrolls sideways (wide tables scroll inside their own box).
    await page.setViewportSize({ width: 375, height: 740 });
    for (const hash of ['#/', '#/objects', '#/runs', '#/events']) {
      await page.evaluate<string>(`location.hash = ${JSON.stringify(hash)}`);
      await page.waitForSelector('main h1');
      const overflow = await page.evaluate<number>('document.documentElement.scrollWidth - window.innerWidth');
      t.true(overflow <= 0, `${hash} overflows by ${overflow}px`);
    }

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForSelector('label:has-text("Bearer token")');
    t.is(await page.evaluate<number>('sessionStorage.length'), 0);
    t.deepEqual(browser.errors, []);
  },
);

test(
  'in a browser: the page reconnects by itself after the console server restarts and shows what ' + 'changed meanwhile',
  async (t) => {
    const f = await fixture(t);
    await cluster(f.client, 'us-east', 'us-east1');
    const browser = await openBrowser();
    t.teardown(() => browser.close());
    const { page } = browser;
    await page.goto(`${f.console.url}#token=${encodeURIComponent(f.token)}`);
    await page.waitForSelector('table.fleet tr[data-cluster="us-east"]');
    const port = Number(new URL(f.console.url).port);

    await f.console.close();
    await page.waitForSelector('[data-connection="reconnecting"]');
    await cluster(f.client, 'eu-west', 'europe-west1');
    // Same port, so the page keeps its URL. An outbound connection may hold the freed port for a
    // moment (it came from the ephemeral range): retry until it is free again.
    const again = await eventually(
      () => startConsoleServer({ port, federation: f.access, lingerMs: 200 }),
      20_000,
      200,
    );
    t.teardown(() => again.close());
    await page.waitForSelector('[data-connection="live"]', { timeout: 30_000 });
    await page.waitForSelector('table.fleet tr[data-cluster="eu-west"]');
    await eventually(async () => (await page.locator('table.fleet tbody tr').count()) === 2);
    t.deepEqual(browser.errors, []);
  },
);

test('kitfed apiserver --console: the console under /console/ of the federation API server, reading it with the caller’s token', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'kitfed-console-mount-'));
  const fed = await startFederationApiServer({ listen: '127.0.0.1:0', dataDir: dir, console: true });
  t.teardown(async () => {
    await fed.server.close();
    await rm(dir, { recursive: true, force: true });
  });
  const access = federationAccess({ text: fed.kubeconfig });
  const get = (path: string, token?: string) =>
    new Promise<{ status: number; body: string; location?: string }>((resolve, reject) => {
      const req = https.get(
        `${fed.server.url}${path}`,
        { ca: access.caCert, headers: token ? { Authorization: `Bearer ${token}` } : {} },
        (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => {
            body += c;
            // The stream never ends: its first state is enough.
            if (path.endsWith('api/stream') && body.includes('"type":"reset"')) res.destroy();
          });
          res.on('close', () =>
            resolve({
              status: res.statusCode ?? 0,
              body,
              ...(res.headers.location ? { location: res.headers.location } : {}),
            }),
          );
        },
      );
      req.on('error', reject);
    });
  t.like(await get('/console'), { status: 308, location: '/console/' });
  const page = await get('/console/');
  t.is(page.status, 200);
  t.regex(page.body, /src="app.js"/);
  t.is((await get('/console/app.js')).status, 200);
  t.is((await get('/console/api/session')).status, 401);
  t.is((await get('/console/api/session', access.token)).status, 200);
  const stream = await get('/console/api/stream', access.token);
  t.regex(stream.body, /"type":"hello"/);
  t.is((await get('/api/v1/namespaces')).status, 401, 'the API itself still needs a token');
});
