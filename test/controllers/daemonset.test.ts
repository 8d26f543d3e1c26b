/**
 * A federated DaemonSet: its members' scheduled and ready counters are summed back into the
 * federation's status (with observedGeneration once every member saw the spec), so `kubectl get ds`
 * shows the fleet and `kubectl rollout status ds` against the federation ends when every member's
 * rollout has.
 */
import test from 'ava';
import type { KubeObject } from '../../services/core/kube.js';
import { eventually } from '../helpers/eventually.js';
import { startFederation, waitReady } from './helpers.js';

const daemonSet = (image: string): KubeObject => ({
  apiVersion: 'apps/v1',
  kind: 'DaemonSet',
  metadata: { name: 'agent', namespace: 'default' },
  spec: {
    selector: { matchLabels: { app: 'agent' } },
    template: { metadata: { labels: { app: 'agent' } }, spec: { containers: [{ name: 'a', image }] } },
  },
});

test("a DaemonSet's status is its members' counters summed; kubectl rollout status ds ends with theirs", async (t) => {
  const fed = await startFederation(t, 2);
  await fed.startControllers();
  await waitReady(fed);
  await fed.client.create(daemonSet('agent:1'));
  const copies = await eventually(async () => {
    const found = await Promise.all(fed.members.map((m) => m.client.get('apps/v1', 'DaemonSet', 'default', 'agent')));
    return found;
  });

  // Before the members' controllers report, the rollout is not done.
  const waiting = await fed.kubectl(['--context=federation', 'rollout', 'status', 'ds/agent', '--timeout=1s']);
  t.not(waiting.code, 0);

  // Each member's DaemonSet controller reports its nodes (3 and 2 here).
  for (const [i, nodes] of [3, 2].entries()) {
    const m = fed.members[i]!;
    const o = copies[i]!;
    await m.client.update(
      {
        ...o,
        status: {
          observedGeneration: o.metadata.generation,
          currentNumberScheduled: nodes,
          desiredNumberScheduled: nodes,
          numberMisscheduled: 0,
          numberReady: nodes,
          updatedNumberScheduled: nodes,
          numberAvailable: nodes,
        },
      },
      { subresource: 'status' },
    );
  }
  const status = await eventually(async () => {
    const o = await fed.client.get('apps/v1', 'DaemonSet', 'default', 'agent');
    const s = o.status as Record<string, unknown> | undefined;
    if (s?.numberAvailable !== 5 || s.observedGeneration !== o.metadata.generation) throw new Error(JSON.stringify(s));
    return s;
  });
  t.like(status, {
    currentNumberScheduled: 5,
    desiredNumberScheduled: 5,
    numberMisscheduled: 0,
    numberReady: 5,
    updatedNumberScheduled: 5,
    numberAvailable: 5,
  });
  const done = await fed.kubectl(['--context=federation', 'rollout', 'status', 'ds/agent', '--timeout=10s']);
  t.is(done.code, 0, done.stderr);
  t.regex(done.stdout, /daemon set "agent" successfully rolled out/);
  const table = await fed.kubectl(['--context=federation', 'get', 'ds', 'agent', '--no-headers']);
  t.regex(table.stdout, /^agent\s+5\s+5\s+5\s+5\s+5\s/);
});
