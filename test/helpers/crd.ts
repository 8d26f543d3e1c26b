import YAML from 'yaml';
import type { Kubectl } from './kubectl.js';

/**
 * CustomResourceDefinitions for tests. `crontabs.stable.example.com` is the CRD of kube's own
 * documentation (cron spec, image, replicas), with status and scale subresources, printer
 * columns, a defaulted field, a preserved subtree and a keyed list.
 */
export const CRONTAB_CRD = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: crontabs.stable.example.com
spec:
  group: stable.example.com
  scope: Namespaced
  names: {plural: crontabs, singular: crontab, kind: CronTab, shortNames: [ct], categories: [all]}
  versions:
  - name: v1
    served: true
    storage: true
    subresources:
      status: {}
      scale: {specReplicasPath: .spec.replicas, statusReplicasPath: .status.replicas, labelSelectorPath: .status.labelSelector}
    additionalPrinterColumns:
    - {name: Spec, type: string, jsonPath: .spec.cronSpec}
    - {name: Replicas, type: integer, jsonPath: .spec.replicas}
    - {name: Ready, type: string, jsonPath: '.status.conditions[?(@.type=="Ready")].status'}
    - {name: Image, type: string, jsonPath: .spec.image, priority: 1}
    - {name: Age, type: date, jsonPath: .metadata.creationTimestamp}
    schema:
      openAPIV3Schema:
        type: object
        description: CronTab runs an image on a schedule.
        properties:
          spec:
            type: object
            required: [cronSpec]
            properties:
              cronSpec:
                type: string
                description: The schedule, in cron format.
                pattern: '^(\\d+|\\*)(/\\d+)?(\\s+(\\d+|\\*)(/\\d+)?){4}$'
              image: {type: string}
              replicas: {type: integer, minimum: 0, maximum: 10, default: 1}
              policy:
                type: string
                enum: [Allow, Forbid, Replace]
              note: {type: string, nullable: true}
              extra: {type: object, x-kubernetes-preserve-unknown-fields: true}
              ports:
                type: array
                x-kubernetes-list-type: map
                x-kubernetes-list-map-keys: [name]
                items:
                  type: object
                  required: [name]
                  properties:
                    name: {type: string}
                    port: {type: integer}
              tags:
                type: array
                x-kubernetes-list-type: set
                items: {type: string}
          status:
            type: object
            properties:
              replicas: {type: integer}
              labelSelector: {type: string}
              conditions:
                type: array
                items:
                  type: object
                  properties:
                    type: {type: string}
                    status: {type: string}
`;

export function crontab(name: string, spec: Record<string, unknown> = {}): string {
  return YAML.stringify({
    apiVersion: 'stable.example.com/v1',
    kind: 'CronTab',
    metadata: { name },
    spec: { cronSpec: '* * * * */5', image: 'my-cron-image', ...spec },
  });
}

/** Creates a CRD with kubectl and waits until it is Established. */
export async function installCrd(kubectl: Kubectl, yaml: string, name: string): Promise<void> {
  const created = await kubectl(['apply', '-f', '-'], yaml);
  if (created.code !== 0) throw new Error(`kubectl apply of the CRD failed: ${created.stderr}`);
  const waited = await kubectl(['wait', '--for=condition=Established', `crd/${name}`, '--timeout=20s']);
  if (waited.code !== 0) throw new Error(`CRD ${name} not established: ${waited.stderr}`);
}
