import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** What `npm run build` (scripts/build.ts) records next to the bundle in `dist/build-info.json`. */
export interface BuildInfo {
  name: string;
  version: string;
  /** The git commit the build was made from, or `unknown` outside a git checkout. */
  commit: string;
  /** `dirty` when services/, scripts/ or package.json had uncommitted changes. */
  treeState: 'clean' | 'dirty' | 'unknown';
  builtAt: string;
  /** sha256 of every build input: `npm start` rebuilds when the tree's differs. */
  sourceHash: string;
}

/** kitfed's version as `kitfed version` and the API server's `/version` report it. */
export interface KitfedVersion {
  version: string;
  commit: string;
  treeState: 'clean' | 'dirty' | 'unknown';
  /** When the build was made; for a run from source, `source`. */
  buildDate: string;
  /** `esbuild` for the built package, `tsx` when run from source. */
  compiler: 'esbuild' | 'tsx';
}

const here = dirname(fileURLToPath(import.meta.url));

/** The build stamp next to this code: present in `dist/` (the bundle), absent when run from source. */
export function readBuildInfo(file = join(here, 'build-info.json')): BuildInfo | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as BuildInfo;
  } catch {
    return undefined;
  }
}

function git(root: string, args: string[]): string | undefined {
  try {
    return execFileSync('git', args, {
      cwd: root,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
      timeout: 5000,
    })
      .toString()
      .trim();
  } catch {
    return undefined;
  }
}

function fromSource(): KitfedVersion {
  let dir = here;
  while (!existsSync(join(dir, 'package.json')) && dirname(dir) !== dir) dir = dirname(dir);
  let version = 'unknown';
  try {
    version = (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version?: string }).version ?? version;
  } catch {
    // not in a package: version stays unknown
  }
  const commit = existsSync(join(dir, '.git')) ? git(dir, ['rev-parse', 'HEAD']) : undefined;
  const status = commit === undefined ? undefined : git(dir, ['status', '--porcelain', '--', 'services']);
  return {
    version,
    commit: commit ?? 'unknown',
    treeState: status === undefined ? 'unknown' : status === '' ? 'clean' : 'dirty',
    buildDate: 'source',
    compiler: 'tsx',
  };
}

let cached: KitfedVersion | undefined;

/** kitfed's version: from the build stamp, else (running from source) package.json and git, read once. */
export function kitfedVersion(): KitfedVersion {
  if (cached) return cached;
  const info = readBuildInfo();
  cached = info
    ? {
        version: info.version,
        commit: info.commit,
        treeState: info.treeState,
        buildDate: info.builtAt,
        compiler: 'esbuild',
      }
    : fromSource();
  return cached;
}
