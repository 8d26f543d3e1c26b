import test from 'ava';
import { MEMBER_RESOURCES } from '../../services/sandbox/resources.js';
import { startTestServer } from '../helpers/kubectl.js';

/** One stored object served in several versions, converted both ways as kube converts them. */

const hpaV2 = `apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: web}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  minReplicas: 2
  maxReplicas: 10
  metrics:
  - {type: Resource, resource: {name: cpu, target: {type: Utilization, averageUtilization: 60}}}
  - {type: Pods, pods: {metric: {name: packets}, target: {type: AverageValue, averageValue: 1k}}}
  behavior:
    scaleDown: {stabilizationWindowSeconds: 60, policies: [{type: Pods, value: 1, periodSeconds: 30}]}
`;

test('autoscaling/v1 and v2 serve one HorizontalPodAutoscaler; what v1 cannot express travels in annotations', async (t) => {
  const { kubectl } = await startTestServer(t, { resources: MEMBER_RESOURCES });
  t.is((await kubectl(['apply', '-f', '-'], hpaV2)).code, 0);
  const v1 = JSON.parse(
    (await kubectl(['get', 'horizontalpodautoscalers.v1.autoscaling', 'web', '-o', 'json'])).stdout,
  );
  t.is(v1.apiVersion, 'autoscaling/v1');
  t.is(v1.spec.targetCPUUtilizationPercentage, 60);
  t.is(v1.spec.metrics, undefined);
  t.deepEqual(JSON.parse(v1.metadata.annotations['autoscaling.alpha.kubernetes.io/metrics']), [
    { type: 'Pods', pods: { metricName: 'packets', targetAverageValue: '1k' } },
  ]);
  t.truthy(v1.metadata.annotations['autoscaling.alpha.kubernetes.io/behavior']);

  // A v1 client writing its copy back loses nothing.
  v1.spec.maxReplicas = 12;
  const replaced = await kubectl(['replace', '-f', '-'], JSON.stringify(v1));
  t.is(replaced.code, 0, replaced.stderr);
  const v2 = JSON.parse(
    (await kubectl(['get', 'horizontalpodautoscalers.v2.autoscaling', 'web', '-o', 'json'])).stdout,
  );
  t.is(v2.spec.maxReplicas, 12);
  t.deepEqual(v2.spec.metrics, [
    { type: 'Pods', pods: { metric: { name: 'packets' }, target: { type: 'AverageValue', averageValue: '1k' } } },
    { type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 60 } } },
  ]);
  t.is(v2.spec.behavior.scaleDown.stabilizationWindowSeconds, 60);
  t.is(v2.metadata.annotations?.['autoscaling.alpha.kubernetes.io/metrics'], undefined);

  // Created as v1 (kit's 2016 fixture style), read as v2.
  const created = await kubectl(
    ['create', '-f', '-'],
    `apiVersion: autoscaling/v1
kind: HorizontalPodAutoscaler
metadata: {name: old}
spec: {scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: old}, maxReplicas: 4, targetCPUUtilizationPercentage: 70}
`,
  );
  t.is(created.code, 0, created.stderr);
  const old = JSON.parse((await kubectl(['get', 'hpa', 'old', '-o', 'json'])).stdout);
  t.is(old.apiVersion, 'autoscaling/v2');
  t.is(old.spec.minReplicas, 1);
  t.deepEqual(old.spec.metrics, [
    { type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } } },
  ]);
  const table = await kubectl(['get', 'hpa']);
  t.regex(table.stdout, /old\s+Deployment\/old\s+cpu: <unknown>\/70%\s+1\s+4\s+0/);
});

test('events.k8s.io/v1 serves the core Events, converted both ways', async (t) => {
  const { kubectl } = await startTestServer(t, { resources: MEMBER_RESOURCES });
  const core = await kubectl(
    ['create', '-f', '-'],
    `apiVersion: v1
kind: Event
metadata: {name: e1}
involvedObject: {kind: Pod, name: p1, namespace: default}
reason: Started
message: started container
type: Normal
count: 3
source: {component: kubelet}
`,
  );
  t.is(core.code, 0, core.stderr);
  const ev = JSON.parse((await kubectl(['get', 'events.v1.events.k8s.io', 'e1', '-o', 'json'])).stdout);
  t.is(ev.apiVersion, 'events.k8s.io/v1');
  t.deepEqual(ev.regarding, { kind: 'Pod', name: 'p1', namespace: 'default' });
  t.is(ev.note, 'started container');
  t.is(ev.deprecatedCount, 3);
  t.deepEqual(ev.deprecatedSource, { component: 'kubelet' });
  t.is(ev.involvedObject, undefined);

  const created = await kubectl(
    ['create', '-f', '-'],
    `apiVersion: events.k8s.io/v1
kind: Event
metadata: {name: e2}
eventTime: "2026-01-01T00:00:00.000000Z"
reportingController: kitfed.io/test
reportingInstance: t1
action: Testing
reason: Tested
note: from the new API
type: Normal
regarding: {kind: Node, name: n1}
`,
  );
  t.is(created.code, 0, created.stderr);
  const back = JSON.parse((await kubectl(['get', 'events', 'e2', '-o', 'json'])).stdout);
  t.is(back.apiVersion, 'v1');
  t.is(back.message, 'from the new API');
  t.is(back.reportingComponent, 'kitfed.io/test');
  t.deepEqual(back.involvedObject, { kind: 'Node', name: 'n1' });
  const listed = await kubectl(['get', 'events.events.k8s.io', '-o', 'name']);
  t.deepEqual(listed.stdout.trim().split('\n').sort(), ['event.events.k8s.io/e1', 'event.events.k8s.io/e2']);
});
