import { cloneJson, isObject, type KubeObject } from '../core/kube.js';
import type { ResourceType } from './resources.js';

/**
 * Conversion between a served version and the storage version of a type. The served
 * aliases (extensions/v1beta1 ReplicaSet, Deployment and Ingress, as in the 2016 seed
 * walkthrough) differ from apps/v1 and networking.k8s.io/v1 in a few fields only.
 */

export function toStorageVersion(obj: KubeObject, t: ResourceType, fromGroup: string): KubeObject {
  const out = cloneJson(obj);
  const version = t.custom?.storageVersion ?? t.version;
  out.apiVersion = t.group ? `${t.group}/${version}` : version;
  if (fromGroup === 'extensions') {
    if (t.kind === 'ReplicaSet' || t.kind === 'Deployment') defaultSelectorFromTemplate(out);
    if (t.kind === 'Ingress') ingressFromV1beta1(out);
  }
  return out;
}

export function toServedVersion(obj: KubeObject, t: ResourceType, group: string, version: string): KubeObject {
  if (group === t.group && version === t.version) return obj;
  const out = cloneJson(obj);
  out.apiVersion = group ? `${group}/${version}` : version;
  if (group === 'extensions' && t.kind === 'Ingress') ingressToV1beta1(out);
  return out;
}

/** v1beta1 defaulted `spec.selector` from the pod template's labels; apps/v1 requires it. */
function defaultSelectorFromTemplate(obj: KubeObject): void {
  const spec = obj.spec;
  if (!isObject(spec) || spec.selector !== undefined) return;
  const template = spec.template;
  const labels = isObject(template) && isObject(template.metadata) ? template.metadata.labels : undefined;
  if (isObject(labels)) spec.selector = { matchLabels: { ...labels } };
}

function backendFromV1beta1(b: unknown): unknown {
  if (!isObject(b) || b.serviceName === undefined) return b;
  const port = b.servicePort;
  return { service: { name: b.serviceName, port: typeof port === 'number' ? { number: port } : { name: port } } };
}

function backendToV1beta1(b: unknown): unknown {
  if (!isObject(b) || !isObject(b.service)) return b;
  const port = isObject(b.service.port) ? (b.service.port.number ?? b.service.port.name) : undefined;
  return { serviceName: b.service.name, servicePort: port };
}

function mapPaths(spec: Record<string, unknown>, f: (b: unknown) => unknown, pathType: boolean): void {
  for (const rule of Array.isArray(spec.rules) ? spec.rules : []) {
    const http = isObject(rule) ? rule.http : undefined;
    for (const p of isObject(http) && Array.isArray(http.paths) ? http.paths : []) {
      if (!isObject(p)) continue;
      p.backend = f(p.backend);
      if (pathType) p.pathType ??= 'ImplementationSpecific';
    }
  }
}

function ingressFromV1beta1(obj: KubeObject): void {
  const spec = obj.spec;
  if (!isObject(spec)) return;
  if (spec.backend !== undefined) {
    spec.defaultBackend = backendFromV1beta1(spec.backend);
    delete spec.backend;
  }
  mapPaths(spec, backendFromV1beta1, true);
}

function ingressToV1beta1(obj: KubeObject): void {
  const spec = obj.spec;
  if (!isObject(spec)) return;
  if (spec.defaultBackend !== undefined) {
    spec.backend = backendToV1beta1(spec.defaultBackend);
    delete spec.defaultBackend;
  }
  mapPaths(spec, backendToV1beta1, false);
}
