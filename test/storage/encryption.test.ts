import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import { Etcd3 } from 'etcd3';
import {
  EncryptedStore,
  EncryptionConfigError,
  loadEncryptionConfig,
  parseEncryptionConfig,
  type EncryptionRule,
} from '../../services/apiserver/storage/encryption.js';
import { EtcdStore } from '../../services/apiserver/storage/etcd.js';
import { MemoryStore } from '../../services/apiserver/storage/memory.js';
import { SqliteStore } from '../../services/apiserver/storage/sqlite.js';
import { StoreError } from '../../services/apiserver/storage/types.js';
import { EventLog, storeConformance } from './conformance.js';
import { startEtcd } from './etcd-harness.js';
import { etcdTest } from './etcd-test.js';
import { tempDir } from './temp.js';

const KEY1 = Buffer.alloc(32, 1).toString('base64');
const KEY2 = Buffer.alloc(32, 2).toString('base64');
const SECRET_TEXT = 'hunter2-TOP-SECRET-value';
const SECRET = JSON.stringify({
  kind: 'Secret',
  metadata: { name: 'db', namespace: 'default' },
  stringData: { password: SECRET_TEXT },
});

function config(keys: [string, string][], identity = false): string {
  return [
    'apiVersion: apiserver.config.k8s.io/v1',
    'kind: EncryptionConfiguration',
    'resources:',
    '  - resources: [secrets]',
    '    providers:',
    '      - aesgcm:',
    '          keys:',
    ...keys.flatMap(([name, secret]) => [`            - name: ${name}`, `              secret: ${secret}`]),
    ...(identity ? ['      - identity: {}'] : []),
  ].join('\n');
}

test("the EncryptionConfiguration file format is kube's", async (t) => {
  const dir = tempDir(t);
  writeFileSync(
    join(dir, 'enc.yaml'),
    config(
      [
        ['key2', KEY2],
        ['key1', KEY1],
      ],
      true,
    ),
  );
  const rules = await loadEncryptionConfig(join(dir, 'enc.yaml'));
  t.deepEqual(rules[0]!.prefixes, ['/registry/secrets/']);
  t.deepEqual(
    rules[0]!.providers.map((p) => (p.kind === 'aesgcm' ? p.keys.map((k) => k.name) : p.kind)),
    [['key2', 'key1'], 'identity'],
  );
  const short = t.throws(() => parseEncryptionConfig(config([['bad', Buffer.alloc(10).toString('base64')]])), {
    instanceOf: EncryptionConfigError,
  });
  t.notRegex(short.message, new RegExp(Buffer.alloc(10).toString('base64')));
  t.throws(() => parseEncryptionConfig('kind: Nope'), { instanceOf: EncryptionConfigError });
  t.throws(
    () =>
      parseEncryptionConfig(
        'kind: EncryptionConfiguration\nresources:\n  - resources: [secrets]\n    providers:\n      - kms: {}\n',
      ),
    { instanceOf: EncryptionConfigError },
  );
  t.deepEqual(
    parseEncryptionConfig(
      'kind: EncryptionConfiguration\nresources:\n  - resources: [widgets.example.com]\n    providers: [{identity: {}}]\n',
    )[0]!.prefixes,
    ['/registry/example.com/widgets/'],
  );
});

test('the raw SQLite file holds no plaintext Secret data; other resources stay readable', async (t) => {
  const dir = tempDir(t);
  const rules = parseEncryptionConfig(config([['key1', KEY1]]));
  const store = new EncryptedStore(new SqliteStore(join(dir, 'kitfed.db')), rules);
  const log = new EventLog();
  t.teardown(await store.watch('/registry/', { sinceRevision: 0, ...log.handlers }));
  const r1 = await store.create('/registry/secrets/default/db', SECRET);
  await store.update('/registry/secrets/default/db', SECRET.replace('db"', 'db2"'), r1);
  await store.create('/registry/configmaps/default/plain', '{"data":{"visible":"yes-plain"}}');
  t.is((await store.get('/registry/secrets/default/db'))?.value, SECRET.replace('db"', 'db2"'));
  t.deepEqual(
    (await store.list('/registry/secrets/')).items.map((i) => i.value),
    [SECRET.replace('db"', 'db2"')],
  );
  const events = await log.waitFor(3);
  t.is(events[0]!.value, SECRET);
  t.is(events[1]!.prevValue, SECRET);
  const conflict = await t.throwsAsync(store.update('/registry/secrets/default/db', 'x', r1), {
    instanceOf: StoreError,
  });
  t.is(conflict?.current?.value, SECRET.replace('db"', 'db2"'));
  t.notRegex(conflict.message, /hunter2/);
  const { prev } = await store.delete('/registry/secrets/default/db');
  t.is(prev.value, SECRET.replace('db"', 'db2"'));
  await store.close();
  const raw = readdirSync(dir)
    .map((f) => readFileSync(join(dir, f)).toString('latin1'))
    .join('');
  t.false(raw.includes(SECRET_TEXT), 'no plaintext secret in the database or WAL');
  t.true(raw.includes('k8s:enc:aesgcm:v1:key1:'));
  t.true(raw.includes('yes-plain'));
});

test('rotation: the first key encrypts, every listed key decrypts, rewrite moves data to the new key', async (t) => {
  const inner = new MemoryStore();
  const old = new EncryptedStore(inner, parseEncryptionConfig(config([['key1', KEY1]])));
  await old.create('/registry/secrets/ns/a', SECRET);
  const rotated = new EncryptedStore(
    inner,
    parseEncryptionConfig(
      config([
        ['key2', KEY2],
        ['key1', KEY1],
      ]),
    ),
  );
  t.is((await rotated.get('/registry/secrets/ns/a'))?.value, SECRET);
  await rotated.create('/registry/secrets/ns/b', SECRET);
  t.regex((await inner.get('/registry/secrets/ns/b'))!.value, /^k8s:enc:aesgcm:v1:key2:/);
  t.regex((await inner.get('/registry/secrets/ns/a'))!.value, /^k8s:enc:aesgcm:v1:key1:/);
  t.is(await rotated.rewrite('/registry/secrets/'), 1);
  t.regex((await inner.get('/registry/secrets/ns/a'))!.value, /^k8s:enc:aesgcm:v1:key2:/);
  const newOnly = new EncryptedStore(inner, parseEncryptionConfig(config([['key2', KEY2]])));
  t.is((await newOnly.get('/registry/secrets/ns/a'))?.value, SECRET);
});

test('unreadable values fail with an error naming the key, never the data', async (t) => {
  const inner = new MemoryStore();
  const store = new EncryptedStore(inner, parseEncryptionConfig(config([['key1', KEY1]])));
  await store.create('/registry/secrets/ns/a', SECRET);
  const wrong = new EncryptedStore(inner, parseEncryptionConfig(config([['key1', KEY2]])));
  const err = await t.throwsAsync(wrong.get('/registry/secrets/ns/a'), { instanceOf: StoreError });
  t.is(err?.code, 'Internal');
  t.regex(err.message, /\/registry\/secrets\/ns\/a/);
  t.notRegex(err.message, /hunter2|AQEB/);
  const unknown = new EncryptedStore(inner, parseEncryptionConfig(config([['key9', KEY1]])));
  t.regex((await t.throwsAsync(unknown.get('/registry/secrets/ns/a'))).message, /key "key1", which is not configured/);
  // A value moved to another key does not decrypt (the storage key is authenticated).
  await inner.create('/registry/secrets/ns/moved', (await inner.get('/registry/secrets/ns/a'))!.value);
  t.is(((await store.get('/registry/secrets/ns/moved').catch((e) => e)) as StoreError).code, 'Internal');
  // Plaintext written before encryption: readable only with an identity provider.
  await inner.create('/registry/secrets/ns/legacy', '{"old":true}');
  t.is(((await store.get('/registry/secrets/ns/legacy').catch((e) => e)) as StoreError).code, 'Internal');
  // A watch meeting an undecryptable value ends with an error instead of skipping it.
  const log = new EventLog();
  t.teardown(await wrong.watch('/registry/secrets/', { sinceRevision: 0, ...log.handlers }));
  await inner.create('/registry/secrets/ns/after', 'plain');
  t.deepEqual(log.events, []);
  t.is(log.errors.length, 1);
  t.is(log.errors[0]!.code, 'Internal');
  t.notRegex(log.errors[0]!.message, /hunter2/);
  const withIdentity = new EncryptedStore(inner, parseEncryptionConfig(config([['key1', KEY1]], true)));
  t.is((await withIdentity.get('/registry/secrets/ns/legacy'))?.value, '{"old":true}');
});

etcdTest('raw etcd values hold no plaintext Secret data', async (t) => {
  const etcd = await startEtcd();
  t.teardown(() => etcd.stop());
  const store = new EncryptedStore(new EtcdStore(etcd.endpoints), parseEncryptionConfig(config([['key1', KEY1]])));
  t.teardown(() => store.close());
  await store.create('/registry/secrets/default/db', SECRET);
  t.is((await store.get('/registry/secrets/default/db'))?.value, SECRET);
  const client = new Etcd3({ hosts: etcd.endpoints.map((e) => `http://${e}`) });
  t.teardown(() => client.close());
  const raw = await client.get('/kitfed/registry/secrets/default/db').string();
  t.truthy(raw);
  t.regex(raw!, /^k8s:enc:aesgcm:v1:key1:/);
  t.false(raw!.includes(SECRET_TEXT));
  // The watch cache's watch (withoutPrevious): etcd sends a delete without its value; nothing to decrypt.
  const log = new EventLog();
  const stop = await store.watch('/registry/secrets/', {
    sinceRevision: await store.revision(),
    withoutPrevious: true,
    ...log.handlers,
  });
  t.teardown(stop);
  await store.delete('/registry/secrets/default/db');
  t.deepEqual(
    (await log.waitFor(1)).map((e) => [e.type, e.value]),
    [['DELETED', '']],
  );
  t.deepEqual(log.errors, []);
});

const everything: EncryptionRule[] = [
  { prefixes: ['/'], providers: [{ kind: 'aesgcm', keys: [{ name: 'k', secret: Buffer.alloc(32, 9) }] }] },
];
storeConformance('encrypted(memory)', async () => new EncryptedStore(new MemoryStore(), everything));
