import type { RunRecord } from '../../api.js';
import { duration } from '../model.js';
import type { State } from '../store.js';
import { Age, Badge, Denied, Empty, useNow } from '../ui.js';

function clusterSummary(r: RunRecord): string {
  if (r.clusters.length === 0) return '—';
  const counts = new Map<string, number>();
  for (const c of r.clusters) {
    const s = c.render === 'failed' ? 'render failed' : c.deploy;
    counts.set(s, (counts.get(s) ?? 0) + 1);
  }
  return [...counts].map(([s, n]) => `${n} ${s}`).join(', ');
}

export function RunsUnavailable(props: { state: State }) {
  const e = props.state.runsError;
  if (!e) return null;
  if (e.code === 401 || e.code === 403) return <Denied what="pipeline runs" message={e.message} />;
  return (
    <p class="notice notice-warn" role="status">
      Pipeline runs are not available: {e.message}
    </p>
  );
}

export function Runs(props: { state: State }) {
  const { state } = props;
  const now = useNow(1000);
  const runs = state.runs;
  return (
    <section aria-labelledby="runs-title">
      <h1 id="runs-title">Pipeline runs</h1>
      <RunsUnavailable state={state} />
      {!runs ? (
        <Empty>{state.runsError ? '' : 'Loading runs…'}</Empty>
      ) : runs.length === 0 ? (
        <Empty>
          No runs yet. A push to the manifests repo (or <code>kitfed simulate image …</code>) starts one.
        </Empty>
      ) : (
        <div class="table-wrap">
          <table class="runs">
            <caption class="sr-only">Pipeline runs, newest first</caption>
            <thead>
              <tr>
                <th scope="col">Run</th>
                <th scope="col">Status</th>
                <th scope="col">Commit</th>
                <th scope="col">Trigger</th>
                <th scope="col">Clusters</th>
                <th scope="col" class="num">
                  Duration
                </th>
                <th scope="col">Started</th>
              </tr>
            </thead>
            <tbody>
              {runs.map((r) => (
                <tr key={r.id} data-run={r.id} data-status={r.status}>
                  <th scope="row">
                    <a href={`#/runs/${r.id}`}>#{r.id}</a>
                  </th>
                  <td>
                    <Badge value={r.status} />
                  </td>
                  <td>
                    <code title={r.commit}>{r.commit.slice(0, 12)}</code>
                    <div class="detail">{r.repo}</div>
                  </td>
                  <td class="detail">{r.trigger}</td>
                  <td>{clusterSummary(r)}</td>
                  <td class="num">{duration(r.durations.totalMs)}</td>
                  <td>
                    <Age iso={r.startedAt} now={now} /> ago
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

export function RunView(props: { state: State; id: number }) {
  const { state, id } = props;
  const now = useNow(1000);
  const r = state.runs?.find((x) => x.id === id);
  if (!r) {
    return (
      <section>
        <h1>Run #{id}</h1>
        <RunsUnavailable state={state} />
        <Empty>{state.runs ? 'This run is not among the latest 100.' : 'Loading…'}</Empty>
        <p>
          <a href="#/runs">All runs</a>
        </p>
      </section>
    );
  }
  const durations = Object.entries(r.durations);
  return (
    <article aria-labelledby="run-title">
      <p class="crumbs">
        <a href="#/runs">Pipeline runs</a> › #{r.id}
      </p>
      <h1 id="run-title">
        Run #{r.id} <Badge value={r.status} />
      </h1>
      <dl class="facts">
        <dt>Commit</dt>
        <dd>
          <code>{r.commit}</code> ({r.repo}, {r.ref.replace(/^refs\/heads\//, '')})
        </dd>
        <dt>Trigger</dt>
        <dd>{r.trigger}</dd>
        <dt>Started</dt>
        <dd>
          <Age iso={r.startedAt} now={now} /> ago{r.finishedAt ? `, finished ${r.finishedAt}` : ', still running'}
        </dd>
        <dt>Durations</dt>
        <dd>
          {durations.length ? durations.map(([k, v]) => `${k.replace(/Ms$/, '')} ${duration(v)}`).join(' · ') : '—'}
        </dd>
      </dl>
      {r.error ? (
        <section aria-labelledby="run-error">
          <h2 id="run-error">Error</h2>
          <pre class="error" role="alert">
            {r.error}
          </pre>
        </section>
      ) : null}
      <section aria-labelledby="run-clusters">
        <h2 id="run-clusters">Clusters</h2>
        <div class="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Cluster</th>
                <th scope="col">Render</th>
                <th scope="col">Deploy</th>
                <th scope="col" class="num">
                  Files
                </th>
                <th scope="col">Changed</th>
                <th scope="col" class="num">
                  Duration
                </th>
                <th scope="col">Error</th>
              </tr>
            </thead>
            <tbody>
              {r.clusters.map((c) => (
                <tr key={c.cluster} data-cluster={c.cluster}>
                  <th scope="row">{c.cluster}</th>
                  <td>
                    <Badge value={c.render} />
                  </td>
                  <td>
                    <Badge value={c.deploy} />
                  </td>
                  <td class="num">{c.files ?? '—'}</td>
                  <td>{c.changed === undefined ? '—' : c.changed ? 'yes' : 'no'}</td>
                  <td class="num">{duration(c.durationMs)}</td>
                  <td class="detail">{c.error ?? ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </section>
    </article>
  );
}
