import test from 'ava';
import { createHmac } from 'node:crypto';
import { chmod, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Webhooks } from '@octokit/webhooks';
import {
  BRANCH,
  devCommit,
  GITHUB_SECRET,
  makeRemote,
  postImage,
  remoteFile,
  remoteLog,
  startService,
  tempDir,
  testConfig,
} from './helpers.js';

const FILE = 'templates/images/acme/web/master.yaml';

test('an image webhook makes exactly one commit with the new image, keeping comments and quoting', async (t) => {
  const remote = await makeRemote(t);
  const service = await startService(t, testConfig(remote, await tempDir(t)));
  const before = await remoteLog(remote);
  const res = await postImage(service.url, {
    image: 'registry.example/acme/web:master-1a2b3c4',
    repository: 'acme/web',
    branch: 'master',
    commit: '1a2b3c4d5e',
    message: 'feat: faster',
  });
  t.is(res.status, 200);
  t.is(res.body.status, 'committed');
  t.is(res.body.previous, 'registry.example/acme/web:master-0000000');
  const after = await remoteLog(remote);
  t.is(after.length, before.length + 1);
  t.is(after[0]?.hash, res.body.commit as string);
  t.regex(
    after[0]?.message ?? '',
    /registry\.example\/acme\/web:master-0000000 → registry\.example\/acme\/web:master-1a2b3c4/,
  );
  t.regex(after[0]?.body ?? '', /Source commit: 1a2b3c4d5e/);
  t.is(
    await remoteFile(remote, FILE),
    "# pinned by CI: kitfed image-deployer rewrites only the value below\nimage: 'registry.example/acme/web:master-1a2b3c4' # current\n",
  );
});

test('the same image twice makes no second commit', async (t) => {
  const remote = await makeRemote(t);
  const service = await startService(t, testConfig(remote, await tempDir(t)));
  const body = {
    image: 'registry.example/acme/web:master-2b3c4d5',
    repository: 'acme/web',
    branch: 'master',
    commit: '2b3c4d5',
  };
  t.is((await postImage(service.url, body)).body.status, 'committed');
  const count = (await remoteLog(remote)).length;
  const again = await postImage(service.url, body);
  t.is(again.status, 200);
  t.is(again.body.status, 'unchanged');
  t.is((await remoteLog(remote)).length, count);
});

test('a new service branch creates its image file', async (t) => {
  const remote = await makeRemote(t);
  const service = await startService(t, testConfig(remote, await tempDir(t)));
  const res = await postImage(service.url, {
    image: 'registry.example/acme/api:feature-x-abcdef1',
    repository: 'acme/api',
    branch: 'feature/x',
    commit: 'abcdef1',
  });
  t.is(res.body.status, 'committed');
  t.is(res.body.path, 'templates/images/acme/api/feature-x.yaml');
  t.is(
    await remoteFile(remote, 'templates/images/acme/api/feature-x.yaml'),
    'image: registry.example/acme/api:feature-x-abcdef1\n',
  );
});

test('50 concurrent image webhooks for 50 services all land, in far fewer than 50 commits', async (t) => {
  const remote = await makeRemote(t);
  const service = await startService(t, testConfig(remote, await tempDir(t)));
  const before = (await remoteLog(remote)).length;
  const n = 50;
  const replies = await Promise.all(
    Array.from({ length: n }, (_, i) =>
      postImage(service.url, {
        image: `registry.example/acme/svc-${i}:master-${String(i).padStart(7, 'a')}`,
        repository: `acme/svc-${i}`,
        branch: 'master',
        commit: 'abcdef0',
      }),
    ),
  );
  t.deepEqual(
    replies.map((r) => r.status),
    Array<number>(n).fill(200),
  );
  t.true(replies.every((r) => r.body.status === 'committed'));
  for (let i = 0; i < n; i++) {
    t.is(
      await remoteFile(remote, `templates/images/acme/svc-${i}/master.yaml`),
      `image: registry.example/acme/svc-${i}:master-${String(i).padStart(7, 'a')}\n`,
    );
  }
  const commits = (await remoteLog(remote)).length - before;
  t.log(`${n} bumps → ${commits} commits`);
  t.true(commits <= 10, `${commits} commits`);
  t.true(commits >= 1);
});

test('a foreign push to the branch between fetch and push is rebased over and the bump lands', async (t) => {
  const remote = await makeRemote(t);
  const service = await startService(t, testConfig(remote, await tempDir(t)));
  // Prime the writer's clone, then move the branch under it.
  t.is(
    (
      await postImage(service.url, {
        image: 'registry.example/acme/web:master-1111111',
        repository: 'acme/web',
        branch: 'master',
        commit: '1111111',
      })
    ).body.status,
    'committed',
  );
  const foreign = await devCommit(remote, 'clusters/east/notes.txt', 'hand edit\n', 'foreign: a human edits the repo');
  const res = await postImage(service.url, {
    image: 'registry.example/acme/web:master-2222222',
    repository: 'acme/web',
    branch: 'master',
    commit: '2222222',
  });
  t.is(res.status, 200);
  t.is(res.body.status, 'committed');
  const log = await remoteLog(remote);
  t.is(log[0]?.hash, res.body.commit as string);
  t.is(log[1]?.hash, foreign);
  t.is(await remoteFile(remote, 'clusters/east/notes.txt'), 'hand edit\n');
  t.regex(await remoteFile(remote, FILE), /master-2222222/);
});

test('a push racing the writer (non-fast-forward) is rebased and retried', async (t) => {
  const remote = await makeRemote(t);
  const service = await startService(
    t,
    testConfig(remote, await tempDir(t), { image: { secret: { env: 'T_IMG' }, maxAttempts: 12 } }),
  );
  // Many foreign pushes interleaved with bumps: every bump lands and every foreign commit stays.
  const foreign: Array<Promise<string>> = [];
  const bumps = [];
  for (let i = 0; i < 5; i++) {
    bumps.push(
      postImage(service.url, {
        image: `registry.example/acme/r${i}:master-abcdef${i}`,
        repository: `acme/r${i}`,
        branch: 'master',
        commit: `abcdef${i}`,
      }),
    );
    foreign.push(devCommit(remote, `notes/${i}.txt`, `${i}\n`));
    await foreign[i];
  }
  const replies = await Promise.all(bumps);
  t.true(
    replies.every((r) => r.status === 200 && r.body.status === 'committed'),
    JSON.stringify(replies.map((r) => r.body)),
  );
  for (let i = 0; i < 5; i++) {
    t.is(await remoteFile(remote, `notes/${i}.txt`), `${i}\n`);
    t.regex(await remoteFile(remote, `templates/images/acme/r${i}/master.yaml`), new RegExp(`master-abcdef${i}`));
  }
});

test('unsigned, wrongly signed and malformed image webhooks are refused and commit nothing', async (t) => {
  const remote = await makeRemote(t);
  const service = await startService(t, testConfig(remote, await tempDir(t)));
  const count = (await remoteLog(remote)).length;
  const body = {
    image: 'registry.example/acme/web:master-3333333',
    repository: 'acme/web',
    branch: 'master',
    commit: '3333333',
  };
  t.is((await postImage(service.url, body, null)).status, 401);
  t.is((await postImage(service.url, body, 'wrong-secret')).status, 401);
  const bad = await postImage(service.url, { ...body, repository: '../../etc' });
  t.is(bad.status, 400);
  const missing = await postImage(service.url, { image: body.image, repository: 'acme/web', branch: 'master' });
  t.is(missing.status, 400);
  t.regex(String(missing.body.message), /commit/);
  t.is((await remoteLog(remote)).length, count);
});

test('a missing manifests repo is a permanent error: 502 at once, not retried', async (t) => {
  const remote = await makeRemote(t);
  const config = testConfig(remote, await tempDir(t));
  config.repos[0] = { ...config.repos[0]!, url: `${remote.tmp}/does-not-exist.git` };
  const service = await startService(t, config);
  const res = await postImage(service.url, {
    image: 'registry.example/acme/web:master-4444444',
    repository: 'acme/web',
    branch: 'master',
    commit: '4444444',
  });
  t.is(res.status, 502);
  t.regex(String(res.body.message), /not retried/);
});

test('a GitHub package (container published) event bumps the image, verified as a GitHub webhook', async (t) => {
  const remote = await makeRemote(t);
  const service = await startService(t, testConfig(remote, await tempDir(t)));
  const event = {
    action: 'published',
    package: {
      name: 'web',
      package_type: 'CONTAINER',
      owner: { login: 'Acme' },
      package_version: {
        container_metadata: {
          tag: { name: 'master-5555555', digest: 'sha256:00' },
          labels: { all_labels: { 'org.opencontainers.image.revision': '5555555aaaa' } },
        },
      },
    },
  };
  const raw = JSON.stringify(event);
  const send = async (headers: Record<string, string>): Promise<Response> =>
    fetch(`${service.url}/hooks/image`, {
      method: 'POST',
      body: raw,
      headers: {
        'content-type': 'application/json',
        'x-github-event': 'package',
        'x-github-delivery': 'd-1',
        ...headers,
      },
    });
  t.is(
    (await send({ 'x-hub-signature': `sha1=${createHmac('sha1', GITHUB_SECRET).update(raw).digest('hex')}` })).status,
    401,
  );
  const res = await send({ 'x-hub-signature-256': await new Webhooks({ secret: GITHUB_SECRET }).sign(raw) });
  t.is(res.status, 200);
  t.is(((await res.json()) as { status: string }).status, 'committed');
  t.is(
    await remoteFile(remote, 'templates/images/acme/web/master.yaml').then((s) =>
      /ghcr\.io\/acme\/web:master-5555555/.test(s),
    ),
    true,
  );
  t.is(BRANCH, 'main');
});

async function hook(remote: { url: string }, script: string): Promise<void> {
  const file = join(remote.url, 'hooks', 'pre-receive');
  await writeFile(file, `#!/bin/sh\n${script}\n`);
  await chmod(file, 0o755);
}

test('a branch that keeps moving exhausts the bounded retries with a clear 503', async (t) => {
  const remote = await makeRemote(t);
  // Another writer always lands first: the hook moves main just before each of our pushes applies.
  await hook(
    remote,
    [
      'unset GIT_QUARANTINE_PATH GIT_OBJECT_DIRECTORY GIT_ALTERNATE_OBJECT_DIRECTORIES',
      'tip=$(git rev-parse refs/heads/main)',
      'c=$(echo busy | GIT_AUTHOR_NAME=b GIT_AUTHOR_EMAIL=b@b GIT_COMMITTER_NAME=b GIT_COMMITTER_EMAIL=b@b git commit-tree -p "$tip" "$tip^{tree}")',
      'git update-ref refs/heads/main "$c" "$tip"',
    ].join('\n'),
  );
  const service = await startService(
    t,
    testConfig(remote, await tempDir(t), { image: { secret: { env: 'T_IMG' }, maxAttempts: 3 } }),
  );
  const res = await postImage(service.url, {
    image: 'registry.example/acme/web:master-6666666',
    repository: 'acme/web',
    branch: 'master',
    commit: '6666666',
  });
  t.is(res.status, 503);
  t.regex(String(res.body.message), /image bump not pushed after 3 attempts to branch main/);
  t.notRegex(await remoteFile(remote, FILE), /6666666/);
});

test('a push refused by policy (hook declined, protected branch) is permanent: 502, not retried', async (t) => {
  const remote = await makeRemote(t);
  await hook(remote, 'echo "GH006: Protected branch update failed for refs/heads/main." >&2\nexit 1');
  const service = await startService(t, testConfig(remote, await tempDir(t)));
  const res = await postImage(service.url, {
    image: 'registry.example/acme/web:master-6666666',
    repository: 'acme/web',
    branch: 'master',
    commit: '6666666',
  });
  t.is(res.status, 502);
  t.regex(String(res.body.message), /not retried.*(hook declined|Protected branch)/);
});

test("kit's own kit.yaml (/manifests mount paths, a custom images.property) decides where and what is written", async (t) => {
  const remote = await makeRemote(t);
  await devCommit(
    remote,
    'kit.yaml',
    [
      "version: '2'",
      'base: {path: /manifests/templates}',
      'images: {path: /manifests/images, property: ref}',
      'type: {path: /manifests/templates/type}',
      'cluster: {path: /manifests/clusters}',
      'resources: {path: /manifests/templates/resources}',
      '',
    ].join('\n'),
  );
  const service = await startService(t, testConfig(remote, await tempDir(t)));
  const res = await postImage(service.url, {
    image: 'quay.io/invision/node-test:master-9ce261f',
    repository: 'invision/node-test',
    branch: 'master',
    commit: '9ce261f',
  });
  t.is(res.body.path, 'images/invision/node-test/master.yaml');
  t.is(
    await remoteFile(remote, 'images/invision/node-test/master.yaml'),
    'ref: quay.io/invision/node-test:master-9ce261f\n',
  );
});

test('a bump whose image file is not a YAML mapping fails alone; the rest of its batch lands', async (t) => {
  const remote = await makeRemote(t);
  await devCommit(remote, 'templates/images/acme/broken/master.yaml', '- not\n- a mapping\n');
  const service = await startService(t, testConfig(remote, await tempDir(t)));
  const [bad, ...good] = await Promise.all([
    postImage(service.url, {
      image: 'registry.example/acme/broken:master-abcdef0',
      repository: 'acme/broken',
      branch: 'master',
      commit: 'abcdef0',
    }),
    ...[1, 2, 3].map((i) =>
      postImage(service.url, {
        image: `registry.example/acme/ok-${i}:master-abcdef${i}`,
        repository: `acme/ok-${i}`,
        branch: 'master',
        commit: `abcdef${i}`,
      }),
    ),
  ]);
  t.is(bad?.status, 502);
  t.regex(
    String(bad?.body.message),
    /templates\/images\/acme\/broken\/master\.yaml: only YAML mappings can be updated/,
  );
  t.deepEqual(
    good.map((g) => g.body.status),
    ['committed', 'committed', 'committed'],
  );
  t.is(await remoteFile(remote, 'templates/images/acme/broken/master.yaml'), '- not\n- a mapping\n');
});
