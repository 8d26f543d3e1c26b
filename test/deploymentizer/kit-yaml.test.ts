import test from 'ava';
import { render } from '../../services/deploymentizer/index.js';
import { makeRepo, readTree } from './helpers.js';

test("kit.yaml from kit's Docker setup: /manifests/… paths map onto the repo; images.property names the image key", async (t) => {
  const { repo, out } = await makeRepo(t, {
    'kit.yaml': `version: '2'
base: {path: /manifests/templates}
images: {path: /manifests/templates/images, property: tag}
type: {path: ./templates/type}
cluster: {path: /manifests/clusters}
resources: {path: /manifests/templates/resources}
output: {path: /generated}
`,
    'templates/images/invision/node-auth/master.yaml': 'tag: quay.io/invision/node-auth:master-cccc\n',
    'templates/images/invision/node-auth/release.yaml': 'tag: quay.io/invision/node-auth:release-dddd\n',
  });
  const result = await render({ repo, out });
  t.is(result.out, out, '--out wins over output.path');
  t.true(
    (await readTree(out))['eu-1/auth-deployment.yaml']!.includes('image: quay.io/invision/node-auth:master-cccc\n'),
  );
});

test('without kit.yaml the kitfed layout is used (templates/, clusters/), output defaults to <repo>/.kitfed/rendered', async (t) => {
  const { repo } = await makeRepo(t);
  const result = await render({ repo, check: true });
  t.is(result.out, `${repo}/.kitfed/rendered`);
  t.deepEqual(
    result.clusters.map((c) => c.files.map((f) => f.file)),
    [['auth-deployment.yaml']],
  );
});
