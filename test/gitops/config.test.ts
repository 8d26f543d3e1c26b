import test from 'ava';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigError, loadConfig, parseConfig } from '../../services/gitops/config.js';
import { tempDir } from './helpers.js';

const repos = [{ url: '/tmp/m.git', branch: 'main', name: 'acme/manifests' }];

test('secrets come from env and files, a list for rotation, relative files from the config folder', async (t) => {
  const dir = await tempDir(t);
  await writeFile(join(dir, 'old.secret'), 'old-value\n');
  await writeFile(
    join(dir, 'webhooks.yaml'),
    'listen: 0.0.0.0:8090\ndataDir: d\ngithub:\n  secret: [{ env: NEW }, { file: old.secret ' +
      '}]\nimage:\n  secret: { env: IMG }\nrepos:\n  - { url: /tmp/m.git, branch: main, name: acme/manifests }\n',
  );
  const c = loadConfig(join(dir, 'webhooks.yaml'), { NEW: 'new-value', IMG: 'img-value' });
  t.deepEqual(c.githubSecrets, ['new-value', 'old-value']);
  t.deepEqual(c.imageSecrets, ['img-value']);
  t.deepEqual(c.listen, { host: '0.0.0.0', port: 8090 });
  t.is(c.image.repo, 'acme/manifests');
  t.is(c.deploy, undefined);
});

test('every problem is reported with its key, and no secret value appears in the message', (t) => {
  const err = t.throws(
    () =>
      parseConfig(
        {
          listen: 'nowhere',
          dataDir: 'd',
          repos: [{ url: 'u', name: 'no-slash' }],
          extra: 1,
          image: { secret: { env: 'IMG' }, maxAttempts: 0 },
        },
        'w.yaml',
        '/',
        { IMG: 'super-secret-value' },
      ),
    { instanceOf: ConfigError },
  );
  const msg = err?.message ?? '';
  t.regex(msg, /listen: must match pattern/);
  t.regex(msg, /repos\[0\]\.branch: required/);
  t.regex(msg, /repos\[0\]\.name: must match pattern/);
  t.regex(msg, /extra: unknown key/);
  t.regex(msg, /image\.maxAttempts: must be >= 1/);
  t.notRegex(msg, /super-secret-value/);
});

test('image.repo must name a configured repo; unset env and unreadable files are named', (t) => {
  const err = t.throws(
    () =>
      parseConfig(
        {
          listen: ':1',
          dataDir: 'd',
          repos,
          image: { secret: { file: '/nonexistent/s' }, repo: 'acme/other' },
          github: { secret: { env: 'UNSET' } },
        },
        'w.yaml',
        '/',
        {},
      ),
    { instanceOf: ConfigError },
  );
  t.regex(err?.message ?? '', /image\.repo: acme\/other is not one of repos\[\]\.name/);
  t.regex(err?.message ?? '', /github\.secret: environment variable UNSET is not set/);
  t.regex(err?.message ?? '', /image\.secret: cannot read secret file \/nonexistent\/s \(ENOENT\)/);
});
