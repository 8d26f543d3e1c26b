/**
 * What authorization costs: the federation API server (`kitfed apiserver`, its own process,
 * memory storage) with `--authorization-mode RBAC` against the same server with `AlwaysAllow`,
 * over HTTPS with bearer tokens, in the same run. The client is a user of a static token
 * bound to `edit` in one namespace (RBAC evaluates every request; a superuser would skip it),
 * plus the same GET with a ServiceAccount token (JWT verification on top). 16 keep-alive
 * clients per op; the modes alternate for `--rounds` rounds and each figure is the median.
 *
 * The same RBAC GET with a static token file of 10,001 tokens (the user's last) shows the
 * token lookup does not grow with the file (auth/token-index.ts: one SHA-256 and one map read).
 *
 * Then, in process: the authorizer's decision cost with many bindings, cached and not, and a
 * static token lookup with 10 and 10,000 tokens against the scan it replaced (same run).
 *
 *   node --import tsx bench/authz.ts [--seconds 3] [--rounds 2]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import https from 'node:https';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { timingSafeEqual } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: { seconds: { type: 'string', default: '3' }, rounds: { type: 'string', default: '2' } },
});
const SECONDS = Number(values.seconds);
const ROUNDS = Number(values.rounds);
const CONCURRENCY = 16;
const ADMIN_TOKEN = 'bench-admin-token-0123456789abcdef';
const USER_TOKEN = 'bench-user-token-0123456789abcdef';
const MANY_TOKENS = 10_000;

interface Server {
  url: string;
  child: ChildProcess;
  agent: https.Agent;
}

async function startServer(dir: string, mode: string, ca: () => Promise<string>): Promise<Server> {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      'services/cli/kitfed.ts',
      'apiserver',
      '--listen',
      '127.0.0.1:0',
      '--data-dir',
      dir,
      '--storage',
      'memory://',
      '--authorization-mode',
      mode,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, KITFED_LOG_LEVEL: 'info' } },
  );
  const url = await new Promise<string>((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => reject(new Error(`API server did not start: ${buf}`)), 120_000);
    child.stderr.on('data', (d: Buffer) => {
      buf += d.toString();
      const m = /"url":"(https:[^"]+)"/.exec(buf);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    child.on('exit', (code) => reject(new Error(`API server exited ${code}: ${buf}`)));
  });
  return { url, child, agent: new https.Agent({ keepAlive: true, maxSockets: CONCURRENCY + 4, ca: await ca() }) };
}

function request(
  s: Server,
  token: string,
  method: string,
  path: string,
  body?: string,
): Promise<{ code: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      `${s.url}${path}`,
      {
        method,
        agent: s.agent,
        headers: {
          Authorization: `Bearer ${token}`,
          ...(body ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } : {}),
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve({ code: res.statusCode ?? 0, text }));
      },
    );
    req.on('error', reject);
    if (body) req.write(body);
    req.end();
  });
}

async function must(
  s: Server,
  token: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<Record<string, unknown>> {
  const r = await request(s, token, method, path, body === undefined ? undefined : JSON.stringify(body));
  if (r.code >= 300) throw new Error(`${method} ${path}: ${r.code} ${r.text}`);
  return JSON.parse(r.text) as Record<string, unknown>;
}

async function throughput(
  op: (worker: number, i: number) => Promise<number>,
): Promise<{ perSecond: number; errors: number }> {
  let ok = 0;
  let errors = 0;
  const end = performance.now() + SECONDS * 1000;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async (_, w) => {
      for (let i = 0; performance.now() < end; i++) {
        const code = await op(w, i);
        if (code >= 200 && code < 300) ok++;
        else errors++;
      }
    }),
  );
  return { perSecond: ok / SECONDS, errors };
}

function cm(name: string): unknown {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name, labels: { bench: 'x' } },
    data: { key: 'value', other: 'x'.repeat(200) },
  };
}

interface Figures {
  get: number;
  list: number;
  create: number;
  getServiceAccount: number;
  errors: number;
}

async function measure(dir: string, mode: string, round: number, getOnly = false): Promise<Figures> {
  const s = await startServer(dir, mode, () => readFile(join(dir, 'pki', 'ca.crt'), 'utf8'));
  try {
    const ns = '/api/v1/namespaces/bench';
    await must(s, ADMIN_TOKEN, 'POST', '/api/v1/namespaces', {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: 'bench' },
    });
    await must(s, ADMIN_TOKEN, 'POST', '/apis/rbac.authorization.k8s.io/v1/namespaces/bench/rolebindings', {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: 'bench-edit' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'edit' },
      subjects: [
        { kind: 'User', name: 'bench-user' },
        { kind: 'ServiceAccount', name: 'bench-sa', namespace: 'bench' },
      ],
    });
    await must(s, ADMIN_TOKEN, 'POST', `${ns}/serviceaccounts`, {
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: { name: 'bench-sa' },
    });
    const tr = await must(s, ADMIN_TOKEN, 'POST', `${ns}/serviceaccounts/bench-sa/token`, {
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'TokenRequest',
      spec: { expirationSeconds: 3600 },
    });
    const saToken = (tr.status as { token: string }).token;
    for (let i = 0; i < 100; i++) await must(s, USER_TOKEN, 'POST', `${ns}/configmaps`, cm(`seed-${i}`));
    const get = await throughput((_w, i) =>
      request(s, USER_TOKEN, 'GET', `${ns}/configmaps/seed-${i % 100}`).then((r) => r.code),
    );
    if (getOnly) return { get: get.perSecond, list: 0, create: 0, getServiceAccount: 0, errors: get.errors };
    const getSa = await throughput((_w, i) =>
      request(s, saToken, 'GET', `${ns}/configmaps/seed-${i % 100}`).then((r) => r.code),
    );
    const list = await throughput(() => request(s, USER_TOKEN, 'GET', `${ns}/configmaps`).then((r) => r.code));
    const create = await throughput((w, i) =>
      request(s, USER_TOKEN, 'POST', `${ns}/configmaps`, JSON.stringify(cm(`c-${round}-${w}-${i}`))).then(
        (r) => r.code,
      ),
    );
    return {
      get: get.perSecond,
      list: list.perSecond,
      create: create.perSecond,
      getServiceAccount: getSa.perSecond,
      errors: get.errors + list.errors + create.errors + getSa.errors,
    };
  } finally {
    s.agent.destroy();
    s.child.kill('SIGKILL');
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** In process: decisions per second of the RBAC authorizer with many bindings, cached and uncached. */
async function authorizerCost(): Promise<{ bindings: number; cachedNs: number; uncachedUs: number }> {
  const { startApiServer } = await import('../services/apiserver/server.js');
  const { RbacAuthorizer } = await import('../services/apiserver/auth/authorizer.js');
  const server = await startApiServer({ authenticator: { authenticate: () => undefined } });
  try {
    const reg = server.registry;
    const rb = reg.catalog.byKind('rbac.authorization.k8s.io', 'v1', 'RoleBinding')!;
    const nsType = reg.catalog.byKind('', 'v1', 'Namespace')!;
    const BINDINGS = 2000;
    for (let n = 0; n < 20; n++)
      await reg.create(nsType, undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: `ns-${n}` } });
    await Promise.all(
      Array.from({ length: BINDINGS }, (_, i) =>
        reg.create(rb, `ns-${i % 20}`, {
          apiVersion: 'rbac.authorization.k8s.io/v1',
          kind: 'RoleBinding',
          metadata: { name: `b-${i}` },
          roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: i % 2 ? 'view' : 'edit' },
          subjects: [
            { kind: 'User', name: `user-${i % 500}` },
            { kind: 'Group', name: `group-${i % 50}` },
          ],
        }),
      ),
    );
    const authz = new RbacAuthorizer(reg);
    await authz.start();
    const user = { name: 'user-7', groups: ['group-7', 'system:authenticated'] };
    const attrs = (i: number) => ({
      resourceRequest: true,
      verb: 'get',
      path: '',
      apiGroup: '',
      apiVersion: 'v1',
      namespace: `ns-${i % 20}`,
      resource: 'configmaps',
      subresource: '',
      name: `cm-${i % 100}`,
    });
    const N = 200_000;
    const t0 = performance.now();
    for (let i = 0; i < N; i++) authz.authorize(user, attrs(i));
    const cachedNs = ((performance.now() - t0) * 1e6) / N;
    const M = 20_000;
    const t1 = performance.now();
    for (let i = 0; i < M; i++)
      authz.authorize({ name: `user-${i % 500}`, groups: [`g${i}`, 'system:authenticated'] }, attrs(i));
    const uncachedUs = ((performance.now() - t1) * 1e3) / M;
    authz.stop();
    return { bindings: BINDINGS, cachedNs: Math.round(cachedNs), uncachedUs: Number(uncachedUs.toFixed(2)) };
  } finally {
    await server.close();
  }
}

/**
 * In process: one static token lookup with `n` tokens, by digest (what the server runs) and by
 * the scan it replaced (every token compared with timingSafeEqual; kept here as the baseline).
 */
async function tokenLookupCost(n: number): Promise<{ tokens: number; indexNs: number; scanNs: number }> {
  const { makeAuthenticator } = await import('../services/apiserver/security.js');
  const entries = Array.from({ length: n }, (_, i) => ({
    token: `lookup-${i}-${'x'.repeat(32)}`,
    user: `u${i}`,
    uid: `u${i}`,
    groups: [],
  }));
  const byDigest = makeAuthenticator(entries).authenticateToken!;
  const users = new Map(entries.map((e) => [e.token, e.user]));
  const scan = (presented: string): string | undefined => {
    const b = Buffer.from(presented);
    for (const [token, user] of users) {
      const a = Buffer.from(token);
      if (a.length === b.length && timingSafeEqual(a, b)) return user;
    }
    return undefined;
  };
  const last = entries[n - 1]!.token;
  const time = (f: (t: string) => unknown, calls: number): number => {
    for (let i = 0; i < Math.min(calls, 1000); i++) if (!f(last)) throw new Error('token not found');
    const t0 = performance.now();
    for (let i = 0; i < calls; i++) f(last);
    return ((performance.now() - t0) * 1e6) / calls;
  };
  return {
    tokens: n,
    indexNs: Math.round(time(byDigest, 200_000)),
    scanNs: Math.round(time(scan, Math.max(200, Math.floor(2_000_000 / n)))),
  };
}

const dir = await mkdtemp(join(tmpdir(), 'kitfed-bench-authz-'));
const manyDir = await mkdtemp(join(tmpdir(), 'kitfed-bench-authz-tokens-'));
try {
  const admin = `${ADMIN_TOKEN},bench-admin,bench-admin,"system:masters"`;
  await writeFile(join(dir, 'tokens.csv'), `${admin}\n${USER_TOKEN},bench-user,bench-user\n`, { mode: 0o600 });
  const filler = Array.from({ length: MANY_TOKENS }, (_, i) => `filler-${i}-${'y'.repeat(32)},filler-${i},filler-${i}`);
  await writeFile(
    join(manyDir, 'tokens.csv'),
    `${[admin, ...filler, `${USER_TOKEN},bench-user,bench-user`].join('\n')}\n`,
    { mode: 0o600 },
  );
  const runs: Record<string, Figures[]> = { AlwaysAllow: [], RBAC: [], manyTokens: [] };
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 ? ['manyTokens', 'RBAC', 'AlwaysAllow'] : ['AlwaysAllow', 'RBAC', 'manyTokens'];
    for (const mode of order) {
      const f = mode === 'manyTokens' ? await measure(manyDir, 'RBAC', round, true) : await measure(dir, mode, round);
      runs[mode]!.push(f);
      if (mode === 'manyTokens') {
        console.log(
          `round ${round + 1} RBAC, ${MANY_TOKENS + 2} static tokens: GET ${f.get.toFixed(0)}/s  errors ${f.errors}`,
        );
        continue;
      }
      console.log(
        `round ${round + 1} ${mode.padEnd(11)} GET ${f.get.toFixed(0)}/s  GET(SA token) ${f.getServiceAccount.toFixed(0)}/s  ` +
          `LIST(100) ${f.list.toFixed(0)}/s  CREATE ${f.create.toFixed(0)}/s  errors ${f.errors}`,
      );
    }
  }
  const med = (mode: string, k: keyof Figures) => median(runs[mode]!.map((f) => f[k]));
  const ops: Array<[string, keyof Figures]> = [
    ['GET', 'get'],
    ['GET (ServiceAccount token)', 'getServiceAccount'],
    ['LIST (100 objects)', 'list'],
    ['CREATE', 'create'],
  ];
  const azc = await authorizerCost();
  const lookups = [await tokenLookupCost(10), await tokenLookupCost(MANY_TOKENS)];
  console.log(
    `\nmachine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, ` +
      `node ${process.version}; HTTPS + bearer token, ${CONCURRENCY} keep-alive clients, ` +
      `${SECONDS}s per op, median of ${ROUNDS} rounds`,
  );
  console.log('op                           AlwaysAllow/s   RBAC/s   RBAC÷AlwaysAllow   authorization cost');
  const summary: Record<string, { alwaysAllow: number; rbac: number; ratio: number; costPercent: number }> = {};
  for (const [label, k] of ops) {
    const a = med('AlwaysAllow', k);
    const r = med('RBAC', k);
    const ratio = r / a;
    summary[k] = {
      alwaysAllow: Math.round(a),
      rbac: Math.round(r),
      ratio: Number(ratio.toFixed(3)),
      costPercent: Number(((1 - ratio) * 100).toFixed(1)),
    };
    console.log(
      [
        label.padEnd(28),
        a.toFixed(0).padStart(13),
        r.toFixed(0).padStart(8),
        ratio.toFixed(3).padStart(18),
        `${((1 - ratio) * 100).toFixed(1)} %`.padStart(20),
      ].join(' '),
    );
  }
  console.log(
    `authorizer in process, ${azc.bindings} RoleBindings: ${azc.cachedNs} ns per cached decision, ` +
      `${azc.uncachedUs} µs per uncached one (target: GET cost ≤ 5 %)`,
  );
  const fewGet = med('RBAC', 'get');
  const manyGet = med('manyTokens', 'get');
  const tokenFile = {
    tokens: MANY_TOKENS + 2,
    get: Math.round(manyGet),
    baselineTwoTokens: Math.round(fewGet),
    ratio: Number((manyGet / fewGet).toFixed(3)),
  };
  console.log(
    `RBAC GET with ${tokenFile.tokens} static tokens: ${tokenFile.get}/s vs ${tokenFile.baselineTwoTokens}/s with 2 ` +
      `(ratio ${tokenFile.ratio})`,
  );
  for (const l of lookups)
    console.log(
      `static token lookup, ${l.tokens} tokens (the last one): ${l.indexNs} ns by digest, ` +
        `${l.scanNs} ns by the previous scan (×${(l.scanNs / l.indexNs).toFixed(1)})`,
    );
  console.log(
    JSON.stringify({
      bench: 'authz',
      results: summary,
      authorizer: azc,
      tokenFile,
      tokenLookup: lookups,
      errors: Object.values(runs)
        .flat()
        .reduce((n, f) => n + f.errors, 0),
    }),
  );
} finally {
  await rm(dir, { recursive: true, force: true });
  await rm(manyDir, { recursive: true, force: true });
}
