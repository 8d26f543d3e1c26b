import test from 'ava';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { verifyImageSignature } from '../../services/image-deployer/image-hook.js';
import {
  API_TOKEN,
  eventually,
  getJson,
  makeRemote,
  NOTIFY_SECRET,
  postGithub,
  postJson,
  pushFromExample,
  devCommit,
  startService,
  tempDir,
  testConfig,
} from './helpers.js';
import { finished, fleet, pushImage, recorder, rolloutService, runWhen, type Recorded } from './rollout-helpers.js';

const V = (tag: string): string => `registry.example/acme/web:${tag}`;

const GH_STATES = new Set(['pending', 'success', 'failure', 'error']);

/** What GitHub checks on POST /repos/{owner}/{repo}/statuses/{sha}; a request it would refuse is a 422. */
function githubAnswer(r: Recorded): { status: number; body: unknown } {
  const m = /^\/api\/v3\/repos\/acme\/manifests\/statuses\/([0-9a-f]{40})$/.exec(r.path);
  let body: Record<string, unknown> = {};
  try {
    body = JSON.parse(r.body) as Record<string, unknown>;
  } catch {
    return { status: 400, body: { message: 'Problems parsing JSON' } };
  }
  const ok =
    r.method === 'POST' &&
    m &&
    r.headers.authorization === 'token gh-status-token' &&
    String(r.headers.accept).includes('application/vnd.github') &&
    GH_STATES.has(String(body.state)) &&
    typeof body.context === 'string' &&
    (body.description === undefined || (typeof body.description === 'string' && body.description.length <= 140));
  return ok
    ? { status: 201, body: { id: 1, state: body.state } }
    : { status: 422, body: { message: 'Validation Failed' } };
}

test.serial(
  'statuses and notifications: a GitHub commit status per stage (Enterprise API URL), Slack messages, signed stage events',
  async (t) => {
    const gh = await recorder(t, githubAnswer);
    const slack = await recorder(t, () => ({ status: 200, body: 'ok' }));
    const hook = await recorder(t);
    const f = await fleet(
      t,
      {
        stages: [
          { name: 'staging', clusters: { types: ['staging'] } },
          { name: 'production', bake: '300ms' },
        ],
      },
      { stg: 'staging', p1: 'production' },
    );
    const service = await rolloutService(t, f, {
      notify: {
        url: `${hook.url}/kitfed`,
        secret: { env: 'T_NOTIFY' },
        slack: { url: { env: 'T_SLACK' } },
        github: {
          token: { env: 'T_GH_TOKEN' },
          apiUrl: `${gh.url}/api/v3`,
          targetUrl: 'https://kitfed.example/runs/{run}',
        },
      },
      env: { T_SLACK: `${slack.url}/services/T000/B000/XXXX` },
    });
    t.is(service.wiring.notify, 'webhook, slack, github');
    const good = await pushImage(f, service, V('v2'));
    const run = await runWhen(service.url, good, finished, 'the rollout');
    t.is(run.status, 'succeeded', run.error ?? '');
    const bad = await pushImage(f, service, V('crash-v3'));
    const failed = await runWhen(service.url, bad, finished, 'the failing rollout');
    t.is(failed.status, 'failed');
    await eventually(
      () => (slack.got.some((r) => r.body.includes(':rewind:')) ? true : undefined),
      'the rollback message on Slack',
    );

    const statuses = (sha: string) =>
      gh.got
        .filter((r) => r.path.endsWith(sha))
        .map((r) => JSON.parse(r.body) as { state: string; context: string; description: string; target_url?: string });
    t.true(
      gh.got.every((r) => githubAnswer(r).status === 201),
      'every request is one GitHub accepts',
    );
    const last = (sha: string, context: string) =>
      statuses(sha)
        .filter((s) => s.context === context)
        .at(-1)?.state;
    const seq = (sha: string, context: string) =>
      statuses(sha)
        .filter((s) => s.context === context)
        .map((s) => s.state);
    t.is(last(good, 'kitfed/rollout/staging'), 'success');
    t.is(last(good, 'kitfed/rollout/production'), 'success');
    t.is(seq(good, 'kitfed/rollout/production')[0], 'pending', 'pending while waiting for earlier stages');
    t.true(statuses(good).every((s) => s.target_url === `https://kitfed.example/runs/${run.id}`));
    t.is(last(bad, 'kitfed/rollout/staging'), 'failure');
    t.is(last(bad, 'kitfed/rollout/production'), 'error', 'a stage that never started is an error, not left pending');
    t.regex(statuses(bad).find((s) => s.state === 'failure')?.description ?? '', /CrashLoopBackOff/);

    const texts = slack.got.map((r) => (JSON.parse(r.body) as { text: string }).text);
    t.true(
      texts.some((x) =>
        /:white_check_mark: acme\/manifests [0-9a-f]{12} \(run \d+\): stage staging succeeded on stg/.test(x),
      ),
    );
    t.true(texts.some((x) => x.includes(':rocket:') && x.includes('rollout succeeded')));
    t.true(texts.some((x) => x.startsWith(':x:') && x.includes('stage staging failed')));
    t.true(texts.some((x) => x.startsWith(':rewind:') && x.includes('stg rolled back to')));
    t.false(slack.got.some((r) => r.body.includes('gh-status-token')));

    await eventually(
      () =>
        hook.got.some((r) => r.headers['x-kitfed-event'] === 'run.finished' && r.body.includes(`"id":${failed.id}`))
          ? true
          : undefined,
      'the last run.finished',
    );
    t.true(
      hook.got.every((r) =>
        verifyImageSignature([NOTIFY_SECRET], Buffer.from(r.body), r.headers['x-kitfed-signature-256'] as string),
      ),
    );
    const stageEvents = hook.got
      .filter((r) => r.headers['x-kitfed-event'] === 'rollout.stage')
      .map((r) => JSON.parse(r.body) as { run: { id: number }; stage: { name: string; state: string } });
    t.deepEqual(
      stageEvents.filter((e) => e.run.id === run.id).map((e) => `${e.stage.name}:${e.stage.state}`),
      [
        'staging:Progressing',
        'staging:Succeeded',
        'production:Progressing',
        'production:Baking',
        'production:Succeeded',
      ],
    );
    t.true(
      new Set(hook.got.map((r) => r.headers['x-kitfed-delivery'])).size === hook.got.length,
      'one delivery id each',
    );
  },
);

test.serial(
  'the read and control API needs the bearer token; /healthz stays open; /hooks keep their signatures; a generated token is written 0600',
  async (t) => {
    const remote = await makeRemote(t);
    const dataDir = await tempDir(t);
    const service = await startService(t, testConfig(remote, dataDir));
    const commit = await devCommit(remote, 'notes/a.txt', 'a\n');
    t.is((await postGithub(service.url, await pushFromExample(remote, commit))).status, 202, 'signed hook, no token');
    const run = await eventually(
      async () =>
        ((await getJson(`${service.url}/runs`)).body.runs as Array<{ id: number; status: string }>).find(
          (r) => r.status !== 'running',
        ),
      'the run',
    );
    t.is((await getJson(`${service.url}/healthz`, null)).status, 200);
    for (const path of ['/runs', `/runs/${run.id}`, `/runs/${run.id}/rollout`, '/metrics']) {
      const none = await fetch(`${service.url}${path}`);
      t.is(none.status, 401, path);
      t.is(none.headers.get('www-authenticate'), 'Bearer realm="kitfed-webhooks"');
      const body = (await none.json()) as { kind: string; reason: string };
      t.like(body, { kind: 'Status', reason: 'Unauthorized' });
      t.is((await getJson(`${service.url}${path}`, 'wrong-token')).status, 401, path);
    }
    for (const path of [`/runs/${run.id}/rollout/pause`, '/rollbacks'])
      t.is((await postJson(`${service.url}${path}`, { to: commit }, null)).status, 401, path);
    t.is((await getJson(`${service.url}/runs`)).status, 200);
    const metrics = await fetch(`${service.url}/metrics`, { headers: { authorization: `Bearer ${API_TOKEN}` } });
    t.is(metrics.status, 200);
    t.regex(await metrics.text(), /kitfed_pipeline_runs_total/);
    // Control answers: a run without a rollout, an unknown run, an unknown action.
    const noRollout = await postJson(`${service.url}/runs/${run.id}/rollout/pause`, {});
    t.is(noRollout.status, 409);
    t.regex(String(noRollout.body.message), /has no rollout/);
    t.is((await getJson(`${service.url}/runs/${run.id}/rollout`)).status, 404);
    t.is((await postJson(`${service.url}/runs/9999/rollout/pause`, {})).status, 404);
    t.is((await postJson(`${service.url}/runs/${run.id}/rollout/explode`, {})).status, 404);
    t.is((await getJson(`${service.url}/runs/${run.id}/rollout/pause`)).status, 405);
    t.is((await postJson(`${service.url}/runs/${run.id}/rollout/pause`, { by: 7 })).status, 400);

    // Without api.token in the config, the service generates one in its data dir (mode 0600).
    const dir2 = await tempDir(t);
    const cfg = testConfig(remote, dir2);
    const bare = await startService(t, { ...cfg, apiTokens: [] });
    const token = (await readFile(join(dir2, 'api-token'), 'utf8')).trim();
    t.regex(token, /^[0-9a-f]{48}$/);
    t.is((await stat(join(dir2, 'api-token'))).mode & 0o777, 0o600);
    t.is(bare.apiToken, token);
    t.is((await getJson(`${bare.url}/runs`, token)).status, 200);
    t.is((await getJson(`${bare.url}/runs`)).status, 401);
  },
);
