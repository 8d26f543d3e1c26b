/**
 * GET and LIST are served from the watch cache with consistent-read semantics (docs/apiserver.md,
 * "Reads"): over real HTTP, on SQLite and on etcd (two API servers sharing one etcd, and across an
 * etcd leader change), every write acknowledged before a read is seen by it; resourceVersion and
 * resourceVersionMatch behave as kube documents; continue tokens page through one snapshot.
 */
import test, { type ExecutionContext } from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startApiServer, type ApiServer } from '../../services/apiserver/server.js';
import { EtcdStore } from '../../services/apiserver/storage/etcd.js';
import { SqliteStore } from '../../services/apiserver/storage/sqlite.js';
import type { Store } from '../../services/apiserver/storage/types.js';
import { findLeader, startEtcd, startEtcdCluster } from './etcd-harness.js';
import { etcdTest } from './etcd-test.js';

interface Answer {
  status: number;
  body: Record<string, unknown> & {
    metadata?: { resourceVersion?: string; continue?: string; remainingItemCount?: number; name?: string };
    items?: Array<{ metadata: { name: string; resourceVersion: string }; data?: Record<string, string> }>;
    data?: Record<string, string>;
    details?: { causes?: Array<{ reason: string }> };
  };
}

async function call(server: ApiServer, method: string, path: string, body?: unknown, type = 'application/json') {
  const res = await fetch(`${server.url}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': type },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(30_000),
  });
  return { status: res.status, body: (await res.json()) as Answer['body'] } satisfies Answer;
}

const CMS = '/api/v1/namespaces/default/configmaps';
const cm = (name: string, v: string) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data: { v } });

async function serve(t: ExecutionContext, store: Store, watchCacheSize?: number): Promise<ApiServer> {
  const server = await startApiServer({ store, watchCacheSize });
  t.teardown(() => server.close());
  // Its bootstrap writes (RBAC policy, default ServiceAccounts) are done before the test counts revisions.
  await server.access.idle();
  return server;
}

async function sqliteServer(t: ExecutionContext, watchCacheSize?: number): Promise<ApiServer> {
  const dir = mkdtempSync(join(tmpdir(), 'kitfed-consistent-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return serve(t, new SqliteStore(join(dir, 'db.sqlite')), watchCacheSize);
}

/** Writes through `writer`, reads through `reader` right after each acknowledgement. */
async function readYourWrites(t: ExecutionContext, writer: ApiServer, reader: ApiServer, rounds: number, tag: string) {
  for (let i = 0; i < rounds; i++) {
    const name = `${tag}-${i}`;
    const created = await call(writer, 'POST', CMS, cm(name, 'a'));
    t.is(created.status, 201, JSON.stringify(created.body));
    const rv = Number(created.body.metadata!.resourceVersion);
    const got = await call(reader, 'GET', `${CMS}/${name}`);
    t.is(got.status, 200, `GET right after create of ${name}`);
    const patched = await call(writer, 'PATCH', `${CMS}/${name}`, { data: { v: 'b' } }, 'application/merge-patch+json');
    t.is(patched.status, 200);
    const again = await call(reader, 'GET', `${CMS}/${name}`);
    t.is(again.body.data?.v, 'b', `GET right after patch of ${name}`);
    t.is(again.body.metadata!.resourceVersion, patched.body.metadata!.resourceVersion);
    const list = await call(reader, 'GET', CMS);
    t.true(Number(list.body.metadata!.resourceVersion) >= rv);
    t.is(list.body.items!.find((o) => o.metadata.name === name)?.data?.v, 'b', `LIST right after patch of ${name}`);
    t.is((await call(writer, 'DELETE', `${CMS}/${name}`)).status, 200);
    t.is((await call(reader, 'GET', `${CMS}/${name}`)).status, 404, `GET right after delete of ${name}`);
    const after = await call(reader, 'GET', CMS);
    t.false(
      after.body.items!.some((o) => o.metadata.name === name),
      `LIST right after delete of ${name}`,
    );
  }
}

/** resourceVersion / resourceVersionMatch as kube documents them. */
async function resourceVersionSemantics(t: ExecutionContext, server: ApiServer) {
  const created = await call(server, 'POST', CMS, cm('rv', 'old'));
  const rv1 = created.body.metadata!.resourceVersion!;
  const patched = await call(server, 'PATCH', `${CMS}/rv`, { data: { v: 'new' } }, 'application/merge-patch+json');
  const rv2 = patched.body.metadata!.resourceVersion!;
  // "0": any state the cache holds; N: not older than N.
  t.is((await call(server, 'GET', `${CMS}/rv?resourceVersion=0`)).status, 200);
  t.is((await call(server, 'GET', `${CMS}/rv?resourceVersion=${rv2}`)).body.data?.v, 'new');
  const notOlder = await call(server, 'GET', `${CMS}?resourceVersion=${rv1}&resourceVersionMatch=NotOlderThan`);
  t.true(Number(notOlder.body.metadata!.resourceVersion) >= Number(rv2));
  // Exact: the state at that revision.
  const exact = await call(server, 'GET', `${CMS}?resourceVersion=${rv1}&resourceVersionMatch=Exact`);
  t.is(exact.status, 200, JSON.stringify(exact.body));
  t.is(exact.body.metadata!.resourceVersion, rv1);
  t.deepEqual(
    exact.body.items!.filter((o) => o.metadata.name === 'rv').map((o) => [o.data?.v, o.metadata.resourceVersion]),
    [['old', rv1]],
  );
  // A revision the server has not reached: 504 with ResourceVersionTooLarge (after waiting a little).
  const future = Number(rv2) + 1000;
  for (const path of [`${CMS}/rv?resourceVersion=${future}`, `${CMS}?resourceVersion=${future}`]) {
    const tooLarge = await call(server, 'GET', path);
    t.is(tooLarge.status, 504, path);
    t.is(tooLarge.body.details?.causes?.[0]?.reason, 'ResourceVersionTooLarge');
  }
  // Invalid combinations, with kube's messages.
  const noRv = await call(server, 'GET', `${CMS}?resourceVersionMatch=Exact`);
  t.is(noRv.status, 422);
  t.regex(String(noRv.body.message), /resourceVersionMatch is forbidden unless resourceVersion is provided/);
  const exactZero = await call(server, 'GET', `${CMS}?resourceVersion=0&resourceVersionMatch=Exact`);
  t.is(exactZero.status, 422);
  t.regex(String(exactZero.body.message), /resourceVersionMatch "exact" is forbidden for resourceVersion "0"/);
  const unsupported = await call(server, 'GET', `${CMS}?resourceVersion=1&resourceVersionMatch=Newest`);
  t.is(unsupported.status, 422);
  t.is((await call(server, 'GET', `${CMS}?resourceVersion=abc`)).status, 400);
  const page = await call(server, 'GET', `${CMS}?limit=1`);
  const withRv = await call(server, 'GET', `${CMS}?limit=1&continue=${page.body.metadata!.continue}&resourceVersion=1`);
  t.is(withRv.status, 400);
  t.regex(String(withRv.body.message), /specifying resource version is not allowed when using continue/);
  t.is((await call(server, 'GET', `${CMS}?limit=1&continue=garbage`)).status, 400);
}

/** Pages of one list show the state of its first page, whatever happens meanwhile. */
async function snapshotPages(t: ExecutionContext, server: ApiServer) {
  for (let i = 0; i < 10; i++) await call(server, 'POST', CMS, cm(`page-${i}`, 'first'));
  const first = await call(server, 'GET', `${CMS}?labelSelector=&limit=4`);
  const rv = first.body.metadata!.resourceVersion;
  t.deepEqual(
    first.body.items!.map((o) => o.metadata.name),
    ['page-0', 'page-1', 'page-2', 'page-3'],
  );
  t.is(first.body.metadata!.remainingItemCount, 6);
  // Changes after the first page: none of them may show in the next pages.
  await call(server, 'DELETE', `${CMS}/page-5`);
  await call(server, 'POST', CMS, cm('page-55', 'late'));
  await call(server, 'PATCH', `${CMS}/page-8`, { data: { v: 'changed' } }, 'application/merge-patch+json');
  const second = await call(server, 'GET', `${CMS}?limit=4&continue=${first.body.metadata!.continue}`);
  t.is(second.status, 200, JSON.stringify(second.body));
  t.is(second.body.metadata!.resourceVersion, rv);
  t.deepEqual(
    second.body.items!.map((o) => o.metadata.name),
    ['page-4', 'page-5', 'page-6', 'page-7'],
  );
  t.is(second.body.metadata!.remainingItemCount, 2);
  const third = await call(server, 'GET', `${CMS}?limit=4&continue=${second.body.metadata!.continue}`);
  t.is(third.body.metadata!.resourceVersion, rv);
  t.deepEqual(
    third.body.items!.map((o) => [o.metadata.name, o.data?.v]),
    [
      ['page-8', 'first'],
      ['page-9', 'first'],
    ],
  );
  t.is(third.body.metadata!.continue, undefined);
  // A fresh list sees the changes.
  const now = await call(server, 'GET', CMS);
  const names = now.body.items!.map((o) => o.metadata.name);
  t.true(names.includes('page-55') && !names.includes('page-5'));
}

/** Writes `n` changes so a small watch cache forgets the revision of an earlier page. */
async function churn(server: ApiServer, n: number) {
  for (let i = 0; i < n; i++) await call(server, 'POST', CMS, cm(`churn-${i}`, 'x'));
}

// ---- SQLite ------------------------------------------------------------------------------

test('SQLite: every write is seen by the next GET and LIST (read-your-writes from the cache)', async (t) => {
  const server = await sqliteServer(t);
  await readYourWrites(t, server, server, 25, 'ryw');
});

test('SQLite: resourceVersion, resourceVersionMatch and their invalid combinations', async (t) => {
  await resourceVersionSemantics(t, await sqliteServer(t));
});

test('SQLite: continue tokens page through the revision of the first page', async (t) => {
  await snapshotPages(t, await sqliteServer(t));
});

test('SQLite: a list across namespaces pages in key order, with and without a selector', async (t) => {
  const server = await sqliteServer(t);
  // "ns-x" sorts before "ns" ('-' < '/'): keys, not namespace names, set the order.
  const namespaces = ['n', 'ns', 'ns-x'];
  for (const ns of namespaces) {
    t.is((await call(server, 'POST', '/api/v1/namespaces', { metadata: { name: ns } })).status, 201);
    for (const name of ['b', 'a', 'c']) {
      const o = { ...cm(name, ns), metadata: { name, labels: { pick: name === 'b' ? 'no' : 'yes' } } };
      t.is((await call(server, 'POST', `/api/v1/namespaces/${ns}/configmaps`, o)).status, 201);
    }
  }
  const walk = async (query: string) => {
    const seen: string[] = [];
    const remaining: Array<number | undefined> = [];
    let token: string | undefined;
    for (let pages = 0; pages < 10; pages++) {
      const page = await call(server, 'GET', `/api/v1/configmaps?limit=2${query}${token ? `&continue=${token}` : ''}`);
      t.is(page.status, 200, JSON.stringify(page.body));
      seen.push(...page.body.items!.map((o) => `${o.data!.v}/${o.metadata.name}`));
      remaining.push(page.body.metadata!.remainingItemCount);
      token = page.body.metadata!.continue;
      if (!token) break;
    }
    return { seen, remaining };
  };
  const all = await walk('');
  t.deepEqual(all.seen, ['n/a', 'n/b', 'n/c', 'ns-x/a', 'ns-x/b', 'ns-x/c', 'ns/a', 'ns/b', 'ns/c']);
  t.deepEqual(all.remaining, [7, 5, 3, 1, undefined]);
  const picked = await walk('&labelSelector=pick%3Dyes');
  t.deepEqual(picked.seen, ['n/a', 'n/c', 'ns-x/a', 'ns-x/c', 'ns/a', 'ns/c']);
  t.true(
    picked.remaining.every((r) => r === undefined),
    'no remainingItemCount with a selector',
  );
});

test('SQLite: a continue token older than the watch cache holds is 410 Expired', async (t) => {
  const server = await sqliteServer(t, 5);
  for (let i = 0; i < 4; i++) await call(server, 'POST', CMS, cm(`old-${i}`, 'x'));
  const first = await call(server, 'GET', `${CMS}?limit=2`);
  await churn(server, 10);
  const next = await call(server, 'GET', `${CMS}?limit=2&continue=${first.body.metadata!.continue}`);
  t.is(next.status, 410);
  t.regex(String(next.body.message), /The provided continue parameter is too old/);
});

// ---- etcd --------------------------------------------------------------------------------

/** Two API servers sharing one key prefix of a fresh etcd. */
async function etcdPair(t: ExecutionContext, watchCacheSize?: number) {
  const etcd = await startEtcd();
  t.teardown(() => etcd.stop());
  const open = () => {
    const store = new EtcdStore(etcd.endpoints, { keyPrefix: '/pair' });
    return serve(t, store, watchCacheSize);
  };
  return { etcd, a: await open(), b: await open() };
}

etcdTest('etcd: a write acknowledged by one API server is seen by the next GET and LIST on another', async (t) => {
  const { a, b } = await etcdPair(t);
  await readYourWrites(t, a, b, 25, 'cross');
  await readYourWrites(t, b, a, 5, 'back');
});

etcdTest('etcd: resourceVersion, resourceVersionMatch and their invalid combinations', async (t) => {
  const { a } = await etcdPair(t);
  await resourceVersionSemantics(t, a);
});

etcdTest('etcd: continue tokens page through one revision, from etcd once the cache has moved on', async (t) => {
  const { a, b } = await etcdPair(t, 5);
  await snapshotPages(t, a);
  // With the revision gone from the small cache, the next page is read from etcd at that revision.
  for (let i = 0; i < 4; i++) await call(a, 'POST', CMS, cm(`old-${i}`, 'x'));
  const first = await call(a, 'GET', `${CMS}?limit=2`);
  const rv = first.body.metadata!.resourceVersion;
  t.deepEqual(
    first.body.items!.map((o) => o.metadata.name),
    ['old-0', 'old-1'],
  );
  await call(a, 'DELETE', `${CMS}/old-2`);
  await churn(b, 10);
  t.true(Number(rv) < a.registry.cache.oldestRevision, 'the cache no longer holds the first page');
  const next = await call(b, 'GET', `${CMS}?limit=2&continue=${first.body.metadata!.continue}`);
  t.is(next.status, 200, JSON.stringify(next.body));
  t.is(next.body.metadata!.resourceVersion, rv);
  t.deepEqual(
    next.body.items!.map((o) => o.metadata.name),
    ['old-2', 'old-3'],
  );
});

etcdTest('etcd: writes under another key prefix of the same etcd do not hold cached reads back', async (t) => {
  const { etcd, a } = await etcdPair(t);
  const other = new EtcdStore(etcd.endpoints, { keyPrefix: '/other' });
  t.teardown(() => other.close());
  await call(a, 'POST', CMS, cm('mine', '1'));
  for (let i = 0; i < 5; i++) await other.create(`/registry/configmaps/default/theirs-${i}`, '{}');
  // The cache reaches the store's revision at once (its revision key, not etcd's, which moved on).
  t.true(await a.registry.cache.sync(2000), 'the cache is consistent without a write of its own');
  t.is((await call(a, 'GET', `${CMS}/mine`)).status, 200);
});

etcdTest('etcd: reads stay consistent across a leader change (3 members, two API servers)', async (t) => {
  const cluster = await startEtcdCluster(3);
  t.teardown(() => cluster.stop());
  // The store's deadline outlasts an election, as in production (see docs/operations.md).
  const open = () => serve(t, new EtcdStore(cluster.endpoints, { keyPrefix: '/ha', requestTimeoutMs: 5000 }));
  const a = await open();
  const b = await open();
  await readYourWrites(t, a, b, 3, 'before');
  const leader = await findLeader(cluster);
  t.truthy(leader, 'cluster has a leader');
  const killed = leader!.kill();
  await readYourWrites(t, a, b, 10, 'during');
  await killed;
  await readYourWrites(t, b, a, 10, 'after');
  t.true(await a.registry.cache.sync(), 'server a caught up');
  t.true(await b.registry.cache.sync(), 'server b caught up');
});
