import { hasCode } from '../core/errors.js';
import type { KubeObject } from '../core/kube.js';
import { fromLabelSelector, matchesLabels } from '../apiserver/index.js';
import { CONTROLLER_MANAGER, type SimContext } from './context.js';
import { keyOf } from './informer.js';
import { canonicalJson, isPodReady, ownerRef, podPhase, specOf, statusOf, type Obj } from './util.js';

/**
 * kube's endpoints and endpointslice controllers: for each Service with a selector, an
 * Endpoints object of the same name (ready pods in `addresses`, others in `notReadyAddresses`,
 * ports resolved by number or by container port name) and EndpointSlices
 * (`kubernetes.io/service-name`, `endpointslice.kubernetes.io/managed-by`, one per distinct
 * port mapping, at most 100 endpoints each, conditions ready/serving/terminating, zone), owned
 * by the Service. Services without a selector keep what their users write.
 */

export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';
export const MANAGED_BY_LABEL = 'endpointslice.kubernetes.io/managed-by';
export const MANAGED_BY = 'endpointslice-controller.k8s.io';
const HEADLESS_LABEL = 'service.kubernetes.io/headless';
const TRIGGER_TIME = 'endpoints.kubernetes.io/last-change-trigger-time';
const MAX_PER_SLICE = 100;

interface ServicePort {
  name?: string;
  port: number;
  protocol?: string;
  appProtocol?: string;
  targetPort?: number | string;
}

interface ContainerPort {
  name?: string;
  containerPort: number;
  protocol?: string;
}

/** kube's podutil.FindPort: a number as is, a name looked up among the pod's container ports. */
export function findPort(pod: KubeObject, sp: ServicePort): number | undefined {
  const target = sp.targetPort ?? sp.port;
  if (typeof target === 'number') return target;
  if (/^\d+$/.test(target)) return Number(target);
  const protocol = sp.protocol ?? 'TCP';
  for (const c of (specOf(pod).containers as Array<{ ports?: ContainerPort[] }> | undefined) ?? [])
    for (const p of c.ports ?? []) if (p.name === target && (p.protocol ?? 'TCP') === protocol) return p.containerPort;
  return undefined;
}

/** Whether the service's selector selects the pod (a missing selector selects nothing). */
export function selects(svc: KubeObject, pod: KubeObject): boolean {
  const sel = specOf(svc).selector as Record<string, string> | undefined;
  if (!sel || pod.metadata.namespace !== svc.metadata.namespace) return false;
  return matchesLabels(fromLabelSelector({ matchLabels: sel }), pod.metadata.labels);
}

function podIp(pod: KubeObject): string | undefined {
  return (statusOf(pod).podIP as string | undefined) || undefined;
}

/** kube's ShouldPodBeInEndpoints. */
function inEndpoints(pod: KubeObject, includeTerminating: boolean): boolean {
  if (!podIp(pod)) return false;
  if (!includeTerminating && pod.metadata.deletionTimestamp) return false;
  const policy = specOf(pod).restartPolicy ?? 'Always';
  const phase = podPhase(pod);
  if (policy === 'Never') return phase !== 'Failed' && phase !== 'Succeeded';
  if (policy === 'OnFailure') return phase !== 'Succeeded';
  return true;
}

function hostnameFor(svc: KubeObject, pod: KubeObject): string | undefined {
  const spec = specOf(pod);
  return typeof spec.hostname === 'string' && spec.hostname && spec.subdomain === svc.metadata.name
    ? spec.hostname
    : undefined;
}

function servicePorts(svc: KubeObject): ServicePort[] {
  return (specOf(svc).ports as ServicePort[] | undefined) ?? [];
}

function portsOf(svc: KubeObject, pod: KubeObject): Obj[] {
  const out: Obj[] = [];
  for (const sp of servicePorts(svc)) {
    const port = findPort(pod, sp);
    if (port === undefined) continue;
    out.push({
      ...(sp.name ? { name: sp.name } : {}),
      port,
      protocol: sp.protocol ?? 'TCP',
      ...(sp.appProtocol ? { appProtocol: sp.appProtocol } : {}),
    });
  }
  return out;
}

function labelsFor(svc: KubeObject): Record<string, string> {
  const labels = { ...(svc.metadata.labels ?? {}) };
  if (specOf(svc).clusterIP === 'None') labels[HEADLESS_LABEL] = '';
  return labels;
}

const byIp = (a: Obj, b: Obj) => String(a.ip).localeCompare(String(b.ip), 'en', { numeric: true });
const byName = (a: Obj, b: Obj) =>
  String(a.name ?? '').localeCompare(String(b.name ?? '')) || Number(a.port) - Number(b.port);

/** The subsets of the service's Endpoints (kube's addEndpointSubset + RepackSubsets). */
export function endpointSubsets(svc: KubeObject, pods: KubeObject[]): Obj[] {
  const tolerateUnready = specOf(svc).publishNotReadyAddresses === true;
  const groups = new Map<string, { ports: Obj[]; addresses: Obj[]; notReadyAddresses: Obj[] }>();
  for (const pod of pods) {
    if (!inEndpoints(pod, tolerateUnready)) continue;
    const ports = portsOf(svc, pod).sort(byName);
    if (servicePorts(svc).length > 0 && ports.length === 0) continue;
    const hostname = hostnameFor(svc, pod);
    const node = specOf(pod).nodeName as string | undefined;
    const address: Obj = {
      ip: podIp(pod),
      ...(hostname ? { hostname } : {}),
      ...(node ? { nodeName: node } : {}),
      targetRef: { kind: 'Pod', namespace: pod.metadata.namespace, name: pod.metadata.name, uid: pod.metadata.uid },
    };
    const key = canonicalJson(ports);
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { ports, addresses: [], notReadyAddresses: [] }));
    if (isPodReady(pod) || tolerateUnready) g.addresses.push(address);
    else g.notReadyAddresses.push(address);
  }
  return [...groups.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([, g]) => ({
      ...(g.addresses.length ? { addresses: g.addresses.sort(byIp) } : {}),
      ...(g.notReadyAddresses.length ? { notReadyAddresses: g.notReadyAddresses.sort(byIp) } : {}),
      ...(g.ports.length ? { ports: g.ports } : {}),
    }));
}

/** The EndpointSlices' content (endpoints and ports), one entry per slice, placeholder included. */
export function sliceContents(
  svc: KubeObject,
  pods: KubeObject[],
  zoneOf: (node: string) => string | undefined,
): Array<{ ports: Obj[]; endpoints: Obj[] }> {
  const tolerateUnready = specOf(svc).publishNotReadyAddresses === true;
  const groups = new Map<string, { ports: Obj[]; endpoints: Obj[] }>();
  for (const pod of pods) {
    if (!inEndpoints(pod, true)) continue;
    const ports = portsOf(svc, pod)
      .map((p) => ({ name: p.name ?? '', ...p }))
      .sort(byName);
    if (servicePorts(svc).length > 0 && ports.length === 0) continue;
    const terminating = pod.metadata.deletionTimestamp !== undefined;
    const ready = isPodReady(pod);
    const hostname = hostnameFor(svc, pod);
    const node = specOf(pod).nodeName as string | undefined;
    const zone = node ? zoneOf(node) : undefined;
    const endpoint: Obj = {
      addresses: [podIp(pod)],
      conditions: { ready: tolerateUnready || (ready && !terminating), serving: ready, terminating },
      ...(hostname ? { hostname } : {}),
      targetRef: { kind: 'Pod', namespace: pod.metadata.namespace, name: pod.metadata.name, uid: pod.metadata.uid },
      ...(node ? { nodeName: node } : {}),
      ...(zone ? { zone } : {}),
    };
    const key = canonicalJson(ports);
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { ports, endpoints: [] }));
    g.endpoints.push(endpoint);
  }
  const out: Array<{ ports: Obj[]; endpoints: Obj[] }> = [];
  for (const [, g] of [...groups.entries()].sort(([a], [b]) => a.localeCompare(b))) {
    g.endpoints.sort((a, b) =>
      String((a.addresses as string[])[0]).localeCompare(String((b.addresses as string[])[0]), 'en', { numeric: true }),
    );
    for (let i = 0; i < g.endpoints.length; i += MAX_PER_SLICE)
      out.push({ ports: g.ports, endpoints: g.endpoints.slice(i, i + MAX_PER_SLICE) });
  }
  if (out.length === 0) out.push({ ports: [], endpoints: [] });
  return out;
}

/** The controllers' shell: which services a pod change concerns, and the writes of one sync. */
export class EndpointsController {
  /** Pod key → the services that selected it last time (a relabelled or deleted pod leaves them). */
  private readonly podServices = new Map<string, Set<string>>();

  constructor(private readonly ctx: SimContext) {}

  /** Queues the services that select the pod now or did before. */
  podChanged(type: 'ADDED' | 'MODIFIED' | 'DELETED', pod: KubeObject): void {
    const key = keyOf(pod);
    const before = this.podServices.get(key);
    const now = new Set<string>();
    if (type !== 'DELETED')
      for (const svc of this.ctx.cache.inNamespace('Service', pod.metadata.namespace))
        if (selects(svc, pod)) now.add(keyOf(svc));
    for (const s of now) this.ctx.enqueue('Service', s);
    for (const s of before ?? []) if (!now.has(s)) this.ctx.enqueue('Service', s);
    if (now.size > 0) this.podServices.set(key, now);
    else this.podServices.delete(key);
  }

  /** The service is gone: its Endpoints go too (its slices are collected through their owner). */
  async serviceGone(key: string): Promise<void> {
    const [namespace, name] = key.split('/') as [string, string];
    const ep = this.ctx.cache.get('Endpoints', key);
    if (!ep) return;
    await this.ctx.registry.delete(this.ctx.types.Endpoints, namespace, name).catch((err: unknown) => {
      if (!hasCode(err, 404)) throw err;
    });
  }

  async sync(svc: KubeObject): Promise<void> {
    if (svc.metadata.deletionTimestamp) return;
    const spec = specOf(svc);
    if (!spec.selector || spec.type === 'ExternalName') return;
    const pods = this.ctx.cache.inNamespace('Pod', svc.metadata.namespace).filter((p) => selects(svc, p));
    await this.syncEndpoints(svc, pods);
    await this.syncSlices(svc, pods);
  }

  private async syncEndpoints(svc: KubeObject, pods: KubeObject[]): Promise<void> {
    const ctx = this.ctx;
    const subsets = endpointSubsets(svc, pods);
    const labels = labelsFor(svc);
    const current = ctx.cache.get('Endpoints', keyOf(svc));
    const now = ctx.clock.iso(Date.now());
    if (current) {
      const same =
        canonicalJson(current.subsets ?? []) === canonicalJson(subsets) &&
        canonicalJson(current.metadata.labels ?? {}) === canonicalJson(labels);
      if (same) return;
      await ctx.registry.mutate(ctx.types.Endpoints, svc.metadata.namespace, svc.metadata.name!, (o) => {
        if (subsets.length > 0) o.subsets = subsets;
        else delete o.subsets;
        o.metadata.labels = labels;
        o.metadata.annotations = { ...(o.metadata.annotations ?? {}), [TRIGGER_TIME]: now };
        return o;
      });
      return;
    }
    const ep: KubeObject = {
      apiVersion: 'v1',
      kind: 'Endpoints',
      metadata: {
        name: svc.metadata.name,
        namespace: svc.metadata.namespace,
        labels,
        annotations: { [TRIGGER_TIME]: now },
      },
      ...(subsets.length > 0 ? { subsets } : {}),
    };
    await ctx.registry
      .create(ctx.types.Endpoints, svc.metadata.namespace, ep, { fieldManager: CONTROLLER_MANAGER })
      .catch((err: unknown) => {
        if (!hasCode(err, 409)) throw err;
      });
  }

  private async syncSlices(svc: KubeObject, pods: KubeObject[]): Promise<void> {
    const ctx = this.ctx;
    const zoneOf = (node: string) => ctx.cache.get('Node', node)?.metadata.labels?.['topology.kubernetes.io/zone'];
    const wanted = sliceContents(svc, pods, zoneOf);
    const labels = { ...labelsFor(svc), [SERVICE_NAME_LABEL]: svc.metadata.name!, [MANAGED_BY_LABEL]: MANAGED_BY };
    const existing = ctx.cache
      .owned(svc.metadata.uid, 'EndpointSlice')
      .filter((s) => s.metadata.labels?.[MANAGED_BY_LABEL] === MANAGED_BY && !s.metadata.deletionTimestamp)
      .sort((a, b) => (a.metadata.name ?? '').localeCompare(b.metadata.name ?? ''));
    const unused = [...existing];
    const now = ctx.clock.iso(Date.now());
    // Slices already holding exactly what is wanted stay; others are rewritten in place, then created or deleted.
    const todo = wanted.filter((w) => {
      const i = unused.findIndex(
        (s) =>
          canonicalJson(s.ports ?? []) === canonicalJson(w.ports) &&
          canonicalJson(s.endpoints ?? []) === canonicalJson(w.endpoints) &&
          canonicalJson(s.metadata.labels ?? {}) === canonicalJson(labels),
      );
      if (i < 0) return true;
      unused.splice(i, 1);
      return false;
    });
    for (const w of todo) {
      const reuse = unused.shift();
      if (reuse) {
        await ctx.registry.mutate(ctx.types.EndpointSlice, reuse.metadata.namespace, reuse.metadata.name!, (o) => {
          if (o.metadata.uid !== reuse.metadata.uid) return undefined;
          o.metadata.labels = labels;
          o.metadata.annotations = { ...(o.metadata.annotations ?? {}), [TRIGGER_TIME]: now };
          o.endpoints = w.endpoints;
          o.ports = w.ports;
          return o;
        });
        continue;
      }
      await ctx.registry.create(
        ctx.types.EndpointSlice,
        svc.metadata.namespace,
        {
          apiVersion: 'discovery.k8s.io/v1',
          kind: 'EndpointSlice',
          metadata: {
            generateName: `${svc.metadata.name}-`,
            namespace: svc.metadata.namespace,
            labels,
            annotations: { [TRIGGER_TIME]: now },
            ownerReferences: [ownerRef(svc)],
          },
          addressType: 'IPv4',
          endpoints: w.endpoints,
          ports: w.ports,
        },
        { fieldManager: CONTROLLER_MANAGER },
      );
    }
    for (const s of unused) {
      await ctx.registry
        .delete(ctx.types.EndpointSlice, s.metadata.namespace, s.metadata.name!, {
          preconditions: { uid: s.metadata.uid },
        })
        .catch((err: unknown) => {
          if (!hasCode(err, 404) && !hasCode(err, 409)) throw err;
        });
    }
  }
}
