import test from 'ava';
import { EventStore, type PushEventInput } from '../../services/gitops/event-store.js';
import { tempDir } from './helpers.js';

const ev = (n: number, extra: Partial<PushEventInput> = {}): PushEventInput => ({
  delivery: `d-${n}`,
  repo: 'acme/manifests',
  ref: 'refs/heads/main',
  after: String(n).repeat(40).slice(0, 40),
  before: '0'.repeat(40),
  trigger: `push d-${n}`,
  ...extra,
});

test('after a crash, the interrupted run is marked and only the newest event per repo+ref is queued again', async (t) => {
  const dir = await tempDir(t);
  const before = new EventStore(dir);
  await before.acceptDurably(ev(1));
  const claim = before.claimNext('acme/manifests');
  t.truthy(claim);
  await before.acceptDurably(ev(2)); // arrives while 1 runs: not superseded yet
  before.close(); // the "crash": run 1 never finished

  const after = new EventStore(dir);
  t.teardown(() => after.close());
  t.is(after.recover(), 1);
  t.deepEqual(
    after.events().map((e) => [e.after[0], e.status]),
    [
      ['1', 'superseded'],
      ['2', 'pending'],
    ],
  );
  t.is(after.getRun(claim!.runId)?.status, 'interrupted');
  // Deliveries stay known across restarts.
  t.like(await after.acceptDurably(ev(1)), { outcome: 'duplicate', by: 'delivery' });
  t.like(await after.acceptDurably(ev(9, { after: ev(2).after })), { outcome: 'duplicate', by: 'commit' });
});

test('a burst accepted in one turn is group-committed and deduplicated within the batch', async (t) => {
  const store = new EventStore(await tempDir(t));
  t.teardown(() => store.close());
  const outcomes = await Promise.all([
    store.acceptDurably(ev(1)),
    store.acceptDurably(ev(1)),
    store.acceptDurably(ev(2)),
    store.acceptDurably(ev(3, { ref: 'refs/heads/other' })),
  ]);
  t.deepEqual(
    outcomes.map((o) => o.outcome),
    ['accepted', 'duplicate', 'accepted', 'accepted'],
  );
  t.deepEqual(
    store.events().map((e) => [e.after[0], e.ref, e.status]),
    [
      ['1', 'refs/heads/main', 'superseded'],
      ['2', 'refs/heads/main', 'pending'],
      ['3', 'refs/heads/other', 'pending'],
    ],
  );
});
