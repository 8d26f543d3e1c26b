import test from 'ava';
import { startApiServer } from '../../services/apiserver/server.js';
import { MemoryStore } from '../../services/apiserver/storage/memory.js';
import { StoreError, type WatchOptions } from '../../services/apiserver/storage/types.js';

/** A real memory store whose store-level watches can be broken, as an etcd compaction would. */
class BreakableStore extends MemoryStore {
  private readonly live: WatchOptions[] = [];
  override async watch(prefix: string, options: WatchOptions): Promise<() => void> {
    const stop = await super.watch(prefix, options);
    this.live.push(options);
    return stop;
  }
  breakWatches(): void {
    for (const w of this.live.splice(0)) w.onError(new StoreError('Compacted', 'required revision has been compacted'));
  }
}

async function firstLines(url: string, n: number, timeoutMs = 5000): Promise<string[]> {
  const ctrl = new AbortController();
  const timer = setTimeout(() => ctrl.abort(), timeoutMs);
  const lines: string[] = [];
  try {
    const res = await fetch(url, { signal: ctrl.signal });
    const reader = res.body!.getReader();
    let buf = '';
    while (lines.length < n) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += new TextDecoder().decode(value);
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        lines.push(buf.slice(0, nl));
        buf = buf.slice(nl + 1);
      }
    }
  } catch {
    // aborted: return what arrived
  } finally {
    clearTimeout(timer);
    ctrl.abort();
  }
  return lines;
}

test('when the store watch breaks, client watches end with 410 and the server watches the store again', async (t) => {
  const store = new BreakableStore();
  const server = await startApiServer({ store });
  t.teardown(() => server.close());
  const cm = server.catalog.byKind('', 'v1', 'ConfigMap')!;
  const rv = server.registry.cache.revision;
  const watching = firstLines(`${server.url}/api/v1/namespaces/default/configmaps?watch=1&resourceVersion=${rv}`, 1);
  await new Promise((r) => setTimeout(r, 200));
  store.breakWatches();
  const [line] = await watching;
  const event = JSON.parse(line!) as { type: string; object: { code: number } };
  t.is(event.type, 'ERROR');
  t.is(event.object.code, 410);

  let again: string[] = [];
  for (let i = 0; i < 50 && again.length === 0; i++) {
    await new Promise((r) => setTimeout(r, 100));
    const pending = firstLines(
      `${server.url}/api/v1/namespaces/default/configmaps?watch=1&resourceVersion=${server.registry.cache.revision}`,
      1,
      1500,
    );
    await new Promise((r) => setTimeout(r, 100));
    await server.registry.create(cm, 'default', {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: `after-${i}` },
    });
    again = (await pending).filter((l) => l.includes('"ADDED"'));
  }
  t.true(again.length >= 1, 'a new watch receives events after recovery');
});
