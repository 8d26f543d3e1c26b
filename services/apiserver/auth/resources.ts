import type { ResourceType, TableColumn, Verb } from '../resources.js';

/**
 * The resource types of RBAC (rbac.authorization.k8s.io/v1), the authentication and
 * authorization review APIs and core ServiceAccounts, with kube 1.32's names, verbs and
 * `kubectl get` columns. The review kinds are never stored: POST answers them.
 */

export const RBAC_GROUP = 'rbac.authorization.k8s.io';
export const AUTHENTICATION_GROUP = 'authentication.k8s.io';
export const AUTHORIZATION_GROUP = 'authorization.k8s.io';

type Obj = Record<string, unknown>;

const AGE: TableColumn = { name: 'Age', type: 'string', value: 'metadata.creationTimestamp' };
const CREATED_AT: TableColumn = {
  name: 'Created At',
  type: 'date',
  description: 'Time at which the role was created',
  value: 'metadata.creationTimestamp',
};

function subjects(o: Obj, kind: string): string {
  const list = Array.isArray(o.subjects) ? (o.subjects as Array<Record<string, string>>) : [];
  return list
    .filter((s) => s.kind === kind)
    .map((s) => (kind === 'ServiceAccount' && s.namespace ? `${s.namespace}/${s.name}` : s.name))
    .join(', ');
}

const bindingColumns: TableColumn[] = [
  {
    name: 'Role',
    type: 'string',
    description: 'Role referenced by this binding.',
    value: (o) => {
      const ref = (o.roleRef ?? {}) as Record<string, string>;
      return `${ref.kind ?? ''}/${ref.name ?? ''}`;
    },
  },
  AGE,
  {
    name: 'Users',
    type: 'string',
    priority: 1,
    description: 'Users in the binding.',
    value: (o) => subjects(o, 'User'),
  },
  {
    name: 'Groups',
    type: 'string',
    priority: 1,
    description: 'Groups in the binding.',
    value: (o) => subjects(o, 'Group'),
  },
  {
    name: 'ServiceAccounts',
    type: 'string',
    priority: 1,
    description: 'ServiceAccounts in the binding.',
    value: (o) => subjects(o, 'ServiceAccount'),
  },
];

const CREATE_ONLY: Verb[] = ['create'];

export const AUTH_RESOURCES: ResourceType[] = [
  {
    group: '',
    version: 'v1',
    kind: 'ServiceAccount',
    plural: 'serviceaccounts',
    singular: 'serviceaccount',
    shortNames: ['sa'],
    namespaced: true,
    subresources: ['token'],
    model: 'V1ServiceAccount',
    columns: [
      {
        name: 'Secrets',
        type: 'integer',
        description:
          'Secrets is a list of the secrets in the same namespace that pods running using this ServiceAccount are allowed to use.',
        value: (o) => (Array.isArray(o.secrets) ? o.secrets.length : 0),
      },
    ],
  },
  {
    group: RBAC_GROUP,
    version: 'v1',
    kind: 'ClusterRole',
    plural: 'clusterroles',
    singular: 'clusterrole',
    namespaced: false,
    model: 'V1ClusterRole',
    columns: [CREATED_AT],
    ageColumn: false,
  },
  {
    group: RBAC_GROUP,
    version: 'v1',
    kind: 'ClusterRoleBinding',
    plural: 'clusterrolebindings',
    singular: 'clusterrolebinding',
    namespaced: false,
    model: 'V1ClusterRoleBinding',
    columns: bindingColumns,
  },
  {
    group: RBAC_GROUP,
    version: 'v1',
    kind: 'Role',
    plural: 'roles',
    singular: 'role',
    namespaced: true,
    model: 'V1Role',
    columns: [CREATED_AT],
    ageColumn: false,
  },
  {
    group: RBAC_GROUP,
    version: 'v1',
    kind: 'RoleBinding',
    plural: 'rolebindings',
    singular: 'rolebinding',
    namespaced: true,
    model: 'V1RoleBinding',
    columns: bindingColumns,
  },
  {
    group: AUTHENTICATION_GROUP,
    version: 'v1',
    kind: 'SelfSubjectReview',
    plural: 'selfsubjectreviews',
    singular: 'selfsubjectreview',
    namespaced: false,
    verbs: CREATE_ONLY,
    virtual: true,
    model: 'V1SelfSubjectReview',
  },
  {
    group: AUTHENTICATION_GROUP,
    version: 'v1',
    kind: 'TokenReview',
    plural: 'tokenreviews',
    singular: 'tokenreview',
    namespaced: false,
    verbs: CREATE_ONLY,
    virtual: true,
    model: 'V1TokenReview',
  },
  {
    group: AUTHORIZATION_GROUP,
    version: 'v1',
    kind: 'LocalSubjectAccessReview',
    plural: 'localsubjectaccessreviews',
    singular: 'localsubjectaccessreview',
    namespaced: true,
    verbs: CREATE_ONLY,
    virtual: true,
    model: 'V1LocalSubjectAccessReview',
  },
  {
    group: AUTHORIZATION_GROUP,
    version: 'v1',
    kind: 'SelfSubjectAccessReview',
    plural: 'selfsubjectaccessreviews',
    singular: 'selfsubjectaccessreview',
    namespaced: false,
    verbs: CREATE_ONLY,
    virtual: true,
    model: 'V1SelfSubjectAccessReview',
  },
  {
    group: AUTHORIZATION_GROUP,
    version: 'v1',
    kind: 'SelfSubjectRulesReview',
    plural: 'selfsubjectrulesreviews',
    singular: 'selfsubjectrulesreview',
    namespaced: false,
    verbs: CREATE_ONLY,
    virtual: true,
    model: 'V1SelfSubjectRulesReview',
  },
  {
    group: AUTHORIZATION_GROUP,
    version: 'v1',
    kind: 'SubjectAccessReview',
    plural: 'subjectaccessreviews',
    singular: 'subjectaccessreview',
    namespaced: false,
    verbs: CREATE_ONLY,
    virtual: true,
    model: 'V1SubjectAccessReview',
  },
];

/** Kinds answered on POST and never stored. */
export const REVIEW_KINDS = new Set([
  'TokenReview',
  'SelfSubjectReview',
  'SubjectAccessReview',
  'SelfSubjectAccessReview',
  'SelfSubjectRulesReview',
  'LocalSubjectAccessReview',
]);
