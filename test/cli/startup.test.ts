/**
 * What each command line loads (the start-up figures themselves are bench/cli.ts's): a module loader
 * hook in the real `kitfed` process records every ES module it loads.
 */
import test from 'ava';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const HOOKS = `
import { appendFileSync } from 'node:fs';
export async function load(url, context, next) {
  appendFileSync(process.env.KITFED_TRACE_IMPORTS, url + '\\n');
  return next(url, context);
}`;
const HOOKS_URL = `data:text/javascript,${encodeURIComponent(HOOKS)}`;
const REGISTER = `import { register } from 'node:module'; register(${JSON.stringify(HOOKS_URL)});`;

/** The modules `kitfed …args` loads: repository paths of services/ and package names of node_modules. */
async function loads(args: string[], input = ''): Promise<{ services: string[]; packages: string[] }> {
  const dir = await mkdtemp(join(tmpdir(), 'kitfed-trace-'));
  const trace = join(dir, 'loads.txt');
  try {
    await new Promise<void>((resolve, reject) => {
      const child = execFile(
        process.execPath,
        [
          '--import',
          'tsx',
          '--import',
          `data:text/javascript,${encodeURIComponent(REGISTER)}`,
          'services/cli/kitfed.ts',
          ...args,
        ],
        { env: { ...process.env, KITFED_TRACE_IMPORTS: trace }, timeout: 60_000 },
        (err, _out, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve()),
      );
      child.stdin?.end(input);
    });
    const urls = (await readFile(trace, 'utf8')).split('\n').filter(Boolean);
    const root = pathToFileURL(process.cwd()).href;
    const services = urls.filter((u) => u.startsWith(`${root}/services/`)).map((u) => u.slice(root.length + 1));
    const packages = [
      ...new Set(
        urls
          .map((u) => /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(u)?.[1])
          .filter((p): p is string => p !== undefined && p !== 'tsx'),
      ),
    ];
    return { services: [...new Set(services)].sort(), packages: packages.sort() };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('kitfed --help loads commander and the command table, no command and no service', async (t) => {
  const { services, packages } = await loads(['--help']);
  t.deepEqual(services, [
    'services/cli/commands/index.ts',
    'services/cli/kitfed.ts',
    'services/cli/lib/log-flags.ts',
    'services/cli/lib/usage.ts',
    'services/cli/main.ts',
    'services/core/extra-ca.ts',
    'services/core/log-settings.ts',
  ]);
  t.deepEqual(packages, ['commander']);
});

test('a command loads its own module and what its action imports, not the other commands or services', async (t) => {
  const plan = await loads(['plan'], JSON.stringify({ totalReplicas: 3, clusters: ['a'], key: 'ns/x' }));
  t.true(plan.services.includes('services/cli/commands/plan.ts'));
  t.deepEqual(
    plan.services.filter(
      (s) => !/^services\/(cli\/(kitfed|main)\.ts|cli\/lib\/|cli\/commands\/(index|plan)\.ts|planner\/|core\/)/.test(s),
    ),
    [],
  );
  t.false(plan.packages.includes('@kubernetes/client-node'));

  const deployHelp = await loads(['deploy', '--help']);
  t.deepEqual(
    deployHelp.services.filter((s) => !s.startsWith('services/cli/') && !s.startsWith('services/core/')),
    [],
    'the deployer is imported only when a deploy runs',
  );

  const getHelp = await loads(['get', '--help']);
  t.false(
    getHelp.services.some((s) => /^services\/cli\/commands\/(?!get|index)/.test(s)),
    getHelp.services.join(),
  );
  t.false(getHelp.packages.includes('@kubernetes/client-node'), 'a static kubeconfig is read without client-node');
});
