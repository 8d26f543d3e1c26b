/**
 * `npm run build`: kitfed's JavaScript, bundled by esbuild into `dist/` — the `kitfed` binary
 * (`dist/kitfed.js`), the webhook service's two worker threads, and shared chunks that each command
 * imports only when it runs (the command table's lazy `import()`s become chunk boundaries) — and the
 * web console's front end (`dist/console/`).
 *
 * Why a bundle rather than tsc's one-file-per-module output: start-up time is dominated by module
 * loading (resolving and reading hundreds of small files: yaml is ~60, @kubernetes/client-node ~800),
 * not by running code. One chunk per lazy boundary keeps `kitfed --help` to commander and the table.
 * Dependencies that are native, read their own files at run time, or are looked up by computed name
 * stay external and load from node_modules (they are ordinary `dependencies`).
 *
 * `dist/build-info.json` records the version, the git commit and tree state, and a hash of every
 * input; `--if-stale` rebuilds only when that hash differs from the tree's (what `npm start` uses).
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { copyFile, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { commands } from '../services/cli/commands/index.js';
import { writeBundle } from '../services/console/index.js';
import { readBuildInfo, type BuildInfo } from '../services/core/version.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const OUT = join(ROOT, 'dist');
const INFO = join(OUT, 'build-info.json');

/**
 * Left out of the bundle: native (better-sqlite3), required by computed name (kubernetes-models),
 * loaded only on a terminal by path (pino-pretty).
 */
const EXTERNAL = ['better-sqlite3', 'kubernetes-models', 'pino-pretty'];

/** CommonJS code inside an ESM bundle calls `require` for Node built-ins: give every chunk one. */
const BANNER =
  "import { createRequire as __kitfedRequire } from 'node:module'; const require = __kitfedRequire(import.meta.url);";

/**
 * The first lines of `dist/kitfed.js`, read by sh and by Node alike: sh runs the second line (`":"` does
 * nothing; the rest execs Node on this same file), Node sees a string and a comment. On the way it sets
 * NODE_EXTRA_CA_CERTS aside for the commands whose TLS all goes through KubeClient, which loads it when
 * a connection needs it (services/core/extra-ca.ts says why): not when NODE_OPTIONS (`--use-openssl-ca`,
 * `--use-system-ca`, …) or NODE_USE_SYSTEM_CA chooses another CA store.
 */
const DEFERS_EXTRA_CA = [
  "''",
  '-h',
  '--help',
  'help',
  '-V',
  '--version',
  ...commands.filter((c) => c.tlsThroughKubeClient).map((c) => c.name),
].join('|');
const SET_ASIDE =
  'if [ -n "${NODE_EXTRA_CA_CERTS-}" ] && [ -z "${NODE_USE_SYSTEM_CA-}" ]; then KITFED_EXTRA_CA_CERTS=$NODE_EXTRA_CA_CERTS; ' +
  'export KITFED_EXTRA_CA_CERTS; unset NODE_EXTRA_CA_CERTS; fi';
const LAUNCHER =
  '#!/bin/sh\n' +
  `":" //; case "\${NODE_OPTIONS-}" in *-ca*) ;; *) case "\${1-}" in ${DEFERS_EXTRA_CA}) ${SET_ASIDE};; esac;; esac; ` +
  'exec node "$0" "$@"\n';

/** Data files the code reads at run time with `require('./x.json')` beside itself: copied next to the chunks. */
const DATA = ['services/apiserver/openapi/descriptions.json', 'services/apiserver/openapi/parameters.json'];

async function files(dir: string): Promise<string[]> {
  const entries = await readdir(join(ROOT, dir), { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => relative(ROOT, join(e.parentPath, e.name)))
    .sort();
}

/** sha256 over the path and content of every build input. */
export async function sourceHash(): Promise<string> {
  const inputs = ['package.json', 'package-lock.json', 'scripts/build.ts', ...(await files('services'))];
  const hash = createHash('sha256');
  for (const f of inputs) {
    hash.update(`${f}\0`);
    hash.update(existsSync(join(ROOT, f)) ? await readFile(join(ROOT, f)) : '');
    hash.update('\0');
  }
  return hash.digest('hex');
}

function git(args: string[]): string | undefined {
  try {
    return execFileSync('git', args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return undefined;
  }
}

/** Whether `dist/` was built from exactly the current sources. */
export async function isFresh(hash?: string): Promise<boolean> {
  return readBuildInfo(INFO)?.sourceHash === (hash ?? (await sourceHash()));
}

export async function buildDist(hash: string): Promise<BuildInfo> {
  const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { name: string; version: string };
  await rm(OUT, { recursive: true, force: true });
  await build({
    absWorkingDir: ROOT,
    entryPoints: {
      kitfed: 'services/cli/kitfed.ts',
      // Worker threads are started by file name next to the code that starts them (gitops/step-thread.ts).
      'render-worker': 'services/gitops/render-worker.ts',
      'deploy-worker': 'services/gitops/deploy-worker.ts',
    },
    outdir: OUT,
    chunkNames: 'chunk-[hash]',
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    external: EXTERNAL,
    banner: { js: BANNER },
    // Less to read and parse at start-up; names are kept, so stack traces stay readable.
    minifyWhitespace: true,
    minifySyntax: true,
    legalComments: 'eof',
    logLevel: 'warning',
  });
  for (const f of DATA) await copyFile(join(ROOT, f), join(OUT, f.slice(f.lastIndexOf('/') + 1)));
  const entry = join(OUT, 'kitfed.js');
  await writeFile(entry, (await readFile(entry, 'utf8')).replace(/^#![^\n]*\n/, LAUNCHER));
  const commit = git(['rev-parse', 'HEAD']);
  const status =
    commit === undefined ? undefined : git(['status', '--porcelain', '--', 'services', 'scripts', 'package.json']);
  const info: BuildInfo = {
    name: pkg.name,
    version: pkg.version,
    commit: commit ?? 'unknown',
    treeState: status === undefined ? 'unknown' : status === '' ? 'clean' : 'dirty',
    builtAt: new Date().toISOString(),
    sourceHash: hash,
  };
  // The web console's front end (services/console/web → dist/console/), which `kitfed apiserver --console` serves.
  await writeBundle(ROOT);
  // Written last: an interrupted build leaves no stamp, so the next `--if-stale` builds again.
  await writeFile(INFO, `${JSON.stringify(info, null, 2)}\n`);
  return info;
}

async function cli(argv: string[]): Promise<void> {
  const ifStale = argv.includes('--if-stale');
  const hash = await sourceHash();
  if (ifStale && (await isFresh(hash))) return;
  const started = Date.now();
  if (ifStale) process.stderr.write('kitfed: sources changed since the last build; building dist/ …\n');
  const info = await buildDist(hash);
  process.stderr.write(
    `built dist/ in ${((Date.now() - started) / 1000).toFixed(1)} s: ` +
      `kitfed ${info.version} (${info.commit.slice(0, 12)}${info.treeState === 'dirty' ? ', dirty tree' : ''})\n`,
  );
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await cli(process.argv.slice(2));
