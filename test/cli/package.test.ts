/**
 * The npm package as people install it: `npm pack`, `npm install -g` into a prefix, and the
 * quickstart's commands run with the installed `kitfed` (built JavaScript, no tsx) in an empty
 * directory, as README.md and docs/quickstart.md show them.
 *
 * The install resolves dependencies from the npm cache when it holds them (`--prefer-offline`; CI's
 * `npm ci` fills it) and takes better-sqlite3's native binary from this clone's build as a local
 * prebuild (prebuild-install's `local-prebuilds`), so it is not compiled a second time.
 */
import test from 'ava';
import { execFile, execFileSync, spawn } from 'node:child_process';
import { existsSync, realpathSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import YAML from 'yaml';
import { kubectlFor } from '../helpers/kubectl.js';

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

function run(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}) {
  return new Promise<Result>((done) => {
    execFile(
      cmd,
      args,
      { cwd: opts.cwd, env: opts.env ?? process.env, timeout: opts.timeoutMs ?? 120_000, maxBuffer: 1 << 26 },
      (err, stdout, stderr) =>
        done({
          code: err ? (typeof err.code === 'number' ? err.code : 1) : 0,
          stdout: String(stdout),
          stderr: String(stderr),
        }),
    );
  });
}

async function eventually(what: string, check: () => Promise<boolean>, timeoutMs = 180_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 1000));
  }
}

const ROOT = process.cwd();
const pkg = JSON.parse(await readFile('package.json', 'utf8')) as { name: string; version: string };

test('npm pack → npm install -g → quickstart with the installed kitfed: up, get, simulate, completion', async (t) => {
  t.timeout(40 * 60_000);
  const dir = await mkdtemp(join(tmpdir(), 'kitfed-package-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));

  // npm pack runs `prepack`: a fresh build of dist/.
  const pack = await run('npm', ['pack', '--pack-destination', dir, '--json'], { cwd: ROOT, timeoutMs: 600_000 });
  t.is(pack.code, 0, pack.stderr);
  const packed = JSON.parse(pack.stdout.slice(pack.stdout.indexOf('['))) as Array<{
    filename: string;
    files: Array<{ path: string }>;
  }>;
  const tarball = join(dir, packed[0]!.filename);
  const files = packed[0]!.files.map((f) => f.path);
  t.true(files.includes('dist/kitfed.js') && files.includes('dist/build-info.json'));
  t.true(files.some((f) => f.startsWith('templates/')) && files.some((f) => f.startsWith('clusters/')));
  t.false(
    files.some((f) => f.startsWith('services/') || f.startsWith('test/cli/')),
    'no sources in the package',
  );

  const abi = process.versions.modules;
  const sqlite = JSON.parse(await readFile('node_modules/better-sqlite3/package.json', 'utf8')) as { version: string };
  const prebuilds = join(dir, 'prebuilds');
  await mkdir(prebuilds);
  execFileSync('tar', [
    'czf',
    join(prebuilds, `better-sqlite3-v${sqlite.version}-node-v${abi}-${process.platform}-${process.arch}.tar.gz`),
    '-C',
    join(ROOT, 'node_modules', 'better-sqlite3'),
    'build/Release/better_sqlite3.node',
  ]);
  const prefix = join(dir, 'prefix');
  const install = await run(
    'npm',
    [
      'install',
      '-g',
      '--prefix',
      prefix,
      '--prefer-offline',
      '--no-audit',
      '--no-fund',
      '--allow-scripts=better-sqlite3',
      tarball,
    ],
    { cwd: dir, env: { ...process.env, npm_config_better_sqlite3_local_prebuilds: prebuilds }, timeoutMs: 1_200_000 },
  );
  t.is(install.code, 0, install.stderr);

  const bin = join(prefix, 'bin', 'kitfed');
  const installed = join(prefix, 'lib', 'node_modules', pkg.name);
  t.is(realpathSync(bin), join(installed, 'dist', 'kitfed.js'), 'the kitfed on the PATH is the built bundle');
  t.false(existsSync(join(installed, 'node_modules', 'tsx')), 'no tsx: devDependencies are not installed');
  const env: NodeJS.ProcessEnv = { ...process.env, PATH: `${join(prefix, 'bin')}:${process.env.PATH ?? ''}` };
  delete env.KUBECONFIG;
  const home = join(dir, 'home');
  await mkdir(home);
  const kitfed = (args: string[], timeoutMs?: number) => run('kitfed', args, { cwd: home, env, timeoutMs });

  const version = await kitfed(['version', '-o', 'json']);
  t.is(version.code, 0, version.stderr);
  const head = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
  t.like((JSON.parse(version.stdout) as { clientVersion: object }).clientVersion, {
    kitfedVersion: pkg.version,
    gitCommit: head,
    compiler: 'esbuild',
    nodeVersion: process.version,
  });

  // The quickstart, in an empty directory: `kitfed up` finds its example templates/ and clusters/ in the package.
  const up = spawn('kitfed', ['up', '--port-base', '0'], { cwd: home, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let logs = '';
  up.stdout.on('data', (d: Buffer) => (out += d.toString()));
  up.stderr.on('data', (d: Buffer) => (logs += d.toString()));
  const exited = new Promise<number | null>((r) => up.on('exit', (code) => r(code)));
  t.teardown(() => {
    if (up.exitCode === null) up.kill('SIGKILL');
  });
  try {
    await eventually('kitfed is up', async () => out.includes('kitfed is up') || up.exitCode !== null, 600_000);
    t.regex(out, /^kitfed is up:/m, logs.slice(-3000));
    t.regex(
      out,
      /^ {2}kitfed simulate image ghcr\.io\/kitfed-demo\/hello:master-9f8e7d6 --config \.kitfed\/webhooks\.yaml$/m,
    );
    const walkthrough = join(installed, 'test', 'fixtures', 'seed-walkthrough');
    t.true(out.includes(`create -f ${walkthrough}/`), 'the walkthrough manifests ship in the package');
    env.KUBECONFIG = join(home, '.kitfed', 'kubeconfig');

    await eventually('3 Ready clusters', async () => {
      const r = await kitfed(['get', 'clusters']);
      return r.code === 0 && (r.stdout.match(/ True /g) ?? []).length === 3;
    });
    const clusters = await kitfed(['get', 'clusters']);
    t.regex(clusters.stdout, /^NAME\s+READY\s+REGION\s+ZONES\s+AGE$/m);
    t.regex(clusters.stdout, /^us-east\s+True\s+us-east1\s+us-east1-a,us-east1-b\s/m);

    const kubectl = kubectlFor(env.KUBECONFIG, join(dir, 'kube-cache'));
    t.is((await kubectl(['--context=federation', 'create', 'namespace', 'walkthrough'])).code, 0);
    const created = await kubectl(['--context=federation', '-n', 'walkthrough', 'create', '-f', `${walkthrough}/`]);
    t.is(created.code, 0, created.stderr);

    const config = join('.kitfed', 'webhooks.yaml');
    await eventually('the initial deploy', async () => {
      const r = await kitfed(['runs', '--config', config, '-o', 'json']);
      return r.code === 0 && /"status": "succeeded"/.test(r.stdout);
    });
    const image = 'ghcr.io/kitfed-demo/hello:master-9f8e7d6';
    const sim = await kitfed(['simulate', 'image', image, '--config', config]);
    t.is(sim.code, 0, sim.stderr);
    t.regex(sim.stdout, /^200\n/);
    t.regex(sim.stdout, /"status": "committed"/);
    await eventually('the new image in us-east', async () => {
      const r = await kubectl([
        '--context=us-east',
        'get',
        'deploy',
        'hello',
        '-o',
        'jsonpath={.spec.template.spec.containers[0].image}',
      ]);
      return r.stdout === image;
    });
    // The image can reach a member before the run records its deploy: wait for the run to finish.
    await eventually('run 2 finished', async () => {
      const r = await kitfed(['runs', '2', '--config', config, '-o', 'json']);
      return r.code === 0 && /^ {2}"status": "succeeded"/m.test(r.stdout);
    });
    const run2 = await kitfed(['runs', '2', '--config', config]);
    t.is(run2.code, 0, run2.stderr);
    t.regex(run2.stdout, /^us-east\s+ok\s+applied\s/m);

    const server = await kitfed(['version', '--server']);
    t.regex(
      server.stdout,
      new RegExp(`^Server Version: v1\\.32\\.0\\+kitfed\\.${pkg.version.replace(/\./g, '\\.')} `, 'm'),
    );

    // NODE_EXTRA_CA_CERTS, which the installed binary hands to KubeClient instead of Node's start-up
    // (services/core/extra-ca.ts): a kubeconfig without the federation's CA works with that CA in the
    // variable and fails without it, as with Node's own handling; a command that connects nowhere never reads it.
    const kc = YAML.parse(await readFile(env.KUBECONFIG, 'utf8')) as {
      clusters: Array<{ name: string; cluster: Record<string, unknown> }>;
    };
    const fed = kc.clusters.find((c) => c.name === 'federation')!.cluster;
    const caFile = join(dir, 'federation-ca.crt');
    await writeFile(caFile, Buffer.from(String(fed['certificate-authority-data']), 'base64'));
    for (const c of kc.clusters) delete c.cluster['certificate-authority-data'];
    const noCa = join(dir, 'kubeconfig-no-ca');
    await writeFile(noCa, YAML.stringify(kc));
    const withCa = (file: string | undefined) => {
      const e: NodeJS.ProcessEnv = { ...env, KUBECONFIG: noCa };
      delete e.NODE_EXTRA_CA_CERTS;
      if (file !== undefined) e.NODE_EXTRA_CA_CERTS = file;
      return (args: string[]) => run('kitfed', args, { cwd: home, env: e });
    };
    const trusted = await withCa(caFile)(['get', 'clusters']);
    t.is(trusted.code, 0, trusted.stderr);
    t.regex(trusted.stdout, /^us-east\s+True\s/m);
    const untrusted = await withCa(undefined)(['get', 'clusters']);
    t.is(untrusted.code, 1);
    t.regex(untrusted.stderr, /self[- ]signed|unable to (get|verify)/i);
    const missing = join(dir, 'no-such-ca.crt');
    const unread = await withCa(missing)(['get', 'clusters']);
    t.is(unread.code, 1);
    t.true(unread.stderr.includes(`Ignoring extra certs from \`${missing}\``), unread.stderr);
    const help = await withCa(missing)(['--help']);
    t.is(help.code, 0);
    t.false(help.stderr.includes('Ignoring extra certs'), 'kitfed --help never loads the CA file');

    // Completion with the installed binary, in bash, with values from the running federation and webhooks.
    const complete = async (line: string) =>
      (
        await run(
          'bash',
          [
            '-c',
            [
              'source <(kitfed completion bash)',
              'COMP_LINE="$1"; COMP_POINT=${#COMP_LINE}',
              'read -r -a COMP_WORDS <<< "$COMP_LINE"; COMP_WORDS+=(""); COMP_CWORD=$((${#COMP_WORDS[@]} - 1))',
              '_kitfed_complete; printf "%s\\n" "${COMPREPLY[@]}"',
            ].join('; '),
            'bash',
            line,
          ],
          { cwd: home, env },
        )
      ).stdout
        .split('\n')
        .filter(Boolean)
        .sort();
    t.deepEqual(await complete('kitfed get clusters '), ['asia-east', 'eu-west', 'us-east']);
    t.deepEqual(await complete('kitfed runs '), ['1', '2']);

    up.kill('SIGINT');
    const code = await Promise.race([exited, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 120_000))]);
    t.is(code, 0, 'Ctrl-C stops everything and exits 0');
  } catch (err) {
    t.log(logs.slice(-5000));
    throw err;
  }
});
