/**
 * The console's Rollouts view against real parts: a federation API server (sign-in, who the user
 * is), a webhook service rolling a manifests repo out over sandbox clusters with a kit.yaml
 * `rollout:` plan, the console server between them, and Debian's Chromium clicking the buttons.
 */
import test from 'ava';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFederationApiServer } from '../../services/apiserver/run.js';
import { federationAccess, loginUrl, startConsoleServer } from '../../services/console/index.js';
import { REPO_NAME } from '../gitops/helpers.js';
import { finished, fleet, imageIn, pushImage, rolloutService, runWhen } from '../gitops/rollout-helpers.js';
import { openBrowser } from './browser.js';

const V = (tag: string): string => `registry.example/acme/web:${tag}`;

async function post(url: string, token: string | undefined, body: unknown = {}) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

test('rollouts view: stages and clusters of the current rollout; pause, resume, promote, abort as the signed-in user', async (t) => {
  // Four servers, three clusters, a browser and two deploys: generous on a loaded 2-core machine.
  t.timeout(8 * 60_000);
  const dir = await mkdtemp(join(tmpdir(), 'kitfed-console-rollouts-'));
  const fed = await startFederationApiServer({ listen: '127.0.0.1:0', dataDir: dir });
  t.teardown(async () => {
    await fed.server.close();
    await rm(dir, { recursive: true, force: true });
  });
  const access = federationAccess({ text: fed.kubeconfig });
  const token = access.token!;

  const f = await fleet(
    t,
    {
      stages: [
        { name: 'staging', clusters: { types: ['staging'] } },
        { name: 'production', approval: true, bake: '10m' },
      ],
    },
    { stg: 'staging', p1: 'production', p2: 'production' },
  );
  // As `kitfed up` does: the webhook service also accepts the federation token the console forwards.
  const service = await rolloutService(t, f, {
    api: { token: [{ env: 'T_API' }, { env: 'T_FED' }] },
    env: { T_FED: token },
  });
  const console = await startConsoleServer({
    port: 0,
    federation: access,
    webhooksUrl: service.url,
    lingerMs: 200,
  });
  t.teardown(() => console.close());
  const action = (run: number, name: string): string => `${console.url}api/runs/${run}/rollout/${name}`;
  const user = (
    (await (await fetch(`${console.url}api/session`, { headers: { authorization: `Bearer ${token}` } })).json()) as {
      user: string;
    }
  ).user;

  // The action route's own answers: a token is required, the action must be one of four, POST only.
  const anon = await post(action(1, 'pause'), undefined);
  t.is(anon.status, 401);
  t.like(anon.body, { kind: 'Status', code: 401 });
  t.is((await post(action(1, 'explode'), token)).status, 404);
  t.is((await fetch(action(1, 'pause'), { headers: { authorization: `Bearer ${token}` } })).status, 405);
  const bad = await post(action(1, 'pause'), token, { reason: 7 });
  t.like(bad.body, { code: 400, message: 'reason: must be a string' });

  const v1 = await pushImage(f, service, V('v1'));
  const waiting = await runWhen(
    service.url,
    v1,
    (r) => r.rollout?.stages[1]?.state === 'WaitingForApproval',
    'the production stage to wait for approval',
  );

  const browser = await openBrowser();
  t.teardown(() => browser.close());
  const { page } = browser;
  page.on('dialog', (d) => void d.accept());
  await page.goto(loginUrl(console.url, token));
  await page.waitForSelector('[data-connection="live"]', { timeout: 60_000 });
  await page.click('nav a:has-text("Rollouts")');
  const card = `section.rollout[data-repo="${REPO_NAME}"][data-run="${waiting.id}"]`;
  await page.waitForSelector(`${card}[data-phase="WaitingForApproval"]`, { timeout: 60_000 });
  await page.waitForSelector(`${card} tr[data-stage="staging"][data-state="Succeeded"] li[data-cluster="stg"]`);
  for (const c of ['p1', 'p2'])
    await page.waitForSelector(
      `${card} tr[data-stage="production"][data-state="WaitingForApproval"] li[data-cluster="${c}"]`,
    );
  // Laid out as a table: every column's cells stand under its header (a stylesheet once turned
  // the table into a grid of boxes, which no selector noticed).
  const headers = await page.locator(`${card} table thead th`).all();
  const cells = await page.locator(`${card} tr[data-stage="staging"] > *`).all();
  t.is(cells.length, headers.length);
  for (const [i, header] of headers.entries()) {
    const [h, c] = [await header.boundingBox(), await cells[i]!.boundingBox()];
    t.true(!!h && !!c && Math.abs(h.x - c.x) < 2 && c.y > h.y, `column ${i + 1} is under its header`);
  }
  t.true(await page.isDisabled(`${card} button[data-action="resume"]`), 'nothing to resume');
  t.true(await page.isEnabled(`${card} button[data-action="promote"]`), 'an approval to give');

  // Pause, then resume: the buttons follow the rollout's state.
  await page.click(`${card} button[data-action="pause"]`);
  await page.waitForSelector(`${card} [role="status"]:has-text("Pause: done")`);
  await page.waitForSelector(`${card} button[data-action="resume"]:enabled`);
  t.true((await runWhen(service.url, v1, (r) => r.rollout?.paused === true, 'paused')).rollout!.paused);
  await page.click(`${card} button[data-action="resume"]`);
  await page.waitForSelector(`${card} button[data-action="pause"]:enabled`);

  // Promote approves production: it deploys and bakes (10 minutes), shown with its countdown.
  await page.click(`${card} button[data-action="promote"]`);
  await page.waitForSelector(`${card} tr[data-stage="production"][data-state="Baking"]`, { timeout: 120_000 });
  await page.waitForSelector(`${card} tr[data-stage="production"]:has-text("left of 10 m")`);
  await page.waitForSelector(`${card} tr[data-stage="production"] li[data-cluster="p1"][data-deploy="applied"]`);
  t.is(await imageIn(f, 'p1'), V('v1'));

  // Abort (confirmed in the page's dialog): the rollout stops, the stage under way is Failed, and the
  // page says who aborted it. (Rolling p1/p2 back is the pipeline's part: test/gitops/rollout-control.)
  await page.click(`${card} button[data-action="abort"]`);
  await page.waitForSelector(`${card}[data-phase="Aborted"]`, { timeout: 60_000 });
  await page.waitForSelector(`${card} tr[data-stage="production"][data-state="Failed"]`);
  await page.waitForSelector(`${card}:has-text("aborted by ${user}")`);
  t.is(await page.locator(`${card} button[data-action]`).count(), 0, 'no actions on a finished rollout');
  const done = await runWhen(service.url, v1, finished, 'the aborted run to stop');
  t.is(done.status, 'aborted');

  // Every action is recorded as done by the user the federation API authenticated.
  const history = done.rollout!.history.filter((h) => h.by === user);
  t.deepEqual(
    history.map((h) => h.type),
    ['pause', 'resume', 'approve', 'abort'],
  );
  // A finished rollout takes no action: the webhook service's 409 comes back as a Status.
  const late = await post(action(done.id, 'pause'), token);
  t.like(late.body, { kind: 'Status', code: 409 });
  t.regex(String(late.body.message), /409 .*the run is finished \(aborted\)/);
  t.deepEqual(browser.errors, []);
});
