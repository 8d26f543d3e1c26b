import { useEffect, useMemo } from 'preact/hooks';
import type { SandboxClusterView } from '../../api.js';
import { clusterHealth, clusterView, placement, type ClusterView } from '../model.js';
import type { State } from '../store.js';
import { Age, Badge, Denied, Empty, useNow } from '../ui.js';
import { federatedObjects, resourceOf } from './objects.js';

export const FLEET_PAINTED = 'kitfed:fleet-painted';

export interface FleetRow {
  cluster: ClusterView;
  health: ReturnType<typeof clusterHealth>;
  objects: number;
  /** Pods running there: the sandbox's count when it is a sandbox cluster, else the ready replicas the federation knows of. */
  pods: number | undefined;
  sandbox?: SandboxClusterView;
}

export function fleetRows(state: State): FleetRow[] {
  const clusters = [...(state.objects.get(resourceOf(state, 'clusters')?.key ?? '')?.values() ?? [])].map(clusterView);
  clusters.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const objects = new Map<string, number>();
  const replicas = new Map<string, number>();
  for (const { object } of federatedObjects(state)) {
    for (const p of placement(object, clusters)) {
      if (p.state === 'NotPlaced' || p.planned === 0) continue;
      objects.set(p.cluster, (objects.get(p.cluster) ?? 0) + 1);
      const r = p.ready ?? p.planned;
      if (r !== undefined) replicas.set(p.cluster, (replicas.get(p.cluster) ?? 0) + r);
    }
  }
  return clusters.map((c) => {
    const sandbox = state.sandbox.get(c.name);
    return {
      cluster: c,
      health: clusterHealth(c, !!c.lastProbeTime),
      objects: objects.get(c.name) ?? 0,
      pods: sandbox ? sandbox.pods.bound : replicas.get(c.name),
      ...(sandbox ? { sandbox } : {}),
    };
  });
}

/** The faults injected into a sandbox cluster, in words. */
export function faultWords(s: SandboxClusterView | undefined): string[] {
  if (!s) return [];
  const f = s.faults;
  const out: string[] = [];
  if (f.down) out.push('down');
  if (f.hang) out.push('hanging');
  if (f.unhealthy) out.push('unhealthy');
  if (f.latencyMs > 0) out.push(`latency ${f.latencyMs} ms`);
  if (f.errorRate > 0) out.push(`${Math.round(f.errorRate * 100)} % errors`);
  if (s.pods.unschedulable > 0) out.push(`${s.pods.unschedulable} pods unschedulable`);
  return out;
}

export function Fleet(props: { state: State }) {
  const { state } = props;
  const now = useNow(1000);
  const rows = useMemo(() => fleetRows(state), [state.version]);
  const clustersRes = resourceOf(state, 'clusters');
  const denied = clustersRes ? state.denied.get(clustersRes.key) : undefined;
  if (denied) return <Denied what="the clusters" message={denied.message} />;
  const counts = { Ready: 0, Offline: 0, NotReady: 0, Unknown: 0 };
  for (const r of rows) counts[r.health]++;
  const regions = new Set(rows.map((r) => r.cluster.region).filter(Boolean));
  const loaded = clustersRes ? state.objects.has(clustersRes.key) : false;
  useEffect(() => {
    // The fleet's first meaningful paint (bench/console.ts reads it): the clusters are on screen.
    if (loaded && rows.length > 0 && performance.getEntriesByName(FLEET_PAINTED).length === 0)
      requestAnimationFrame(() => performance.mark(FLEET_PAINTED));
  }, [loaded, rows.length]);
  return (
    <section aria-labelledby="fleet-title">
      <h1 id="fleet-title">Fleet</h1>
      <p class="summary" data-testid="fleet-summary">
        {rows.length} clusters in {regions.size} regions · <strong>{counts.Ready} Ready</strong>
        {counts.Offline > 0 ? (
          <>
            {' '}
            · <strong class="text-bad">{counts.Offline} Offline</strong>
          </>
        ) : null}
        {counts.NotReady > 0 ? (
          <>
            {' '}
            · <strong class="text-warn">{counts.NotReady} not ready</strong>
          </>
        ) : null}
        {counts.Unknown > 0 ? <> · {counts.Unknown} not probed yet</> : null}
      </p>
      {!loaded ? (
        <Empty>Loading clusters…</Empty>
      ) : rows.length === 0 ? (
        <Empty>
          No clusters have joined this federation yet: <code>kitfed join NAME --kubeconfig FILE</code>.
        </Empty>
      ) : (
        <div class="table-wrap">
          <table class="fleet">
            <caption class="sr-only">Member clusters, their health and what runs on them</caption>
            <thead>
              <tr>
                <th scope="col">Cluster</th>
                <th scope="col">Status</th>
                <th scope="col">Region</th>
                <th scope="col">Zones</th>
                <th scope="col">Last probe</th>
                <th scope="col" class="num">
                  Objects
                </th>
                <th scope="col" class="num">
                  Pods
                </th>
                <th scope="col">Faults</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((r) => {
                const faults = faultWords(r.sandbox);
                return (
                  <tr key={r.cluster.name} data-cluster={r.cluster.name} data-health={r.health}>
                    <th scope="row">
                      {r.cluster.name}
                      {r.cluster.message ? <div class="detail">{r.cluster.message}</div> : null}
                    </th>
                    <td data-label="Status">
                      <Badge value={r.health} />
                    </td>
                    <td data-label="Region">{r.cluster.region ?? '—'}</td>
                    <td data-label="Zones">{r.cluster.zones.join(', ') || '—'}</td>
                    <td data-label="Last probe">
                      <Age iso={r.cluster.lastProbeTime} now={now} />
                    </td>
                    <td data-label="Objects" class="num">
                      {r.objects}
                    </td>
                    <td data-label="Pods" class="num">
                      {r.pods ?? '—'}
                    </td>
                    <td data-label="Faults">
                      {r.sandbox ? (
                        faults.length ? (
                          <span class="text-bad">{faults.join(', ')}</span>
                        ) : (
                          <span class="muted">none (sandbox)</span>
                        )
                      ) : (
                        <span class="muted">—</span>
                      )}
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
