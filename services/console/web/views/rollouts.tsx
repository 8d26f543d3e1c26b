/**
 * Rollouts: the current rollout of every manifests repo (its newest deploy run with a kit.yaml
 * `rollout:` plan) — stages in order with their clusters, state, batches, bake countdown, gates
 * and approval — and the operator's actions (pause, resume, promote, abort), sent to the webhook
 * service through the console server with the signed-in token.
 */
import { useState } from 'preact/hooks';
import type { RolloutAction, RunRecord, StageStatus } from '../../api.js';
import { batchText, currentRollouts, duration, rolloutActions, rolloutFinished } from '../model.js';
import type { State } from '../store.js';
import { Age, Badge, Empty, useNow } from '../ui.js';
import { RunsUnavailable } from './runs.js';

export type ActFn = (run: number, action: RolloutAction, reason?: string) => Promise<string | undefined>;

const ACTIONS: Array<{ action: RolloutAction; label: string; help: string }> = [
  { action: 'pause', label: 'Pause', help: 'stop at the next batch or stage boundary' },
  { action: 'resume', label: 'Resume', help: 'continue a paused rollout' },
  { action: 'promote', label: 'Promote', help: 'approve a waiting stage, end a bake now, or resume a pause' },
  { action: 'abort', label: 'Abort', help: 'stop now; the stage under way is rolled back as the plan says' },
];

function Bake(props: { st: StageStatus; now: number }) {
  const { st, now } = props;
  if (st.bakeSeconds === 0) return <span class="detail">none</span>;
  if (st.state === 'Baking' && st.bakeEndsAt) {
    const left = Math.max(0, Date.parse(st.bakeEndsAt) - now);
    return (
      <span>
        {duration(left)} left <span class="detail">of {duration(st.bakeSeconds * 1000)}</span>
      </span>
    );
  }
  return <span>{duration(st.bakeSeconds * 1000)}</span>;
}

function Gates(props: { st: StageStatus }) {
  const { health, metric } = props.st.gates;
  return (
    <ul class="gates">
      <li>
        health <Badge value={health.state} />
        {health.message ? <div class="detail">{health.message}</div> : null}
      </li>
      {metric ? (
        <li>
          metric <Badge value={metric.state} />{' '}
          <span class="detail">
            {metric.query ?? metric.url}
            {metric.min !== null ? ` ≥ ${metric.min}` : ''}
            {metric.max !== null ? ` ≤ ${metric.max}` : ''}
          </span>
          {Object.keys(metric.lastValues).length ? (
            <div class="detail">
              last:{' '}
              {Object.entries(metric.lastValues)
                .map(([c, v]) => `${c} ${v}`)
                .join(', ')}
            </div>
          ) : null}
          {metric.message ? <div class="detail">{metric.message}</div> : null}
        </li>
      ) : null}
    </ul>
  );
}

function StageRow(props: { st: StageStatus; run: RunRecord; current: boolean; now: number }) {
  const { st, run, current, now } = props;
  const deployOf = new Map(run.clusters.map((c) => [c.cluster, c]));
  return (
    <tr data-stage={st.name} data-state={st.state} aria-current={current ? 'step' : undefined}>
      <th scope="row">{st.name}</th>
      <td>
        <Badge value={st.state} />
        {batchText(st) ? <div class="detail">{batchText(st)}</div> : null}
        {st.message ? <div class="detail">{st.message}</div> : null}
      </td>
      <td>
        <ul class="stage-clusters">
          {st.clusters.map((c) => {
            const r = deployOf.get(c);
            return (
              <li key={c} data-cluster={c} data-deploy={r?.deploy ?? 'pending'}>
                {c} <Badge value={st.failed.includes(c) ? 'failed' : (r?.deploy ?? 'pending')} />
              </li>
            );
          })}
        </ul>
      </td>
      <td>
        <Bake st={st} now={now} />
      </td>
      <td>
        <Gates st={st} />
      </td>
      <td>
        {st.approval ? (
          st.approvedAt ? (
            <span>
              approved{st.approvedBy ? ` by ${st.approvedBy}` : ''} <Age iso={st.approvedAt} now={now} /> ago
            </span>
          ) : (
            'required'
          )
        ) : (
          <span class="detail">—</span>
        )}
      </td>
    </tr>
  );
}

function Actions(props: { run: RunRecord; act: ActFn }) {
  const { run, act } = props;
  const [busy, setBusy] = useState(false);
  const [outcome, setOutcome] = useState<{ ok: boolean; text: string } | undefined>();
  const can = rolloutActions(run.rollout!);
  if (rolloutFinished(run.rollout!)) return null;
  const go = async (action: RolloutAction, label: string) => {
    if (action === 'abort' && !confirm(`Abort the rollout of ${run.commit.slice(0, 12)} (run #${run.id})?`)) return;
    setBusy(true);
    const problem = await act(run.id, action);
    setBusy(false);
    setOutcome(problem ? { ok: false, text: `${label} failed: ${problem}` } : { ok: true, text: `${label}: done` });
  };
  return (
    <div class="rollout-actions">
      <div role="group" aria-label={`Actions on run #${run.id}`}>
        {ACTIONS.map((a) => (
          <button
            key={a.action}
            type="button"
            class={a.action === 'abort' ? 'danger' : undefined}
            data-action={a.action}
            title={a.help}
            disabled={busy || !can.has(a.action)}
            onClick={() => void go(a.action, a.label)}
          >
            {a.label}
          </button>
        ))}
      </div>
      <p class={outcome && !outcome.ok ? 'notice notice-bad' : 'detail'} role="status" aria-live="polite">
        {outcome?.text ?? ''}
      </p>
    </div>
  );
}

function RolloutCard(props: { run: RunRecord; act: ActFn; now: number }) {
  const { run, act, now } = props;
  const s = run.rollout!;
  const history = s.history.slice(-8).reverse();
  const titleId = `rollout-${run.id}`;
  return (
    <section class="rollout" aria-labelledby={titleId} data-repo={run.repo} data-run={run.id} data-phase={s.phase}>
      <h2 id={titleId}>
        {run.repo} <Badge value={s.phase} />
        {s.paused && s.phase !== 'Paused' ? <Badge value="Paused" label="pause requested" /> : null}
      </h2>
      <dl class="facts">
        <dt>Run</dt>
        <dd>
          <a href={`#/runs/${run.id}`}>#{run.id}</a> · <code title={run.commit}>{run.commit.slice(0, 12)}</code> ·{' '}
          {run.trigger} · started <Age iso={run.startedAt} now={now} /> ago
        </dd>
        <dt>Rollback</dt>
        <dd>
          {s.rollback === 'auto' ? `automatic (${s.rollbackScope})` : 'manual'}
          {s.rollbackRuns.length ? (
            <>
              {' '}
              · rollback runs{' '}
              {s.rollbackRuns.map((id) => (
                <a key={id} href={`#/runs/${id}`}>
                  #{id}{' '}
                </a>
              ))}
            </>
          ) : null}
        </dd>
        {s.message ? (
          <>
            <dt>Message</dt>
            <dd>{s.message}</dd>
          </>
        ) : null}
      </dl>
      <Actions run={run} act={act} />
      <div class="table-wrap">
        <table class="stages">
          <caption class="sr-only">Stages of the rollout of {run.repo}, in order</caption>
          <thead>
            <tr>
              <th scope="col">Stage</th>
              <th scope="col">State</th>
              <th scope="col">Clusters</th>
              <th scope="col">Bake</th>
              <th scope="col">Gates</th>
              <th scope="col">Approval</th>
            </tr>
          </thead>
          <tbody>
            {s.stages.map((st, i) => (
              <StageRow key={st.name} st={st} run={run} current={i === s.currentStage} now={now} />
            ))}
          </tbody>
        </table>
      </div>
      {history.length ? (
        <details>
          <summary>Recent events</summary>
          <ol class="history">
            {history.map((h, i) => (
              <li key={`${h.at}-${i}`}>
                <Age iso={h.at} now={now} /> ago: {h.message}
                {h.by ? ` (${h.by})` : ''}
              </li>
            ))}
          </ol>
        </details>
      ) : null}
    </section>
  );
}

export function Rollouts(props: { state: State; act: ActFn }) {
  const { state, act } = props;
  const now = useNow(1000);
  const current = state.runs ? currentRollouts(state.runs) : undefined;
  return (
    <section aria-labelledby="rollouts-title">
      <h1 id="rollouts-title">Rollouts</h1>
      <RunsUnavailable state={state} />
      {!current ? (
        <Empty>{state.runsError ? '' : 'Loading runs…'}</Empty>
      ) : current.length === 0 ? (
        <Empty>
          No rollouts among the latest runs. A repo whose <code>kit.yaml</code> has a <code>rollout:</code> plan rolls
          each push out stage by stage (docs/gitops.md).
        </Empty>
      ) : (
        current.map((r) => <RolloutCard key={r.repo} run={r} act={act} now={now} />)
      )}
    </section>
  );
}
