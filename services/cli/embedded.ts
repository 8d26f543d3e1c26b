import { randomBytes } from 'node:crypto';
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { simpleGit } from 'simple-git';
import YAML from 'yaml';
import { CONTROLLER_MANAGER_USER, loadCredentials, openStore, startFederationApiServer } from '../apiserver/index.js';
import { joinCluster, startControllers, type RunningControllers } from '../controllers/index.js';
import { KubeClient } from '../core/kube-client.js';
import { mergeKubeconfigs } from '../core/kubeconfig.js';
import { createLogger } from '../core/log.js';
import { loadConfig, loadDeployStep, simulatePush, startWebhookService, type WebhookService } from '../gitops/index.js';
import { startSandbox, type Sandbox, type SandboxClusterSpec } from '../sandbox/index.js';
import { federationAccess, loadConsoleAssets, loginUrl, startConsoleServer } from '../console/index.js';

const log = createLogger('up');

/** The three example clusters of the top-level manifests repo (`clusters/`), in three regions. */
const DEFAULT_CLUSTERS: Array<{ name: string; region: string }> = [
  { name: 'us-east', region: 'us-east1' },
  { name: 'eu-west', region: 'europe-west1' },
  { name: 'asia-east', region: 'asia-east1' },
];

export interface EmbeddedOptions {
  /** @default .kitfed */
  dataDir?: string;
  /** @default 3 */
  clusters?: number;
  /**
   * Federation API on portBase, members on portBase+1…, webhooks on portBase+90, sandbox admin on +91,
   * console on +92. 0: free ports. @default 6443
   */
  portBase?: number;
  /** Pod readiness delay in the sandbox members. @default 500 */
  readyDelayMs?: number;
  /** Cluster health probe period. @default 2000 */
  clusterMonitorPeriodMs?: number;
  /** Skip the initial render + deploy. */
  skipInitialDeploy?: boolean;
}

export interface Embedded {
  readonly dataDir: string;
  readonly kubeconfig: string;
  readonly federationUrl: string;
  readonly webhooksUrl: string;
  readonly webhooksConfig: string;
  /** The webhook service's API token (`kitfed runs|rollout|rollback` read it from here or via the config). */
  readonly webhooksToken: string;
  readonly sandbox: Sandbox;
  readonly controllers: RunningControllers;
  readonly webhooks: WebhookService;
  readonly manifestsRepo: string;
  /** The web console (loopback). */
  readonly consoleUrl: string;
  /** The console URL that signs in with the kubeconfig's federation token (in the fragment). */
  readonly consoleLoginUrl: string;
  stop(): Promise<void>;
}

/** The repository root (templates/ and clusters/ of the example manifests repo), from source or from dist/. */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!(existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'templates')))) {
    const parent = dirname(dir);
    if (parent === dir)
      throw new Error('cannot find the kitfed repository root (package.json and templates/) above the CLI');
    dir = parent;
  }
  return dir;
}

function clusterSpecs(n: number, portBase: number): SandboxClusterSpec[] {
  return Array.from({ length: n }, (_, i) => {
    const base = DEFAULT_CLUSTERS[i] ?? { name: `cluster-${i + 1}`, region: `region-${i + 1}` };
    return {
      name: base.name,
      region: base.region,
      zones: [`${base.region}-a`, `${base.region}-b`],
      ...(portBase ? { port: portBase + 1 + i } : {}),
    };
  });
}

async function secretFile(path: string): Promise<string> {
  if (!existsSync(path)) await writeFile(path, randomBytes(24).toString('hex'), { mode: 0o600 });
  return path;
}

/** A local bare repository seeded once from the example `templates/` and `clusters/`. */
async function ensureManifestsRepo(dataDir: string): Promise<string> {
  const bare = join(dataDir, 'manifests.git');
  if (existsSync(join(bare, 'HEAD'))) return bare;
  await simpleGit().raw(['init', '--bare', '--initial-branch=main', bare]);
  const work = await mkdtemp(join(tmpdir(), 'kitfed-seed-'));
  try {
    const root = repoRoot();
    await cp(join(root, 'templates'), join(work, 'templates'), { recursive: true });
    await cp(join(root, 'clusters'), join(work, 'clusters'), { recursive: true });
    const git = simpleGit(work);
    await git.init(['--initial-branch=main']);
    await git.addConfig('user.name', 'kitfed').addConfig('user.email', 'kitfed@localhost');
    await git.add('.').commit("Seed the manifests repo from kitfed's example templates/ and clusters/");
    await git.push(bare, 'main');
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  log.info({ repo: bare }, 'manifests repo seeded');
  return bare;
}

/** Brings up the whole product on this machine: see `kitfed up --help`. */
export async function startEmbedded(options: EmbeddedOptions = {}): Promise<Embedded> {
  const dataDir = resolve(options.dataDir ?? '.kitfed');
  const portBase = options.portBase ?? 6443;
  const n = options.clusters ?? 3;
  await mkdir(join(dataDir, 'secrets'), { recursive: true, mode: 0o700 });
  const stops: Array<[part: string, stop: () => Promise<void>]> = [];
  const stopAll = async () => {
    for (const [part, stop] of stops.reverse()) {
      const started = Date.now();
      await stop().then(
        () => log.info({ part, ms: Date.now() - started }, 'stopped'),
        (err: unknown) => log.warn({ part, err: (err as Error).message }, 'stop failed'),
      );
    }
  };
  // The console's bundle loads (or, from a source checkout, builds) while the rest starts.
  const consoleAssets = loadConsoleAssets(log);
  consoleAssets.catch(() => undefined);
  try {
    const fed = await startFederationApiServer({ listen: `127.0.0.1:${portBase}`, dataDir });
    stops.push(['federation API server', () => fed.server.close()]);
    // Members keep their state in the data dir too, so a restart resumes them as they were.
    await mkdir(join(dataDir, 'members'), { recursive: true });
    const sandbox = await startSandbox({
      clusters: clusterSpecs(n, portBase),
      readyDelayMs: options.readyDelayMs ?? 500,
      adminPort: portBase ? portBase + 91 : 0,
      store: (name) =>
        openStore(`sqlite://${join(dataDir, 'members', `${name}.db`)}`, { sqlite: { synchronous: 'NORMAL' } }),
    });
    stops.push(['sandbox clusters', () => sandbox.close()]);
    const kubeconfig = join(dataDir, 'kubeconfig');
    await writeFile(kubeconfig, mergeKubeconfigs([fed.kubeconfig, sandbox.kubeconfig()]), { mode: 0o600 });
    const membersKubeconfig = join(dataDir, 'members.kubeconfig');
    await writeFile(membersKubeconfig, sandbox.kubeconfig(), { mode: 0o600 });

    const federation = await KubeClient.fromKubeconfig({ file: kubeconfig }, 'federation', {
      timeoutMs: 15_000,
      maxSockets: 64,
    });
    stops.push(['federation client', async () => federation.close()]);
    for (const c of sandbox.clusters)
      await joinCluster(
        federation,
        c.name,
        { file: kubeconfig, context: c.name },
        { 'kitfed.io/region': DEFAULT_CLUSTERS.find((d) => d.name === c.name)?.region ?? '' },
      );
    // The controller manager runs as its own user (kitfed:controller-manager, a client certificate),
    // with the least privilege the bootstrap policy gives it, not as the admin.
    const controllersKubeconfig = join(dataDir, 'controllers.kubeconfig');
    const { userKubeconfig } = await loadCredentials();
    await writeFile(
      controllersKubeconfig,
      userKubeconfig({
        pki: fed.pki!,
        server: fed.server.url,
        user: CONTROLLER_MANAGER_USER,
        context: 'federation',
        days: 30,
      }).kubeconfig,
      { mode: 0o600 },
    );
    const controllersClient = await KubeClient.fromKubeconfig({ file: controllersKubeconfig }, 'federation', {
      timeoutMs: 15_000,
      maxSockets: 64,
    });
    stops.push(['controllers client', async () => controllersClient.close()]);
    const controllers = await startControllers({
      federation: controllersClient,
      leaderElect: false,
      clusterMonitorPeriodMs: options.clusterMonitorPeriodMs ?? 2000,
    });
    stops.push(['controllers', () => controllers.stop()]);

    const manifestsRepo = await ensureManifestsRepo(dataDir);
    // The API token of the webhook service, next to the kubeconfig: `kitfed runs|rollout|rollback` read it.
    const tokenFile = await secretFile(join(dataDir, 'webhooks-token'));
    // The console reads runs (and steers rollouts) with the token its user signed in with; on this
    // one-user local setup the webhook service also accepts the federation's admin token for that.
    const access = federationAccess({ text: fed.kubeconfig });
    const apiTokens: Array<{ file: string }> = [{ file: tokenFile }];
    if (access.token) {
      const fedToken = join(dataDir, 'secrets', 'federation-token');
      await writeFile(fedToken, access.token, { mode: 0o600 });
      apiTokens.push({ file: fedToken });
    }
    const webhooksConfig = join(dataDir, 'webhooks.yaml');
    await writeFile(
      webhooksConfig,
      YAML.stringify({
        listen: `127.0.0.1:${portBase ? portBase + 90 : 0}`,
        dataDir: join(dataDir, 'webhooks'),
        github: { secret: { file: await secretFile(join(dataDir, 'secrets', 'github-webhook-secret')) } },
        image: {
          secret: { file: await secretFile(join(dataDir, 'secrets', 'image-webhook-secret')) },
          repo: 'local/manifests',
        },
        repos: [{ url: manifestsRepo, branch: 'main', name: 'local/manifests' }],
        api: { token: apiTokens },
        deploy: { kubeconfig: membersKubeconfig, target: 'clusters' },
        // The local bare repo has no GitHub to announce pushes: poll it (image bumps, hand pushes).
        pollSeconds: 2,
      }),
    );
    const config = await loadConfig(webhooksConfig);
    const deploy = await loadDeployStep(config.deploy, log, config.timeouts.deployMs);
    const webhooks = await startWebhookService({
      config,
      log: createLogger('webhooks'),
      ...(deploy ? { deploy } : {}),
    });
    stops.push(['webhooks', () => webhooks.close()]);
    if (!portBase) {
      // Free ports: record the real webhook address so `kitfed simulate --config` finds it.
      const actual = YAML.parse(await readFile(webhooksConfig, 'utf8')) as Record<string, unknown>;
      actual.listen = new URL(webhooks.url).host;
      await writeFile(webhooksConfig, YAML.stringify(actual));
    }
    const consoleServer = await startConsoleServer({
      host: '127.0.0.1',
      port: portBase ? portBase + 92 : 0,
      federation: access,
      webhooksUrl: webhooks.url,
      ...(sandbox.adminUrl ? { sandboxAdminUrl: sandbox.adminUrl } : {}),
      assets: await consoleAssets,
      log: createLogger('console'),
    });
    stops.push(['console', () => consoleServer.close()]);
    if (!options.skipInitialDeploy) {
      const res = await simulatePush(await loadConfig(webhooksConfig), { url: webhooks.url });
      log.info({ status: res.status }, 'initial render + deploy queued');
    }
    return {
      dataDir,
      kubeconfig,
      federationUrl: fed.server.url,
      webhooksUrl: webhooks.url,
      webhooksConfig,
      webhooksToken: tokenFile,
      sandbox,
      controllers,
      webhooks,
      manifestsRepo,
      consoleUrl: consoleServer.url,
      consoleLoginUrl: access.token ? loginUrl(consoleServer.url, access.token) : consoleServer.url,
      stop: stopAll,
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

/** What `kitfed up` prints once everything runs. */
export function summary(e: Embedded): string {
  const rel = (p: string) => (p.startsWith(process.cwd()) ? p.slice(process.cwd().length + 1) : p);
  const kc = rel(e.kubeconfig);
  const cfg = rel(e.webhooksConfig);
  // The installed binary is `kitfed`; in a clone (npm start) the same commands run as `npm run -s kitfed --`.
  const cli = basename(process.argv[1] ?? '') === 'kitfed' ? 'kitfed' : 'npm run -s kitfed --';
  const walkthrough = rel(join(repoRoot(), 'test', 'fixtures', 'seed-walkthrough'));
  return [
    'kitfed is up:',
    `  console          ${e.consoleLoginUrl}`,
    `                   (open it to sign in: the link carries the federation token in its #fragment, never sent to a server)`,
    `  federation API   ${e.federationUrl}   (SQLite in ${rel(e.dataDir)}, Secrets encrypted at rest)`,
    ...e.sandbox.clusters.map((c) => `  member ${c.name.padEnd(10)} ${c.url}`),
    `  webhooks         ${e.webhooksUrl}   (render: ${e.webhooks.wiring.render}; deploy: ${e.webhooks.wiring.deploy})`,
    `  manifests repo   ${rel(e.manifestsRepo)}`,
    `  kubeconfig       ${kc}   (contexts: federation, ${e.sandbox.clusters.map((c) => c.name).join(', ')})`,
    '',
    'Try (the 2016 federation walkthrough, in its own namespace):',
    `  export KUBECONFIG=${kc}`,
    '  kubectl --context=federation get clusters',
    '  kubectl --context=federation create namespace walkthrough',
    `  kubectl --context=federation -n walkthrough create -f ${walkthrough}/`,
    `  kubectl --context=${e.sandbox.clusters[0]?.name ?? 'us-east'} -n walkthrough get rs,pods,svc`,
    `  ${cli} describe rs nginx -n walkthrough`,
    '',
    'GitOps (the example repo is already deployed to every member):',
    `  kubectl --context=${e.sandbox.clusters[0]?.name ?? 'us-east'} get deploy,svc,hpa`,
    `  ${cli} simulate image ghcr.io/kitfed-demo/hello:master-9f8e7d6 --config ${cfg}`,
    `  ${cli} runs --config ${cfg}`,
    `  ${cli} logs deploy/hello`,
    '',
    `Ctrl-C stops everything; \`${cli === 'kitfed' ? 'kitfed up' : 'npm start'}\` again resumes the federation state.`,
  ].join('\n');
}
