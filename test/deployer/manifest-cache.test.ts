/**
 * The deployer's stat cache kept on disk (`cacheDir`, what `kitfed deploy` passes): a later process
 * recognises unchanged files by their stat and reads none of them; a changed file is read again;
 * Secrets never reach the cache file. Each "process" is a fresh instance of the manifests module
 * (its in-memory cache empty), as a new `kitfed deploy` has.
 */
import test from 'ava';
import { mkdir, mkdtemp, readdir, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type * as Manifests from '../../services/deployer/manifests.js';

type ManifestsModule = typeof Manifests;

let instances = 0;
/** A new module instance: what a new process starts with. */
async function freshProcess(): Promise<ManifestsModule> {
  return (await import(`../../services/deployer/manifests.js?process=${++instances}`)) as ManifestsModule;
}

const cm = (name: string, v: string): string =>
  `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ${name}}\ndata: {v: "${v}"}\n`;
const secret = `apiVersion: v1\nkind: Secret\nmetadata: {name: s}\nstringData: {password: hunter2-in-a-file}\n`;

async function renderDir(t: { teardown: (fn: () => Promise<void>) => void }): Promise<{ dir: string; cache: string }> {
  const root = await mkdtemp(path.join(tmpdir(), 'kitfed-manifest-cache-'));
  t.teardown(() => rm(root, { recursive: true, force: true }));
  const dir = path.join(root, 'rendered');
  await mkdir(path.join(dir, 'c1'), { recursive: true });
  await mkdir(path.join(dir, 'c2'), { recursive: true });
  await writeFile(path.join(dir, 'c1', 'a.yaml'), cm('a', '1'));
  await writeFile(path.join(dir, 'c1', 's.yaml'), secret);
  await writeFile(path.join(dir, 'c2', 'b.yaml'), cm('b', '1'));
  // Older than the racy-clean window: their stat can be trusted.
  const old = new Date(Date.now() - 10_000);
  for (const f of ['c1/a.yaml', 'c1/s.yaml', 'c2/b.yaml']) await utimes(path.join(dir, f), old, old);
  return { dir, cache: path.join(root, 'cache') };
}

const values = (m: Map<string, Array<{ obj: { kind: string; data?: unknown; stringData?: unknown } }>>) =>
  Object.fromEntries([...m].map(([f, list]) => [f, list.map((x) => x.obj.data ?? x.obj.stringData)]));

async function cacheFile(cache: string): Promise<string> {
  const names = await readdir(cache);
  if (names.length !== 1) throw new Error(`expected one cache file, found ${names.join(', ')}`);
  return path.join(cache, names[0]!);
}

test('a later process takes unchanged files from the cache file and reads a changed one again', async (t) => {
  const { dir, cache } = await renderDir(t);
  const first = await (await freshProcess()).readFolders(dir, ['c1', 'c2'], { cacheDir: cache });
  t.deepEqual(values(first), { c1: [{ v: '1' }, { password: 'hunter2-in-a-file' }], c2: [{ v: '1' }] });

  // Mark the cached parse of c2/b.yaml: seeing the mark proves the next process did not read the file.
  const file = await cacheFile(cache);
  const text = await readFile(file, 'utf8');
  t.true(text.includes('"v":"1"'));
  await writeFile(file, text.replace(/"b"},"data":\{"v":"1"\}/, '"b"},"data":{"v":"from-cache"}'));
  const second = await (await freshProcess()).readFolders(dir, ['c1', 'c2'], { cacheDir: cache });
  t.deepEqual(values(second).c2, [{ v: 'from-cache' }]);

  // A rewrite changes the mtime: the file is read again, and the cache file follows.
  await writeFile(path.join(dir, 'c2', 'b.yaml'), cm('b', '22'));
  const old = new Date(Date.now() - 5_000);
  await utimes(path.join(dir, 'c2', 'b.yaml'), old, old);
  const third = await (await freshProcess()).readFolders(dir, ['c1', 'c2'], { cacheDir: cache });
  t.deepEqual(values(third).c2, [{ v: '22' }]);
  const fourth = await (await freshProcess()).readFolders(dir, ['c2'], { cacheDir: cache });
  t.deepEqual(values(fourth).c2, [{ v: '22' }]);
  t.true((await readFile(file, 'utf8')).includes('"v":"22"'));
});

test('Secrets and files too fresh to trust by their stat never reach the cache file', async (t) => {
  const { dir, cache } = await renderDir(t);
  await writeFile(path.join(dir, 'c2', 'fresh.yaml'), cm('fresh', 'new'));
  const read = await (await freshProcess()).readFolders(dir, ['c1', 'c2'], { cacheDir: cache });
  t.deepEqual(values(read).c1, [{ v: '1' }, { password: 'hunter2-in-a-file' }]);
  const text = await readFile(await cacheFile(cache), 'utf8');
  t.false(text.includes('hunter2'), 'no Secret data in the cache');
  t.false(text.includes('fresh'), 'a file read within the racy-clean window is not cached');
  t.true(text.includes('a.yaml'));
  // The Secret still comes from its file in the next process.
  const again = await (await freshProcess()).readFolders(dir, ['c1'], { cacheDir: cache });
  t.deepEqual(values(again).c1, [{ v: '1' }, { password: 'hunter2-in-a-file' }]);
});

test('an unreadable cache file is an empty cache; invalid manifests are reported as without one', async (t) => {
  const { dir, cache } = await renderDir(t);
  await (await freshProcess()).readFolders(dir, ['c1'], { cacheDir: cache });
  const file = await cacheFile(cache);
  await writeFile(file, '{"version":1,"root":');
  const read = await (await freshProcess()).readFolders(dir, ['c1', 'c2'], { cacheDir: cache });
  t.deepEqual(values(read).c2, [{ v: '1' }]);
  const rewritten = await readFile(file, 'utf8');
  t.notThrows(() => JSON.parse(rewritten), 'the cache file is written again, whole');

  await writeFile(path.join(dir, 'c2', 'bad.yaml'), 'kind: ConfigMap\n');
  const m = await freshProcess();
  const err = await t.throwsAsync(m.readFolders(dir, ['c1', 'c2'], { cacheDir: cache }), {
    instanceOf: m.ManifestError,
  });
  t.regex(err.message, /c2\/bad\.yaml: apiVersion is required/);
});
