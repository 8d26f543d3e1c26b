import test from 'ava';
import { canConvert, conversionTargets, convertObject } from '../../services/core/conversion.js';
import { hasCode, type KitfedError } from '../../services/core/errors.js';
import type { KubeObject } from '../../services/core/kube.js';

const template = {
  metadata: { labels: { app: 'web', tier: 'fe' } },
  spec: { containers: [{ name: 'c', image: 'nginx' }] },
};

test('an extensions/v1beta1 Deployment becomes apps/v1 with the selector and defaults v1beta1 gave it', (t) => {
  const old: KubeObject = {
    apiVersion: 'extensions/v1beta1',
    kind: 'Deployment',
    metadata: { name: 'web' },
    spec: { replicas: 2, rollbackTo: { revision: 1 }, template },
  };
  const v1 = convertObject(old, { group: 'apps', version: 'v1' });
  t.is(v1.apiVersion, 'apps/v1');
  t.deepEqual((v1.spec as Record<string, unknown>).selector, { matchLabels: { app: 'web', tier: 'fe' } });
  t.like(v1.spec, {
    replicas: 2,
    revisionHistoryLimit: 2147483647,
    progressDeadlineSeconds: 2147483647,
    strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1, maxSurge: 1 } },
  });
  t.false('rollbackTo' in (v1.spec as object));
  t.is(old.apiVersion, 'extensions/v1beta1', 'the input is not modified');
});

test('apps/v1beta1 Deployments keep their own defaults; v1beta2 and explicit fields pass through', (t) => {
  const b1 = convertObject(
    { apiVersion: 'apps/v1beta1', kind: 'Deployment', metadata: { name: 'a' }, spec: { template } },
    { group: 'apps', version: 'v1' },
  );
  t.like(b1.spec, { revisionHistoryLimit: 2, progressDeadlineSeconds: 600 });
  const b2 = convertObject(
    {
      apiVersion: 'apps/v1beta2',
      kind: 'Deployment',
      metadata: { name: 'b' },
      spec: { selector: { matchLabels: { app: 'web' } }, template, revisionHistoryLimit: 3 },
    },
    { group: 'apps', version: 'v1' },
  );
  t.deepEqual(b2.spec, { selector: { matchLabels: { app: 'web' } }, template, revisionHistoryLimit: 3 });
});

test('an extensions/v1beta1 DaemonSet updates OnDelete, as it did', (t) => {
  const ds = convertObject(
    {
      apiVersion: 'extensions/v1beta1',
      kind: 'DaemonSet',
      metadata: { name: 'd' },
      spec: { template, templateGeneration: 4 },
    },
    { group: 'apps', version: 'v1' },
  );
  t.deepEqual(ds.spec, {
    template,
    selector: { matchLabels: { app: 'web', tier: 'fe' } },
    updateStrategy: { type: 'OnDelete' },
  });
});

test('Ingress backends move to service.name/port, both ways', (t) => {
  const old: KubeObject = {
    apiVersion: 'extensions/v1beta1',
    kind: 'Ingress',
    metadata: { name: 'i' },
    spec: {
      backend: { serviceName: 'default', servicePort: 80 },
      rules: [
        {
          host: 'a.example.com',
          http: { paths: [{ path: '/', backend: { serviceName: 'web', servicePort: 'http' } }] },
        },
      ],
    },
  };
  const v1 = convertObject(old, { group: 'networking.k8s.io', version: 'v1' });
  t.deepEqual(v1.spec, {
    defaultBackend: { service: { name: 'default', port: { number: 80 } } },
    rules: [
      {
        host: 'a.example.com',
        http: {
          paths: [
            {
              path: '/',
              pathType: 'ImplementationSpecific',
              backend: { service: { name: 'web', port: { name: 'http' } } },
            },
          ],
        },
      },
    ],
  });
  const back = convertObject(v1, { group: 'extensions', version: 'v1beta1' });
  t.deepEqual((back.spec as Record<string, unknown>).backend, { serviceName: 'default', servicePort: 80 });
});

test('autoscaling/v2beta1 metrics take the v2 shape; v2beta2, batch/v1beta1 CronJobs are renamed', (t) => {
  const hpa = convertObject(
    {
      apiVersion: 'autoscaling/v2beta1',
      kind: 'HorizontalPodAutoscaler',
      metadata: { name: 'h' },
      spec: {
        maxReplicas: 5,
        metrics: [
          { type: 'Resource', resource: { name: 'memory', targetAverageValue: '100Mi' } },
          { type: 'External', external: { metricName: 'queue', targetValue: '30' } },
        ],
      },
    },
    { group: 'autoscaling', version: 'v2' },
  );
  t.deepEqual((hpa.spec as Record<string, unknown>).metrics, [
    { type: 'Resource', resource: { name: 'memory', target: { type: 'AverageValue', averageValue: '100Mi' } } },
    { type: 'External', external: { metric: { name: 'queue' }, target: { type: 'Value', value: '30' } } },
  ]);
  const cj = convertObject(
    { apiVersion: 'batch/v1beta1', kind: 'CronJob', metadata: { name: 'c' }, spec: { schedule: '@daily' } },
    { group: 'batch', version: 'v1' },
  );
  t.is(cj.apiVersion, 'batch/v1');
  t.deepEqual(cj.spec, { schedule: '@daily' });
});

test('autoscaling/v2beta1 metrics of every source type, spec and status, take the v2 shape and come back unchanged through autoscaling/v1', (t) => {
  const selector = { matchLabels: { app: 'web' } };
  const described = { apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', name: 'main' };
  const v2beta1 = {
    apiVersion: 'autoscaling/v2beta1',
    kind: 'HorizontalPodAutoscaler',
    metadata: { name: 'h' },
    spec: {
      maxReplicas: 5,
      metrics: [
        {
          type: 'Object',
          object: { target: described, metricName: 'hits', selector, targetValue: '10', averageValue: '2' },
        },
        { type: 'Pods', pods: { metricName: 'packets', selector, targetAverageValue: '1k' } },
        { type: 'Resource', resource: { name: 'cpu', targetAverageUtilization: 60 } },
        {
          type: 'ContainerResource',
          containerResource: { name: 'memory', container: 'app', targetAverageValue: '1Gi' },
        },
        { type: 'External', external: { metricName: 'queue', metricSelector: selector, targetValue: '30' } },
      ],
    },
    status: {
      currentReplicas: 2,
      desiredReplicas: 2,
      currentMetrics: [
        {
          type: 'Object',
          object: { target: described, metricName: 'hits', selector, currentValue: '9', averageValue: '3' },
        },
        { type: 'Pods', pods: { metricName: 'packets', selector, currentAverageValue: '900' } },
        { type: 'Resource', resource: { name: 'cpu', currentAverageUtilization: 55, currentAverageValue: '110m' } },
        { type: 'External', external: { metricName: 'queue', metricSelector: selector, currentValue: '31' } },
      ],
    },
  };
  const v2 = convertObject(structuredClone(v2beta1), { group: 'autoscaling', version: 'v2' });
  const spec = v2.spec as { metrics: unknown[] };
  const status = v2.status as { currentMetrics: unknown[] };
  t.deepEqual(spec.metrics, [
    {
      type: 'Object',
      object: {
        describedObject: described,
        metric: { name: 'hits', selector },
        target: { type: 'AverageValue', value: '10', averageValue: '2' },
      },
    },
    {
      type: 'Pods',
      pods: { metric: { name: 'packets', selector }, target: { type: 'AverageValue', averageValue: '1k' } },
    },
    { type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 60 } } },
    {
      type: 'ContainerResource',
      containerResource: { name: 'memory', container: 'app', target: { type: 'AverageValue', averageValue: '1Gi' } },
    },
    { type: 'External', external: { metric: { name: 'queue', selector }, target: { type: 'Value', value: '30' } } },
  ]);
  t.deepEqual(status.currentMetrics[2], {
    type: 'Resource',
    resource: { name: 'cpu', current: { averageUtilization: 55, averageValue: '110m' } },
  });
  t.deepEqual(status.currentMetrics[3], {
    type: 'External',
    external: { metric: { name: 'queue', selector }, current: { value: '31' } },
  });
  // autoscaling/v1 keeps what it cannot express in annotations, in the v2beta1 form, and gives it back.
  const v1 = convertObject(structuredClone(v2), { group: 'autoscaling', version: 'v1' });
  const annotations = v1.metadata.annotations ?? {};
  t.is((v1.spec as { targetCPUUtilizationPercentage?: number }).targetCPUUtilizationPercentage, 60);
  t.deepEqual(
    JSON.parse(annotations['autoscaling.alpha.kubernetes.io/metrics']!),
    v2beta1.spec.metrics.filter((m) => m.type !== 'Resource'),
  );
  t.deepEqual(
    JSON.parse(annotations['autoscaling.alpha.kubernetes.io/current-metrics']!),
    v2beta1.status.currentMetrics,
  );
  const back = convertObject(v1, { group: 'autoscaling', version: 'v2' });
  t.deepEqual((back.spec as { metrics: unknown[] }).metrics, [
    ...spec.metrics.filter((_, i) => i !== 2),
    spec.metrics[2],
  ]);
  t.deepEqual((back.status as { currentMetrics: unknown[] }).currentMetrics, status.currentMetrics);
});

test('a policy/v1beta1 PDB with an empty selector still selects nothing in v1', (t) => {
  const pdb = convertObject(
    {
      apiVersion: 'policy/v1beta1',
      kind: 'PodDisruptionBudget',
      metadata: { name: 'p' },
      spec: { minAvailable: 1, selector: {} },
    },
    { group: 'policy', version: 'v1' },
  );
  t.deepEqual((pdb.spec as Record<string, unknown>).selector, {
    matchExpressions: [{ key: 'pdb.kubernetes.io/deprecated-v1beta1-empty-selector-match', operator: 'Exists' }],
  });
});

test('kinds that were removed cannot be converted: a 400 naming the kind and both versions', (t) => {
  const psp: KubeObject = { apiVersion: 'policy/v1beta1', kind: 'PodSecurityPolicy', metadata: { name: 'restricted' } };
  const err = t.throws<KitfedError>(() => convertObject(psp, { group: 'policy', version: 'v1' }));
  t.true(hasCode(err, 400));
  t.is(err.message, 'PodSecurityPolicy "restricted" cannot be converted from policy/v1beta1 to policy/v1');
  t.false(canConvert('PodSecurityPolicy', { group: 'policy', version: 'v1beta1' }, { group: 'policy', version: 'v1' }));
  t.deepEqual(conversionTargets('PodSecurityPolicy', { group: 'policy', version: 'v1beta1' }), []);
});

test('conversion targets are the newest versions first', (t) => {
  t.deepEqual(conversionTargets('Deployment', { group: 'extensions', version: 'v1beta1' }), [
    { group: 'apps', version: 'v1' },
    { group: 'apps', version: 'v1beta2' },
  ]);
  t.deepEqual(conversionTargets('CronJob', { group: 'batch', version: 'v1beta1' })[0], {
    group: 'batch',
    version: 'v1',
  });
});
