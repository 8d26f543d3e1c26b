import test, { type ExecutionContext } from 'ava';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { decodeKubeProtobuf, PROTOBUF_MEDIA_TYPE } from '../../services/apiserver/protobuf.js';
import { kubeconfigFor } from '../../services/apiserver/run.js';
import { startApiServer, type ApiServer } from '../../services/apiserver/server.js';

const run = promisify(execFile);

interface Captured {
  method: string;
  url: string;
  contentType: string;
  body: Buffer;
}

interface Harness {
  server: ApiServer;
  dir: string;
  /** Request bodies kubectl sent as Kubernetes protobuf, in order. */
  protobufBodies: Captured[];
  kubectl(args: string[]): Promise<{ code: number; stdout: string; stderr: string }>;
}

/**
 * A real API server, a kubeconfig and a discovery cache of its own for the real kubectl, and a
 * pass-through HTTP relay between the two that keeps a copy of every protobuf request body, so a
 * test can compare what the decoder makes of the exact bytes kubectl sent.
 */
async function harness(t: ExecutionContext): Promise<Harness> {
  const dir = await mkdtemp(join(tmpdir(), 'kitfed-protobuf-'));
  const server = await startApiServer();
  const upstream = new URL(server.url);
  const protobufBodies: Captured[] = [];
  const relay = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const contentType = String(req.headers['content-type'] ?? '');
      if (contentType.startsWith(PROTOBUF_MEDIA_TYPE))
        protobufBodies.push({ method: req.method ?? '', url: req.url ?? '', contentType, body });
      const forward = http.request(
        {
          host: upstream.hostname,
          port: upstream.port,
          method: req.method,
          path: req.url,
          headers: { ...req.headers, host: upstream.host },
        },
        (up) => {
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.pipe(res);
        },
      );
      forward.on('error', (err) => {
        res.writeHead(502);
        res.end(String(err));
      });
      forward.end(body);
    });
  });
  await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
  const kubeconfig = join(dir, 'kubeconfig');
  await writeFile(kubeconfig, kubeconfigFor(`http://127.0.0.1:${(relay.address() as AddressInfo).port}`, 'test'));
  t.teardown(async () => {
    relay.closeAllConnections();
    await new Promise<void>((resolve) => relay.close(() => resolve()));
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });
  const kubectl = async (args: string[]) => {
    try {
      const { stdout, stderr } = await run(
        'kubectl',
        ['--kubeconfig', kubeconfig, '--cache-dir', join(dir, 'cache'), ...args],
        {
          timeout: 30_000,
          env: { ...process.env, KUBECTL_KUBERC: 'false', KUBECACHEDIR: join(dir, 'cache') },
        },
      );
      return { code: 0, stdout, stderr };
    } catch (err) {
      const e = err as { code?: unknown; stdout?: string; stderr?: string };
      return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
    }
  };
  return { server, dir, protobufBodies, kubectl };
}

/** Go's JSON of an object kubectl built: drops `null`s (a zero metav1.Time) the decoder leaves out. */
function withoutNulls(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(withoutNulls);
  if (v !== null && typeof v === 'object') {
    return Object.fromEntries(
      Object.entries(v as Record<string, unknown>)
        .filter(([, x]) => x !== null)
        .map(([k, x]) => [k, withoutNulls(x)]),
    );
  }
  return v;
}

/**
 * Runs `kubectl create ...` twice: with `--dry-run=client -o json` (the Go JSON of the very object
 * kubectl is about to send) and for real. The protobuf body of the real request must decode to
 * that JSON. Returns the real run's result and the decoded body.
 */
async function createBoth(t: ExecutionContext, h: Harness, args: string[]) {
  const dash = args.indexOf('--');
  const flags = ['--dry-run=client', '-o', 'json'];
  const dry = await h.kubectl([
    'create',
    ...(dash < 0 ? [...args, ...flags] : [...args.slice(0, dash), ...flags, ...args.slice(dash)]),
  ]);
  t.is(dry.code, 0, dry.stderr);
  const before = h.protobufBodies.length;
  const real = await h.kubectl(['create', ...args]);
  const sent = h.protobufBodies.slice(before).filter((c) => c.method === 'POST');
  t.is(
    sent.length,
    1,
    `kubectl create ${args.join(' ')} should POST one protobuf body (saw ${sent.length}); stderr: ${real.stderr}`,
  );
  const decoded = decodeKubeProtobuf(sent[0]!.body);
  t.deepEqual(
    decoded,
    withoutNulls(JSON.parse(dry.stdout)) as Record<string, unknown>,
    `decoded protobuf of kubectl create ${args.join(' ')}`,
  );
  return { real, decoded };
}

async function getJson(h: Harness, args: string[]): Promise<Record<string, any>> {
  const r = await h.kubectl(['get', ...args, '-o', 'json']);
  if (r.code !== 0) throw new Error(`kubectl get ${args.join(' ')}: ${r.stderr}`);
  return JSON.parse(r.stdout) as Record<string, any>;
}

test('kubectl create configmap and secrets: protobuf bodies decode to what kubectl would send as JSON, and are stored', async (t) => {
  const h = await harness(t);
  const file = join(h.dir, 'greeting.txt');
  await writeFile(file, 'hello\nworld\n');
  const binary = join(h.dir, 'blob.bin');
  await writeFile(binary, Buffer.from([0xff, 0x00, 0xfe, 0x01]));
  const cm = await createBoth(t, h, [
    'configmap',
    'x',
    '--from-literal=a=b',
    `--from-file=${file}`,
    `--from-file=${binary}`,
  ]);
  t.is(cm.real.code, 0, cm.real.stderr);
  const stored = await h.server.registry.get(h.server.catalog.byKind('', 'v1', 'ConfigMap')!, 'default', 'x');
  t.deepEqual((stored as Record<string, any>).data, { a: 'b', 'greeting.txt': 'hello\nworld\n' });
  t.deepEqual((stored as Record<string, any>).binaryData, {
    'blob.bin': Buffer.from([0xff, 0x00, 0xfe, 0x01]).toString('base64'),
  });

  const generic = await createBoth(t, h, [
    'secret',
    'generic',
    's',
    '--from-literal=password=s3cr3t!',
    '--type=Opaque',
  ]);
  t.is(generic.real.code, 0, generic.real.stderr);
  const s = await getJson(h, ['secret', 's']);
  t.is(Buffer.from(s.data.password, 'base64').toString(), 's3cr3t!');
  t.is(s.type, 'Opaque');

  // A real key pair: kubectl checks that the certificate and key match before sending.
  const key = join(h.dir, 'tls.key');
  const crt = join(h.dir, 'tls.crt');
  await run('openssl', [
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    key,
    '-out',
    crt,
    '-days',
    '1',
    '-subj',
    '/CN=kitfed.test',
  ]);
  const tls = await createBoth(t, h, ['secret', 'tls', 'tls', `--cert=${crt}`, `--key=${key}`]);
  t.is(tls.real.code, 0, tls.real.stderr);
  const ts = await getJson(h, ['secret', 'tls']);
  t.is(ts.type, 'kubernetes.io/tls');
  t.true(Buffer.from(ts.data['tls.crt'], 'base64').toString().startsWith('-----BEGIN CERTIFICATE-----'));

  const reg = await createBoth(t, h, [
    'secret',
    'docker-registry',
    'pull',
    '--docker-server=registry.example',
    '--docker-username=u',
    '--docker-password=p',
  ]);
  t.is(reg.real.code, 0, reg.real.stderr);
  const rs = await getJson(h, ['secret', 'pull']);
  t.is(rs.type, 'kubernetes.io/dockerconfigjson');
  t.deepEqual(
    JSON.parse(Buffer.from(rs.data['.dockerconfigjson'], 'base64').toString()).auths['registry.example'].username,
    'u',
  );
});

test('kubectl create namespace, deployment and services over protobuf', async (t) => {
  const h = await harness(t);
  const ns = await createBoth(t, h, ['namespace', 'n1']);
  t.is(ns.real.code, 0, ns.real.stderr);
  t.is((await getJson(h, ['namespace', 'n1'])).metadata.name, 'n1');

  const dep = await createBoth(t, h, [
    'deployment',
    'web',
    '--image=nginx:1.25',
    '--replicas=3',
    '--port=80',
    '-n',
    'n1',
  ]);
  t.is(dep.real.code, 0, dep.real.stderr);
  const d = (await h.server.registry.get(h.server.catalog.byKind('apps', 'v1', 'Deployment')!, 'n1', 'web')) as Record<
    string,
    any
  >;
  t.is(d.spec.replicas, 3);
  t.deepEqual(d.metadata.labels, { app: 'web' });
  t.deepEqual(d.spec.selector, { matchLabels: { app: 'web' } });
  t.is(d.spec.template.spec.containers[0].image, 'nginx:1.25');
  t.is(d.spec.template.spec.containers[0].name, 'nginx');
  t.is(d.spec.template.spec.containers[0].ports[0].containerPort, 80);
  t.deepEqual(d.spec.template.spec.containers[0].resources, {});
  t.false(
    'creationTimestamp' in (dep.decoded.metadata as object),
    'a zero metav1.Time is omitted, not sent as 1970 or 0001',
  );

  const multi = await createBoth(t, h, ['deployment', 'multi', '--image=busybox', '--image=nginx', '-n', 'n1']);
  t.is(multi.real.code, 0, multi.real.stderr);
  const sleeper = await createBoth(t, h, [
    'deployment',
    'sleeper',
    '--image=busybox',
    '--replicas=0',
    '-n',
    'n1',
    '--',
    'sleep',
    '3600',
  ]);
  t.is(sleeper.real.code, 0, sleeper.real.stderr);
  const z = (await getJson(h, ['deployment', 'sleeper', '-n', 'n1'])).spec;
  t.is(z.replicas, 0, 'an explicit zero in a pointer field survives');
  t.deepEqual(z.template.spec.containers[0].command, ['sleep', '3600']);

  const svc = await createBoth(t, h, ['service', 'clusterip', 'svc', '--tcp=80:8080', '-n', 'n1']);
  t.is(svc.real.code, 0, svc.real.stderr);
  const s = await getJson(h, ['service', 'svc', '-n', 'n1']);
  t.is(s.spec.type, 'ClusterIP');
  t.deepEqual(
    s.spec.ports.map((p: Record<string, unknown>) => [p.name, p.port, p.targetPort, p.protocol]),
    [['80-8080', 80, 8080, 'TCP']],
  );
  t.deepEqual(s.spec.selector, { app: 'svc' });

  const np = await createBoth(t, h, ['service', 'nodeport', 'np', '--tcp=443:https', '--node-port=30443', '-n', 'n1']);
  t.is(np.real.code, 0, np.real.stderr);
  const n = await getJson(h, ['service', 'np', '-n', 'n1']);
  t.is(n.spec.type, 'NodePort');
  t.is(n.spec.ports[0].targetPort, 'https', 'a named targetPort stays a string');
  t.is(n.spec.ports[0].nodePort, 30443);

  const lb = await createBoth(t, h, ['service', 'loadbalancer', 'lb', '--tcp=5678:8080', '-n', 'n1']);
  t.is(lb.real.code, 0, lb.real.stderr);
  t.is((await getJson(h, ['service', 'lb', '-n', 'n1'])).spec.type, 'LoadBalancer');

  const headless = await createBoth(t, h, ['service', 'clusterip', 'headless', '--clusterip=None', '-n', 'n1']);
  t.is(headless.real.code, 0, headless.real.stderr);
  t.is((await getJson(h, ['service', 'headless', '-n', 'n1'])).spec.clusterIP, 'None');
});

test('kubectl create ingress over protobuf', async (t) => {
  const h = await harness(t);
  const ing = await createBoth(t, h, [
    'ingress',
    'site',
    '--class=nginx',
    '--rule=foo.example/bar*=svc:8080,tls=site-cert',
    '--rule=/api=api:http',
    '--default-backend=fallback:80',
  ]);
  t.is(ing.real.code, 0, ing.real.stderr);
  const i = await getJson(h, ['ingress', 'site']);
  t.is(i.spec.ingressClassName, 'nginx');
  t.deepEqual(i.spec.rules[0], {
    host: 'foo.example',
    http: {
      paths: [{ path: '/bar', pathType: 'Prefix', backend: { service: { name: 'svc', port: { number: 8080 } } } }],
    },
  });
  t.deepEqual(i.spec.rules[1].http.paths[0].backend.service.port, { name: 'http' });
  t.deepEqual(i.spec.tls, [{ hosts: ['foo.example'], secretName: 'site-cert' }]);
  t.deepEqual(i.spec.defaultBackend, { service: { name: 'fallback', port: { number: 80 } } });
});

test('kubectl create job, cronjob, quota and serviceaccount over protobuf: bodies decode and are stored', async (t) => {
  const h = await harness(t);
  for (const args of [
    ['job', 'j', '--image=busybox', '--', 'echo', 'hi'],
    ['cronjob', 'cj', '--image=busybox', '--schedule=*/5 * * * *', '--', 'date'],
    ['quota', 'q', '--hard=cpu=1,memory=1G,pods=10', '--scopes=BestEffort'],
    ['serviceaccount', 'robot'],
  ]) {
    const { real, decoded } = await createBoth(t, h, args);
    t.is(real.code, 0, `kubectl create ${args[0]}: ${real.stderr}`);
    t.truthy(decoded.kind);
  }
  t.is((await getJson(h, ['cronjob', 'cj'])).spec.schedule, '*/5 * * * *');
  t.is((await getJson(h, ['quota', 'q'])).spec.hard.pods, '10');
  t.is((await getJson(h, ['serviceaccount', 'robot'])).metadata.name, 'robot');
});

test('kubectl autoscale sends its autoscaling/v1 HorizontalPodAutoscaler over protobuf: decoded, stored, served as v2', async (t) => {
  const h = await harness(t);
  const target = await h.kubectl(['create', 'deployment', 'web', '--image=nginx']);
  t.is(target.code, 0, target.stderr);
  const args = ['deployment', 'web', '--min=2', '--max=3', '--cpu-percent=70'];
  const dry = await h.kubectl(['autoscale', ...args, '--dry-run=client', '-o', 'json']);
  t.is(dry.code, 0, dry.stderr);
  const before = h.protobufBodies.length;
  const real = await h.kubectl(['autoscale', ...args]);
  t.is(real.code, 0, real.stderr);
  const sent = h.protobufBodies.slice(before).filter((c) => c.method === 'POST');
  t.is(sent.length, 1, `kubectl autoscale should POST one protobuf body (saw ${sent.length})`);
  const decoded = decodeKubeProtobuf(sent[0]!.body);
  t.deepEqual(decoded, withoutNulls(JSON.parse(dry.stdout)) as Record<string, unknown>);
  t.is(decoded.apiVersion, 'autoscaling/v1');
  // kubectl reads it back in the preferred version, autoscaling/v2 (the CPU target becomes a metric).
  const hpa = await getJson(h, ['hpa', 'web']);
  t.is(hpa.apiVersion, 'autoscaling/v2');
  t.is(hpa.spec.minReplicas, 2);
  t.is(hpa.spec.maxReplicas, 3);
  t.is(hpa.spec.metrics[0].resource.target.averageUtilization, 70);
  t.deepEqual(hpa.spec.scaleTargetRef, { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' });
});

async function post(server: ApiServer, path: string, body: Buffer, contentType = PROTOBUF_MEDIA_TYPE) {
  const res = await fetch(`${server.url}${path}`, {
    method: 'POST',
    headers: { 'Content-Type': contentType, Accept: 'application/json' },
    body,
  });
  return { status: res.status, body: (await res.json()) as { message?: string; reason?: string; code?: number } };
}

/** Hand-built protobuf: field `n` length-delimited `payload`. */
function ld(n: number, payload: Buffer): Buffer {
  const len: number[] = [];
  let v = payload.length;
  do {
    len.push((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
    v >>>= 7;
  } while (v > 0);
  return Buffer.concat([Buffer.from([(n << 3) | 2, ...len]), payload]);
}

const MAGIC = Buffer.from('k8s\x00', 'binary');
const typeMeta = (apiVersion: string, kind: string) =>
  ld(1, Buffer.concat([ld(1, Buffer.from(apiVersion)), ld(2, Buffer.from(kind))]));
const envelope = (apiVersion: string, kind: string, raw: Buffer) =>
  Buffer.concat([MAGIC, typeMeta(apiVersion, kind), ld(2, raw)]);

test('malformed protobuf bodies are 400 naming what failed; unknown kinds are 415 pointing at JSON', async (t) => {
  const server = await startApiServer();
  t.teardown(() => server.close());

  // A hand-encoded ConfigMap: metadata{name: "hand"}, data{"k": "v"}.
  const okRaw = Buffer.concat([
    ld(1, ld(1, Buffer.from('hand'))),
    ld(2, Buffer.concat([ld(1, Buffer.from('k')), ld(2, Buffer.from('v'))])),
  ]);
  t.deepEqual(decodeKubeProtobuf(envelope('v1', 'ConfigMap', okRaw)), {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'hand' },
    data: { k: 'v' },
  });
  const ok = await post(server, '/api/v1/namespaces/default/configmaps', envelope('v1', 'ConfigMap', okRaw));
  t.is(ok.status, 201, JSON.stringify(ok.body));

  const noMagic = await post(server, '/api/v1/namespaces/default/configmaps', Buffer.from('{"kind":"ConfigMap"}'));
  t.is(noMagic.status, 400);
  t.regex(noMagic.body.message ?? '', /magic prefix/);

  const badEnvelope = await post(
    server,
    '/api/v1/namespaces/default/configmaps',
    Buffer.concat([MAGIC, Buffer.from([0x0a, 0x20, 0x01])]),
  );
  t.is(badEnvelope.status, 400);
  t.regex(badEnvelope.body.message ?? '', /runtime\.Unknown envelope/);

  const truncated = await post(
    server,
    '/api/v1/namespaces/default/configmaps',
    envelope('v1', 'ConfigMap', okRaw.subarray(0, okRaw.length - 2)),
  );
  t.is(truncated.status, 400);
  t.regex(truncated.body.message ?? '', /ConfigMap \(k8s\.io\.api\.core\.v1\.ConfigMap\)/);
  t.is(truncated.body.reason, 'BadRequest');

  const wrongWireType = await post(
    server,
    '/api/v1/namespaces/default/configmaps',
    envelope('v1', 'ConfigMap', Buffer.from([0x2f, 0x00])),
  );
  t.is(wrongWireType.status, 400);
  t.regex(wrongWireType.body.message ?? '', /ConfigMap/);

  const noKind = await post(server, '/api/v1/namespaces/default/configmaps', Buffer.concat([MAGIC, ld(2, okRaw)]));
  t.is(noKind.status, 400);
  t.regex(noKind.body.message ?? '', /names no apiVersion and kind/);

  const unknownKind = await post(
    server,
    '/api/v1/namespaces/default/configmaps',
    envelope('v1', 'PersistentVolumeClaim', Buffer.alloc(0)),
  );
  t.is(unknownKind.status, 415);
  t.is(unknownKind.body.reason, 'UnsupportedMediaType');
  t.regex(unknownKind.body.message ?? '', /PersistentVolumeClaim \(v1\)/);
  t.regex(unknownKind.body.message ?? '', /application\/json/);

  // JSON bodies are untouched by the change.
  const json = await post(
    server,
    '/api/v1/namespaces/default/configmaps',
    Buffer.from(JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'j' }, data: { a: 'b' } })),
    'application/json',
  );
  t.is(json.status, 201);
});

/** Hand-built protobuf: field `n` as a varint. */
function vi(n: number, value: number): Buffer {
  const out: number[] = [n << 3];
  let v = BigInt.asUintN(64, BigInt(value));
  do {
    out.push(Number(v & 0x7fn) | (v > 0x7fn ? 0x80 : 0));
    v >>= 7n;
  } while (v > 0n);
  return Buffer.from(out);
}

test('Time, MicroTime, pointer zeros and DeleteOptions map to their JSON forms', async (t) => {
  const midnight = Date.UTC(2026, 10, 22) / 1000;
  const event = Buffer.concat([
    ld(1, Buffer.concat([ld(1, Buffer.from('e1')), ld(8, Buffer.alloc(0))])), // metadata: name, zero creationTimestamp
    ld(2, Buffer.concat([ld(1, Buffer.from('Pod')), ld(3, Buffer.from('p'))])), // involvedObject
    ld(6, vi(1, midnight)), // firstTimestamp
    ld(10, Buffer.concat([vi(1, midnight), vi(2, 123_456_789)])), // eventTime (MicroTime)
    vi(8, 3), // count
  ]);
  t.deepEqual(decodeKubeProtobuf(envelope('v1', 'Event', event)), {
    apiVersion: 'v1',
    kind: 'Event',
    metadata: { name: 'e1' },
    involvedObject: { kind: 'Pod', name: 'p' },
    firstTimestamp: '2026-11-22T00:00:00Z',
    eventTime: '2026-11-22T00:00:00.123456Z',
    count: 3,
  });

  // spec.replicas and rollingUpdate.maxSurge are Go pointers: an explicit 0 must survive; a
  // value-typed zero (minReadySeconds) is left out like Go's omitempty would.
  const intOrString = (n: number) => Buffer.concat([vi(1, 0), vi(2, n), ld(3, Buffer.alloc(0))]);
  const deployment = Buffer.concat([
    ld(1, ld(1, Buffer.from('d'))),
    ld(
      2,
      Buffer.concat([
        vi(1, 0),
        ld(
          4,
          Buffer.concat([
            ld(1, Buffer.from('RollingUpdate')),
            ld(2, Buffer.concat([ld(1, intOrString(1)), ld(2, intOrString(0))])),
          ]),
        ),
        vi(5, 0),
      ]),
    ),
    ld(3, Buffer.alloc(0)),
  ]);
  t.deepEqual(decodeKubeProtobuf(envelope('apps/v1', 'Deployment', deployment)), {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'd' },
    spec: { replicas: 0, strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1, maxSurge: 0 } } },
    status: {},
  });

  // client-go sends DeleteOptions as protobuf too; any group version's envelope is accepted.
  const del = Buffer.concat([vi(1, 0), ld(4, Buffer.from('Foreground'))]);
  t.deepEqual(decodeKubeProtobuf(envelope('meta.k8s.io/v1', 'DeleteOptions', del)), {
    apiVersion: 'meta.k8s.io/v1',
    kind: 'DeleteOptions',
    gracePeriodSeconds: 0,
    propagationPolicy: 'Foreground',
  });
  const server = await startApiServer();
  t.teardown(() => server.close());
  t.is(
    (
      await post(
        server,
        '/api/v1/namespaces/default/configmaps',
        envelope('v1', 'ConfigMap', ld(1, ld(1, Buffer.from('gone')))),
      )
    ).status,
    201,
  );
  const deleteWith = (policy: string) =>
    fetch(`${server.url}/api/v1/namespaces/default/configmaps/gone`, {
      method: 'DELETE',
      headers: { 'Content-Type': PROTOBUF_MEDIA_TYPE },
      body: envelope('v1', 'DeleteOptions', Buffer.concat([vi(1, 0), ld(4, Buffer.from(policy))])),
    });
  const sideways = await deleteWith('Sideways');
  t.is(sideways.status, 400, 'the decoded DeleteOptions reach the server’s validation');
  t.regex(((await sideways.json()) as { message: string }).message, /propagationPolicy must be one of/);
  const res = await deleteWith('Background');
  t.is(res.status, 200, await res.text());
  t.is((await fetch(`${server.url}/api/v1/namespaces/default/configmaps/gone`)).status, 404);
});

test('kubectl create poddisruptionbudget and priorityclass over protobuf: decoded with their zero counters, stored', async (t) => {
  const h = await harness(t);
  for (const args of [
    ['poddisruptionbudget', 'web', '--selector=app=web', '--min-available=2'],
    ['pdb', 'api', '--selector=app=api', '--max-unavailable=25%'],
    ['priorityclass', 'batch', '--value=0', '--description=the default'],
    ['priorityclass', 'high', '--value=1000', '--global-default', '--preemption-policy=Never'],
  ]) {
    const { real, decoded } = await createBoth(t, h, args);
    t.is(real.code, 0, `kubectl create ${args.join(' ')}: ${real.stderr}`);
    t.truthy(decoded.kind);
  }
  const web = await getJson(h, ['pdb', 'web']);
  t.is(web.spec.minAvailable, 2);
  t.deepEqual(web.spec.selector, { matchLabels: { app: 'web' } });
  t.is((await getJson(h, ['pdb', 'api'])).spec.maxUnavailable, '25%');
  // A value of 0 is a value (Go writes it without omitempty), not a missing field.
  t.is((await getJson(h, ['priorityclass', 'batch'])).value, 0);
  const high = await getJson(h, ['priorityclass', 'high']);
  t.is(high.value, 1000);
  t.true(high.globalDefault);
  t.is(high.preemptionPolicy, 'Never');
});

test('kubectl certificate approve and deny send the CertificateSigningRequest over protobuf: spec kept, condition added', async (t) => {
  const h = await harness(t);
  const csrs: Record<string, string> = {};
  for (const name of ['jane', 'joe']) {
    const key = join(h.dir, `${name}.key`);
    const req = join(h.dir, `${name}.csr`);
    await run('openssl', [
      'req',
      '-new',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      key,
      '-out',
      req,
      '-subj',
      `/CN=${name}`,
    ]);
    const request = (await readFile(req)).toString('base64');
    csrs[name] = request;
    // Created as another user with extra attributes: the server records them in the spec, and the
    // approval's protobuf body carries them back (ExtraValue, a list of strings in JSON).
    const created = await fetch(`${h.server.url}/apis/certificates.k8s.io/v1/certificatesigningrequests`, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/json',
        'Impersonate-User': name,
        'Impersonate-Group': 'dev',
        'Impersonate-Extra-Team': 'blue',
        'Impersonate-Extra-Scopes': 'read',
      },
      body: JSON.stringify({
        apiVersion: 'certificates.k8s.io/v1',
        kind: 'CertificateSigningRequest',
        metadata: { name },
        spec: {
          request,
          signerName: 'kubernetes.io/kube-apiserver-client',
          expirationSeconds: 3600,
          usages: ['digital signature', 'client auth'],
        },
      }),
    });
    t.is(created.status, 201, await created.text());
  }
  const before = h.protobufBodies.length;
  const approved = await h.kubectl(['certificate', 'approve', 'jane']);
  t.is(approved.code, 0, approved.stderr);
  const denied = await h.kubectl(['certificate', 'deny', 'joe']);
  t.is(denied.code, 0, denied.stderr);
  const puts = h.protobufBodies.slice(before).filter((c) => c.method === 'PUT');
  t.deepEqual(
    puts.map((p) => p.url.split('?')[0]),
    [
      '/apis/certificates.k8s.io/v1/certificatesigningrequests/jane/approval',
      '/apis/certificates.k8s.io/v1/certificatesigningrequests/joe/approval',
    ],
  );
  const body = decodeKubeProtobuf(puts[0]!.body) as Record<string, any>;
  t.is(body.kind, 'CertificateSigningRequest');
  t.is(body.spec.request, csrs.jane);
  t.is(body.spec.expirationSeconds, 3600);
  t.deepEqual(body.spec.usages, ['digital signature', 'client auth']);
  t.is(body.spec.username, 'jane');
  t.true(body.spec.groups.includes('dev'));
  t.deepEqual(body.spec.extra, { team: ['blue'], scopes: ['read'] });
  t.is(body.status.conditions[0].type, 'Approved');
  t.is(body.status.conditions[0].status, 'True');

  const jane = await getJson(h, ['csr', 'jane']);
  t.deepEqual(
    jane.status.conditions.map((c: { type: string; reason: string }) => [c.type, c.reason]),
    [['Approved', 'KubectlApprove']],
  );
  t.deepEqual(jane.spec.extra, { team: ['blue'], scopes: ['read'] });
  const joe = await getJson(h, ['csr', 'joe']);
  t.deepEqual(
    joe.status.conditions.map((c: { type: string }) => c.type),
    ['Denied'],
  );
});
