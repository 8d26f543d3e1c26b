/**
 * `GET /runs` is a conditional GET and, with `?wait=`, a long poll (what the console relies on to
 * cost nothing while nothing changes): an ETag that moves with the store, 304 to a matching
 * If-None-Match, 200 with the new runs after a change, a held request answered when a run changes,
 * after its wait, or at shutdown — over real HTTP, with a real git remote and pipeline run.
 */
import test from 'ava';
import { GitopsClient, type RunRecord } from '../../services/gitops/index.js';
import {
  API_TOKEN,
  devCommit,
  eventually,
  makeRemote,
  postGithub,
  pushFromExample,
  startService,
  tempDir,
  testConfig,
} from './helpers.js';
import { within } from '../helpers/eventually.js';

const get = (url: string, headers: Record<string, string> = {}, token: string | null = API_TOKEN) =>
  fetch(url, { headers: { ...headers, ...(token ? { authorization: `Bearer ${token}` } : {}) } });

test('GET /runs answers 304 to a matching If-None-Match, and 200 with the new runs after a change', async (t) => {
  const remote = await makeRemote(t);
  const dataDir = await tempDir(t);
  const service = await startService(t, testConfig(remote, dataDir));
  const runsUrl = `${service.url}/runs?limit=100`;

  const first = await get(runsUrl);
  t.is(first.status, 200);
  const etag = first.headers.get('etag');
  t.truthy(etag, 'an ETag on /runs');
  t.is(first.headers.get('cache-control'), 'no-cache');
  t.deepEqual(((await first.json()) as { runs: RunRecord[] }).runs, []);

  // Unchanged: 304 with no body, whichever form of the tag the client sends back.
  for (const inm of [etag!, `W/${etag!}`, `"something-else", ${etag!}`, '*']) {
    const again = await get(runsUrl, { 'if-none-match': inm });
    t.is(again.status, 304, inm);
    t.is(await again.text(), '', inm);
    t.is(again.headers.get('etag'), etag, inm);
  }
  // Another tag, or another page size (another representation): the full answer.
  t.is((await get(runsUrl, { 'if-none-match': '"something-else"' })).status, 200);
  t.is((await get(`${service.url}/runs?limit=1`, { 'if-none-match': etag! })).status, 200);
  // The token is checked before the tag: no 304 for a caller who may not read the runs.
  t.is((await get(runsUrl, { 'if-none-match': etag! }, null)).status, 401);
  t.is((await get(runsUrl, { 'if-none-match': etag! }, 'wrong-token')).status, 401);

  // A push: the run appears under a new tag.
  const commit = await devCommit(remote, 'notes/a.txt', 'a\n');
  t.is((await postGithub(service.url, await pushFromExample(remote, commit))).status, 202);
  const changed = await eventually(async () => {
    const r = await get(runsUrl, { 'if-none-match': etag! });
    if (r.status === 304) return undefined;
    t.is(r.status, 200);
    const runs = ((await r.json()) as { runs: RunRecord[] }).runs;
    return runs.length > 0 ? { etag: r.headers.get('etag'), runs } : undefined;
  }, 'the run under a new ETag');
  t.not(changed.etag, etag);
  t.is(changed.runs[0]?.commit, commit);

  // The typed client: the finished run once, then `unchanged` until something changes again.
  const client = new GitopsClient(service.url, API_TOKEN, 10_000);
  const done = await eventually(async () => {
    const r = await client.listRunsIfChanged(undefined);
    if (r.unchanged) return t.fail('no ETag sent: never unchanged');
    return r.runs[0]?.status !== 'running' ? r : undefined;
  }, 'the run finished');
  t.truthy(done.etag);
  // After the run the service may still write its bookkeeping (a notification outbox): the tag settles.
  const settled = await eventually(async () => {
    const a = await client.listRunsIfChanged(undefined);
    if (a.unchanged) return undefined;
    const b = await client.listRunsIfChanged(a.etag);
    return b.unchanged ? a : undefined;
  }, 'an unchanged answer');
  t.is(settled.runs[0]?.id, done.runs[0]?.id);
  t.deepEqual(await client.listRunsIfChanged(settled.etag), { unchanged: true });
  t.deepEqual(await client.listRuns(), settled.runs, 'the unconditional list is the same');
});

test('a restarted service never answers 304 to a tag of the process before it', async (t) => {
  const remote = await makeRemote(t);
  const dataDir = await tempDir(t);
  const config = testConfig(remote, dataDir);
  const one = await startService(t, config);
  const etag = (await get(`${one.url}/runs`)).headers.get('etag');
  t.truthy(etag);
  await one.close(2000);
  const two = await startService(t, config);
  const r = await get(`${two.url}/runs`, { 'if-none-match': etag! });
  t.is(r.status, 200, 'same database, same (empty) runs, but a new process: a new tag');
  t.not(r.headers.get('etag'), etag);
});

test('GET /runs?wait holds an unchanged request until a run changes, and answers 304 when its wait ends', async (t) => {
  const remote = await makeRemote(t);
  const service = await startService(t, testConfig(remote, await tempDir(t)));
  const runsUrl = `${service.url}/runs?limit=100`;
  const etag = (await get(runsUrl)).headers.get('etag')!;

  // Nothing changes: a short wait ends in a 304 with the same tag, and nothing stays held.
  const quiet = await get(`${runsUrl}&wait=0.2`, { 'if-none-match': etag });
  t.is(quiet.status, 304);
  t.is(quiet.headers.get('etag'), etag);
  t.is(service.store.changes.size, 0);
  // A tag that is not current: answered at once, however long the wait.
  t.is((await get(`${runsUrl}&wait=60`, { 'if-none-match': '"old"' })).status, 200);
  // The wait is checked (a Status naming the parameter) before anything is held.
  for (const bad of ['soon', '-1', '61']) {
    const r = await get(`${runsUrl}&wait=${bad}`, { 'if-none-match': etag });
    t.is(r.status, 400, bad);
    t.regex(((await r.json()) as { message: string }).message, /^wait: must be a number of seconds/);
  }
  // The token is checked before a request is held.
  t.is((await get(`${runsUrl}&wait=60`, { 'if-none-match': etag }, 'wrong-token')).status, 401);

  // Held (60 s), then a push: the typed client is answered with each change as it happens, well
  // before its wait ends, until the run has finished.
  const client = new GitopsClient(service.url, API_TOKEN, 10_000);
  const first = client.listRunsIfChanged(etag, 100, { waitSeconds: 60 });
  await eventually(() => (service.store.changes.size === 1 ? true : undefined), 'the request held');
  const commit = await devCommit(remote, 'notes/a.txt', 'a\n');
  t.is((await postGithub(service.url, await pushFromExample(remote, commit))).status, 202);
  let answer = await within(first, 30_000, 'the held request after the push');
  for (;;) {
    if (answer.unchanged) return t.fail('a held request was answered 304 although the runs changed');
    t.not(answer.etag, etag);
    if (answer.runs[0]?.commit === commit && answer.runs[0].status !== 'running') break;
    answer = await within(
      client.listRunsIfChanged(answer.etag, 100, { waitSeconds: 60 }),
      30_000,
      'the next change of the run',
    );
  }
  t.is(answer.runs.length, 1);
});

test('a held GET /runs is dropped when its client goes away, and answered at once when the service shuts down', async (t) => {
  const remote = await makeRemote(t);
  const service = await startService(t, testConfig(remote, await tempDir(t)));
  const runsUrl = `${service.url}/runs?limit=100&wait=60`;
  const etag = (await get(runsUrl)).headers.get('etag')!;

  const gone = new AbortController();
  const abandoned = fetch(runsUrl, {
    headers: { authorization: `Bearer ${API_TOKEN}`, 'if-none-match': etag },
    signal: gone.signal,
  }).catch(() => 'aborted');
  await eventually(() => (service.store.changes.size === 1 ? true : undefined), 'the request held');
  gone.abort();
  t.is(await abandoned, 'aborted');
  await eventually(() => (service.store.changes.size === 0 ? true : undefined), 'the held request dropped');

  const held = get(runsUrl, { 'if-none-match': etag });
  await eventually(() => (service.store.changes.size === 1 ? true : undefined), 'the request held');
  await within(service.close(2000), 30_000, 'shutdown with a request held for 60 s');
  const r = await within(held, 5_000, 'the held request at shutdown');
  t.is(r.status, 304);
  t.is(r.headers.get('connection'), 'close');
});
