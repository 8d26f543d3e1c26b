import type { Logger } from '../core/log.js';
import type { Registry, ResourceType } from '../apiserver/index.js';
import type { SimClock } from './clock.js';
import type { EventRecorder } from './events.js';
import type { ObjectCache } from './informer.js';
import type { SimulationQueue } from './queue.js';

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
  /** Images matching this start, become Ready, then crash `readyDelayMs` later and loop (CrashLoopBackOff). */
  crashImage: RegExp;
  /** Addresses handed to LoadBalancer Services and Ingresses. */
  lbPool: string[];
  /** Events the simulator keeps; older ones are deleted. */
  maxEvents: number;
}

/** The kinds the simulator watches (in this order at start-up). */
export const SIMULATED_KINDS = [
  'Node',
  'StorageClass',
  'PersistentVolume',
  'PersistentVolumeClaim',
  'ResourceQuota',
  'LimitRange',
  'Pod',
  'ReplicaSet',
  'Deployment',
  'DaemonSet',
  'StatefulSet',
  'ControllerRevision',
  'Job',
  'CronJob',
  'Service',
  'Endpoints',
  'EndpointSlice',
  'Ingress',
  'PodDisruptionBudget',
  'HorizontalPodAutoscaler',
] as const;
export type SimulatedKind = (typeof SIMULATED_KINDS)[number];

/** Simulated utilisation (percent of requests) of the pods of a cluster, for HorizontalPodAutoscalers. */
export interface SimulatedMetrics {
  cpuUtilization?: number | undefined;
  memoryUtilization?: number | undefined;
}

/** Shared by the simulated controllers of one cluster. */
export interface SimContext {
  readonly config: SimulatorConfig;
  readonly registry: Registry;
  readonly types: Record<SimulatedKind, ResourceType>;
  readonly cache: ObjectCache;
  readonly queue: SimulationQueue;
  readonly events: EventRecorder;
  readonly log: Logger;
  /** The simulator's clock: wall time plus what `advanceClock` added (CronJob schedules, HPA windows). */
  readonly clock: SimClock;
  /** The cluster-wide simulated metrics (the scale target's annotations override them). */
  readonly metrics: SimulatedMetrics;
  /** Queues a reconcile of one object. */
  enqueue(kind: SimulatedKind, key: string): void;
  /**
   * Remembers that `kind` `key` could not create an object in `namespace` because admission
   * refused it (quota, limits): it is queued again when that namespace's quotas or limits change.
   */
  blocked(namespace: string, kind: SimulatedKind, key: string): void;
}

export const CONTROLLER_MANAGER = 'kube-controller-manager';
