import test from 'ava';
import { EtcdStore } from '../../services/apiserver/storage/etcd.js';
import { storeConformance } from './conformance.js';
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
