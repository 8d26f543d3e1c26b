import test from 'ava';
import {
  API_TOKEN,
  getJson,
  makeRemote,
  OLD_GITHUB_SECRET,
  postGithub,
  pushFromExample,
  startService,
  tempDir,
  testConfig,
} from './helpers.js';

const SHA = 'a'.repeat(40);

async function setup(t: Parameters<typeof makeRemote>[0]) {
  const remote = await makeRemote(t);
  // No worker may pick events up: these tests look at the queue itself.
  const service = await startService(t, testConfig(remote, await tempDir(t)), {
    steps: {
      // Blocks until the service stops, so events stay queued for inspection.
      fetch: (ctx) =>
        new Promise((_, reject) => ctx.signal.addEventListener('abort', () => reject(new Error('stopped')))),
      render: () => Promise.reject(new Error('unused')),
      deploy: undefined,
      isAncestor: () => Promise.resolve(false),
      cleanup: () => Promise.resolve(),
    },
  });
  return { remote, service };
}

test('unsigned, wrongly signed and SHA-1-only push deliveries get 401 and persist nothing', async (t) => {
  const { remote, service } = await setup(t);
  const push = await pushFromExample(remote, SHA);
  t.is((await postGithub(service.url, push, { secret: undefined })).status, 401);
  t.is((await postGithub(service.url, push, { secret: 'not-the-secret' })).status, 401);
  const sha1 = await postGithub(service.url, push, { sha1Only: true });
  t.is(sha1.status, 401);
  t.regex(String(sha1.body.message), /X-Hub-Signature-256 is required/);
  t.deepEqual(service.store.events(), []);
});

test('a signed push from the GitHub example payload is persisted and answered 202; its replay is 200 duplicate', async (t) => {
  const { remote, service } = await setup(t);
  const push = await pushFromExample(remote, SHA);
  const first = await postGithub(service.url, push);
  t.is(first.status, 202);
  t.true(first.body.accepted);
  const replay = await postGithub(service.url, push, { delivery: first.delivery });
  t.is(replay.status, 200);
  t.deepEqual(replay.body, { duplicate: true, by: 'delivery', eventId: first.body.eventId });
  const sameCommit = await postGithub(service.url, push);
  t.is(sameCommit.status, 200);
  t.is(sameCommit.body.by, 'commit');
  t.is(service.store.events().length, 1);
});

test('a secret being rotated out is still accepted', async (t) => {
  const { remote, service } = await setup(t);
  const res = await postGithub(service.url, await pushFromExample(remote, SHA), { secret: OLD_GITHUB_SECRET });
  t.is(res.status, 202);
});

test('ping is answered; pushes to other repos, branches, tags and deletions are ignored', async (t) => {
  const { remote, service } = await setup(t);
  t.is(
    (await postGithub(service.url, { zen: 'Keep it logically awesome.', hook_id: 1 }, { event: 'ping' })).status,
    200,
  );
  const push = await pushFromExample(remote, SHA);
  const other = { ...push, repository: { ...push.repository, full_name: 'someone/else' } };
  t.regex(String((await postGithub(service.url, other)).body.ignored), /not configured/);
  t.regex(
    String((await postGithub(service.url, { ...push, ref: 'refs/heads/dev' })).body.ignored),
    /not the configured branch/,
  );
  t.regex(
    String((await postGithub(service.url, { ...push, ref: 'refs/tags/v1' })).body.ignored),
    /not the configured branch/,
  );
  t.regex(
    String((await postGithub(service.url, { ...push, after: '0'.repeat(40), deleted: true })).body.ignored),
    /deletion/,
  );
  t.deepEqual(service.store.events(), []);
});

test('a burst of pushes for one repo+ref coalesces to the newest commit', async (t) => {
  const { remote, service } = await setup(t);
  // The first event is claimed by the (blocked) worker; the rest queue and coalesce.
  const shas = Array.from({ length: 6 }, (_, i) => String(i + 1).repeat(40));
  for (const sha of shas) t.is((await postGithub(service.url, await pushFromExample(remote, sha))).status, 202);
  const events = service.store.events();
  t.is(events.length, 6);
  const pending = events.filter((e) => e.status === 'pending');
  t.deepEqual(
    pending.map((e) => e.after),
    [shas[5]],
  );
  t.is(events.filter((e) => e.status === 'superseded').length, 4);
});

test('GET /healthz, /metrics and an unknown run answer', async (t) => {
  const { remote, service } = await setup(t);
  await postGithub(service.url, await pushFromExample(remote, SHA), { secret: 'wrong' });
  const health = await getJson(`${service.url}/healthz`);
  t.is(health.status, 200);
  t.is(health.body.status, 'ok');
  const metrics = await (
    await fetch(`${service.url}/metrics`, { headers: { authorization: `Bearer ${API_TOKEN}` } })
  ).text();
  t.regex(metrics, /kitfed_webhook_deliveries_total\{hook="github",result="rejected"\} 1/);
  t.is((await getJson(`${service.url}/runs/999`)).status, 404);
  t.deepEqual((await getJson(`${service.url}/runs`)).body, { runs: [] });
});
