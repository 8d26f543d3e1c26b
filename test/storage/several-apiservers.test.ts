/**
 * Several API servers on one etcd, each with a CA of its own (every `--data-dir` generates one):
 * the `kube-root-ca.crt` ConfigMaps come to hold both CAs and the servers then stop writing. They
 * used to put their own CA back over the other's, some 2,000 writes a second for as long as both
 * ran.
 */
import { readFileSync } from 'node:fs';
import { startApiServer, type ApiServer } from '../../services/apiserver/server.js';
import { EtcdStore } from '../../services/apiserver/storage/etcd.js';
import { eventually } from '../helpers/eventually.js';
import { startEtcd } from './etcd-harness.js';
import { etcdTest } from './etcd-test.js';
import { makeTestPki } from './pki.js';
import { tempDir } from './temp.js';

interface ConfigMapList {
  metadata: { resourceVersion: string };
  items: Array<{ metadata: { namespace: string }; data?: Record<string, string> }>;
}

async function rootCas(server: ApiServer): Promise<ConfigMapList> {
  const res = await fetch(`${server.url}/api/v1/configmaps?fieldSelector=metadata.name%3Dkube-root-ca.crt`, {
    signal: AbortSignal.timeout(10_000),
  });
  if (res.status !== 200) throw new Error(`list of kube-root-ca.crt: ${res.status} ${await res.text()}`);
  return (await res.json()) as ConfigMapList;
}

etcdTest(
  'two API servers with different CAs on one etcd publish both in kube-root-ca.crt, then stop writing',
  async (t) => {
    const etcd = await startEtcd();
    t.teardown(() => etcd.stop());
    const cas = ['a', 'b'].map((name) => readFileSync(makeTestPki(tempDir(t, `kitfed-ca-${name}-`)).caFile, 'utf8'));
    const servers: ApiServer[] = [];
    for (const caCert of cas) {
      const server = await startApiServer({ store: new EtcdStore(etcd.endpoints, { keyPrefix: '/ha' }), caCert });
      t.teardown(() => server.close());
      servers.push(server);
    }
    const holdsBoth = (pem: string | undefined) => cas.every((ca) => pem?.includes(ca.trim()));

    // Every namespace's bundle verifies both servers, as read through either of them.
    for (const server of servers) {
      const list = await eventually(async () => {
        const l = await rootCas(server);
        return l.items.length >= 4 && l.items.every((cm) => holdsBoth(cm.data?.['ca.crt'])) && l;
      }, 20_000);
      t.deepEqual(
        list.items.filter((cm) => !holdsBoth(cm.data?.['ca.crt'])).map((cm) => cm.metadata.namespace),
        [],
      );
    }

    // And the store goes quiet: nothing is written for a second (a LIST's resourceVersion is the
    // revision of the latest write).
    const quiet = await eventually(async () => {
      const before = (await rootCas(servers[0]!)).metadata.resourceVersion;
      await new Promise((r) => setTimeout(r, 1000));
      const after = (await rootCas(servers[1]!)).metadata.resourceVersion;
      return before === after && after;
    }, 20_000);
    t.regex(quiet, /^\d+$/);
    const pem = (await rootCas(servers[1]!)).items[0]?.data?.['ca.crt'];
    t.is(pem?.match(/BEGIN CERTIFICATE/g)?.length, 2, 'each CA once');
  },
);
