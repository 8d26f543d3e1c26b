import test from 'ava';
import { render, RenderError, formatProblem } from '../../services/deploymentizer/index.js';
import { makeRepo, readTree } from './helpers.js';

const TWO = 'templates/resources/two.mustache';
const TWO_TEMPLATE = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{{name}}}
spec:
  template:
    spec:
      containers:
        - name: {{{main.name}}}
          image: {{{main.image}}}
          env: [{name: PRIMARY, value: "{{main.primary}}"}]
        - name: {{{side.name}}}
          image: {{{side.image}}}
          env: [{name: PRIMARY, value: "{{side.primary}}"}]
`;

function cluster(containers: string): string {
  return `kind: ClusterNamespace
metadata: {name: eu-1, type: staging}
resources:
  auth: {disable: true}
  two:
    file: two.mustache
    containers:
${containers}`;
}

test('multiple containers: each is a view key with its own image; primary defaults to having an image_tag', async (t) => {
  const { repo, out } = await makeRepo(t, {
    [TWO]: TWO_TEMPLATE,
    'templates/images/library/busybox/master.yaml': 'image: busybox:1.36\n',
    'clusters/eu-1/cluster.yaml': cluster(
      '      main: {image_tag: invision/node-auth}\n      side: {name: sidecar, image_tag: library/busybox, primary: false}\n',
    ),
  });
  await render({ repo, out });
  t.deepEqual(await readTree(out), {
    'eu-1/two.yaml': `apiVersion: apps/v1
kind: Deployment
metadata:
  name: two
spec:
  template:
    spec:
      containers:
        - name: two
          image: quay.io/invision/node-auth:master-aaaa
          env: [{name: PRIMARY, value: "true"}]
        - name: sidecar
          image: busybox:1.36
          env: [{name: PRIMARY, value: "false"}]
`,
  });
});

test('multiple containers: two primaries is an error', async (t) => {
  const { repo, out } = await makeRepo(t, {
    [TWO]: TWO_TEMPLATE,
    'clusters/eu-1/cluster.yaml': cluster(
      '      main: {image_tag: invision/node-auth}\n      side: {image_tag: invision/node-auth}\n',
    ),
  });
  const err = await t.throwsAsync(render({ repo, out }), { instanceOf: RenderError });
  t.deepEqual(err.problems.map(formatProblem), [
    'clusters/eu-1/cluster.yaml: resources.two.containers: Checking primary: More than one main container for two',
  ]);
  await t.throwsAsync(readTree(out));
});

test('multiple containers: no primary is an error', async (t) => {
  const { repo, out } = await makeRepo(t, {
    [TWO]: TWO_TEMPLATE,
    'clusters/eu-1/cluster.yaml': cluster('      main: {name: a}\n      side: {name: b}\n'),
  });
  const err = await t.throwsAsync(render({ repo, out }), { instanceOf: RenderError });
  t.deepEqual(err.problems.map(formatProblem), [
    'clusters/eu-1/cluster.yaml: resources.two.containers: Checking primary: No main container for two',
  ]);
});

test('resources named *-hpa skip the primary check; container fields are template variables', async (t) => {
  const { repo, out } = await makeRepo(t, {
    'templates/resources/auth-hpa.mustache': `apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: auth
spec:
  minReplicas: {{a.minReplicas}}
  maxReplicas: {{b.maxReplicas}}
`,
    'clusters/eu-1/cluster.yaml': `kind: ClusterNamespace
metadata: {name: eu-1, type: staging}
resources:
  auth: {disable: true}
  auth-hpa: {file: auth-hpa.mustache, containers: {a: {minReplicas: 2}, b: {maxReplicas: 9}}}
`,
  });
  const result = await render({ repo, out });
  t.deepEqual(result.warnings, []);
  t.deepEqual(await readTree(out), {
    'eu-1/auth-hpa.yaml':
      'apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata:\n  name: auth\nspec:\n  minReplicas: 2\n  maxReplicas: 9\n',
  });
});

test('branch precedence: container branch > resource branch > cluster branch', async (t) => {
  const { repo, out } = await makeRepo(t, {
    'templates/images/invision/node-auth/develop.yaml': 'image: quay.io/invision/node-auth:develop-cccc\n',
    'templates/resources/b.mustache':
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{{name}}}\ndata:\n  image: {{{b.image}}}\n  branch: {{{branch}}}\n',
    'clusters/eu-1/cluster.yaml': `kind: ClusterNamespace
metadata: {name: eu-1, type: staging, branch: develop}
resources:
  auth: {branch: master, containers: {auth-con: {branch: release}}}
  b: {file: b.mustache, image_tag: invision/node-auth, branch: master}
`,
  });
  await render({ repo, out });
  const tree = await readTree(out);
  t.true(tree['eu-1/auth-deployment.yaml']!.includes('image: quay.io/invision/node-auth:release-bbbb\n'));
  t.is(
    tree['eu-1/b.yaml'],
    'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b\ndata:\n  image: quay.io/invision/node-auth:master-aaaa\n  branch: master\n',
  );
});

test('a branch with a slash finds the image file the image-deployer writes (feature/x → feature-x.yaml)', async (t) => {
  const { repo, out } = await makeRepo(t, {
    'templates/images/invision/node-auth/feature-login.yaml': 'image: quay.io/invision/node-auth:feature-login-eeee\n',
    'clusters/eu-1/cluster.yaml':
      'kind: ClusterNamespace\nmetadata: {name: eu-1, type: staging, branch: feature/login}\n',
  });
  await render({ repo, out });
  t.true(
    (await readTree(out))['eu-1/auth-deployment.yaml']!.includes(
      'image: quay.io/invision/node-auth:feature-login-eeee\n',
    ),
  );
});
