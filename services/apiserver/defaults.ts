import { createHash } from 'node:crypto';
import { isObject, type KubeObject } from '../core/kube.js';

/**
 * Defaulting of the built-in kinds, the part of kube's defaulters clients observe
 * (replicas, strategies, protocols, Secret type, Service type and cluster IP).
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

function defaultContainers(list: unknown): void {
  if (!Array.isArray(list)) return;
  for (const c of list) {
    if (!isObject(c)) continue;
    const image = typeof c.image === 'string' ? c.image : '';
    const tag = image.includes('@') ? 'digest' : (/:([^/:]+)$/.exec(image)?.[1] ?? 'latest');
    c.imagePullPolicy ??= tag === 'latest' ? 'Always' : 'IfNotPresent';
    c.terminationMessagePath ??= '/dev/termination-log';
    c.terminationMessagePolicy ??= 'File';
    c.resources ??= {};
    if (Array.isArray(c.ports)) for (const p of c.ports) if (isObject(p)) p.protocol ??= 'TCP';
  }
}

export function defaultPodSpec(spec: Obj): void {
  spec.restartPolicy ??= 'Always';
  spec.terminationGracePeriodSeconds ??= 30;
  spec.dnsPolicy ??= 'ClusterFirst';
  spec.securityContext ??= {};
  spec.schedulerName ??= 'default-scheduler';
  defaultContainers(spec.containers);
  defaultContainers(spec.initContainers);
}

function defaultTemplate(spec: Obj): void {
  const template = spec.template;
  if (isObject(template)) defaultPodSpec(obj(template, 'spec'));
}

export function applyDefaults(o: KubeObject): void {
  const spec = isObject(o.spec) ? o.spec : undefined;
  switch (o.kind) {
    case 'Namespace': {
      const s = obj(o, 'spec');
      s.finalizers ??= ['kubernetes'];
      break;
    }
    case 'Secret':
      o.type ??= 'Opaque';
      break;
    case 'Service': {
      const s = obj(o, 'spec');
      s.type ??= 'ClusterIP';
      s.sessionAffinity ??= 'None';
      if (s.type !== 'ExternalName') {
        if (s.clusterIP === undefined) s.clusterIP = clusterIpFor(`${o.metadata.namespace}/${o.metadata.name}`);
        s.clusterIPs ??= s.clusterIP === 'None' ? ['None'] : [s.clusterIP];
      }
      if (Array.isArray(s.ports)) {
        for (const p of s.ports) {
          if (!isObject(p)) continue;
          p.protocol ??= 'TCP';
          p.targetPort ??= p.port;
        }
      }
      if (s.type === 'LoadBalancer') s.externalTrafficPolicy ??= 'Cluster';
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
    default:
      break;
  }
}

/** A stable cluster IP from the Service's identity, in 10.96.0.0/12. */
function clusterIpFor(key: string): string {
  const h = createHash('sha1').update(key).digest();
  return `10.${96 + (h[0]! & 15)}.${h[1]!}.${1 + (h[2]! % 254)}`;
}
