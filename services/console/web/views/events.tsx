import { useMemo, useState } from 'preact/hooks';
import { eventView } from '../model.js';
import type { State } from '../store.js';
import { Age, Badge, Denied, Empty, objectHref, useNow } from '../ui.js';
import { resourceOf } from './objects.js';

const SHOWN = 300;

export function Events(props: { state: State }) {
  const { state } = props;
  const now = useNow(1000);
  const [warningsOnly, setWarningsOnly] = useState(false);
  const [text, setText] = useState('');
  const evRes = resourceOf(state, 'events');
  const all = useMemo(
    () =>
      [...(state.objects.get(evRes?.key ?? '')?.values() ?? [])]
        .map(eventView)
        .sort((a, b) => (a.time < b.time ? 1 : a.time > b.time ? -1 : 0)),
    [state.version],
  );
  // Links go to the federated object an event is about, when the console shows its kind.
  const resourceByKind = new Map(state.resources.filter((r) => r.role === 'federated').map((r) => [r.kind, r.key]));
  const q = text.toLowerCase();
  const events = all.filter(
    (e) =>
      (!warningsOnly || e.type === 'Warning') &&
      (!q || `${e.reason} ${e.message} ${e.object.kind} ${e.object.name}`.toLowerCase().includes(q)),
  );
  const denied = evRes ? state.denied.get(evRes.key) : undefined;
  return (
    <section aria-labelledby="events-page-title">
      <h1 id="events-page-title">Events</h1>
      {denied ? <Denied what="events" message={denied.message} /> : null}
      <form class="filters" role="search" onSubmit={(e) => e.preventDefault()}>
        <label class="check">
          <input type="checkbox" checked={warningsOnly} onChange={(e) => setWarningsOnly(e.currentTarget.checked)} />
          Warnings only
        </label>
        <label>
          Contains
          <input type="search" value={text} spellcheck={false} onInput={(e) => setText(e.currentTarget.value)} />
        </label>
      </form>
      <p class="summary">
        {events.length} of {all.length} events, newest first
      </p>
      {events.length === 0 ? (
        <Empty>No events.</Empty>
      ) : (
        <div class="table-wrap">
          <table class="events-table">
            <caption class="sr-only">Federation events, newest first</caption>
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">Type</th>
                <th scope="col">Reason</th>
                <th scope="col">Object</th>
                <th scope="col">Message</th>
              </tr>
            </thead>
            <tbody>
              {events.slice(0, SHOWN).map((e) => {
                const res = resourceByKind.get(e.object.kind);
                const name = `${e.object.kind} ${e.object.namespace ? `${e.object.namespace}/` : ''}${e.object.name}`;
                return (
                  <tr key={e.key}>
                    <td>
                      <Age iso={e.time} now={now} />
                    </td>
                    <td>
                      <Badge value={e.type} />
                    </td>
                    <td>{e.reason}</td>
                    <td>{res ? <a href={objectHref(res, e.object.namespace, e.object.name)}>{name}</a> : name}</td>
                    <td class="detail">
                      {e.message}
                      {e.count > 1 ? <span class="muted"> ×{e.count}</span> : null}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
