import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import type { KubeObject, MemberPods } from '../../api.js';
import {
  conditionsOf,
  podSelectorOf,
  eventsFor,
  eventView,
  overridesOf,
  placement,
  planText,
  replicasOf,
  WORKLOAD_KINDS,
  type ClusterView,
  type Placement,
} from '../model.js';
import type { State } from '../store.js';
import { Age, Badge, Empty, useNow, type Route } from '../ui.js';
import { clustersOf, resourceOf } from './objects.js';

/**
 * The replica spread as a picture: one bar per cluster, grouped by region; the bar's length is
 * the cluster's share, its solid part the replicas ready there.
 */
export function Spread(props: { rows: Placement[]; clusters: ClusterView[] }) {
  const rows = props.rows;
  const value = (p: Placement) => Math.max(p.planned ?? 0, p.desired ?? 0, p.ready ?? 0);
  const max = Math.max(1, ...rows.map(value));
  const byRegion = new Map<string, Placement[]>();
  for (const p of rows) {
    const region = p.region ?? 'no region';
    byRegion.set(region, [...(byRegion.get(region) ?? []), p]);
  }
  const offline = new Set(props.clusters.filter((c) => !c.ready).map((c) => c.name));
  const total = rows.reduce((n, p) => n + (p.planned ?? p.desired ?? 0), 0);
  const summary = rows
    .map((p) => `${p.cluster}: ${p.ready !== undefined ? `${p.ready} ready of ` : ''}${p.planned ?? p.desired ?? 0}`)
    .join('; ');
  const barH = 22;
  const gap = 8;
  const labelW = 130;
  const width = 560;
  const trackW = width - labelW - 90;
  let y = 0;
  const parts: preact.JSX.Element[] = [];
  for (const [region, list] of [...byRegion].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
    parts.push(
      <text key={`r-${region}`} x={0} y={y + 14} class="spread-region">
        {region}
      </text>,
    );
    y += 22;
    for (const p of list) {
      const planned = p.planned ?? p.desired ?? 0;
      const ready = Math.min(p.ready ?? 0, Math.max(planned, p.ready ?? 0));
      const down = offline.has(p.cluster);
      parts.push(
        <g key={p.cluster} transform={`translate(0 ${y})`} data-cluster={p.cluster} data-planned={planned}>
          <text x={12} y={barH - 6} class="spread-label">
            {p.cluster}
          </text>
          <rect x={labelW} y={0} width={trackW} height={barH} class="spread-track" rx={3} />
          <rect x={labelW} y={0} width={(planned / max) * trackW} height={barH} class="spread-planned" rx={3} />
          <rect x={labelW} y={0} width={(ready / max) * trackW} height={barH} class="spread-ready" rx={3} />
          <text x={labelW + trackW + 8} y={barH - 6} class="spread-count">
            {down ? 'offline' : p.ready !== undefined ? `${p.ready}/${planned} ready` : `${planned} planned`}
          </text>
        </g>,
      );
      y += barH + gap;
    }
  }
  return (
    <figure class="spread">
      <svg
        viewBox={`0 0 ${width} ${Math.max(y, 1)}`}
        width="100%"
        role="img"
        aria-label={`Replica spread, ${total} replicas: ${summary}`}
        preserveAspectRatio="xMinYMin meet"
      >
        {parts}
      </svg>
      <figcaption>
        Replicas per cluster, by region: the light bar is the cluster's share, the dark part the replicas ready there.
      </figcaption>
    </figure>
  );
}

function KeyValues(props: { values: Record<string, string> | undefined; label: string }) {
  const entries = Object.entries(props.values ?? {});
  if (entries.length === 0) return <p class="muted">No {props.label}.</p>;
  return (
    <ul class="chips" aria-label={props.label}>
      {entries.map(([k, v]) => (
        <li key={k}>
          <code>
            {k}={v}
          </code>
        </li>
      ))}
    </ul>
  );
}

/** Reads a workload's pods in the members (`api/pods`): the answer, or the error's text. */
export type PodsReader = (namespace: string, selector: string) => Promise<MemberPods | string>;

/** The least time between two reads of the members' pods that the workload's changes start. */
const PODS_READ_INTERVAL_MS = 1000;

/**
 * The workload's pods as each member runs them (through the federation's clusters/proxy with the
 * signed-in token: the members' RBAC decides), read when the view opens, on *Refresh*, and again
 * whenever the workload changes (its status follows its pods: ready, moved, rolled), at most once
 * a second; an older answer never replaces a newer one.
 */
function MemberPodsSection(props: {
  namespace: string;
  selector: string;
  read: PodsReader;
  now: number;
  /** The workload's resourceVersion: a change reads the pods again. */
  version?: string | undefined;
}) {
  const [answer, setAnswer] = useState<MemberPods | string | undefined>(undefined);
  const [loading, setLoading] = useState(false);
  const latest = useRef(0);
  const lastRead = useRef(0);
  const scheduled = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  // A scheduled read reads what the view shows when it runs, not when it was scheduled.
  const current = useRef(props);
  current.current = props;
  const load = () => {
    const mine = ++latest.current;
    lastRead.current = Date.now();
    setLoading(true);
    const { read, namespace, selector } = current.current;
    void read(namespace, selector).then((a) => {
      if (mine !== latest.current) return;
      setAnswer(a);
      setLoading(false);
    });
  };
  useEffect(() => {
    // One read scheduled at a time: when it runs it reads the pods as they are then.
    if (scheduled.current !== undefined) return;
    const wait = Math.max(0, lastRead.current + PODS_READ_INTERVAL_MS - Date.now());
    scheduled.current = setTimeout(() => {
      scheduled.current = undefined;
      load();
    }, wait);
  }, [props.namespace, props.selector, props.version]);
  useEffect(() => () => clearTimeout(scheduled.current), []);
  const rows = typeof answer === 'object' ? answer.clusters.flatMap((c) => (c.pods ?? []).map((p) => ({ c, p }))) : [];
  const failed = typeof answer === 'object' ? answer.clusters.filter((c) => c.error) : [];
  return (
    <section aria-labelledby="pods-title" data-testid="member-pods" data-loading={loading ? 'true' : 'false'}>
      <h2 id="pods-title">Pods in the members</h2>
      <p class="muted">
        Pods matching <code>{props.selector}</code>, as each member runs them.{' '}
        <button type="button" onClick={load} disabled={loading}>
          {loading ? 'Reading…' : 'Refresh'}
        </button>
      </p>
      {typeof answer === 'string' ? <p class="error">Cannot read the members' pods: {answer}</p> : null}
      {failed.map((c) => (
        <p key={c.cluster} class="error" data-cluster={c.cluster}>
          {c.cluster}: {c.error}
        </p>
      ))}
      {typeof answer === 'object' && rows.length === 0 && failed.length === 0 ? (
        <p class="muted">No pods in the members.</p>
      ) : null}
      {rows.length > 0 ? (
        <div class="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Cluster</th>
                <th scope="col">Pod</th>
                <th scope="col">Ready</th>
                <th scope="col">Status</th>
                <th scope="col" class="num">
                  Restarts
                </th>
                <th scope="col">Node</th>
                <th scope="col">Age</th>
              </tr>
            </thead>
            <tbody>
              {rows.map(({ c, p }) => (
                <tr key={`${c.cluster}/${p.name}`} data-cluster={c.cluster} data-pod={p.name}>
                  <td>{c.cluster}</td>
                  <th scope="row">{p.name}</th>
                  <td>{p.ready}</td>
                  <td>
                    <Badge value={p.status} />
                  </td>
                  <td class="num">{p.restarts}</td>
                  <td>{p.node || '—'}</td>
                  <td>
                    <Age iso={p.created} now={props.now} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
    </section>
  );
}

export function ObjectView(props: { state: State; route: Extract<Route, { view: 'object' }>; pods?: PodsReader }) {
  const { state, route } = props;
  const now = useNow(1000);
  const key = route.namespace ? `${route.namespace}/${route.name}` : route.name;
  const o: KubeObject | undefined = state.objects.get(route.resource)?.get(key);
  const clusters = useMemo(() => clustersOf(state), [state.version]);
  const events = useMemo(() => {
    const evRes = resourceOf(state, 'events');
    const all = [...(state.objects.get(evRes?.key ?? '')?.values() ?? [])].map(eventView);
    return o ? eventsFor(o, all).sort((a, b) => (a.time < b.time ? 1 : -1)) : [];
  }, [state.version, o]);
  if (!o) {
    return (
      <section>
        <h1>
          {route.namespace ? `${route.namespace}/` : ''}
          {route.name}
        </h1>
        <Empty>{state.objects.has(route.resource) ? 'This object does not exist (any more).' : 'Loading…'}</Empty>
        <p>
          <a href="#/objects">All federated objects</a>
        </p>
      </section>
    );
  }
  const rows = placement(o, clusters);
  const placed = rows.filter((p) => p.state !== 'NotPlaced');
  const rep = replicasOf(o);
  const conds = conditionsOf(o).map((c) => (c.type === 'Scheduled' ? { ...c, message: planText(o) ?? c.message } : c));
  const overrides = overridesOf(o);
  const spec = (o.spec ?? {}) as Record<string, unknown>;
  return (
    <article aria-labelledby="object-title">
      <p class="crumbs">
        <a href="#/objects">Federated objects</a> › {o.kind}
      </p>
      <h1 id="object-title">
        {o.metadata.namespace ? <span class="muted">{o.metadata.namespace}/</span> : null}
        {o.metadata.name}
      </h1>
      <p class="summary">
        {o.kind} · created <Age iso={o.metadata.creationTimestamp} now={now} /> ago
        {rep ? (
          <>
            {' '}
            ·{' '}
            <strong data-testid="replicas">
              {rep.ready}/{rep.desired} ready
            </strong>
          </>
        ) : null}
        {o.metadata.deletionTimestamp ? (
          <>
            {' '}
            · <Badge value="Pending" label="being deleted" />
          </>
        ) : null}
      </p>
      {WORKLOAD_KINDS.has(o.kind) ? (
        <section aria-labelledby="spread-title">
          <h2 id="spread-title">Replica spread</h2>
          <Spread rows={rows.filter((p) => p.state !== 'NotPlaced' || (p.planned ?? 0) > 0)} clusters={clusters} />
        </section>
      ) : null}
      {props.pods && o.metadata.namespace && podSelectorOf(o) ? (
        <MemberPodsSection
          namespace={o.metadata.namespace}
          selector={podSelectorOf(o)!}
          read={props.pods}
          now={now}
          version={o.metadata.resourceVersion}
        />
      ) : null}
      <section aria-labelledby="placement-title">
        <h2 id="placement-title">Placement</h2>
        <div class="table-wrap">
          <table class="placement">
            <thead>
              <tr>
                <th scope="col">Cluster</th>
                <th scope="col">Region</th>
                {rep ? (
                  <>
                    <th scope="col" class="num">
                      Planned
                    </th>
                    <th scope="col" class="num">
                      Desired
                    </th>
                    <th scope="col" class="num">
                      Ready
                    </th>
                  </>
                ) : null}
                <th scope="col">Sync</th>
                <th scope="col">Message</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((p) => (
                <tr key={p.cluster} data-cluster={p.cluster} data-state={p.state}>
                  <th scope="row">{p.cluster}</th>
                  <td>{p.region ?? '—'}</td>
                  {rep ? (
                    <>
                      <td class="num" data-col="planned">
                        {p.planned ?? '—'}
                      </td>
                      <td class="num">{p.desired ?? '—'}</td>
                      <td class="num">{p.ready ?? '—'}</td>
                    </>
                  ) : null}
                  <td>
                    <Badge value={p.state} />
                  </td>
                  <td class="detail">{p.message ?? ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        <p class="muted">
          Placed in {placed.length} of {rows.length} clusters.
        </p>
      </section>
      <section aria-labelledby="conditions-title">
        <h2 id="conditions-title">Conditions</h2>
        {conds.length === 0 ? (
          <p class="muted">No conditions reported.</p>
        ) : (
          <div class="table-wrap">
            <table>
              <thead>
                <tr>
                  <th scope="col">Type</th>
                  <th scope="col">Status</th>
                  <th scope="col">Reason</th>
                  <th scope="col">Message</th>
                  <th scope="col">Since</th>
                </tr>
              </thead>
              <tbody>
                {conds.map((c) => (
                  <tr key={c.type}>
                    <th scope="row">{c.type}</th>
                    <td>{c.status}</td>
                    <td>{c.reason ?? '—'}</td>
                    <td class="detail">{c.message ?? ''}</td>
                    <td>
                      <Age iso={c.lastTransitionTime} now={now} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
      <section aria-labelledby="overrides-title">
        <h2 id="overrides-title">Overrides</h2>
        {overrides.length === 0 ? (
          <p class="muted">No per-cluster overrides apply to this object.</p>
        ) : (
          <ul>
            {overrides.map((ov) => (
              <li key={ov.cluster} data-cluster={ov.cluster}>
                <strong>{ov.cluster}</strong>:{' '}
                {ov.rules.map((r, i) => (
                  <span key={r}>
                    {i > 0 ? ', ' : ''}
                    <code>{r}</code>
                  </span>
                ))}
              </li>
            ))}
          </ul>
        )}
      </section>
      <section aria-labelledby="events-title">
        <h2 id="events-title">Events</h2>
        {events.length === 0 ? (
          <p class="muted">No events.</p>
        ) : (
          <ul class="events">
            {events.slice(0, 50).map((e) => (
              <li key={e.key} class={e.type === 'Warning' ? 'event-warning' : undefined}>
                <Age iso={e.time} now={now} /> <Badge value={e.type} /> <strong>{e.reason}</strong> {e.message}
                {e.count > 1 ? <span class="muted"> ×{e.count}</span> : null}
              </li>
            ))}
          </ul>
        )}
      </section>
      <section aria-labelledby="meta-title">
        <h2 id="meta-title">Labels and annotations</h2>
        <KeyValues values={o.metadata.labels} label="labels" />
        <KeyValues values={o.metadata.annotations} label="annotations" />
        <details>
          <summary>Spec</summary>
          <pre>{JSON.stringify(spec, null, 2)}</pre>
        </details>
      </section>
    </article>
  );
}
