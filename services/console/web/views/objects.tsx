import { useEffect, useMemo, useState } from 'preact/hooks';
import type { KubeObject, WatchedResource } from '../../api.js';
import { clusterView, conditionsOf, matches, parseSelector, placement, replicasOf } from '../model.js';
import type { State } from '../store.js';
import { Age, Badge, Empty, objectHref, objectsHref, useNow, type Route } from '../ui.js';

export function resourceOf(state: State, role: WatchedResource['role']): WatchedResource | undefined {
  return state.resources.find((r) => r.role === role);
}

export interface FederatedItem {
  resource: WatchedResource;
  object: KubeObject;
}

/** Every federated object the user can see, of every watched kind. */
export function federatedObjects(state: State): FederatedItem[] {
  const out: FederatedItem[] = [];
  for (const r of state.resources) {
    if (r.role !== 'federated') continue;
    for (const object of state.objects.get(r.key)?.values() ?? []) out.push({ resource: r, object });
  }
  return out;
}

export function clustersOf(state: State) {
  return [...(state.objects.get(resourceOf(state, 'clusters')?.key ?? '')?.values() ?? [])].map(clusterView);
}

const PAGE = 200;

/** A field's own state, following `applied` whenever that changes (back/forward, links). */
function useDraft(applied: string): [string, (v: string) => void] {
  const [draft, setDraft] = useState(applied);
  useEffect(() => setDraft(applied), [applied]);
  return [draft, setDraft];
}

export function Objects(props: { state: State; route: Extract<Route, { view: 'objects' }> }) {
  const { state, route } = props;
  const now = useNow(5000);
  const [shown, setShown] = useState(PAGE);
  // What is typed into the text fields, held here rather than read back from the route: the live
  // stream re-renders this view many times a second, and a field bound to the route would be reset
  // to the applied value on each render (the route follows the hash a task later), losing typing.
  const [draft, setDraft] = useDraft(route.label);
  const [name, setName] = useDraft(route.q);
  const selector = useMemo(() => {
    try {
      return { reqs: parseSelector(route.label) };
    } catch (err) {
      return { error: (err as Error).message };
    }
  }, [route.label]);
  const all = useMemo(() => federatedObjects(state), [state.version]);
  const clusters = useMemo(() => clustersOf(state), [state.version]);
  const namespaces = useMemo(() => {
    const set = new Set<string>();
    for (const o of state.objects.get(resourceOf(state, 'namespaces')?.key ?? '')?.values() ?? [])
      set.add(o.metadata.name ?? '');
    for (const { object } of all) if (object.metadata.namespace) set.add(object.metadata.namespace);
    return [...set].sort();
  }, [state.version]);
  const kinds = useMemo(() => {
    const counts = new Map<string, number>();
    for (const { object } of all) counts.set(object.kind, (counts.get(object.kind) ?? 0) + 1);
    return [...counts].sort((a, b) => (a[0] < b[0] ? -1 : 1));
  }, [all]);
  const items = useMemo(() => {
    const q = route.q.toLowerCase();
    return all
      .filter(
        ({ object: o }) =>
          (!route.ns || o.metadata.namespace === route.ns) &&
          (!route.kind || o.kind === route.kind) &&
          (!q || (o.metadata.name ?? '').toLowerCase().includes(q)) &&
          (!selector.reqs || matches(selector.reqs, o.metadata.labels)),
      )
      .sort(
        (a, b) =>
          a.object.kind.localeCompare(b.object.kind) ||
          (a.object.metadata.namespace ?? '').localeCompare(b.object.metadata.namespace ?? '') ||
          (a.object.metadata.name ?? '').localeCompare(b.object.metadata.name ?? ''),
      );
  }, [all, route.ns, route.kind, route.q, selector]);
  const go = (patch: Partial<typeof route>) => {
    location.hash = objectsHref({ ...route, ...patch });
  };
  const deniedKinds = state.resources.filter((r) => r.role === 'federated' && state.denied.has(r.key));
  return (
    <section aria-labelledby="objects-title">
      <h1 id="objects-title">Federated objects</h1>
      <form class="filters" role="search" onSubmit={(e) => e.preventDefault()}>
        <label>
          Namespace
          <select value={route.ns} onChange={(e) => go({ ns: e.currentTarget.value })}>
            <option value="">All namespaces</option>
            {namespaces.map((n) => (
              <option key={n} value={n}>
                {n}
              </option>
            ))}
          </select>
        </label>
        <label>
          Kind
          <select value={route.kind} onChange={(e) => go({ kind: e.currentTarget.value })}>
            <option value="">All kinds</option>
            {kinds.map(([k, n]) => (
              <option key={k} value={k}>
                {k} ({n})
              </option>
            ))}
          </select>
        </label>
        <label>
          Label selector
          <input
            type="text"
            value={draft}
            placeholder="app=web,tier in (front)"
            spellcheck={false}
            aria-invalid={selector.error ? 'true' : 'false'}
            aria-describedby={selector.error ? 'selector-error' : undefined}
            title="Applied on Enter or when you leave the field"
            onInput={(e) => setDraft(e.currentTarget.value)}
            onChange={(e) => go({ label: e.currentTarget.value })}
            onKeyDown={(e) => {
              // The form has two text fields and no submit button, so Enter submits nothing and
              // fires no change event: apply the selector here, as the title promises.
              if (e.key === 'Enter') go({ label: e.currentTarget.value });
            }}
          />
        </label>
        <label>
          Name contains
          <input
            type="search"
            value={name}
            spellcheck={false}
            onInput={(e) => {
              setName(e.currentTarget.value);
              go({ q: e.currentTarget.value });
            }}
          />
        </label>
      </form>
      {selector.error ? (
        <p id="selector-error" class="notice notice-bad" role="alert">
          Label selector: {selector.error}
        </p>
      ) : null}
      {deniedKinds.length > 0 ? (
        <p class="notice notice-warn">Not visible with your token: {deniedKinds.map((r) => r.plural).join(', ')}.</p>
      ) : null}
      <p class="summary" aria-live="polite">
        {items.length} of {all.length} objects
      </p>
      {items.length === 0 ? (
        <Empty>No federated object matches.</Empty>
      ) : (
        <div class="table-wrap">
          <table>
            <caption class="sr-only">Federated objects and where they run</caption>
            <thead>
              <tr>
                <th scope="col">Kind</th>
                <th scope="col">Namespace</th>
                <th scope="col">Name</th>
                <th scope="col">Clusters</th>
                <th scope="col" class="num">
                  Ready
                </th>
                <th scope="col">Problems</th>
                <th scope="col">Age</th>
              </tr>
            </thead>
            <tbody>
              {items.slice(0, shown).map(({ resource, object: o }) => {
                const pl = placement(o, clusters).filter((p) => p.state !== 'NotPlaced' && p.planned !== 0);
                const failing = pl.filter((p) => p.state === 'Failed' || p.state === 'ClusterNotReady');
                const rep = replicasOf(o);
                const problems = conditionsOf(o).filter(
                  (c) => c.status === 'False' || (c.type === 'ReplicaFailure' && c.status === 'True'),
                );
                return (
                  <tr key={`${resource.key} ${o.metadata.namespace}/${o.metadata.name}`}>
                    <td>{o.kind}</td>
                    <td>{o.metadata.namespace ?? '—'}</td>
                    <th scope="row">
                      <a href={objectHref(resource.key, o.metadata.namespace, o.metadata.name ?? '')}>
                        {o.metadata.name}
                      </a>
                    </th>
                    <td>
                      {pl.length} {failing.length ? <Badge value="Failed" label={`${failing.length} failing`} /> : null}
                    </td>
                    <td class="num">{rep ? `${rep.ready}/${rep.desired}` : '—'}</td>
                    <td class="problems">
                      {problems.map((c) => `${c.type}: ${c.reason ?? c.status}`).join('; ') || '—'}
                    </td>
                    <td>
                      <Age iso={o.metadata.creationTimestamp} now={now} />
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
          {items.length > shown ? (
            <button type="button" class="more" onClick={() => setShown(shown + PAGE)}>
              Show {Math.min(PAGE, items.length - shown)} more
            </button>
          ) : null}
        </div>
      )}
    </section>
  );
}
