import test from 'ava';
import { openStore } from '../../services/apiserver/storage/open.js';
import { storeBackends } from './backends.js';

for (const backend of storeBackends()) {
  test(`backends: ${backend.name} opens fresh stores, directly and by URL`, async (t) => {
    const a = await backend.open(t);
    const b = await backend.open(t);
    await a.create('/registry/x', '1');
    t.is(await b.get('/registry/x'), undefined);
    const byUrl = await openStore(await backend.url(t));
    t.teardown(() => byUrl.close());
    t.is(byUrl.backend, backend.name);
    t.is(await byUrl.get('/registry/x'), undefined);
  });
}
