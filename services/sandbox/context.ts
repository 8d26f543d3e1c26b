import type { Logger } from '../core/log.js';
import type { Registry } from '../apiserver/registry.js';
import type { ResourceType } from '../apiserver/resources.js';
import type { EventRecorder } from './events.js';
import type { ObjectCache } from './informer.js';
import type { WorkQueue } from './queue.js';

/** What one simulated cluster is: its identity, size and behaviour knobs. */
export interface SimulatorConfig {
  name: string;
  /** Position in the sandbox (pod and node address ranges). */
  index: number;
  region: string;
  zones: string[];
  nodesPerZone: number;
  /** Pods the cluster can run; more stay Pending (Unschedulable). */
  capacity: number;
  /** Time from a pod's start to Running and Ready (and from Running to Succeeded for run-to-completion pods). */
  readyDelayMs: number;
  /** Images matching this never pull (ErrImagePull, then ImagePullBackOff). */
  failImage: RegExp;
  /** Addresses handed to LoadBalancer Services and Ingresses. */
  lbPool: string[];
  /** Events the simulator keeps; older ones are deleted. */
  maxEvents: number;
}

export const SIMULATED_KINDS = [
  'Pod',
  'Node',
  'ReplicaSet',
  'Deployment',
  'DaemonSet',
  'Job',
  'Service',
  'Ingress',
] as const;
export type SimulatedKind = (typeof SIMULATED_KINDS)[number];

/** Shared by the simulated controllers of one cluster. */
export interface SimContext {
  readonly config: SimulatorConfig;
  readonly registry: Registry;
  readonly types: Record<SimulatedKind, ResourceType>;
  readonly cache: ObjectCache;
  readonly queue: WorkQueue;
  readonly events: EventRecorder;
  readonly log: Logger;
  /** Queues a reconcile of one object. */
  enqueue(kind: SimulatedKind, key: string): void;
}

export const CONTROLLER_MANAGER = 'kube-controller-manager';
