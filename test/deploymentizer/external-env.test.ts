import test from 'ava';
import { render, RenderError, formatProblem } from '../../services/deploymentizer/index.js';
import { makeRepo, readTree } from './helpers.js';

const CLUSTER = `kind: ClusterNamespace
metadata: {name: eu-1, type: staging}
resources:
  auth:
    containers:
      auth-con:
        env:
          - {name: API_TOKEN, external: true}
          - {name: SIGNING_KEY, external: true, encoding: base64}
`;
const ENV = { API_TOKEN: 's3cr3t-t0ken', SIGNING_KEY: 'key&value' };
const b64 = (s: string): string => Buffer.from(s).toString('base64');

test('external env (default): a per-resource Secret and valueFrom.secretKeyRef; no value in the Deployment', async (t) => {
  const { repo, out } = await makeRepo(t, { 'clusters/eu-1/cluster.yaml': CLUSTER });
  await render({ repo, out, env: ENV });
  t.deepEqual(await readTree(out), {
    'eu-1/auth-deployment.yaml': `apiVersion: apps/v1
kind: Deployment
metadata:
  name: auth
spec:
  replicas: 1
  template:
    spec:
      containers:
        - name: auth
          image: quay.io/invision/node-auth:master-aaaa
          env:
            - name: LOG_LEVEL
              value: "info"
            - name: API_TOKEN
              valueFrom:
                secretKeyRef:
                  name: auth-external-env
                  key: API_TOKEN
            - name: SIGNING_KEY
              valueFrom:
                secretKeyRef:
                  name: auth-external-env
                  key: SIGNING_KEY
`,
    'eu-1/auth-external-env.yaml': `apiVersion: v1
kind: Secret
metadata:
  name: auth-external-env
type: Opaque
data:
  API_TOKEN: ${b64('s3cr3t-t0ken')}
  SIGNING_KEY: ${b64(b64('key&value'))}
`,
  });
});

test('external env with --inline-external-env: kit behaviour, values written where the template puts them', async (t) => {
  const { repo, out } = await makeRepo(t, { 'clusters/eu-1/cluster.yaml': CLUSTER });
  await render({ repo, out, env: ENV, inlineExternalEnv: true });
  const tree = await readTree(out);
  t.deepEqual(Object.keys(tree), ['eu-1/auth-deployment.yaml']);
  t.true(
    tree['eu-1/auth-deployment.yaml']!.endsWith(`            - name: API_TOKEN
              value: "s3cr3t-t0ken"
            - name: SIGNING_KEY
              value: "${b64('key&value')}"
`),
  );
});

test('a missing external env is an error naming the entry; the value of others never appears in the message', async (t) => {
  const { repo, out } = await makeRepo(t, { 'clusters/eu-1/cluster.yaml': CLUSTER });
  const err = await t.throwsAsync(render({ repo, out, env: { SIGNING_KEY: 'key&value' } }), {
    instanceOf: RenderError,
  });
  t.deepEqual(err.problems.map(formatProblem), [
    'clusters/eu-1/cluster.yaml: resources.auth.containers.auth-con.env.API_TOKEN: env API_TOKEN was not available as an external ENV',
  ]);
  t.false(err.message.includes('key&value'));
  await t.throwsAsync(readTree(out));
});

test('external env rendered into a Secret template lands in its data (as kit), not in a second Secret', async (t) => {
  const { repo, out } = await makeRepo(t, {
    'templates/resources/secret.mustache':
      'apiVersion: v1\nkind: Secret\nmetadata:\n  name: creds\ndata:\n{{#creds-con.env}}\n  {{{name}}}: {{{value}}}\n{{/creds-con.env}}\n',
    'clusters/eu-1/cluster.yaml': `kind: ClusterNamespace
metadata: {name: eu-1, type: staging}
resources:
  auth: {disable: true}
  creds: {file: secret.mustache, containers: {creds-con: {env: [{name: PASSWORD, external: true, encoding: base64}]}}}
`,
  });
  await render({ repo, out, env: { PASSWORD: 'hunter2' } });
  t.deepEqual(await readTree(out), {
    'eu-1/secret.yaml': `apiVersion: v1\nkind: Secret\nmetadata:\n  name: creds\ndata:\n  PASSWORD: ${b64('hunter2')}\n`,
  });
});

test('external env used anywhere else (an annotation) is an error unless inlined', async (t) => {
  const { repo, out } = await makeRepo(t, {
    'templates/resources/cm.mustache':
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\n  annotations:\n    token: "{{#cm-con.env}}{{{value}}}{{/cm-con.env}}"\n',
    'clusters/eu-1/cluster.yaml': `kind: ClusterNamespace
metadata: {name: eu-1, type: staging}
resources:
  auth: {disable: true}
  cm: {file: cm.mustache, containers: {cm-con: {env: [{name: API_TOKEN, external: true}]}}}
`,
  });
  const err = await t.throwsAsync(render({ repo, out, env: ENV }), { instanceOf: RenderError });
  t.deepEqual(err.problems.map(formatProblem), [
    'templates/resources/cm.mustache: metadata.annotations.token: an external env value is used ' +
      'outside a container env entry or Secret data; render it into an env entry or a Secret, or use --inline-external-env',
  ]);
  t.false(err.message.includes(ENV.API_TOKEN));
  await render({ repo, out, env: ENV, inlineExternalEnv: true });
  t.true((await readTree(out))['eu-1/cm.yaml']!.includes(`token: "${ENV.API_TOKEN}"`));
});

test('a document rewritten for external env keeps everything else as Kubernetes reads it (0777 stays octal)', async (t) => {
  const { repo, out } = await makeRepo(t, {
    'templates/resources/auth/auth-deployment.mustache': `apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{{name}}} # a comment
spec:
  template:
    spec:
      containers:
        - name: auth
          env:
{{#auth-con.env}}
            - {name: {{{name}}}, value: "{{{value}}}"}
{{/auth-con.env}}
      volumes:
        - name: v
          configMap: {name: cm, defaultMode: 0777}
`,
    'clusters/eu-1/cluster.yaml': CLUSTER,
  });
  await render({ repo, out, env: ENV });
  t.is(
    (await readTree(out))['eu-1/auth-deployment.yaml'],
    `apiVersion: apps/v1
kind: Deployment
metadata:
  name: auth # a comment
spec:
  template:
    spec:
      containers:
        - name: auth
          env:
            - { name: LOG_LEVEL, value: "info" }
            - { name: API_TOKEN, valueFrom: { secretKeyRef: { name: auth-external-env, key: API_TOKEN } } }
            - { name: SIGNING_KEY, valueFrom: { secretKeyRef: { name: auth-external-env, key: SIGNING_KEY } } }
      volumes:
        - name: v
          configMap: { name: cm, defaultMode: 0777 }
`,
  );
});
