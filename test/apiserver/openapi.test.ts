import test from 'ava';
import protobuf from 'protobufjs';
import { CRONTAB_CRD, installCrd } from '../helpers/crd.js';
import { startTestServer } from '../helpers/kubectl.js';

const PROTOBUF_V2 = 'application/com.github.proto-openapi.spec.v2@v1.0+protobuf';

const list = (containerExtra: string) => `apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Service
  metadata: {name: web}
  spec: {ports: [{port: 80, targetPort: http}, {name: alt, port: 81, targetPort: 8080}]}
- apiVersion: apps/v1
  kind: Deployment
  metadata: {name: web}
  spec:
    strategy: {rollingUpdate: {maxSurge: 1, maxUnavailable: "25%"}}
    selector: {matchLabels: {app: web}}
    template:
      metadata: {labels: {app: web}}
      spec: {containers: [{name: web, image: nginx${containerExtra}}]}
`;

test('kubectl explain shows kube descriptions, types and required fields (/openapi/v3 and /openapi/v2)', async (t) => {
  const { kubectl } = await startTestServer(t);
  const replicas = await kubectl(['explain', 'deployment.spec.replicas']);
  t.is(replicas.code, 0, replicas.stderr);
  t.regex(replicas.stdout, /GROUP:\s+apps\nKIND:\s+Deployment\nVERSION:\s+v1/);
  t.regex(replicas.stdout, /FIELD: replicas <integer>/);
  t.regex(replicas.stdout, /Number of desired pods\. This is a pointer to distinguish between explicit\s+zero/);

  const cronJob = await kubectl(['explain', 'cronjobs.spec']);
  t.regex(cronJob.stdout, /FIELD: spec <CronJobSpec>/);
  t.regex(cronJob.stdout, /jobTemplate\t<JobTemplateSpec> -required-/);
  t.regex(cronJob.stdout, /schedule\t<string> -required-\n\s+The schedule in Cron format/);

  const probe = await kubectl(['explain', 'pod.spec.containers.livenessProbe.httpGet.port']);
  t.regex(probe.stdout, /Name or number of the port to access on the container/);

  // The other API version of a kind served in two (autoscaling/v1 beside v2) has its own schema.
  const hpa = await kubectl(['explain', 'hpa.spec', '--api-version=autoscaling/v1']);
  t.is(hpa.code, 0, hpa.stderr);
  t.regex(hpa.stdout, /targetCPUUtilizationPercentage\t<integer>/);

  // kubectl's Swagger 2.0 path (the v2 document, fetched as protobuf).
  const v2 = await kubectl(['explain', 'deployment.spec.strategy', '--output', 'plaintext-openapiv2']);
  t.is(v2.code, 0, v2.stderr);
  t.regex(v2.stdout, /KIND:\s+Deployment\nVERSION:\s+apps\/v1\n\nRESOURCE: strategy <Object>/);
  t.regex(v2.stdout, /The deployment strategy to use to replace existing pods with new ones\./);
  t.regex(v2.stdout, /rollingUpdate\t<Object>/);

  const unknown = await kubectl(['explain', 'deployment.spec.nonsense']);
  t.not(unknown.code, 0);
  t.regex(unknown.stderr, /field "nonsense" does not exist/);
});

test('kubectl validates a kind: List manifest item by item against /openapi/v2, as against kube', async (t) => {
  const { kubectl } = await startTestServer(t);
  const bad = await kubectl(['create', '-f', '-'], list(', bogus: 1'));
  t.not(bad.code, 0);
  t.regex(
    bad.stderr,
    /ValidationError\(Deployment\.spec\.template\.spec\.containers\[0\]\): unknown field "bogus" in io\.k8s\.api\.core\.v1\.Container/,
  );
  const none = await kubectl(['get', 'svc,deploy', '-o', 'name']);
  t.is(none.stdout.trim(), '', 'nothing of a refused List is created');

  const good = await kubectl(['create', '-f', '-'], list(''));
  t.is(good.code, 0, good.stderr);
  t.regex(good.stdout, /service\/web created\ndeployment\.apps\/web created/);
  const strategy = await kubectl(['get', 'deploy', 'web', '-o', 'jsonpath={.spec.strategy.rollingUpdate}']);
  t.deepEqual(JSON.parse(strategy.stdout), { maxSurge: 1, maxUnavailable: '25%' });
});

test('/openapi/v2 serves every definition as JSON and as gnostic protobuf, custom resources included', async (t) => {
  const { server, kubectl } = await startTestServer(t);
  await installCrd(kubectl, CRONTAB_CRD, 'crontabs.stable.example.com');

  const res = await fetch(`${server.url}/openapi/v2`);
  t.is(res.status, 200);
  t.regex(res.headers.get('content-type') ?? '', /application\/json/);
  const etag = res.headers.get('etag');
  t.truthy(etag);
  const doc = (await res.json()) as {
    swagger: string;
    paths: Record<string, Record<string, { parameters?: Array<{ name: string; description?: string }> }>>;
    definitions: Record<string, Record<string, unknown>>;
  };
  t.is(doc.swagger, '2.0');
  // Paths carry kube's parameter descriptions (Kubernetes' test/cmd run_swagger_tests greps for them).
  const listServices = doc.paths['/api/v1/namespaces/{namespace}/services']?.get;
  const param = (name: string) => listServices?.parameters?.find((p) => p.name === name)?.description;
  t.regex(param('labelSelector') ?? '', /restrict the list of returned objects by their labels/);
  t.regex(param('watch') ?? '', /^Watch for changes to the described resources/);
  t.regex(JSON.stringify(doc.definitions['io.k8s.api.core.v1.ServiceList']), /List of services/);
  const post = doc.paths['/apis/apps/v1/namespaces/{namespace}/deployments']?.post as Record<string, unknown>;
  t.like(post, { operationId: 'createDeployment', 'x-kubernetes-action': 'post' });
  t.deepEqual((post.parameters as Array<{ in: string; schema?: unknown }>).find((p) => p.in === 'body')?.schema, {
    $ref: '#/definitions/io.k8s.api.apps.v1.Deployment',
  });
  const deployment = doc.definitions['io.k8s.api.apps.v1.Deployment'];
  t.deepEqual(deployment?.['x-kubernetes-group-version-kind'], [{ group: 'apps', version: 'v1', kind: 'Deployment' }]);
  const spec = (deployment?.properties as Record<string, Record<string, unknown>>).spec;
  t.is(spec?.$ref, '#/definitions/io.k8s.api.apps.v1.DeploymentSpec');
  t.truthy(doc.definitions['com.example.stable.v1.CronTab'], 'the CRD is in the v2 document');
  t.deepEqual(doc.definitions['io.k8s.apimachinery.pkg.util.intstr.IntOrString']?.format, 'int-or-string');

  const pb = await fetch(`${server.url}/openapi/v2`, { headers: { accept: `${PROTOBUF_V2}, application/json` } });
  t.is(pb.status, 200);
  t.is(pb.headers.get('content-type'), 'application/octet-stream');
  t.is(pb.headers.get('etag'), etag, 'one document, one ETag, in both encodings');
  // Read the gnostic openapi.v2.Document envelope: swagger (1), info (2), definitions (9) → NamedSchema names.
  const reader = protobuf.Reader.create(new Uint8Array(await pb.arrayBuffer()));
  const top: Record<number, Uint8Array[]> = {};
  while (reader.pos < reader.len) {
    const tag = reader.uint32();
    (top[tag >>> 3] ??= []).push(reader.bytes());
  }
  t.is(new TextDecoder().decode(top[1]?.[0]), '2.0');
  const names: string[] = [];
  const defs = protobuf.Reader.create(top[9]![0]!);
  while (defs.pos < defs.len) {
    defs.uint32();
    const named = protobuf.Reader.create(defs.bytes());
    named.uint32();
    names.push(named.string());
  }
  t.deepEqual(names, Object.keys(doc.definitions));
});
