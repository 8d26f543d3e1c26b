import test from 'ava';
import { render, RenderError, formatProblem } from '../../services/deploymentizer/index.js';
import { makeRepo, readTree } from './helpers.js';

const KIT = (plugin: string): string => `version: '2'
base: {path: templates}
images: {path: templates/images}
type: {path: templates/type}
cluster: {path: clusters}
resources: {path: templates/resources}
plugin:
${plugin}`;

test('file-config plugin: config/<container name>/<cluster>-env.json merges over the container; repo env wins by name', async (t) => {
  const { repo, out } = await makeRepo(t, {
    'kit.yaml': KIT('  path: /src/plugin/file-config\n  options: {configPath: ./config}\n'),
    'config/auth-con/eu-1-env.json': JSON.stringify({
      branch: 'release',
      env: [
        { name: 'LOG_LEVEL', value: 'debug' },
        { name: 'FROM_PLUGIN', value: 'yes' },
      ],
    }),
    'clusters/eu-1/cluster.yaml':
      'kind: ClusterNamespace\nmetadata: {name: eu-1, type: staging}\nresources:\n  auth: {containers: {auth-con: {name: auth-con}}}\n',
  });
  await render({ repo, out });
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
          image: quay.io/invision/node-auth:release-bbbb
          env:
            - name: LOG_LEVEL
              value: "info"
            - name: FROM_PLUGIN
              value: "yes"
`,
  });
});

test('file-config plugin: a missing config file is an error naming it', async (t) => {
  const { repo, out } = await makeRepo(t, {
    'kit.yaml': KIT('  path: file-config\n  options: {configPath: ./config}\n'),
  });
  const err = await t.throwsAsync(render({ repo, out }), { instanceOf: RenderError });
  t.deepEqual(err.problems.map(formatProblem), ['config/auth/eu-1-env.json: cannot read plugin config (ENOENT)']);
});

test('env-api plugin: a clear error (not supported)', async (t) => {
  const { repo, out } = await makeRepo(t, {
    'kit.yaml': KIT('  path: /src/plugin/env-api-client-v3\n  options: {apiUrl: "https://env-api.example"}\n'),
  });
  const err = await t.throwsAsync(render({ repo, out }), { instanceOf: RenderError });
  t.deepEqual(err.problems.map(formatProblem), [
    'kit.yaml: plugin.path: the env-api plugin is not supported by kitfed (it called an ' +
      'InVision-internal service); use the file-config plugin or env in the repo',
  ]);
});

test('kit.yaml is validated: missing sections are named', async (t) => {
  const { repo, out } = await makeRepo(t, { 'kit.yaml': "version: '2'\nbase: {path: templates}\ntype: {}\n" });
  const err = await t.throwsAsync(render({ repo, out }), { instanceOf: RenderError });
  t.deepEqual(err.problems.map(formatProblem), [
    'kit.yaml: images: is required',
    'kit.yaml: cluster: is required',
    'kit.yaml: resources: is required',
    'kit.yaml: type.path: is required',
  ]);
});
