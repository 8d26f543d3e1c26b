/**
 * `GET /runs` is a conditional GET (what the console's poll relies on to cost next to nothing
 * while nothing changes): an ETag that moves with the store, 304 to a matching If-None-Match,
 * 200 with the new runs after a change — over real HTTP, with a real git remote and pipeline run.
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
