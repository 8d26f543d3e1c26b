import { hasCode } from '../core/errors.js';
import type { KubeObject } from '../core/kube.js';
import type { SimContext, SimulatorConfig } from './context.js';
import { SERVICE_NAME_LABEL } from './endpoints.js';
import { nodeNetworkAddress } from './nodes.js';
import { canonicalJson } from './util.js';

/**
 * What every kube-apiserver keeps in `default`: the `kubernetes` Service (the first address of the
 * service range, 443 → 6443) and its Endpoints and EndpointSlice naming the API server (kube's
 * bootstrap controller and endpoint reconciler). In-cluster clients and `kubectl get svc kubernetes`
 * expect them. A sandbox's API server listens on loopback, which kube's validation refuses in an
 * endpoint, so the address is the simulated control plane's: `.1` of the cluster's node network.
 * Deleted or changed, they are put back, as kube does.
 */

export const KUBERNETES_SERVICE_KEY = 'default/kubernetes';
const NAME = 'kubernetes';
const NAMESPACE = 'default';
const MANAGER = 'kube-apiserver';
const PORT = 6443;

/** The three objects as kube-apiserver 1.32 writes them (pure). */
export function kubernetesServiceObjects(config: SimulatorConfig): {
  service: KubeObject;
  endpoints: KubeObject;
  slice: KubeObject;
} {
  const ip = nodeNetworkAddress(config, 1);
  const meta = (labels: Record<string, string>) => ({ name: NAME, namespace: NAMESPACE, labels });
  return {
    service: {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: meta({ component: 'apiserver', provider: 'kubernetes' }),
      spec: {
        clusterIP: '10.96.0.1',
        ports: [{ name: 'https', port: 443, protocol: 'TCP', targetPort: PORT }],
        sessionAffinity: 'None',
        type: 'ClusterIP',
      },
    },
    endpoints: {
      apiVersion: 'v1',
      kind: 'Endpoints',
      metadata: meta({ 'endpointslice.kubernetes.io/skip-mirror': 'true' }),
      subsets: [{ addresses: [{ ip }], ports: [{ name: 'https', port: PORT, protocol: 'TCP' }] }],
    },
    slice: {
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: meta({ [SERVICE_NAME_LABEL]: NAME }),
      addressType: 'IPv4',
      endpoints: [{ addresses: [ip], conditions: { ready: true } }],
      ports: [{ name: 'https', port: PORT, protocol: 'TCP' }],
    },
  };
}

/** Creates what is missing and puts back endpoints that differ; the Service itself is only recreated. */
export async function ensureKubernetesService(ctx: SimContext): Promise<void> {
  const want = kubernetesServiceObjects(ctx.config);
  const types = ctx.types;
  const create = async (kind: 'Service' | 'Endpoints' | 'EndpointSlice', obj: KubeObject) => {
    await ctx.registry.create(types[kind], NAMESPACE, obj, { fieldManager: MANAGER }).catch((err: unknown) => {
      if (!hasCode(err, 409)) throw err;
    });
  };
  if (!(await ctx.registry.tryGet(types.Service, NAMESPACE, NAME))) await create('Service', want.service);
  const endpoints = await ctx.registry.tryGet(types.Endpoints, NAMESPACE, NAME);
  if (!endpoints) await create('Endpoints', want.endpoints);
  else if (canonicalJson(endpoints.subsets ?? []) !== canonicalJson(want.endpoints.subsets))
    await ctx.registry.mutate(types.Endpoints, NAMESPACE, NAME, (o) => ({ ...o, subsets: want.endpoints.subsets }));
  const slice = await ctx.registry.tryGet(types.EndpointSlice, NAMESPACE, NAME);
  if (!slice) await create('EndpointSlice', want.slice);
  else if (
    canonicalJson([slice.endpoints ?? [], slice.ports ?? []]) !==
    canonicalJson([want.slice.endpoints, want.slice.ports])
  )
    await ctx.registry.mutate(types.EndpointSlice, NAMESPACE, NAME, (o) => ({
      ...o,
      endpoints: want.slice.endpoints,
      ports: want.slice.ports,
    }));
}
