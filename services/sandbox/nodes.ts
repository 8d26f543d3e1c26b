import { hasCode } from '../core/errors.js';
import type { KubeObject } from '../core/kube.js';
import type { SimContext, SimulatorConfig } from './context.js';
import { nowIso } from './util.js';

/** The simulated nodes: one or more per zone, labelled with zone and region, always Ready. */

export interface NodePlan {
  name: string;
  zone: string;
  index: number;
  pods: number;
  ip: string;
}

/** Host `host` of the cluster's simulated node network (`.1` is the control plane's, nodes start at `.2`). */
export function nodeNetworkAddress(config: SimulatorConfig, host: number): string {
  return `172.${16 + ((config.index >> 8) & 15)}.${config.index & 255}.${host}`;
}

export function planNodes(config: SimulatorConfig): NodePlan[] {
  const plans: NodePlan[] = [];
  for (const zone of config.zones) {
    for (let i = 1; i <= config.nodesPerZone; i++)
      plans.push({ name: `${config.name}-${zone}-${i}`, zone, index: plans.length, pods: 0, ip: '' });
  }
  const n = plans.length;
  plans.forEach((p, i) => {
    p.pods = Math.floor(config.capacity / n) + (i < config.capacity % n ? 1 : 0);
    p.ip = nodeNetworkAddress(config, i + 2);
  });
  return plans;
}

function nodeObject(config: SimulatorConfig, p: NodePlan): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name: p.name,
      labels: {
        'kubernetes.io/hostname': p.name,
        'kubernetes.io/os': 'linux',
        'kubernetes.io/arch': 'amd64',
        'beta.kubernetes.io/os': 'linux',
        'beta.kubernetes.io/arch': 'amd64',
        'node.kubernetes.io/instance-type': 'sandbox',
        'topology.kubernetes.io/region': config.region,
        'topology.kubernetes.io/zone': p.zone,
        'failure-domain.beta.kubernetes.io/region': config.region,
        'failure-domain.beta.kubernetes.io/zone': p.zone,
        'kitfed.io/sandbox-cluster': config.name,
      },
      annotations: { 'node.alpha.kubernetes.io/ttl': '0', 'kitfed.io/simulated': 'true' },
    },
    spec: {
      podCIDR: `10.244.${p.index}.0/24`,
      podCIDRs: [`10.244.${p.index}.0/24`],
      providerID: `sandbox://${config.name}/${p.name}`,
    },
  };
}

function nodeStatus(p: NodePlan, since: string): Record<string, unknown> {
  const resources = { cpu: '8', memory: '32Gi', 'ephemeral-storage': '100Gi', pods: String(p.pods) };
  const cond = (type: string, status: string, reason: string, message: string) => ({
    type,
    status,
    reason,
    message,
    lastHeartbeatTime: since,
    lastTransitionTime: since,
  });
  return {
    capacity: resources,
    allocatable: resources,
    conditions: [
      cond('MemoryPressure', 'False', 'KubeletHasSufficientMemory', 'kubelet has sufficient memory available'),
      cond('DiskPressure', 'False', 'KubeletHasNoDiskPressure', 'kubelet has no disk pressure'),
      cond('PIDPressure', 'False', 'KubeletHasSufficientPID', 'kubelet has sufficient PID available'),
      cond('Ready', 'True', 'KubeletReady', 'kubelet is posting ready status (simulated)'),
    ],
    addresses: [
      { type: 'InternalIP', address: p.ip },
      { type: 'Hostname', address: p.name },
    ],
    daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
    nodeInfo: {
      machineID: p.name,
      systemUUID: p.name,
      bootID: p.name,
      kernelVersion: 'simulated',
      osImage: 'kitfed sandbox (simulated, no containers run)',
      containerRuntimeVersion: 'sandbox://1.0',
      kubeletVersion: 'v1.32.0-kitfed-sandbox',
      kubeProxyVersion: 'v1.32.0-kitfed-sandbox',
      operatingSystem: 'linux',
      architecture: 'amd64',
    },
  };
}

/** Creates the planned nodes that do not exist yet and (re)writes their status. */
export async function ensureNodes(ctx: SimContext, plans: NodePlan[]): Promise<void> {
  const t = ctx.types.Node;
  for (const p of plans) {
    let existing = await ctx.registry.tryGet(t, undefined, p.name);
    if (!existing) {
      try {
        existing = await ctx.registry.create(t, undefined, nodeObject(ctx.config, p), { fieldManager: 'kubelet' });
      } catch (err) {
        if (!hasCode(err, 409)) throw err;
        existing = await ctx.registry.get(t, undefined, p.name);
      }
    }
    const since = existing.metadata.creationTimestamp ?? nowIso();
    await ctx.registry.mutate(t, undefined, p.name, (o) => ({ ...o, status: nodeStatus(p, since) }), 'status');
  }
}
