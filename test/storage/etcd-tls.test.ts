import { readFileSync } from 'node:fs';
import test from 'ava';
import { EtcdStore } from '../../services/apiserver/storage/etcd.js';
import { openStore, parseStoreUrl } from '../../services/apiserver/storage/open.js';
import type { StoreError } from '../../services/apiserver/storage/types.js';
import { EventLog } from './conformance.js';
import { etcdTestSerial } from './etcd-test.js';
import { startEtcd, type EtcdHandle } from './etcd-harness.js';
import { makeTestPki } from './pki.js';
import { tempDir } from './temp.js';

let etcd: EtcdHandle | undefined;
async function tlsEtcd(): Promise<EtcdHandle> {
  etcd ??= await startEtcd({ tls: true });
  return etcd;
}

/** The tests share one TLS etcd, one at a time (they fail, saying so, where etcd is not installed). */
const serial = etcdTestSerial;

test.after.always(async () => {
  await etcd?.stop();
});

serial('a store talks to an etcd that requires TLS client certificates', async (t) => {
  const { endpoints, tls } = await tlsEtcd();
  const store = new EtcdStore(endpoints, {
    tls: { ca: readFileSync(tls!.caFile), cert: readFileSync(tls!.certFile), key: readFileSync(tls!.keyFile) },
  });
  t.teardown(() => store.close());
  const log = new EventLog();
  t.teardown(await store.watch('/tls/', { sinceRevision: await store.revision(), ...log.handlers }));
  const rev = await store.create('/tls/a', '1');
  t.is((await store.get('/tls/a'))?.modRevision, rev);
  t.deepEqual(
    (await log.waitFor(1)).map((e) => e.key),
    ['/tls/a'],
  );
});

serial('etcds:// URLs open a TLS store from CA, cert and key files', async (t) => {
  const { endpoints, tls } = await tlsEtcd();
  t.deepEqual(parseStoreUrl(`etcds://${endpoints[0]}/p`), { backend: 'etcd', endpoints, keyPrefix: '/p', tls: true });
  const store = await openStore(`etcds://${endpoints.join(',')}/p`, { etcdTls: tls });
  t.teardown(() => store.close());
  await store.create('/x', '1');
  t.is((await store.get('/x'))?.value, '1');
  t.is(
    ((await openStore(`etcds://${endpoints[0]}`).catch((e) => e)) as StoreError).code,
    'Internal',
    'etcds:// without a CA is refused',
  );
});

serial('without a client certificate, or trusting another CA, calls fail with Unavailable', async (t) => {
  const { endpoints, tls } = await tlsEtcd();
  const noCert = new EtcdStore(endpoints, { tls: { ca: readFileSync(tls!.caFile) }, requestTimeoutMs: 1500 });
  t.teardown(() => noCert.close());
  t.is(((await noCert.get('/x').catch((e) => e)) as StoreError).code, 'Unavailable');
  const other = makeTestPki(tempDir(t));
  const wrongCa = new EtcdStore(endpoints, {
    tls: { ca: readFileSync(other.caFile), cert: readFileSync(tls!.certFile), key: readFileSync(tls!.keyFile) },
    requestTimeoutMs: 1500,
  });
  t.teardown(() => wrongCa.close());
  t.is(((await wrongCa.get('/x').catch((e) => e)) as StoreError).code, 'Unavailable');
  const plain = new EtcdStore(endpoints, { requestTimeoutMs: 1500 });
  t.teardown(() => plain.close());
  t.is(((await plain.get('/x').catch((e) => e)) as StoreError).code, 'Unavailable');
});
