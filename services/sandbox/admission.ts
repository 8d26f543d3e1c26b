import type { KubeObject } from '../core/kube.js';
import { defaultPodSpec, obj } from '../apiserver/defaults.js';
import type { AdmissionPlugin } from '../apiserver/registry.js';

/**
 * Defaulting of the member-only kinds (Pod, DaemonSet, Job), as kube's defaulters and the
 * Job controller's selector generation do. Runs as an admission plugin of each sandbox cluster.
 */

type Obj = Record<string, unknown>;

const child = obj;

function defaultFullPodSpec(spec: Obj): void {
  defaultPodSpec(spec);
  spec.serviceAccountName ??= 'default';
  spec.serviceAccount ??= spec.serviceAccountName;
  spec.enableServiceLinks ??= true;
  spec.priority ??= 0;
  spec.preemptionPolicy ??= 'PreemptLowerPriority';
  spec.tolerations ??= [
    { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
    { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
  ];
}

function templateSpec(spec: Obj): Obj {
  return child(child(spec, 'template'), 'spec');
}

function defaultDaemonSet(o: KubeObject): void {
  const spec = child(o, 'spec');
  spec.revisionHistoryLimit ??= 10;
  const strategy = child(spec, 'updateStrategy');
  strategy.type ??= 'RollingUpdate';
  if (strategy.type === 'RollingUpdate') {
    const ru = child(strategy, 'rollingUpdate');
    ru.maxUnavailable ??= 1;
    ru.maxSurge ??= 0;
  }
  defaultPodSpec(templateSpec(spec));
}

function defaultJob(o: KubeObject, creating: boolean): void {
  const spec = child(o, 'spec');
  spec.parallelism ??= 1;
  spec.completions ??= spec.parallelism === 1 ? 1 : spec.parallelism;
  spec.backoffLimit ??= 6;
  spec.completionMode ??= 'NonIndexed';
  spec.suspend ??= false;
  spec.podReplacementPolicy ??= 'TerminatingOrFailed';
  const tspec = templateSpec(spec);
  tspec.restartPolicy ??= 'Never';
  defaultPodSpec(tspec);
  if (creating && spec.manualSelector !== true && o.metadata.uid) {
    const uid = o.metadata.uid;
    const name = o.metadata.name ?? '';
    spec.selector ??= { matchLabels: { 'batch.kubernetes.io/controller-uid': uid } };
    const meta = child(child(spec, 'template'), 'metadata');
    meta.labels = {
      ...((meta.labels as Record<string, string> | undefined) ?? {}),
      'batch.kubernetes.io/controller-uid': uid,
      'batch.kubernetes.io/job-name': name,
      'controller-uid': uid,
      'job-name': name,
    };
  }
}

export const memberDefaults: AdmissionPlugin = {
  name: 'SandboxDefaults',
  kinds: ['Pod', 'DaemonSet', 'Job'],
  admit(op, t, obj) {
    if (t.kind === 'Pod') defaultFullPodSpec(child(obj, 'spec'));
    else if (t.kind === 'DaemonSet') defaultDaemonSet(obj);
    else if (t.kind === 'Job') defaultJob(obj, op === 'CREATE');
  },
};
