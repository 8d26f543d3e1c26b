import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { Logger } from '../core/log.js';
import {
  buildBundle,
  bundleDir,
  contentTypeOf,
  packageRoot,
  sourcesMtime,
  webSourceDir,
  type BundleFile,
} from './build.js';

export interface Asset {
  contentType: string;
  body: Buffer;
  gzip: Buffer;
  etag: string;
}

/** The console's static files, in memory, each with its gzip and an ETag. */
export type Assets = ReadonlyMap<string, Asset>;

function index(files: readonly BundleFile[]): Assets {
  const map = new Map<string, Asset>();
  for (const f of files) {
    const etag = `"${createHash('sha256').update(f.body).digest('base64url').slice(0, 22)}"`;
    map.set(f.name, { contentType: f.contentType, body: f.body, gzip: gzipSync(f.body, { level: 9 }), etag });
  }
  return map;
}

function readBuilt(dir: string): BundleFile[] {
  return readdirSync(dir)
    .filter((n) => !n.startsWith('.'))
    .map((name) => ({ name, contentType: contentTypeOf(name), body: readFileSync(join(dir, name)) }));
}

/**
 * The bundle `npm run build` wrote (`dist/console/`), unless front-end sources newer than it are
 * here (a source checkout): then a fresh bundle is built in memory with esbuild.
 */
export async function loadAssets(log: Logger, root = packageRoot()): Promise<Assets> {
  const built = bundleDir(root);
  const builtAt = existsSync(join(built, 'app.js')) ? statSync(join(built, 'app.js')).mtimeMs : 0;
  const haveSources = existsSync(webSourceDir(root));
  if (builtAt > 0 && (!haveSources || sourcesMtime(root) <= builtAt)) return index(readBuilt(built));
  if (!haveSources) throw new Error(`the console bundle is missing from ${built}: run npm run build`);
  const started = Date.now();
  const files = await buildBundle({ minify: true, root });
  log.info({ ms: Date.now() - started }, builtAt ? 'console bundle rebuilt (sources changed)' : 'console bundle built');
  return index(files);
}
