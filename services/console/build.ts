/**
 * The console's front-end build: one esbuild pass over `web/main.tsx` (Preact, TypeScript) into
 * `app.js` + `app.css`, plus `index.html`. `npm run build` writes it to `dist/console/`; a server
 * running from a source checkout without an up-to-date build makes it in memory at start.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface BundleFile {
  name: string;
  contentType: string;
  body: Buffer;
}

/** The repository (or installed package) root: the nearest folder above this module with a package.json. */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error('cannot find the kitfed package root above the console service');
    dir = parent;
  }
  return dir;
}

/** Where the front-end sources are (absent in an installed package). */
export function webSourceDir(root = packageRoot()): string {
  return join(root, 'services', 'console', 'web');
}

/** Where `npm run build` puts the bundle. */
export function bundleDir(root = packageRoot()): string {
  return join(root, 'dist', 'console');
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

export function contentTypeOf(name: string): string {
  return TYPES[name.slice(name.lastIndexOf('.'))] ?? 'application/octet-stream';
}

/** Newest modification time of the front-end sources (and the wire types they import). */
export function sourcesMtime(root = packageRoot()): number {
  let newest = 0;
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else newest = Math.max(newest, statSync(p).mtimeMs);
    }
  };
  walk(webSourceDir(root));
  newest = Math.max(newest, statSync(join(root, 'services', 'console', 'api.ts')).mtimeMs);
  return newest;
}

/** Builds the bundle in memory. `minify` for production (the default); esbuild is a build-time dependency. */
export async function buildBundle(opts: { minify?: boolean; root?: string } = {}): Promise<BundleFile[]> {
  const root = opts.root ?? packageRoot();
  const web = webSourceDir(root);
  const { build } = await import('esbuild');
  const result = await build({
    entryPoints: { app: join(web, 'main.tsx') },
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: ['chrome110', 'firefox110', 'safari16'],
    jsx: 'automatic',
    jsxImportSource: 'preact',
    minify: opts.minify ?? true,
    sourcemap: false,
    legalComments: 'none',
    write: false,
    outdir: 'out',
    logLevel: 'silent',
    define: { 'process.env.NODE_ENV': '"production"' },
  });
  const files: BundleFile[] = result.outputFiles.map((f) => {
    const name = f.path.slice(f.path.lastIndexOf('/') + 1);
    return { name, contentType: contentTypeOf(name), body: Buffer.from(f.contents) };
  });
  const html = await readFile(join(web, 'index.html'));
  files.push({ name: 'index.html', contentType: contentTypeOf('index.html'), body: html });
  return files;
}

/** Writes the production bundle to `dist/console/` (atomically per file). */
export async function writeBundle(root = packageRoot()): Promise<BundleFile[]> {
  const files = await buildBundle({ minify: true, root });
  const out = bundleDir(root);
  await mkdir(out, { recursive: true });
  for (const f of files) {
    const tmp = join(out, `.${f.name}.${process.pid}.tmp`);
    await writeFile(tmp, f.body);
    await rename(tmp, join(out, f.name));
  }
  return files;
}

// `node --import tsx services/console/build.ts` (`npm run build` calls writeBundle() from scripts/build.ts).
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const started = Date.now();
  writeBundle().then(
    (files) => {
      const size = files.reduce((n, f) => n + f.body.length, 0);
      const names = files.map((f) => f.name).join(', ');
      const kib = (size / 1024).toFixed(1);
      process.stdout.write(`console bundle: ${names} (${kib} KiB) in ${Date.now() - started} ms → ${bundleDir()}\n`);
    },
    (err: unknown) => {
      process.stderr.write(`console bundle failed: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
