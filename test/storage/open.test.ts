import { join } from 'node:path';
import test from 'ava';
import { EncryptedStore } from '../../services/apiserver/storage/encryption.js';
import { EtcdStore } from '../../services/apiserver/storage/etcd.js';
import { MemoryStore } from '../../services/apiserver/storage/memory.js';
import { openStore, parseStoreUrl } from '../../services/apiserver/storage/open.js';
import { SqliteStore } from '../../services/apiserver/storage/sqlite.js';
import { StoreError } from '../../services/apiserver/storage/types.js';
import { startEtcd } from './etcd-harness.js';
import { etcdTest } from './etcd-test.js';
import { tempDir } from './temp.js';

test('storage URLs name a backend and its location', (t) => {
  t.deepEqual(parseStoreUrl('memory://'), { backend: 'memory' });
  t.deepEqual(parseStoreUrl('sqlite:///var/lib/kitfed/db.sqlite'), {
    backend: 'sqlite',
    path: '/var/lib/kitfed/db.sqlite',
  });
  t.deepEqual(parseStoreUrl('sqlite://data/kitfed.db', '/srv'), { backend: 'sqlite', path: '/srv/data/kitfed.db' });
  t.deepEqual(parseStoreUrl('.kitfed/kitfed.db', '/home/me'), {
    backend: 'sqlite',
    path: '/home/me/.kitfed/kitfed.db',
  });
  t.deepEqual(parseStoreUrl('/abs/x.db'), { backend: 'sqlite', path: '/abs/x.db' });
  t.deepEqual(parseStoreUrl('etcd://10.0.0.1:2379,10.0.0.2:2379'), {
    backend: 'etcd',
    endpoints: ['10.0.0.1:2379', '10.0.0.2:2379'],
  });
  t.deepEqual(parseStoreUrl('etcd://localhost:2379/kitfed-prod/'), {
    backend: 'etcd',
    endpoints: ['localhost:2379'],
    keyPrefix: '/kitfed-prod',
  });
  for (const bad of ['etcd://', 'etcd://host', 'mysql://x', 'sqlite://', '']) {
    t.throws(() => parseStoreUrl(bad), { instanceOf: StoreError }, bad);
  }
});

test('openStore opens memory and SQLite stores, encrypted when configured', async (t) => {
  const dir = tempDir(t);
  const memory = await openStore('memory://');
  t.true(memory instanceof MemoryStore);
  await memory.close();
  const sqlite = await openStore('sqlite://nested/kitfed.db', { baseDir: dir });
  t.true(sqlite instanceof SqliteStore);
  t.is((sqlite as SqliteStore).path, join(dir, 'nested/kitfed.db'));
  await sqlite.close();
  const encrypted = await openStore(join(dir, 'enc.db'), {
    encryption: [
      {
        prefixes: ['/registry/secrets/'],
        providers: [{ kind: 'aesgcm', keys: [{ name: 'k', secret: Buffer.alloc(32, 7) }] }],
      },
    ],
  });
  t.true(encrypted instanceof EncryptedStore);
  t.is(encrypted.backend, 'sqlite');
  await encrypted.close();
});

etcdTest('openStore connects to etcd, with a key prefix from the URL', async (t) => {
  const etcd = await startEtcd();
  t.teardown(() => etcd.stop());
  const store = await openStore(`etcd://${etcd.endpoints.join(',')}/tenant-a`);
  t.teardown(() => store.close());
  t.true(store instanceof EtcdStore);
  await store.create('/x', '1');
  const raw = new EtcdStore(etcd.endpoints, { keyPrefix: '' });
  t.teardown(() => raw.close());
  // Every key under the prefix: the object, and the store's revision key (which every write also puts).
  t.deepEqual(
    (await raw.list('/tenant-a/')).items.map((i) => i.key),
    ['/tenant-a/\u0000revision', '/tenant-a/x'],
  );
  t.deepEqual(
    (await store.list('/')).items.map((i) => i.key),
    ['/x'],
  );
});

test('openStore on an unreachable etcd fails with Unavailable', async (t) => {
  const err = await t.throwsAsync(openStore('etcd://127.0.0.1:1', { etcd: { requestTimeoutMs: 1000 } }), {
    instanceOf: StoreError,
  });
  t.is(err?.code, 'Unavailable');
});
