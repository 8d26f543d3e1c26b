import { createHash } from 'node:crypto';
import type { Condition, KubeObject } from '../core/kube.js';
import type { SimContext } from './context.js';
import { keyOf } from './informer.js';
import { asObj, isPodActive, nowIso, setCondition, specOf, statusOf, type Obj } from './util.js';

const imageIds = new Map<string, string>();
let containers = 0;

/** A stable fake digest per image (no registry is contacted). */
function imageId(image: string): string {
  let id = imageIds.get(image);
  if (!id) {
    id = `${image.replace(/[:@].*$/, '')}@sha256:${createHash('sha256').update(image).digest('hex')}`;
    if (imageIds.size < 10_000) imageIds.set(image, id);
  }
  return id;
}

function containerId(): string {
  containers = (containers + 1) % 0x1000000;
  return `sandbox://${Date.now().toString(16)}${containers.toString(16).padStart(6, '0')}`;
}

type Stage = 'start' | 'creating' | 'pull-error' | 'backoff' | 'running' | 'done';

interface Container {
  name: string;
  image?: string;
}

/**
 * The simulated kubelets of one cluster. No container runs: a bound pod's status moves
 * ContainerCreating → Running and Ready after the ready delay (run-to-completion pods then
 * Succeeded after another delay), or, for an image matching the failure pattern,
 * ErrImagePull → ImagePullBackOff with Warning events, as a real kubelet reports them. An image
 * matching the crash pattern runs and is Ready, then crashes one ready delay later: terminated
 * (Error, exit 1), waiting CrashLoopBackOff with a BackOff event, restarted after a back-off that
 * doubles (capped at 8 ready delays), and so on — a crash loop that passes a first health check.
 */
export class Kubelet {
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private nextIp = 0;

  constructor(private readonly ctx: SimContext) {}

  forget(pod: KubeObject): void {
    const key = keyOf(pod);
    this.ctx.queue.cancel(this.timers.get(key));
    this.timers.delete(key);
  }

  private containers(pod: KubeObject): Container[] {
    return (specOf(pod).containers as Container[] | undefined) ?? [];
  }

  private badImage(pod: KubeObject): string | undefined {
    return this.containers(pod).find((c) => this.ctx.config.failImage.test(c.image ?? ''))?.image;
  }

  private crashes(pod: KubeObject): boolean {
    return this.containers(pod).some((c) => this.ctx.config.crashImage.test(c.image ?? ''));
  }

  private restarts(pod: KubeObject): number {
    return Math.max(
      0,
      ...((statusOf(pod).containerStatuses as Array<{ restartCount?: number }> | undefined) ?? []).map(
        (c) => c.restartCount ?? 0,
      ),
    );
  }

  private runsToCompletion(pod: KubeObject): boolean {
    return (specOf(pod).restartPolicy ?? 'Always') !== 'Always';
  }

  private stage(pod: KubeObject): Stage {
    const status = statusOf(pod);
    if (!status.startTime) return 'start';
    const phase = status.phase;
    if (phase === 'Succeeded' || phase === 'Failed') return 'done';
    const waiting = (
      (status.containerStatuses as Array<{ state?: { waiting?: { reason?: string } } }> | undefined) ?? []
    )
      .map((c) => c.state?.waiting?.reason)
      .find(Boolean);
    if (waiting === 'ErrImagePull') return 'pull-error';
    if (waiting === 'ImagePullBackOff') return 'backoff';
    if (waiting) return 'creating';
    return phase === 'Running' ? 'running' : 'creating';
  }

  /** Moves a bound pod along, arming the one timer its next step needs. */
  async sync(pod: KubeObject): Promise<void> {
    if (!specOf(pod).nodeName || !isPodActive(pod)) return;
    const stage = this.stage(pod);
    if (stage === 'start') return this.start(pod);
    const next =
      stage === 'creating' ||
      stage === 'pull-error' ||
      (stage === 'running' && (this.runsToCompletion(pod) || this.crashes(pod)));
    if (next) this.arm(pod, this.backoff(pod, stage));
  }

  /** A crash-looping container waits longer before each restart (doubling, capped). */
  private backoff(pod: KubeObject, stage: Stage): number {
    const base = this.ctx.config.readyDelayMs;
    if (stage !== 'creating' || !this.crashes(pod)) return base;
    return base * Math.min(8, 2 ** Math.max(0, this.restarts(pod) - 1));
  }

  private arm(pod: KubeObject, delayMs = this.ctx.config.readyDelayMs): void {
    const key = keyOf(pod);
    if (this.timers.has(key)) return;
    const timer = this.ctx.queue.after(delayMs, `kubelet:${key}`, async () => {
      this.timers.delete(key);
      const cur = this.ctx.cache.get('Pod', key);
      if (cur && cur.metadata.uid === pod.metadata.uid) await this.advance(cur);
    });
    if (timer) this.timers.set(key, timer);
  }

  private async writeStatus(pod: KubeObject, fn: (status: Obj) => void): Promise<void> {
    await this.ctx.registry.mutate(
      this.ctx.types.Pod,
      pod.metadata.namespace,
      pod.metadata.name!,
      (o) => {
        if (o.metadata.uid !== pod.metadata.uid) return undefined;
        const status = asObj(o.status);
        fn(status);
        o.status = status;
        return o;
      },
      'status',
    );
  }

  private podIp(pod: KubeObject): string {
    const node = this.ctx.cache.get('Node', String(specOf(pod).nodeName));
    const cidr = String(asObj(node?.spec).podCIDR ?? '10.244.0.0/24');
    this.nextIp = (this.nextIp % 253) + 1;
    return cidr.replace(/\.0\/\d+$/, `.${this.nextIp + 1}`);
  }

  private hostIp(pod: KubeObject): string {
    const node = this.ctx.cache.get('Node', String(specOf(pod).nodeName));
    const addresses = (asObj(node?.status).addresses as Array<{ type: string; address: string }> | undefined) ?? [];
    return addresses.find((a) => a.type === 'InternalIP')?.address ?? '172.16.0.2';
  }

  private conditions(status: Obj, ready: boolean, reason?: string): void {
    let list = (status.conditions as Condition[] | undefined) ?? [];
    const notReady = reason ? { reason, message: `containers with unready status: [${reason}]` } : {};
    list = setCondition(list, { type: 'PodReadyToStartContainers', status: 'True' });
    list = setCondition(list, { type: 'Initialized', status: 'True' });
    list = setCondition(list, { type: 'Ready', status: ready ? 'True' : 'False', ...(ready ? {} : notReady) });
    list = setCondition(list, {
      type: 'ContainersReady',
      status: ready ? 'True' : 'False',
      ...(ready ? {} : notReady),
    });
    list = setCondition(list, { type: 'PodScheduled', status: 'True' });
    status.conditions = list;
  }

  private containerStatuses(pod: KubeObject, state: (c: Container) => Obj, ready: boolean, started: boolean): Obj[] {
    return this.containers(pod).map((c) => ({
      name: c.name,
      image: c.image ?? '',
      imageID: started ? imageId(c.image ?? '') : '',
      ...(started ? { containerID: containerId() } : {}),
      ready,
      restartCount: 0,
      started,
      state: state(c),
    }));
  }

  private async start(pod: KubeObject): Promise<void> {
    const bad = this.badImage(pod);
    const podIP = this.podIp(pod);
    const hostIP = this.hostIp(pod);
    await this.writeStatus(pod, (s) => {
      s.phase = 'Pending';
      s.hostIP = hostIP;
      s.hostIPs = [{ ip: hostIP }];
      s.podIP = podIP;
      s.podIPs = [{ ip: podIP }];
      s.startTime = nowIso();
      s.qosClass = 'BestEffort';
      this.conditions(s, false, 'ContainersNotReady');
      s.containerStatuses = this.containerStatuses(
        pod,
        (c) => ({
          waiting:
            bad && this.ctx.config.failImage.test(c.image ?? '')
              ? { reason: 'ErrImagePull', message: pullError(c.image ?? '') }
              : { reason: 'ContainerCreating' },
        }),
        false,
        false,
      );
    });
    const host = String(specOf(pod).nodeName);
    if (bad) {
      this.ctx.events.emit(pod, 'Normal', 'Pulling', `Pulling image "${bad}"`, 'kubelet', host);
      this.ctx.events.emit(
        pod,
        'Warning',
        'Failed',
        `Failed to pull image "${bad}": ${pullError(bad)}`,
        'kubelet',
        host,
      );
      this.ctx.events.emit(pod, 'Warning', 'Failed', 'Error: ErrImagePull', 'kubelet', host);
    }
    this.arm(pod);
  }

  private async advance(pod: KubeObject): Promise<void> {
    const stage = this.stage(pod);
    const host = String(specOf(pod).nodeName);
    if (stage === 'pull-error') {
      const bad = this.badImage(pod) ?? '';
      await this.writeStatus(pod, (s) => {
        for (const cs of (s.containerStatuses as Array<{ image: string; state: Obj }> | undefined) ?? []) {
          if (this.ctx.config.failImage.test(cs.image))
            cs.state = { waiting: { reason: 'ImagePullBackOff', message: `Back-off pulling image "${cs.image}"` } };
        }
      });
      this.ctx.events.emit(pod, 'Normal', 'BackOff', `Back-off pulling image "${bad}"`, 'kubelet', host);
      this.ctx.events.emit(pod, 'Warning', 'Failed', 'Error: ImagePullBackOff', 'kubelet', host);
      return;
    }
    if (stage === 'running' && this.crashes(pod) && !this.runsToCompletion(pod)) return this.crash(pod);
    if (stage === 'creating') {
      const startedAt = nowIso();
      const restarts = this.restarts(pod);
      await this.writeStatus(pod, (s) => {
        const last = new Map(
          ((s.containerStatuses as Obj[] | undefined) ?? []).map((c) => [String(c.name), c.lastState] as const),
        );
        s.phase = 'Running';
        this.conditions(s, true);
        s.containerStatuses = this.containerStatuses(pod, () => ({ running: { startedAt } }), true, true).map((c) => ({
          ...c,
          restartCount: restarts,
          ...(last.get(String(c.name)) ? { lastState: last.get(String(c.name)) } : {}),
        }));
      });
      if (restarts > 0) return;
      for (const c of this.containers(pod)) {
        this.ctx.events.emit(
          pod,
          'Normal',
          'Pulled',
          `Container image "${c.image ?? ''}" already present on machine`,
          'kubelet',
          host,
          `spec.containers{${c.name}}`,
        );
        this.ctx.events.emit(
          pod,
          'Normal',
          'Created',
          `Created container ${c.name}`,
          'kubelet',
          host,
          `spec.containers{${c.name}}`,
        );
        this.ctx.events.emit(
          pod,
          'Normal',
          'Started',
          `Started container ${c.name}`,
          'kubelet',
          host,
          `spec.containers{${c.name}}`,
        );
      }
      return;
    }
    if (stage === 'running' && this.runsToCompletion(pod)) {
      const finishedAt = nowIso();
      await this.writeStatus(pod, (s) => {
        s.phase = 'Succeeded';
        this.conditions(s, false, 'PodCompleted');
        for (const c of (s.containerStatuses as Obj[] | undefined) ?? []) {
          const startedAt = asObj(asObj(c.state).running).startedAt ?? finishedAt;
          c.state = {
            terminated: { exitCode: 0, reason: 'Completed', startedAt, finishedAt, containerID: c.containerID },
          };
          c.ready = false;
          c.started = false;
        }
      });
    }
  }

  /** A crash-looping container exits: terminated with Error, then waiting in CrashLoopBackOff. */
  private async crash(pod: KubeObject): Promise<void> {
    const host = String(specOf(pod).nodeName);
    const finishedAt = nowIso();
    const crashed: string[] = [];
    await this.writeStatus(pod, (s) => {
      this.conditions(s, false, 'ContainersNotReady');
      for (const c of (s.containerStatuses as Obj[] | undefined) ?? []) {
        if (!this.ctx.config.crashImage.test(String(c.image ?? ''))) continue;
        crashed.push(String(c.name));
        const startedAt = asObj(asObj(c.state).running).startedAt ?? finishedAt;
        c.lastState = {
          terminated: { exitCode: 1, reason: 'Error', startedAt, finishedAt, containerID: c.containerID },
        };
        c.restartCount = Number(c.restartCount ?? 0) + 1;
        c.ready = false;
        c.started = false;
        c.state = {
          waiting: {
            reason: 'CrashLoopBackOff',
            message:
              `back-off restarting failed container=${String(c.name)} pod=${pod.metadata.name ?? ''} ` +
              `(sandbox: the image matches the cluster's crash pattern)`,
          },
        };
      }
    });
    for (const name of crashed)
      this.ctx.events.emit(
        pod,
        'Warning',
        'BackOff',
        `Back-off restarting failed container ${name} in pod ${pod.metadata.name ?? ''}`,
        'kubelet',
        host,
        `spec.containers{${name}}`,
      );
  }
}

function pullError(image: string): string {
  return (
    `rpc error: code = NotFound desc = failed to pull and unpack image "${image}": not found ` +
    "(sandbox: the image matches the cluster's failure pattern)"
  );
}
