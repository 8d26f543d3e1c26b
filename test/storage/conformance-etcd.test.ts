import test from 'ava';
import { EtcdStore } from '../../services/apiserver/storage/etcd.js';
import { EventLog, storeConformance } from './conformance.js';
import { etcdBinary, startEtcd, type EtcdHandle } from './etcd-harness.js';
import { etcdTest } from './etcd-test.js';

let etcd: EtcdHandle | undefined;
let n = 0;
test.before(async () => {
  if (etcdBinary) etcd = await startEtcd();
});
test.after.always(async () => {
  await etcd?.stop();
});

if (etcdBinary)
  storeConformance(
    'etcd',
    async () => new EtcdStore(etcd!.endpoints, { keyPrefix: `/conformance-${process.pid}-${n++}` }),
    { serial: true },
  );
else etcdTest('etcd: conformance', () => undefined);

etcdTest('etcd: a watch withoutPrevious gets no previous values from etcd (etcd skips reading them)', async (t) => {
  const store = new EtcdStore(etcd!.endpoints, { keyPrefix: `/without-previous-${process.pid}` });
  t.teardown(() => store.close());
  const r1 = await store.create('/a', '1');
  const log = new EventLog();
  const stop = await store.watch('/', { sinceRevision: r1, withoutPrevious: true, ...log.handlers });
  t.teardown(stop);
  await store.update('/a', '2');
  await store.delete('/a');
  const events = await log.waitFor(2);
  t.deepEqual(
    events.map((e) => [e.type, e.value, e.prevValue]),
    [
      ['MODIFIED', '2', undefined],
      ['DELETED', '', undefined],
    ],
  );
});
