import test from 'ava';
import path from 'node:path';
import { parse } from 'yaml';
import { render } from '../../services/deploymentizer/index.js';
import { ROOT, readTree, tempDir } from './helpers.js';

interface Obj {
  apiVersion: string;
  kind: string;
  metadata: { name: string };
  spec?: Record<string, unknown>;
}

test('the top-level example repo renders for us-east, eu-west, asia-east; every file is a Kubernetes object', async (t) => {
  const out = path.join(await tempDir(t), 'out');
  const result = await render({ repo: ROOT, out });
  t.deepEqual(result.warnings, []);
  t.deepEqual(
    result.clusters.map((c) => [c.name, c.type]),
    [
      ['asia-east', 'staging'],
      ['eu-west', 'production'],
      ['us-east', 'production'],
    ],
  );
  const tree = await readTree(out);
  const objects = new Map<string, Obj>();
  for (const [file, text] of Object.entries(tree)) {
    const obj = parse(text) as Obj;
    t.true(
      typeof obj.apiVersion === 'string' && typeof obj.kind === 'string' && typeof obj.metadata.name === 'string',
      file,
    );
    objects.set(file, obj);
  }
  for (const c of ['asia-east', 'eu-west', 'us-east']) {
    t.deepEqual(
      [...objects.entries()].filter(([f]) => f.startsWith(`${c}/`)).map(([, o]) => `${o.kind}/${o.metadata.name}`),
      [
        'Deployment/hello',
        'HorizontalPodAutoscaler/hello',
        'Service/hello',
        'Deployment/nginx',
        'Service/nginx',
        'ConfigMap/zone-fetch',
      ],
    );
  }
  t.is(objects.get('us-east/nginx.yaml')!.spec!.type, 'LoadBalancer');
  t.is(objects.get('us-east/nginx-deployment.yaml')!.spec!.replicas, 3);
  t.is(objects.get('asia-east/nginx-deployment.yaml')!.spec!.replicas, 1);
  t.is((objects.get('eu-west/hello-hpa.yaml')!.spec as { maxReplicas: number }).maxReplicas, 10);
  t.true(
    tree['eu-west/zone-fetch-configmap.yaml']!.includes(
      'Welcome to nginx in europe-west1-c (region europe-west1, cluster eu-west)',
    ),
  );
  t.true(tree['asia-east/hello-deployment.yaml']!.includes('image: ghcr.io/kitfed-demo/hello:develop-5d6e7f8'));
  t.true(tree['us-east/hello-deployment.yaml']!.includes('value: "warn"'), 'cluster env overrides base env by name');
});
