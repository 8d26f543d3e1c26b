/**
 * `npm run screenshots`: regenerates the console screenshots in docs/console/ from a live
 * embedded fleet (the same `kitfed up` as `npm start`, on free ports in a temp dir): a federated
 * Deployment, the seed walkthrough, an image bump's run, a slow member, then every main view
 * in Debian's Chromium, on a laptop screen and one phone screen; last, a `rollout:` plan and a new
 * image committed to the manifests repo, shown baking its canary in the Rollouts view.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { simpleGit } from 'simple-git';
import { startEmbedded } from '../../services/cli/embedded.js';
import { loadConfig } from '../../services/gitops/config.js';
import { simulateImage } from '../../services/gitops/simulate.js';
import { kubectlFor, SEED } from '../helpers/kubectl.js';
import { openBrowser } from './browser.js';

const out = fileURLToPath(new URL('../../docs/console/', import.meta.url));
const say = (m: string) => process.stdout.write(`${m}\n`);

const DEPLOYMENT = `
apiVersion: apps/v1
kind: Deployment
metadata: { name: web, namespace: shop, labels: { app: web, tier: front } }
spec:
  replicas: 7
  selector: { matchLabels: { app: web } }
  template:
    metadata: { labels: { app: web } }
    spec: { containers: [{ name: web, image: "nginx:1.27" }] }
`;

/** The embedded demo has no rollout plan; this one is committed for the Rollouts picture. */
const ROLLOUT = `
rollout:
  rollback: auto
  stages:
    - name: staging
      clusters: { types: [staging] }
    - name: canary
      clusters: { names: [us-east] }
      bake: 10m
    - name: production
      approval: true
`;

const dir = await mkdtemp(join(tmpdir(), 'kitfed-screenshots-'));
say('starting the embedded fleet…');
const fleet = await startEmbedded({ dataDir: join(dir, 'state'), portBase: 0, readyDelayMs: 50 });
const browser = await openBrowser();
try {
  const kubectl = kubectlFor(fleet.kubeconfig, join(dir, 'cache'), 'federation');
  for (const args of [
    ['create', 'namespace', 'shop'],
    ['create', 'namespace', 'walkthrough'],
    ['-n', 'walkthrough', 'create', '-f', SEED],
  ]) {
    const r = await kubectl(args);
    if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')}: ${r.stderr}`);
  }
  const r = await kubectl(['apply', '-f', '-'], DEPLOYMENT);
  if (r.code !== 0) throw new Error(r.stderr);
  const bump = await simulateImage(loadConfig(fleet.webhooksConfig), 'ghcr.io/kitfed-demo/hello:master-9f8e7d6', {
    url: fleet.webhooksUrl,
  });
  const commit = (bump.body as { commit?: string }).commit ?? '';
  await fleet.sandbox.cluster('asia-east').fault('latency', 250);

  const { page } = browser;
  await page.goto(fleet.consoleLoginUrl);
  await page.waitForSelector('table.fleet tr[data-health="Ready"]');
  await page.waitForSelector('tr[data-cluster="asia-east"]:has-text("latency 250 ms")');
  await mkdir(out, { recursive: true });
  const shot = async (name: string) => {
    await page.waitForTimeout(300);
    await page.screenshot({ path: join(out, `${name}.png`), fullPage: true });
    say(`docs/console/${name}.png`);
  };
  await shot('fleet');
  await page.evaluate<string>("location.hash = '#/objects'");
  await page.waitForSelector('table >> text=nginx-us');
  await shot('objects');
  await page.evaluate<string>("location.hash = '#/object/apps%2Fv1%2Fdeployments/shop/web'");
  await page.waitForSelector('[data-testid="replicas"]:has-text("7/7 ready")', { timeout: 60_000 });
  // Its pods in the members, read again now that all seven run.
  await page.click('[data-testid="member-pods"] button:text-is("Refresh")');
  await page.waitForSelector('[data-testid="member-pods"][data-loading="false"] tr[data-pod]:nth-child(7)');
  await shot('workload');
  await page.evaluate<string>("location.hash = '#/runs'");
  await page.waitForSelector(`table.runs tr[data-status="succeeded"]:has(code[title="${commit}"])`, {
    timeout: 120_000,
  });
  await shot('runs');
  await page.click(`table.runs tr:has(code[title="${commit}"]) th a`);
  await page.waitForSelector('h1 [data-status="succeeded"]');
  await shot('run');
  await page.evaluate<string>("location.hash = '#/events'");
  await page.waitForSelector('table.events-table >> text=CreateInCluster');
  await shot('events');
  await page.setViewportSize({ width: 390, height: 844 });
  await page.evaluate<string>("location.hash = '#/'");
  await shot('fleet-phone');

  // One commit to the manifests repo: a rollout plan in its kit.yaml and a new hello image. The
  // webhook service's poll finds it; the run deploys staging, then the canary, which bakes for
  // 10 minutes before production waits for an approval.
  const work = join(dir, 'manifests');
  await simpleGit().clone(fleet.manifestsRepo, work);
  const kit = join(work, 'templates', 'kit.yaml');
  await writeFile(kit, `${await readFile(kit, 'utf8')}${ROLLOUT}`);
  const image = 'templates/images/kitfed-demo/hello/master.yaml';
  await writeFile(join(work, image), 'image: ghcr.io/kitfed-demo/hello:master-0a1b2c3\n');
  await simpleGit(work)
    .addConfig('user.name', 'kitfed screenshots')
    .addConfig('user.email', 'screenshots@kitfed.invalid')
    .add(['templates/kit.yaml', image])
    .commit('Roll hello master-0a1b2c3 out through staging, a canary and production')
    .push('origin', 'main');
  await page.setViewportSize({ width: 1280, height: 800 });
  await page.evaluate<string>("location.hash = '#/rollouts'");
  await page.waitForSelector('section.rollout tr[data-stage="canary"][data-state="Baking"]', { timeout: 180_000 });
  await shot('rollouts');
} finally {
  await browser.close();
  await fleet.stop();
  await rm(dir, { recursive: true, force: true });
}
