/**
 * The console's runs and sandbox states arrive by long poll, not by polling: with a browser
 * stream open, the console server holds one request at the webhook service (with the user's
 * token) and one at the sandbox admin; a pipeline run and a sandbox fault reach the stream as they
 * happen; closing the last stream drops the held requests at once. Real parts: a federation API
 * server, a webhook service with a git remote, sandbox clusters, the console server, over HTTP.
 */
import test from 'ava';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFederationApiServer } from '../../services/apiserver/run.js';
import { federationAccess, startConsoleServer, type StreamMessage } from '../../services/console/index.js';
import { startSandbox } from '../../services/sandbox/index.js';
import { eventually } from '../helpers/eventually.js';
import { streamMessages } from './stream.js';
import {
  devCommit,
  makeRemote,
  postGithub,
  pushFromExample,
  startService,
  tempDir,
  testConfig,
} from '../gitops/helpers.js';

/** An open `api/stream`: every message so far, and `close()`. */
function openStream(url: string, token: string): { msgs: StreamMessage[]; close: () => void; ended: Promise<void> } {
  const ctrl = new AbortController();
  const msgs: StreamMessage[] = [];
  const ended = (async () => {
    const res = await fetch(`${url}api/stream`, { headers: { Authorization: `Bearer ${token}` }, signal: ctrl.signal });
    if (!res.ok || !res.body) throw new Error(`stream: HTTP ${res.status}`);
    for await (const m of streamMessages(res.body)) msgs.push(m);
  })().catch((err: unknown) => {
    if (!ctrl.signal.aborted) throw err;
  });
  return { msgs, close: () => ctrl.abort(), ended };
}

test('runs and sandbox states reach the stream by long poll as they change; closing the last stream drops the held requests', async (t) => {
  t.timeout(4 * 60_000);
  const dir = await mkdtemp(join(tmpdir(), 'kitfed-console-follow-'));
  const fed = await startFederationApiServer({ listen: '127.0.0.1:0', dataDir: dir });
  t.teardown(async () => {
    await fed.server.close();
    await rm(dir, { recursive: true, force: true });
  });
  const access = federationAccess({ text: fed.kubeconfig });
  const token = access.token!;
  const remote = await makeRemote(t);
  // As `kitfed up` does: the webhook service also accepts the federation token the console forwards.
  const service = await startService(
    t,
    testConfig(remote, await tempDir(t), {
      api: { token: [{ env: 'T_API' }, { env: 'T_FED' }] },
      env: { T_FED: token },
    }),
  );
  const sandbox = await startSandbox({ clusters: [{ name: 'm1', region: 'r1' }], readyDelayMs: 50, adminPort: 0 });
  t.teardown(() => sandbox.close());
  const console = await startConsoleServer({
    port: 0,
    federation: access,
    webhooksUrl: service.url,
    sandboxAdminUrl: sandbox.adminUrl!,
    lingerMs: 200,
  });
  t.teardown(() => console.close());

  const stream = openStream(console.url, token);
  const last = <T extends StreamMessage['type']>(type: T) =>
    stream.msgs.findLast((m): m is Extract<StreamMessage, { type: T }> => m.type === type);
  await eventually(() => last('runs') !== undefined && last('sandbox') !== undefined, 60_000);
  t.deepEqual(last('runs')?.runs, []);
  t.like(last('sandbox')?.clusters[0], { name: 'm1', faults: { down: false } });
  // Nothing is changing: the console waits at the webhook service instead of asking again.
  await eventually(() => service.store.changes.size === 1, 30_000);

  const commit = await devCommit(remote, 'notes/a.txt', 'a\n');
  t.is((await postGithub(service.url, await pushFromExample(remote, commit))).status, 202);
  await eventually(() => {
    const run = last('runs')?.runs[0];
    return run?.commit === commit && run.status !== 'running';
  }, 60_000);
  t.is(stream.msgs.filter((m) => m.type === 'runs-error').length, 0);

  await sandbox.cluster('m1').fault('hang');
  await eventually(() => last('sandbox')?.clusters[0]?.faults.hang === true, 30_000);
  await sandbox.cluster('m1').fault('up');
  await eventually(() => last('sandbox')?.clusters[0]?.faults.hang === false, 30_000);

  // The last tab closes: the console server stops following at once (not after the feed's linger).
  await eventually(() => service.store.changes.size === 1, 30_000);
  stream.close();
  await stream.ended;
  await eventually(() => service.store.changes.size === 0, 30_000);
});
