import test from 'ava';
import { EventWindow } from '../../services/apiserver/storage/event-window.js';

const after = (w: EventWindow<{ revision: number }>, revision: number, newestFirst = false): number[] => {
  const seen: number[] = [];
  const each = newestFirst ? w.forEachAfterNewestFirst : w.forEachAfter;
  each.call(w, revision, (e) => seen.push(e.revision));
  return seen;
};

test('keeps the last `size` events across the chunked cuts and says what each push dropped', (t) => {
  const w = new EventWindow<{ revision: number }>(100);
  const dropped: number[] = [];
  for (let r = 1; r <= 1_000; r++) {
    const d = w.push({ revision: r });
    if (d !== undefined) dropped.push(d);
  }
  t.deepEqual(
    dropped,
    Array.from({ length: 900 }, (_, i) => i + 1),
  );
  t.deepEqual(
    after(w, 0),
    Array.from({ length: 100 }, (_, i) => 901 + i),
  );
  t.deepEqual(after(w, 997), [998, 999, 1000]);
  t.deepEqual(after(w, 997, true), [1000, 999, 998]);
});

test('dropThrough forgets events up to a revision; clear forgets all', (t) => {
  const w = new EventWindow<{ revision: number }>(10);
  for (let r = 1; r <= 8; r++) w.push({ revision: r });
  w.dropThrough(5);
  t.deepEqual(after(w, 0), [6, 7, 8]);
  t.deepEqual(after(w, 0, true), [8, 7, 6]);
  w.clear();
  t.deepEqual(after(w, 0), []);
});
