import type { KubeObject } from '../../core/kube.js';
import type { PolicyRule } from './rules.js';
import { RBAC_GROUP } from './resources.js';

/**
 * The bootstrap RBAC policy: the ClusterRoles and ClusterRoleBindings a kube 1.32 API server
 * creates for users, kubectl and discovery (cluster-admin, admin/edit/view and the roles they
 * aggregate, system:discovery, system:basic-user, system:public-info-viewer, system:monitoring,
 * system:auth-delegator, the node/proxy/scheduler/controller-manager identities, …), and kitfed's
 * own least-privilege roles for its controller manager and deployer. Written here as data in
 * kitfed's own notation; the rule contents follow kube's published defaults.
 *
 * Left out: the `system:controller:*` roles of kube-controller-manager's individual
 * controllers (no kube-controller-manager runs against kitfed; its in-process housekeeping is
 * privileged) and the namespaced bootstrap-token roles.
 */

const READ = ['get', 'list', 'watch'];
const WRITE = ['create', 'update', 'patch', 'delete', 'deletecollection'];
const READ_WRITE = [...READ, ...WRITE];
const READ_UPDATE = ['get', 'list', 'watch', 'update', 'patch'];

export const AUTOUPDATE_ANNOTATION = 'rbac.authorization.kubernetes.io/autoupdate';
export const BOOTSTRAP_LABEL = { 'kubernetes.io/bootstrapping': 'rbac-defaults' } as const;
const AGGREGATE_TO_ADMIN = 'rbac.authorization.k8s.io/aggregate-to-admin';
const AGGREGATE_TO_EDIT = 'rbac.authorization.k8s.io/aggregate-to-edit';
const AGGREGATE_TO_VIEW = 'rbac.authorization.k8s.io/aggregate-to-view';
export const AGGREGATE_TO_CONTROLLER_MANAGER = 'kitfed.io/aggregate-to-controller-manager';
export const AGGREGATE_TO_DEPLOYER = 'kitfed.io/aggregate-to-deployer';

/** The user kitfed's controller manager authenticates as (client certificate CN). */
export const CONTROLLER_MANAGER_USER = 'kitfed:controller-manager';
/** The user the deployer authenticates as when it targets the federation. */
export const DEPLOYER_USER = 'kitfed:deployer';

function r(verbs: string[], groups: string[], resources: string[], names?: string[]): PolicyRule {
  return { verbs, apiGroups: groups, resources, ...(names ? { resourceNames: names } : {}) };
}

function urls(verbs: string[], ...paths: string[]): PolicyRule {
  return { verbs, nonResourceURLs: paths };
}

const core = [''];
const events = (): PolicyRule => r(['create', 'update', 'patch'], ['', 'events.k8s.io'], ['events']);

interface RoleSpec {
  name: string;
  rules?: PolicyRule[];
  labels?: Record<string, string>;
  aggregate?: string[];
}

function clusterRole(spec: RoleSpec): KubeObject {
  return {
    apiVersion: `${RBAC_GROUP}/v1`,
    kind: 'ClusterRole',
    metadata: {
      name: spec.name,
      labels: { ...BOOTSTRAP_LABEL, ...spec.labels },
      annotations: { [AUTOUPDATE_ANNOTATION]: 'true' },
    },
    ...(spec.aggregate
      ? { aggregationRule: { clusterRoleSelectors: spec.aggregate.map((l) => ({ matchLabels: { [l]: 'true' } })) } }
      : {}),
    rules: spec.rules ?? [],
  };
}

type SubjectSpec = ['User' | 'Group', string] | ['ServiceAccount', string, string];

function binding(name: string, role: string, ...subjects: SubjectSpec[]): KubeObject {
  return {
    apiVersion: `${RBAC_GROUP}/v1`,
    kind: 'ClusterRoleBinding',
    metadata: {
      name,
      labels: { ...BOOTSTRAP_LABEL },
      annotations: { [AUTOUPDATE_ANNOTATION]: 'true' },
    },
    roleRef: { apiGroup: RBAC_GROUP, kind: 'ClusterRole', name: role },
    subjects: subjects.map(([kind, a, b]) =>
      kind === 'ServiceAccount' ? { kind, name: b, namespace: a } : { kind, apiGroup: RBAC_GROUP, name: a },
    ),
  };
}

function nodeRules(): PolicyRule[] {
  return [
    r(['create'], ['authentication.k8s.io'], ['tokenreviews']),
    r(['create'], ['authorization.k8s.io'], ['subjectaccessreviews', 'localsubjectaccessreviews']),
    r(READ, core, ['services']),
    r(['create', 'get', 'list', 'watch'], core, ['nodes']),
    r(['update', 'patch'], core, ['nodes/status']),
    r(['update', 'patch'], core, ['nodes']),
    r(['create', 'update', 'patch'], core, ['events']),
    r(READ, core, ['pods']),
    r(['create', 'delete'], core, ['pods']),
    r(['update', 'patch'], core, ['pods/status']),
    r(['create'], core, ['pods/eviction']),
    r(READ, core, ['secrets', 'configmaps']),
    r(['get'], core, ['persistentvolumeclaims', 'persistentvolumes']),
    r(['get'], core, ['endpoints']),
    r(['create', 'get', 'list', 'watch'], ['certificates.k8s.io'], ['certificatesigningrequests']),
    r(['get', 'create', 'update', 'patch', 'delete'], ['coordination.k8s.io'], ['leases']),
    r(['get'], ['storage.k8s.io'], ['volumeattachments']),
    r(['create'], core, ['serviceaccounts/token']),
    r(['get', 'update', 'patch'], core, ['persistentvolumeclaims/status']),
    r(['get', 'watch', 'list'], ['storage.k8s.io'], ['csidrivers']),
    r(['get', 'create', 'update', 'patch', 'delete'], ['storage.k8s.io'], ['csinodes']),
    r(READ, ['node.k8s.io'], ['runtimeclasses']),
  ];
}

/** kube 1.32's bootstrap ClusterRoles (without the per-controller ones). */
export function kubeClusterRoles(): KubeObject[] {
  const specs: RoleSpec[] = [
    { name: 'cluster-admin', rules: [r(['*'], ['*'], ['*']), urls(['*'], '*')] },
    {
      name: 'system:discovery',
      rules: [
        urls(
          ['get'],
          '/livez',
          '/readyz',
          '/healthz',
          '/version',
          '/version/',
          '/openapi',
          '/openapi/*',
          '/api',
          '/api/*',
          '/apis',
          '/apis/*',
        ),
      ],
    },
    {
      name: 'system:monitoring',
      rules: [
        urls(
          ['get'],
          '/metrics',
          '/metrics/slis',
          '/livez',
          '/readyz',
          '/healthz',
          '/livez/*',
          '/readyz/*',
          '/healthz/*',
        ),
      ],
    },
    {
      name: 'system:basic-user',
      rules: [
        r(['create'], ['authorization.k8s.io'], ['selfsubjectaccessreviews', 'selfsubjectrulesreviews']),
        r(['create'], ['authentication.k8s.io'], ['selfsubjectreviews']),
      ],
    },
    {
      name: 'system:public-info-viewer',
      rules: [urls(['get'], '/livez', '/readyz', '/healthz', '/version', '/version/')],
    },
    { name: 'admin', aggregate: [AGGREGATE_TO_ADMIN] },
    { name: 'edit', labels: { [AGGREGATE_TO_ADMIN]: 'true' }, aggregate: [AGGREGATE_TO_EDIT] },
    { name: 'view', labels: { [AGGREGATE_TO_EDIT]: 'true' }, aggregate: [AGGREGATE_TO_VIEW] },
    {
      name: 'system:aggregate-to-admin',
      labels: { [AGGREGATE_TO_ADMIN]: 'true' },
      rules: [
        r(['create'], ['authorization.k8s.io'], ['localsubjectaccessreviews']),
        r(READ_WRITE, [RBAC_GROUP], ['roles', 'rolebindings']),
      ],
    },
    {
      name: 'system:aggregate-to-edit',
      labels: { [AGGREGATE_TO_EDIT]: 'true' },
      rules: [
        r(READ, core, ['pods/attach', 'pods/proxy', 'pods/exec', 'pods/portforward', 'secrets', 'services/proxy']),
        r(['impersonate'], core, ['serviceaccounts']),
        r(WRITE, core, ['pods', 'pods/attach', 'pods/proxy', 'pods/exec', 'pods/portforward']),
        r(['create'], core, ['pods/eviction']),
        r(WRITE, core, [
          'replicationcontrollers',
          'replicationcontrollers/scale',
          'serviceaccounts',
          'services',
          'services/proxy',
          'persistentvolumeclaims',
          'configmaps',
          'secrets',
          'events',
        ]),
        r(['create'], core, ['serviceaccounts/token']),
        r(
          WRITE,
          ['apps'],
          [
            'statefulsets',
            'statefulsets/scale',
            'daemonsets',
            'deployments',
            'deployments/scale',
            'deployments/rollback',
            'replicasets',
            'replicasets/scale',
          ],
        ),
        r(WRITE, ['autoscaling'], ['horizontalpodautoscalers']),
        r(WRITE, ['batch'], ['jobs', 'cronjobs']),
        r(
          WRITE,
          ['extensions'],
          [
            'daemonsets',
            'deployments',
            'deployments/scale',
            'deployments/rollback',
            'ingresses',
            'replicasets',
            'replicasets/scale',
            'replicationcontrollers/scale',
            'networkpolicies',
          ],
        ),
        r(WRITE, ['policy'], ['poddisruptionbudgets']),
        r(WRITE, ['networking.k8s.io'], ['networkpolicies', 'ingresses']),
        r(READ_WRITE, ['coordination.k8s.io'], ['leases']),
      ],
    },
    {
      name: 'system:aggregate-to-view',
      labels: { [AGGREGATE_TO_VIEW]: 'true' },
      rules: [
        r(READ, core, [
          'pods',
          'replicationcontrollers',
          'replicationcontrollers/scale',
          'serviceaccounts',
          'services',
          'services/status',
          'endpoints',
          'persistentvolumeclaims',
          'persistentvolumeclaims/status',
          'configmaps',
        ]),
        r(READ, core, [
          'limitranges',
          'resourcequotas',
          'bindings',
          'events',
          'pods/status',
          'resourcequotas/status',
          'namespaces/status',
          'replicationcontrollers/status',
          'pods/log',
        ]),
        r(READ, core, ['namespaces']),
        r(READ, ['discovery.k8s.io'], ['endpointslices']),
        r(
          READ,
          ['apps'],
          [
            'controllerrevisions',
            'statefulsets',
            'statefulsets/status',
            'statefulsets/scale',
            'daemonsets',
            'daemonsets/status',
            'deployments',
            'deployments/status',
            'deployments/scale',
            'replicasets',
            'replicasets/status',
            'replicasets/scale',
          ],
        ),
        r(READ, ['autoscaling'], ['horizontalpodautoscalers', 'horizontalpodautoscalers/status']),
        r(READ, ['batch'], ['jobs', 'cronjobs', 'cronjobs/status', 'jobs/status']),
        r(
          READ,
          ['extensions'],
          [
            'daemonsets',
            'daemonsets/status',
            'deployments',
            'deployments/scale',
            'deployments/status',
            'ingresses',
            'ingresses/status',
            'replicasets',
            'replicasets/scale',
            'replicasets/status',
            'replicationcontrollers/scale',
            'networkpolicies',
          ],
        ),
        r(READ, ['policy'], ['poddisruptionbudgets', 'poddisruptionbudgets/status']),
        r(READ, ['networking.k8s.io'], ['networkpolicies', 'ingresses', 'ingresses/status']),
      ],
    },
    {
      name: 'system:heapster',
      rules: [r(READ, core, ['events', 'pods', 'nodes', 'namespaces']), r(READ, ['extensions'], ['deployments'])],
    },
    { name: 'system:node', rules: nodeRules() },
    {
      name: 'system:node-problem-detector',
      rules: [r(['get'], core, ['nodes']), r(['patch'], core, ['nodes/status']), events()],
    },
    {
      name: 'system:kubelet-api-admin',
      rules: [
        r(['get', 'list', 'watch'], core, ['nodes']),
        r(['proxy'], core, ['nodes']),
        r(['*'], core, ['nodes/proxy', 'nodes/metrics', 'nodes/spec', 'nodes/stats', 'nodes/log']),
      ],
    },
    {
      name: 'system:node-bootstrapper',
      rules: [r(['create', 'get', 'list', 'watch'], ['certificates.k8s.io'], ['certificatesigningrequests'])],
    },
    {
      name: 'system:auth-delegator',
      rules: [
        r(['create'], ['authentication.k8s.io'], ['tokenreviews']),
        r(['create'], ['authorization.k8s.io'], ['subjectaccessreviews']),
      ],
    },
    { name: 'system:kube-aggregator', rules: [r(READ, core, ['services', 'endpoints'])] },
    {
      name: 'system:kube-controller-manager',
      rules: [
        events(),
        r(['create'], ['coordination.k8s.io'], ['leases']),
        r(['get', 'update'], ['coordination.k8s.io'], ['leases'], ['kube-controller-manager']),
        r(['create'], core, ['secrets', 'serviceaccounts']),
        r(['delete'], core, ['secrets']),
        r(['get'], core, ['namespaces', 'secrets', 'serviceaccounts', 'configmaps']),
        r(['update'], core, ['secrets', 'serviceaccounts']),
        r(['create'], ['authentication.k8s.io'], ['tokenreviews']),
        r(['create'], ['authorization.k8s.io'], ['subjectaccessreviews']),
        r(['list', 'watch'], ['*'], ['*']),
        r(['create'], core, ['serviceaccounts/token']),
      ],
    },
    { name: 'system:kube-dns', rules: [r(['list', 'watch'], core, ['endpoints', 'services'])] },
    {
      name: 'system:persistent-volume-provisioner',
      rules: [
        r(['get', 'list', 'watch', 'create', 'delete'], core, ['persistentvolumes']),
        r(['get', 'list', 'watch', 'update'], core, ['persistentvolumeclaims']),
        r(READ, ['storage.k8s.io'], ['storageclasses']),
        r(['watch'], core, ['events']),
        events(),
      ],
    },
    {
      name: 'system:certificates.k8s.io:certificatesigningrequests:nodeclient',
      rules: [r(['create'], ['certificates.k8s.io'], ['certificatesigningrequests/nodeclient'])],
    },
    {
      name: 'system:certificates.k8s.io:certificatesigningrequests:selfnodeclient',
      rules: [r(['create'], ['certificates.k8s.io'], ['certificatesigningrequests/selfnodeclient'])],
    },
    {
      name: 'system:volume-scheduler',
      rules: [
        r(READ_UPDATE, core, ['persistentvolumes']),
        r(READ, ['storage.k8s.io'], ['storageclasses']),
        r(READ_UPDATE, core, ['persistentvolumeclaims']),
      ],
    },
    ...(
      [
        ['legacy-unknown-approver', 'kubernetes.io/legacy-unknown'],
        ['kubelet-serving-approver', 'kubernetes.io/kubelet-serving'],
        ['kube-apiserver-client-approver', 'kubernetes.io/kube-apiserver-client'],
        ['kube-apiserver-client-kubelet-approver', 'kubernetes.io/kube-apiserver-client-kubelet'],
      ] as const
    ).map(([name, signer]) => ({
      name: `system:certificates.k8s.io:${name}`,
      rules: [r(['approve'], ['certificates.k8s.io'], ['signers'], [signer])],
    })),
    {
      name: 'system:service-account-issuer-discovery',
      rules: [
        urls(
          ['get'],
          '/.well-known/openid-configuration',
          '/.well-known/openid-configuration/',
          '/openid/v1/jwks',
          '/openid/v1/jwks/',
        ),
      ],
    },
    {
      name: 'system:node-proxier',
      rules: [
        r(['list', 'watch'], core, ['services', 'endpoints']),
        r(['get', 'list', 'watch'], core, ['nodes']),
        events(),
        r(['list', 'watch'], ['discovery.k8s.io'], ['endpointslices']),
      ],
    },
    {
      name: 'system:kube-scheduler',
      rules: [
        events(),
        r(['create'], ['coordination.k8s.io'], ['leases']),
        r(['get', 'update'], ['coordination.k8s.io'], ['leases'], ['kube-scheduler']),
        r(READ, core, ['nodes']),
        r(['get', 'list', 'watch', 'delete'], core, ['pods']),
        r(['create'], core, ['pods/binding', 'bindings']),
        r(['patch', 'update'], core, ['pods/status']),
        r(READ, core, ['services', 'replicationcontrollers']),
        r(READ, ['apps', 'extensions'], ['replicasets']),
        r(READ, ['apps'], ['statefulsets']),
        r(READ, ['policy'], ['poddisruptionbudgets']),
        r(READ, core, ['persistentvolumeclaims', 'persistentvolumes']),
        r(['create'], ['authentication.k8s.io'], ['tokenreviews']),
        r(['create'], ['authorization.k8s.io'], ['subjectaccessreviews']),
        r(READ, ['storage.k8s.io'], ['csinodes']),
        r(READ, core, ['namespaces']),
        r(READ, ['storage.k8s.io'], ['csidrivers']),
        r(READ, ['storage.k8s.io'], ['csistoragecapacities']),
      ],
    },
  ];
  return specs.map(clusterRole);
}

/** kube 1.32's bootstrap ClusterRoleBindings. */
export function kubeClusterRoleBindings(): KubeObject[] {
  return [
    binding('cluster-admin', 'cluster-admin', ['Group', 'system:masters']),
    binding('system:monitoring', 'system:monitoring', ['Group', 'system:monitoring']),
    binding('system:discovery', 'system:discovery', ['Group', 'system:authenticated']),
    binding('system:basic-user', 'system:basic-user', ['Group', 'system:authenticated']),
    binding(
      'system:public-info-viewer',
      'system:public-info-viewer',
      ['Group', 'system:authenticated'],
      ['Group', 'system:unauthenticated'],
    ),
    binding('system:node-proxier', 'system:node-proxier', ['User', 'system:kube-proxy']),
    binding('system:kube-controller-manager', 'system:kube-controller-manager', [
      'User',
      'system:kube-controller-manager',
    ]),
    binding('system:kube-dns', 'system:kube-dns', ['ServiceAccount', 'kube-system', 'kube-dns']),
    binding('system:kube-scheduler', 'system:kube-scheduler', ['User', 'system:kube-scheduler']),
    binding('system:volume-scheduler', 'system:volume-scheduler', ['User', 'system:kube-scheduler']),
    binding('system:node', 'system:node'),
    binding('system:service-account-issuer-discovery', 'system:service-account-issuer-discovery', [
      'Group',
      'system:serviceaccounts',
    ]),
  ];
}

/** Where kitfed's controller manager keeps its Lease and cleanup ConfigMaps. */
export const KITFED_SYSTEM_NAMESPACE = 'kitfed-system';

/**
 * kitfed's own identities in the federation. The controller manager reads everything and writes
 * finalizers, annotations and status of every object it federates — the propagation engine
 * federates any served kind and every custom resource, so `update`/`patch` on all resources and
 * their subresources, as kube's garbage collector holds them (RBAC's escalation check still keeps
 * any RBAC object it patches within what it holds); it records Events and keeps its Lease and
 * cleanup ConfigMaps in `kitfed-system` (a Role there), and creates and deletes no user objects in
 * the federation but the ReplicaSets and ControllerRevisions recording workload revisions (as
 * kube's controllers do, so `kubectl rollout history` and `undo` work against the federation). Both
 * ClusterRoles aggregate: label a ClusterRole `kitfed.io/aggregate-to-controller-manager: "true"`
 * to give the controller manager more, or `kitfed.io/aggregate-to-deployer: "true"` to let the
 * deployer apply a kind `edit` does not cover.
 */
export function kitfedPolicy(): KubeObject[] {
  const meta = (name: string, namespace?: string) => ({
    name,
    ...(namespace ? { namespace } : {}),
    labels: { ...BOOTSTRAP_LABEL },
    annotations: { [AUTOUPDATE_ANNOTATION]: 'true' },
  });
  return [
    clusterRole({ name: 'kitfed:controller-manager', aggregate: [AGGREGATE_TO_CONTROLLER_MANAGER] }),
    clusterRole({
      name: 'kitfed:controller-manager:federation',
      labels: { [AGGREGATE_TO_CONTROLLER_MANAGER]: 'true' },
      rules: [
        r(READ, ['*'], ['*']),
        r(['update', 'patch'], ['*'], ['*']),
        r(['create', 'delete'], ['apps'], ['replicasets', 'controllerrevisions']),
        events(),
        r(['create'], ['authorization.k8s.io'], ['selfsubjectaccessreviews']),
      ],
    }),
    binding('kitfed:controller-manager', 'kitfed:controller-manager', ['User', CONTROLLER_MANAGER_USER]),
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: KITFED_SYSTEM_NAMESPACE } },
    {
      apiVersion: `${RBAC_GROUP}/v1`,
      kind: 'Role',
      metadata: meta('kitfed:controller-manager', KITFED_SYSTEM_NAMESPACE),
      rules: [
        r(['create', 'update', 'patch', 'delete'], ['coordination.k8s.io'], ['leases']),
        r(['create', 'update', 'patch', 'delete'], core, ['configmaps']),
      ],
    },
    {
      apiVersion: `${RBAC_GROUP}/v1`,
      kind: 'RoleBinding',
      metadata: meta('kitfed:controller-manager', KITFED_SYSTEM_NAMESPACE),
      roleRef: { apiGroup: RBAC_GROUP, kind: 'Role', name: 'kitfed:controller-manager' },
      subjects: [{ kind: 'User', apiGroup: RBAC_GROUP, name: CONTROLLER_MANAGER_USER }],
    },
    clusterRole({ name: 'kitfed:deployer', aggregate: [AGGREGATE_TO_EDIT, AGGREGATE_TO_DEPLOYER] }),
    clusterRole({
      name: 'kitfed:deployer:namespaces',
      labels: { [AGGREGATE_TO_DEPLOYER]: 'true' },
      rules: [r(['get', 'list', 'watch', 'create', 'update', 'patch'], core, ['namespaces'])],
    }),
    binding('kitfed:deployer', 'kitfed:deployer', ['User', DEPLOYER_USER]),
    // The fleet is part of what `view` shows (kubectl get clusters, the web console); joining or
    // removing a cluster stays with cluster-admin.
    clusterRole({
      name: 'kitfed:aggregate-to-view',
      labels: { [AGGREGATE_TO_VIEW]: 'true' },
      rules: [r(READ, ['federation.kitfed.io'], ['clusters', 'clusters/status'])],
    }),
  ];
}
