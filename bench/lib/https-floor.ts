/**
 * What Node's HTTPS alone costs under `bench/apiserver.ts`'s load: a Node HTTPS server that checks
 * the bearer token and answers every request with a body serialized once at start (a ConfigMap,
 * or a list of 100), of the size kitfed's answers have. It does no routing, storage, validation
 * or serialization per request, so its CPU time per operation is the transport's share of any
 * Node API server's. (Its throughput is no ceiling: on a shared 2-core machine it moves ±25 %
 * from round to round, as everyone's does.)
 *
 *   node --import tsx bench/lib/https-floor.ts KUBECONFIG   (writes KUBECONFIG, logs its URL)
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import https from 'node:https';
import { generatePki } from '../../services/apiserver/security.js';
import { buildKubeconfig } from '../../services/core/kubeconfig.js';

const kubeconfig = process.argv[2];
if (!kubeconfig) throw new Error('usage: https-floor.ts KUBECONFIG');
const pki = generatePki(['127.0.0.1']);
const token = randomBytes(24).toString('base64url');
let rv = 1000;

const object = (name: string, namespace: string) => ({
  kind: 'ConfigMap',
  apiVersion: 'v1',
  metadata: {
    name,
    namespace,
    uid: randomUUID(),
    resourceVersion: String(rv++),
    creationTimestamp: '2026-12-03T17:00:00Z',
    labels: { bench: 'y' },
    managedFields: [
      {
        manager: 'node',
        operation: 'Update',
        apiVersion: 'v1',
        time: '2026-12-03T17:00:00Z',
        fieldsType: 'FieldsV1',
        fieldsV1: { 'f:data': { '.': {}, 'f:k': {} }, 'f:metadata': { 'f:labels': { '.': {}, 'f:bench': {} } } },
      },
    ],
  },
  data: { k: 'v' },
});
const one = JSON.stringify(object('seed-7', 'bench'));
const list = JSON.stringify({
  kind: 'ConfigMapList',
  apiVersion: 'v1',
  metadata: { resourceVersion: String(rv) },
  items: Array.from({ length: 100 }, (_, i) => object(`seed-${i}`, 'bench')),
});
const status = JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success' });
const bearer = `Bearer ${token}`;

const server = https.createServer({ key: pki.key, cert: pki.cert }, (req, res) => {
  // Drain the body (CREATE and PATCH send one), then answer: only the token is looked at.
  req.resume();
  req.on('end', () => {
    let code = 200;
    let body = one;
    if (req.headers.authorization !== bearer) {
      code = 401;
      body = status;
    } else if (req.method === 'POST') code = 201;
    else if (req.method === 'DELETE') body = status;
    else if (req.method === 'GET' && req.url?.includes('?')) body = list;
    res.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
    res.end(body);
  });
});
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  const url = `https://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  writeFileSync(kubeconfig, buildKubeconfig([{ name: 'floor', server: url, caCert: pki.caCert, token }]), {
    mode: 0o600,
  });
  // The line bench/apiserver.ts waits for, in the API server's own log shape.
  process.stderr.write(`${JSON.stringify({ msg: 'kubeconfig written', url, kubeconfig })}\n`);
});
process.on('SIGTERM', () => process.exit(0));
