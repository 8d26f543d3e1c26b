import type { ResourceType } from '../resources.js';
import { col } from './columns.js';

/** apiextensions.k8s.io/v1: CustomResourceDefinitions (served and acted on by `services/apiserver/crd/`). */
export const APIEXTENSIONS: ResourceType[] = [
  {
    group: 'apiextensions.k8s.io',
    version: 'v1',
    kind: 'CustomResourceDefinition',
    plural: 'customresourcedefinitions',
    singular: 'customresourcedefinition',
    shortNames: ['crd', 'crds'],
    categories: ['api-extensions'],
    namespaced: false,
    subresources: ['status'],
    hasStatus: true,
    model: 'V1CustomResourceDefinition',
    // The CRD controller (crd/controller.ts) deletes the custom resources, then this finalizer.
    deletionFinalizer: 'customresourcecleanup.apiextensions.k8s.io',
    ageColumn: false,
    columns: [col('Created At', 'metadata.creationTimestamp', 'date')],
  },
];
