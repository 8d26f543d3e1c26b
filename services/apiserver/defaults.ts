import { createHash } from 'node:crypto';
import { isObject, type KubeObject } from '../core/kube.js';

/**
 * Defaulting of the built-in kinds as kube-apiserver 1.32 does it: the `SetDefaults_*`
 * functions of each API group (applied to every nested type, e.g. a pod template inside a
 * CronJob) and the defaulting admission plugins every cluster runs (ServiceAccount,
 * DefaultTolerationSeconds, Priority), plus the Job selector the Job strategy generates.
 */

type Obj = Record<string, unknown>;

/** `parent[key]` as an object, created empty when absent (defaulters fill nested fields). */
export function obj(parent: Obj, key: string): Obj {
  const v = parent[key];
  if (isObject(v)) return v;
  const created: Obj = {};
  parent[key] = created;
  return created;
}

function each(list: unknown, f: (o: Obj) => void): void {
  if (Array.isArray(list)) for (const o of list) if (isObject(o)) f(o);
}

function defaultProbe(p: unknown): void {
  if (!isObject(p)) return;
  p.timeoutSeconds ??= 1;
  p.periodSeconds ??= 10;
  p.successThreshold ??= 1;
  p.failureThreshold ??= 3;
  if (isObject(p.httpGet)) p.httpGet.scheme ??= 'HTTP';
  if (isObject(p.grpc)) p.grpc.service ??= '';
}

function defaultHandler(h: unknown): void {
  if (isObject(h) && isObject(h.httpGet)) h.httpGet.scheme ??= 'HTTP';
}

function defaultEnv(list: unknown): void {
  each(list, (e) => {
    if (isObject(e.valueFrom) && isObject(e.valueFrom.fieldRef)) e.valueFrom.fieldRef.apiVersion ??= 'v1';
  });
}

function defaultContainers(list: unknown, hostNetwork: boolean): void {
  each(list, (c) => {
    const image = typeof c.image === 'string' ? c.image : '';
    const tag = image.includes('@') ? 'digest' : (/:([^/:]+)$/.exec(image)?.[1] ?? 'latest');
    c.imagePullPolicy ??= tag === 'latest' ? 'Always' : 'IfNotPresent';
    c.terminationMessagePath ??= '/dev/termination-log';
    c.terminationMessagePolicy ??= 'File';
    c.resources ??= {};
    each(c.ports, (p) => {
      p.protocol ??= 'TCP';
      if (hostNetwork) p.hostPort ??= p.containerPort;
    });
    defaultEnv(c.env);
    defaultProbe(c.livenessProbe);
    defaultProbe(c.readinessProbe);
    defaultProbe(c.startupProbe);
    if (isObject(c.lifecycle)) {
      defaultHandler(c.lifecycle.postStart);
      defaultHandler(c.lifecycle.preStop);
    }
  });
}

const VOLUME_SOURCES = [
  'hostPath',
  'emptyDir',
  'gcePersistentDisk',
  'awsElasticBlockStore',
  'gitRepo',
  'secret',
  'nfs',
  'iscsi',
  'glusterfs',
  'persistentVolumeClaim',
  'rbd',
  'flexVolume',
  'cinder',
  'cephfs',
  'flocker',
  'downwardAPI',
  'fc',
  'azureFile',
  'configMap',
  'vsphereVolume',
  'quobyte',
  'azureDisk',
  'photonPersistentDisk',
  'projected',
  'portworxVolume',
  'scaleIO',
  'storageos',
  'csi',
  'ephemeral',
  'image',
];

function defaultDownwardItems(items: unknown): void {
  each(items, (i) => {
    if (isObject(i.fieldRef)) i.fieldRef.apiVersion ??= 'v1';
  });
}

/** SetDefaults_Volume and the defaults of each volume source. */
function defaultVolume(v: Obj): void {
  if (!VOLUME_SOURCES.some((s) => v[s] !== undefined)) v.emptyDir = {};
  if (isObject(v.secret)) v.secret.defaultMode ??= 420;
  if (isObject(v.configMap)) v.configMap.defaultMode ??= 420;
  if (isObject(v.downwardAPI)) {
    v.downwardAPI.defaultMode ??= 420;
    defaultDownwardItems(v.downwardAPI.items);
  }
  if (isObject(v.projected)) {
    v.projected.defaultMode ??= 420;
    each(v.projected.sources, (s) => {
      if (isObject(s.downwardAPI)) defaultDownwardItems(s.downwardAPI.items);
      if (isObject(s.serviceAccountToken)) s.serviceAccountToken.expirationSeconds ??= 3600;
    });
  }
  if (isObject(v.hostPath)) v.hostPath.type ??= '';
  if (isObject(v.iscsi)) v.iscsi.iscsiInterface ??= 'default';
  if (isObject(v.rbd)) {
    v.rbd.pool ??= 'rbd';
    v.rbd.user ??= 'admin';
    v.rbd.keyring ??= '/etc/ceph/keyring';
  }
  if (isObject(v.azureDisk)) {
    v.azureDisk.cachingMode ??= 'ReadWrite';
    v.azureDisk.fsType ??= 'ext4';
    v.azureDisk.readOnly ??= false;
    v.azureDisk.kind ??= 'Shared';
  }
  if (isObject(v.ephemeral) && isObject(v.ephemeral.volumeClaimTemplate))
    defaultPvcSpec(obj(v.ephemeral.volumeClaimTemplate, 'spec'));
}

/** SetDefaults_PodSpec and the container, volume and probe defaults below it. */
export function defaultPodSpec(spec: Obj): void {
  spec.restartPolicy ??= 'Always';
  spec.terminationGracePeriodSeconds ??= 30;
  spec.dnsPolicy ??= 'ClusterFirst';
  spec.securityContext ??= {};
  spec.schedulerName ??= 'default-scheduler';
  spec.enableServiceLinks ??= true;
  const hostNetwork = spec.hostNetwork === true;
  defaultContainers(spec.containers, hostNetwork);
  defaultContainers(spec.initContainers, hostNetwork);
  defaultContainers(spec.ephemeralContainers, false);
  each(spec.volumes, defaultVolume);
}

/** A pod as kube-apiserver stores it: spec defaults, then what its admission plugins add. */
function defaultPod(o: KubeObject): void {
  const spec = obj(o, 'spec');
  defaultPodSpec(spec);
  // SetDefaults_Pod: a container's requests default to its limits.
  each(spec.containers, (c) => {
    if (!isObject(c.resources) || !isObject(c.resources.limits)) return;
    const requests = obj(c.resources, 'requests');
    for (const [k, v] of Object.entries(c.resources.limits)) requests[k] ??= v;
  });
  // ServiceAccount, Priority and DefaultTolerationSeconds admission.
  spec.serviceAccountName ??= spec.serviceAccount ?? 'default';
  spec.serviceAccount ??= spec.serviceAccountName;
  spec.priority ??= 0;
  spec.preemptionPolicy ??= 'PreemptLowerPriority';
  const tolerations = Array.isArray(spec.tolerations) ? (spec.tolerations as Obj[]) : [];
  for (const key of ['node.kubernetes.io/not-ready', 'node.kubernetes.io/unreachable']) {
    if (!tolerations.some((t) => t.key === key || (t.operator === 'Exists' && t.key === undefined)))
      tolerations.push({ key, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 });
  }
  spec.tolerations = tolerations;
}

function defaultTemplate(spec: Obj): void {
  const template = spec.template;
  if (isObject(template)) defaultPodSpec(obj(template, 'spec'));
}

function defaultPvcSpec(spec: Obj): void {
  spec.volumeMode ??= 'Filesystem';
}

function defaultService(o: KubeObject): void {
  const s = obj(o, 'spec');
  s.type ??= 'ClusterIP';
  s.sessionAffinity ??= 'None';
  if (s.type !== 'ExternalName') {
    if (s.clusterIP === undefined) s.clusterIP = clusterIpFor(`${o.metadata.namespace}/${o.metadata.name}`);
    s.clusterIPs ??= s.clusterIP === 'None' ? ['None'] : [s.clusterIP];
    s.ipFamilies ??= ['IPv4'];
    s.ipFamilyPolicy ??= 'SingleStack';
    s.internalTrafficPolicy ??= 'Cluster';
  }
  const external = s.type === 'NodePort' || s.type === 'LoadBalancer';
  each(s.ports, (p) => {
    p.protocol ??= 'TCP';
    p.targetPort ??= p.port;
    if (external) p.nodePort ??= nodePortFor(`${o.metadata.namespace}/${o.metadata.name}/${String(p.port)}`);
  });
  if (external) s.externalTrafficPolicy ??= 'Cluster';
  if (s.type === 'LoadBalancer') s.allocateLoadBalancerNodePorts ??= true;
  if (s.sessionAffinity === 'ClientIP') obj(obj(s, 'sessionAffinityConfig'), 'clientIP').timeoutSeconds ??= 10800;
}

function defaultWebhooks(o: KubeObject, mutating: boolean): void {
  each(o.webhooks, (w) => {
    w.failurePolicy ??= 'Fail';
    w.matchPolicy ??= 'Equivalent';
    w.namespaceSelector ??= {};
    w.objectSelector ??= {};
    w.timeoutSeconds ??= 10;
    if (mutating) w.reinvocationPolicy ??= 'Never';
    each(w.rules, (r) => (r.scope ??= '*'));
    if (isObject(w.clientConfig) && isObject(w.clientConfig.service)) w.clientConfig.service.port ??= 443;
  });
}

function defaultMatchResources(m: unknown): void {
  if (!isObject(m)) return;
  m.matchPolicy ??= 'Equivalent';
  m.namespaceSelector ??= {};
  m.objectSelector ??= {};
  each(m.resourceRules, (r) => (r.scope ??= '*'));
  each(m.excludeResourceRules, (r) => (r.scope ??= '*'));
}

function defaultJobSpec(o: KubeObject, creating: boolean): void {
  const spec = obj(o, 'spec');
  spec.parallelism ??= 1;
  spec.completions ??= spec.parallelism === 1 ? 1 : spec.parallelism;
  spec.backoffLimit ??= spec.backoffLimitPerIndex !== undefined ? 2147483647 : 6;
  spec.completionMode ??= 'NonIndexed';
  spec.suspend ??= false;
  spec.podReplacementPolicy ??= isObject(spec.podFailurePolicy) ? 'Failed' : 'TerminatingOrFailed';
  const template = obj(spec, 'template');
  const tspec = obj(template, 'spec');
  defaultPodSpec(tspec);
  if (creating && spec.manualSelector !== true && o.metadata.uid) {
    const uid = o.metadata.uid;
    const name = o.metadata.name ?? '';
    spec.selector ??= { matchLabels: { 'batch.kubernetes.io/controller-uid': uid } };
    const meta = obj(template, 'metadata');
    meta.labels = {
      ...(meta.labels ?? {}),
      'batch.kubernetes.io/controller-uid': uid,
      'batch.kubernetes.io/job-name': name,
      'controller-uid': uid,
      'job-name': name,
    };
  }
}

export function applyDefaults(o: KubeObject, op: 'CREATE' | 'UPDATE' = 'CREATE'): void {
  const spec = isObject(o.spec) ? o.spec : undefined;
  switch (o.kind) {
    case 'Namespace':
      obj(o, 'spec').finalizers ??= ['kubernetes'];
      break;
    case 'Secret':
      o.type ??= 'Opaque';
      break;
    case 'Service':
      defaultService(o);
      break;
    case 'Pod':
      defaultPod(o);
      break;
    case 'PodTemplate':
      if (isObject(o.template)) defaultPodSpec(obj(o.template, 'spec'));
      break;
    case 'ReplicationController': {
      const s = obj(o, 'spec');
      s.replicas ??= 1;
      const labels = isObject(s.template) && isObject(s.template.metadata) ? s.template.metadata.labels : undefined;
      if (isObject(labels) && (!isObject(s.selector) || Object.keys(s.selector).length === 0))
        s.selector = { ...labels };
      if (isObject(labels) && !o.metadata.labels) o.metadata.labels = { ...(labels as Record<string, string>) };
      defaultTemplate(s);
      break;
    }
    case 'PersistentVolume': {
      const s = obj(o, 'spec');
      s.persistentVolumeReclaimPolicy ??= 'Retain';
      s.volumeMode ??= 'Filesystem';
      if (op === 'CREATE') o.status = { phase: 'Pending' };
      break;
    }
    case 'PersistentVolumeClaim':
      defaultPvcSpec(obj(o, 'spec'));
      if (op === 'CREATE') o.status = { phase: 'Pending' };
      break;
    case 'Endpoints':
      each(o.subsets, (ss) => each(ss.ports, (p) => (p.protocol ??= 'TCP')));
      break;
    case 'LimitRange':
      each(spec?.limits, (item) => {
        if (item.type !== 'Container') return;
        const def = obj(item, 'default');
        const req = obj(item, 'defaultRequest');
        for (const [k, v] of Object.entries(isObject(item.max) ? item.max : {})) def[k] ??= v;
        for (const [k, v] of Object.entries(def)) req[k] ??= v;
        for (const [k, v] of Object.entries(isObject(item.min) ? item.min : {})) req[k] ??= v;
      });
      break;
    case 'Node': {
      const status = isObject(o.status) ? o.status : undefined;
      if (status && isObject(status.capacity) && status.allocatable === undefined)
        status.allocatable = { ...status.capacity };
      break;
    }
    case 'ReplicaSet':
      if (spec) {
        spec.replicas ??= 1;
        defaultTemplate(spec);
      }
      break;
    case 'Deployment':
      if (spec) {
        spec.replicas ??= 1;
        spec.revisionHistoryLimit ??= 10;
        spec.progressDeadlineSeconds ??= 600;
        const strategy = obj(spec, 'strategy');
        strategy.type ??= 'RollingUpdate';
        if (strategy.type === 'RollingUpdate') {
          const ru = obj(strategy, 'rollingUpdate');
          ru.maxUnavailable ??= '25%';
          ru.maxSurge ??= '25%';
        }
        defaultTemplate(spec);
      }
      break;
    case 'DaemonSet': {
      const s = obj(o, 'spec');
      s.revisionHistoryLimit ??= 10;
      const strategy = obj(s, 'updateStrategy');
      strategy.type ??= 'RollingUpdate';
      if (strategy.type === 'RollingUpdate') {
        const ru = obj(strategy, 'rollingUpdate');
        ru.maxUnavailable ??= 1;
        ru.maxSurge ??= 0;
      }
      defaultTemplate(s);
      break;
    }
    case 'StatefulSet': {
      const s = obj(o, 'spec');
      s.replicas ??= 1;
      s.podManagementPolicy ??= 'OrderedReady';
      s.revisionHistoryLimit ??= 10;
      const strategy = obj(s, 'updateStrategy');
      strategy.type ??= 'RollingUpdate';
      if (strategy.type === 'RollingUpdate') obj(strategy, 'rollingUpdate').partition ??= 0;
      const retention = obj(s, 'persistentVolumeClaimRetentionPolicy');
      retention.whenDeleted ??= 'Retain';
      retention.whenScaled ??= 'Retain';
      each(s.volumeClaimTemplates, (pvc) => {
        defaultPvcSpec(obj(pvc, 'spec'));
        pvc.status ??= { phase: 'Pending' };
      });
      defaultTemplate(s);
      break;
    }
    case 'Job':
      defaultJobSpec(o, op === 'CREATE');
      break;
    case 'CronJob': {
      const s = obj(o, 'spec');
      s.concurrencyPolicy ??= 'Allow';
      s.suspend ??= false;
      s.successfulJobsHistoryLimit ??= 3;
      s.failedJobsHistoryLimit ??= 1;
      const jobSpec = obj(obj(s, 'jobTemplate'), 'spec');
      defaultTemplate(jobSpec);
      break;
    }
    case 'HorizontalPodAutoscaler': {
      const s = obj(o, 'spec');
      s.minReplicas ??= 1;
      if (!Array.isArray(s.metrics) || s.metrics.length === 0)
        s.metrics = [
          { type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 80 } } },
        ];
      if (isObject(s.behavior)) defaultHpaBehavior(s.behavior);
      break;
    }
    case 'NetworkPolicy': {
      const s = obj(o, 'spec');
      for (const dir of ['ingress', 'egress']) each(s[dir], (rule) => each(rule.ports, (p) => (p.protocol ??= 'TCP')));
      if (!Array.isArray(s.policyTypes) || s.policyTypes.length === 0)
        s.policyTypes = Array.isArray(s.egress) && s.egress.length > 0 ? ['Ingress', 'Egress'] : ['Ingress'];
      break;
    }
    case 'EndpointSlice':
      each(o.ports, (p) => {
        p.protocol ??= 'TCP';
        p.name ??= '';
      });
      break;
    case 'PriorityClass':
      o.preemptionPolicy ??= 'PreemptLowerPriority';
      break;
    case 'StorageClass':
      o.reclaimPolicy ??= 'Delete';
      o.volumeBindingMode ??= 'Immediate';
      break;
    case 'CSIDriver': {
      const s = obj(o, 'spec');
      s.attachRequired ??= true;
      s.podInfoOnMount ??= false;
      s.storageCapacity ??= false;
      s.fsGroupPolicy ??= 'ReadWriteOnceWithFSType';
      s.requiresRepublish ??= false;
      s.seLinuxMount ??= false;
      if (!Array.isArray(s.volumeLifecycleModes) || s.volumeLifecycleModes.length === 0)
        s.volumeLifecycleModes = ['Persistent'];
      break;
    }
    case 'MutatingWebhookConfiguration':
      defaultWebhooks(o, true);
      break;
    case 'ValidatingWebhookConfiguration':
      defaultWebhooks(o, false);
      break;
    case 'ValidatingAdmissionPolicy': {
      const s = obj(o, 'spec');
      s.failurePolicy ??= 'Fail';
      defaultMatchResources(s.matchConstraints);
      break;
    }
    case 'ValidatingAdmissionPolicyBinding':
      if (spec) defaultMatchResources(spec.matchResources);
      break;
    case 'FlowSchema':
      obj(o, 'spec').matchingPrecedence ??= 1000;
      break;
    case 'PriorityLevelConfiguration': {
      const s = obj(o, 'spec');
      if (s.type === 'Limited') {
        const limited = obj(s, 'limited');
        limited.nominalConcurrencyShares ??= 30;
        limited.lendablePercent ??= 0;
        const response = obj(limited, 'limitResponse');
        if (response.type === 'Queue') {
          const q = obj(response, 'queuing');
          q.queues ??= 64;
          q.handSize ??= 8;
          q.queueLengthLimit ??= 50;
        }
      } else if (s.type === 'Exempt') {
        const exempt = obj(s, 'exempt');
        exempt.nominalConcurrencyShares ??= 0;
        exempt.lendablePercent ??= 0;
      }
      break;
    }
    default:
      break;
  }
}

/** autoscaling/v2 SetDefaults_HorizontalPodAutoscalerBehavior: the policies kube fills in. */
function defaultHpaBehavior(b: Obj): void {
  const up = obj(b, 'scaleUp');
  up.stabilizationWindowSeconds ??= 0;
  up.selectPolicy ??= 'Max';
  up.policies ??= [
    { type: 'Pods', value: 4, periodSeconds: 15 },
    { type: 'Percent', value: 100, periodSeconds: 15 },
  ];
  const down = obj(b, 'scaleDown');
  down.selectPolicy ??= 'Max';
  down.policies ??= [{ type: 'Percent', value: 100, periodSeconds: 15 }];
}

/** A stable cluster IP from the Service's identity, in 10.96.0.0/12. */
function clusterIpFor(key: string): string {
  const h = createHash('sha1').update(key).digest();
  return `10.${96 + (h[0]! & 15)}.${h[1]!}.${1 + (h[2]! % 254)}`;
}

/** A stable node port from the Service port's identity, in kube's 30000-32767. */
function nodePortFor(key: string): number {
  const h = createHash('sha1').update(key).digest();
  return 30000 + (h.readUInt16BE(0) % 2768);
}

/** A list field as strings (a Service's clusterIPs); anything else is empty. */
export function stringList(v: unknown): string[] {
  return Array.isArray(v) ? v.map(String) : [];
}

/**
 * kube's Service strategy before an update: a cluster IP the request leaves out keeps the one allocated
 * (a `kubectl replace` of a manifest without it), and when only one of `clusterIP` / `clusterIPs` changed,
 * the other follows it, so that validation sees what the user meant ("may not change once set").
 */
export function prepareServiceUpdate(next: KubeObject, current: KubeObject): void {
  if (!isObject(next.spec) || !isObject(current.spec)) return;
  const s = next.spec;
  const was = current.spec;
  const needsIp = (spec: Obj) => spec.type !== 'ExternalName';
  if (needsIp(was) && needsIp(s)) {
    if (!s.clusterIP && was.clusterIP) s.clusterIP = was.clusterIP;
    if (stringList(s.clusterIPs).length === 0 && stringList(was.clusterIPs).length > 0)
      s.clusterIPs = stringList(was.clusterIPs);
  }
  const singleChanged = (was.clusterIP ?? '') !== (s.clusterIP ?? '');
  const multiChanged = JSON.stringify(stringList(was.clusterIPs)) !== JSON.stringify(stringList(s.clusterIPs));
  if (singleChanged === multiChanged) return;
  if (singleChanged) {
    if (!s.clusterIP) delete s.clusterIPs;
    else s.clusterIPs = [String(s.clusterIP), ...stringList(s.clusterIPs).slice(1)];
  } else {
    const first = stringList(s.clusterIPs)[0];
    if (first === undefined) delete s.clusterIP;
    else s.clusterIP = first;
  }
}
