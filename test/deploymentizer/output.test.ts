import test from 'ava';
import { cp, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { render } from '../../services/deploymentizer/index.js';
import { FIXTURES, readTree, tempDir } from './helpers.js';

test('re-render: unchanged files are reused from the previous output, changed ones rewritten; same bytes as a fresh render', async (t) => {
  const dir = await tempDir(t);
  const repo = path.join(dir, 'repo');
  const out = path.join(dir, 'out');
  await cp(path.join(FIXTURES, 'precedence'), repo, { recursive: true });
  await render({ repo, out });
  const inode = async (rel: string): Promise<number> => (await stat(path.join(out, rel))).ino;
  const before = { eu: await inode('eu-1/web-deployment.yaml'), us: await inode('us-1/web-deployment.yaml') };

  await writeFile(
    path.join(repo, 'clusters', 'us-1', 'configuration-var.yaml'),
    'kind: ResourceConfig\ndeployment: {replicaCount: 5}\n',
  );
  await writeFile(path.join(out, 'eu-1', 'static-config.yaml'), 'tampered in place');
  await render({ repo, out });

  t.is(await inode('eu-1/web-deployment.yaml'), before.eu, 'unchanged file reused');
  t.not(await inode('us-1/web-deployment.yaml'), before.us, 'changed file written anew');
  t.true((await readFile(path.join(out, 'us-1', 'web-deployment.yaml'), 'utf8')).includes('replicas: 5\n'));
  await render({ repo, out: path.join(dir, 'fresh') });
  t.deepEqual(
    await readTree(out, true),
    await readTree(path.join(dir, 'fresh'), true),
    'tampered file repaired, everything else identical',
  );
});
