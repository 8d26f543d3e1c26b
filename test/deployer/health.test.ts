import test from 'ava';
import { evaluate } from '../../services/deployer/health.js';
import type { KubeObject } from '../../services/core/kube.js';

const deployment = (status: Record<string, unknown>): KubeObject => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web', namespace: 'default', generation: 2 },
  spec: { replicas: 2 },
  status,
});

test('a Deployment whose controller observed the new generation but updated no replica yet is progressing (Kubernetes omits zero counters)', (t) => {
  // What a member reports right after a new template is applied: old pods still available, no updated one.
  t.like(evaluate(deployment({ observedGeneration: 2, replicas: 2, availableReplicas: 2 })), {
    state: 'progressing',
    message: '0/2 replicas updated',
  });
  t.like(evaluate(deployment({ observedGeneration: 2, replicas: 3, updatedReplicas: 2, availableReplicas: 2 })), {
    state: 'progressing',
    message: '1 old replicas pending termination',
  });
  t.like(evaluate(deployment({ observedGeneration: 2, replicas: 2, updatedReplicas: 2, availableReplicas: 2 })), {
    state: 'healthy',
  });
  // No controller writes status (no observedGeneration): counters stay unknown, availability decides.
  t.like(evaluate(deployment({ availableReplicas: 2 })), { state: 'healthy' });
});

test('a DaemonSet with no updated pod counted yet is progressing once observed', (t) => {
  const ds: KubeObject = {
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: { name: 'agent', namespace: 'default', generation: 3 },
    spec: {},
    status: { observedGeneration: 3, desiredNumberScheduled: 2, numberAvailable: 2 },
  };
  t.like(evaluate(ds), { state: 'progressing', message: '0/2 pods updated' });
});
