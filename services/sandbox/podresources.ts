import type { KubeObject } from '../core/kube.js';
import { add, canonical, cmp, resourceList, type ResourceList } from '../core/quantity.js';
import { asObj, specOf, type Obj } from './util.js';

/** Pod resource arithmetic shared by quota and limit admission (kube's resourcehelper). */

export interface Container {
  name?: string;
  resources?: { requests?: Record<string, unknown>; limits?: Record<string, unknown> };
}

export function containersOf(pod: KubeObject, init = false): Container[] {
  return (specOf(pod)[init ? 'initContainers' : 'containers'] as Container[] | undefined) ?? [];
}

function containerList(c: Container, which: 'requests' | 'limits'): ResourceList {
  return resourceList(asObj(c.resources)[which]);
}

/** A pod's effective requests or limits: the containers' sum, at least each init container's, plus overhead. */
export function podResources(pod: KubeObject, which: 'requests' | 'limits'): ResourceList {
  let sum: ResourceList = {};
  for (const c of containersOf(pod)) {
    for (const [k, v] of Object.entries(containerList(c, which))) sum[k] = sum[k] ? add(sum[k], v) : v;
  }
  for (const c of containersOf(pod, true)) {
    for (const [k, v] of Object.entries(containerList(c, which))) if (!sum[k] || cmp(v, sum[k]) > 0) sum[k] = v;
  }
  const overhead = resourceList(specOf(pod).overhead);
  if (Object.keys(overhead).length > 0) {
    const out: ResourceList = { ...sum };
    for (const [k, v] of Object.entries(overhead)) if (out[k]) out[k] = add(out[k], v);
    sum = which === 'requests' ? { ...overhead, ...out } : out;
  }
  return sum;
}

/** Kube's QoS class BestEffort: no container asks for or limits cpu or memory. */
export function isBestEffort(pod: KubeObject): boolean {
  for (const c of [...containersOf(pod), ...containersOf(pod, true)]) {
    const r = asObj(c.resources);
    for (const which of ['requests', 'limits'] as const)
      for (const k of Object.keys(asObj(r[which]))) if (k === 'cpu' || k === 'memory') return false;
  }
  return true;
}

/** Sets `resources[which][key]` on a container (canonical text, as kube serialises quantities). */
export function setResource(c: Obj, which: 'requests' | 'limits', key: string, value: string): void {
  const resources = asObj(c.resources);
  const list = { ...asObj(resources[which]) };
  list[key] = canonical(value);
  c.resources = { ...resources, [which]: list };
}
