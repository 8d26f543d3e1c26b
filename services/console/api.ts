/**
 * The console's wire contract: what the console server sends the browser, typed once for both
 * sides (the front-end in `web/` imports these types; the server builds them). Kubernetes objects
 * and run records are the federation API's and the webhook service's own types, passed through.
 */
import type { ClusterStatus, PropagationStatus } from '../controllers/index.js';
import type { KubeObject, Status } from '../core/kube.js';
import type { ClusterPods, PodSummary } from '../core/pods.js';
import type { RolloutAction, RolloutStatus, RunRecord, StageStatus } from '../gitops/index.js';
import type { SandboxClusterState } from '../sandbox/index.js';

export type { KubeObject, Status, RunRecord, RolloutAction, RolloutStatus, StageStatus };
/** kitfed's per-cluster propagation status, as the controllers record it on every federated object. */
export type { ClusterStatus, PropagationStatus };

/**
 * A sandbox cluster as the console shows it: faults, capacity, pods — the sandbox admin's
 * `GET /clusters?view=state`. Not the request counters nor the simulated clock, which move on
 * every probe and every second: with them every tab would get an update while nothing it shows changed.
 */
export type SandboxClusterView = SandboxClusterState;

/** A kind the console watches, named like the API path: `apps/v1/deployments`, `v1/events`. */
export interface WatchedResource {
  /** `group/version/plural` (`v1/plural` for the core group): the key in every stream message. */
  key: string;
  apiVersion: string;
  kind: string;
  plural: string;
  namespaced: boolean;
  /** What the console shows it as. */
  role: 'clusters' | 'events' | 'namespaces' | 'federated';
}

/** `GET api/info`: what this console is wired to (no credentials needed). */
export interface ConsoleInfo {
  product: 'kitfed';
  /** The federation API server the console reads (its URL, for display). */
  federation: string;
  /** Whether a webhook service (pipeline runs) is wired. */
  webhooks: boolean;
  /** Whether sandbox cluster details (faults, pods) are available. */
  sandbox: boolean;
}

/** `GET api/session` (bearer token): who the token is, as the federation API sees it. */
export interface SessionInfo {
  user: string;
  groups: string[];
}

/** One change of one watched kind. */
export interface ObjectChange {
  resource: string;
  op: 'upsert' | 'delete';
  object: KubeObject;
}

/**
 * Server-sent events of `GET api/stream` (bearer token), one JSON document per `data:` line.
 * After (re)connecting the browser receives `hello`, then a `reset` per kind it may read (or
 * `denied`), then `changes` as they happen. `runs`/`sandbox` carry the whole current list.
 */
export type StreamMessage =
  | { type: 'hello'; session: SessionInfo; resources: WatchedResource[] }
  | { type: 'reset'; resource: string; items: KubeObject[] }
  | { type: 'denied'; resource: string; code: number; message: string }
  | { type: 'changes'; changes: ObjectChange[] }
  | { type: 'runs'; runs: RunRecord[] }
  | { type: 'runs-error'; code: number; message: string }
  | { type: 'sandbox'; clusters: SandboxClusterView[] };

/**
 * Body of `POST api/runs/{id}/rollout/{pause|resume|promote|abort}` (optional); the answer is the
 * run (`RunRecord`) with its updated rollout, or a `Status`. The action is recorded as done by the
 * signed-in user.
 */
export interface RolloutActionBody {
  reason?: string;
}

export type { ClusterPods, PodSummary };

/**
 * `GET api/pods?namespace=NS&selector=LABELS` (bearer token): the pods the selector matches in
 * every Ready member, read through the federation's `clusters/proxy` as the signed-in user, so
 * the federation's RBAC and each member's decide. A member that could not be read has `error`.
 */
export interface MemberPods {
  clusters: ClusterPods[];
}

/** The `Status` body of every error the console server answers with. */
export type ConsoleError = Status;
