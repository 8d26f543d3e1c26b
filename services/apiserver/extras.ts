import { errors, KitfedError } from '../core/errors.js';
import { isObject, type KubeObject } from '../core/kube.js';
import type { Registry } from './registry.js';
import type { ResourceType, Verb } from './resources.js';
import { fromLabelSelector, matchesLabels } from './selectors.js';

/**
 * What kube-apiserver serves beside plain CRUD on stored objects: verbs a resource does not
 * have (405), Bindings (`bindings`, `pods/binding`), ComponentStatuses, pod eviction (with
 * PodDisruptionBudgets), and the streaming subresources a sandbox has nothing behind (logs tell
 * the simulated lifecycle; exec, attach and port-forward answer a plain HTTP request as kube does,
 * and an upgrade with why it cannot be served; proxies have no endpoints).
 */

export interface ExtraRoute {
  type: ResourceType;
  namespace?: string;
  name?: string;
  subresource?: string;
}

export type ExtraResponse =
  | { kind: 'object'; code: number; object: KubeObject; warnings?: string[] }
  | { kind: 'list'; items: KubeObject[]; warnings?: string[] }
  | { kind: 'text'; code: number; text: string };

function success(code: number): KubeObject {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code };
}

function verbOf(method: string, named: boolean, watch: boolean): Verb | undefined {
  switch (method) {
    case 'GET':
      return watch ? 'watch' : named ? 'get' : 'list';
    case 'POST':
      return 'create';
    case 'PUT':
      return 'update';
    case 'PATCH':
      return 'patch';
    case 'DELETE':
      return named ? 'delete' : 'deletecollection';
    default:
      return undefined;
  }
}

const COMPONENTS = ['controller-manager', 'etcd-0', 'scheduler'];

function componentStatus(name: string): KubeObject {
  return {
    kind: 'ComponentStatus',
    apiVersion: 'v1',
    metadata: { name },
    conditions: [
      { type: 'Healthy', status: 'True', message: name === 'etcd-0' ? '{"health":"true","reason":""}' : 'ok' },
    ],
  };
}

const CS_WARNING = 'v1 ComponentStatus is deprecated in v1.19+';

async function podOf(registry: Registry, t: ResourceType, namespace: string | undefined, name: string) {
  return registry.get(t, namespace, name);
}

/** Binds a pod to a node, as the scheduler does through `pods/binding`. */
async function bind(registry: Registry, podType: ResourceType, namespace: string, body: unknown, podName?: string) {
  if (!isObject(body) || !isObject(body.target) || typeof body.target.name !== 'string')
    throw errors.invalid({ group: '', kind: 'Binding', name: podName ?? '' }, [
      { reason: 'FieldValueRequired', field: 'target.name', message: 'Required value' },
    ]);
  const meta = isObject(body.metadata) ? body.metadata : {};
  const name = podName ?? (typeof meta.name === 'string' ? meta.name : '');
  const node = body.target.name;
  let conflict: string | undefined;
  const updated = await registry.mutate(podType, namespace, name, (pod) => {
    const spec = isObject(pod.spec) ? pod.spec : {};
    if (spec.nodeName) {
      conflict = String(spec.nodeName);
      return undefined;
    }
    pod.spec = { ...spec, nodeName: node };
    return pod;
  });
  if (!updated) throw errors.notFound({ group: '', plural: 'pods', name });
  if (conflict !== undefined)
    throw errors.conflict({ group: '', plural: 'pods', name }, `pod ${name} is already assigned to node "${conflict}"`);
}

/** Evicts a pod unless a PodDisruptionBudget forbids it (kube's eviction REST with its texts). */
async function evict(registry: Registry, podType: ResourceType, namespace: string, name: string, body: unknown) {
  const pod = await podOf(registry, podType, namespace, name);
  const pdbType = registry.catalog.byKind('policy', 'v1', 'PodDisruptionBudget');
  const phase = isObject(pod.status) ? pod.status.phase : undefined;
  if (pdbType && phase !== 'Succeeded' && phase !== 'Failed' && phase !== 'Pending') {
    const pdbs = (await registry.list(pdbType, namespace)).items.filter((p) => {
      const sel = isObject(p.spec) ? p.spec.selector : undefined;
      const reqs = fromLabelSelector(sel as Parameters<typeof fromLabelSelector>[0]);
      return isObject(sel) && matchesLabels(reqs, pod.metadata.labels);
    });
    if (pdbs.length > 1)
      throw new KitfedError(
        'This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.',
        500,
        'InternalError',
      );
    const pdb = pdbs[0];
    if (pdb) {
      const status = isObject(pdb.status) ? pdb.status : {};
      const observed = Number(status.observedGeneration ?? 0);
      const refuse = (message: string) =>
        new KitfedError("Cannot evict pod as it would violate the pod's disruption budget.", 429, 'TooManyRequests', {
          causes: [{ reason: 'DisruptionBudget', message }],
        });
      if (observed < Number(pdb.metadata.generation ?? 1))
        throw refuse(`The disruption budget ${pdb.metadata.name} is still being processed by the server.`);
      // Checked and taken in one compare-and-swap of the budget, as kube does: two evictions
      // racing for the last allowed disruption cannot both have it.
      await registry.mutate(
        pdbType,
        namespace,
        pdb.metadata.name!,
        (p) => {
          const st = isObject(p.status) ? p.status : {};
          if (Number(st.disruptionsAllowed ?? 0) <= 0)
            throw refuse(
              `The disruption budget ${pdb.metadata.name} needs ${String(st.desiredHealthy ?? 0)} ` +
                `healthy pods and has ${String(st.currentHealthy ?? 0)} currently`,
            );
          p.status = {
            ...st,
            disruptionsAllowed: Number(st.disruptionsAllowed ?? 0) - 1,
            disruptedPods: {
              ...(isObject(st.disruptedPods) ? st.disruptedPods : {}),
              [name]: new Date().toISOString(),
            },
          };
          return p;
        },
        'status',
      );
    }
  }
  const options = isObject(body) && isObject(body.deleteOptions) ? body.deleteOptions : {};
  await registry.delete(podType, namespace, name, {
    ...(isObject(options.preconditions) ? { preconditions: options.preconditions } : {}),
  });
}

function waitingContainer(pod: KubeObject, container: string | null): string | undefined {
  const statuses =
    isObject(pod.status) && Array.isArray(pod.status.containerStatuses) ? pod.status.containerStatuses : [];
  const spec =
    isObject(pod.spec) && Array.isArray(pod.spec.containers) ? (pod.spec.containers as Array<{ name: string }>) : [];
  const name = container ?? spec[0]?.name ?? '';
  if (container && !spec.some((c) => c.name === container))
    return `container ${container} is not valid for pod ${pod.metadata.name ?? ''}`;
  const st = (statuses as Array<{ name: string; state?: { waiting?: { reason?: string } } }>).find(
    (s) => s.name === name,
  );
  if (!st || st.state?.waiting)
    return `container "${name}" in pod "${pod.metadata.name ?? ''}" is waiting to start: ${st?.state?.waiting?.reason ?? 'ContainerCreating'}`;
  return undefined;
}

/**
 * A pod's log. No process runs here, so a container's log is what its status says happened:
 * when it started (with its image and node) and, once it ended, its exit. `timestamps`,
 * `tailLines`, `sinceSeconds` and `sinceTime` apply as the kubelet applies them (timestamps are
 * RFC 3339, as Go's RFC3339Nano prints a whole second).
 */
function podLog(pod: KubeObject, query: URLSearchParams): string {
  const spec = isObject(pod.spec) ? pod.spec : {};
  const containers = Array.isArray(spec.containers) ? (spec.containers as Array<{ name: string; image?: string }>) : [];
  const name = query.get('container') ?? containers[0]?.name ?? '';
  const image = containers.find((c) => c.name === name)?.image ?? '';
  const statuses =
    isObject(pod.status) && Array.isArray(pod.status.containerStatuses)
      ? (pod.status.containerStatuses as Array<{
          name: string;
          state?: {
            running?: { startedAt?: string };
            terminated?: { startedAt?: string; finishedAt?: string; exitCode?: number; reason?: string };
          };
        }>)
      : [];
  const state = statuses.find((c) => c.name === name)?.state ?? {};
  const node = isObject(pod.spec) && typeof pod.spec.nodeName === 'string' ? pod.spec.nodeName : '';
  const lines: Array<{ at: string; text: string }> = [];
  const started = state.running?.startedAt ?? state.terminated?.startedAt ?? pod.metadata.creationTimestamp ?? '';
  lines.push({ at: started, text: `sandbox: started container ${name} (image ${image}) on node ${node || '<none>'}` });
  const ended = state.terminated;
  if (ended)
    lines.push({
      at: ended.finishedAt ?? started,
      text: `sandbox: container ${name} exited with code ${ended.exitCode ?? 0} (${ended.reason ?? 'Completed'})`,
    });
  const sinceSeconds = Number(query.get('sinceSeconds') ?? NaN);
  const since = Number.isFinite(sinceSeconds)
    ? Date.now() - sinceSeconds * 1000
    : query.get('sinceTime')
      ? Date.parse(query.get('sinceTime')!)
      : -Infinity;
  let kept = lines.filter((l) => !(Date.parse(l.at) < since));
  const tail = Number(query.get('tailLines') ?? NaN);
  if (Number.isInteger(tail) && tail >= 0) kept = tail === 0 ? [] : kept.slice(-tail);
  const timestamps = query.get('timestamps') === 'true';
  return kept.map((l) => `${timestamps ? `${l.at} ` : ''}${l.text}\n`).join('');
}

/**
 * Serves the request when it is one of the endpoints above; undefined lets the generic handler
 * serve it. `body` reads and parses the request body.
 */
export async function serveExtra(
  registry: Registry,
  route: ExtraRoute,
  method: string,
  url: URL,
  body: () => Promise<unknown>,
  /** The request asks for a protocol upgrade (exec, attach and port-forward do). */
  upgrade = false,
): Promise<ExtraResponse | undefined> {
  const { type: t, namespace, name, subresource } = route;
  const watch = url.searchParams.get('watch') === 'true' || url.searchParams.get('watch') === '1';
  if (!subresource && t.verbs) {
    const verb = verbOf(method, name !== undefined, watch);
    if (!verb || !t.verbs.includes(verb)) throw errors.methodNotAllowed();
  }
  if (t.group === '' && t.kind === 'ComponentStatus') {
    if (name) {
      if (!COMPONENTS.includes(name)) throw errors.notFound({ group: '', plural: 'componentstatuses', name });
      return { kind: 'object', code: 200, object: componentStatus(name), warnings: [CS_WARNING] };
    }
    return { kind: 'list', items: COMPONENTS.map(componentStatus), warnings: [CS_WARNING] };
  }
  if (subresource === 'proxy' && name) {
    await registry.get(t, namespace, name);
    throw errors.unavailable(
      `no endpoints available: kitfed does not proxy to ${t.plural} (nothing runs in a sandbox)`,
    );
  }
  const podType = t.group === '' && t.kind === 'Pod' ? t : registry.catalog.byKind('', 'v1', 'Pod');
  if (t.group === '' && t.kind === 'Binding' && method === 'POST' && podType && namespace) {
    await bind(registry, podType, namespace, await body());
    return { kind: 'object', code: 201, object: success(201) };
  }
  if (!(t.group === '' && t.kind === 'Pod') || !name || !namespace || !subresource) return undefined;
  switch (subresource) {
    case 'binding':
      if (method !== 'POST') throw errors.methodNotAllowed();
      await bind(registry, t, namespace, await body(), name);
      return { kind: 'object', code: 201, object: success(201) };
    case 'eviction':
      if (method !== 'POST') throw errors.methodNotAllowed();
      await evict(registry, t, namespace, name, await body());
      return { kind: 'object', code: 201, object: success(201) };
    case 'log': {
      if (method !== 'GET') throw errors.methodNotAllowed();
      const pod = await podOf(registry, t, namespace, name);
      const waiting = waitingContainer(pod, url.searchParams.get('container'));
      if (waiting) throw errors.badRequest(waiting);
      return { kind: 'text', code: 200, text: podLog(pod, url.searchParams) };
    }
    case 'exec':
    case 'attach':
    case 'portforward':
      await podOf(registry, t, namespace, name);
      if (!upgrade) throw errors.badRequest('Upgrade request required');
      // What kubectl exec, attach and port-forward print, instead of kube's own plain-request answer.
      throw errors.badRequest(
        `pod "${name}" has no running containers to ${subresource === 'portforward' ? 'forward ports to' : subresource}: ` +
          'kitfed simulates pods (kubectl logs shows their lifecycle)',
      );
    default:
      return undefined;
  }
}
