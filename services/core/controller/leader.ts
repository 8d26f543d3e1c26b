import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { messageOf, hasCode } from '../errors.js';
import { createLogger } from '../log.js';
import type { KubeObject } from '../kube.js';
import type { KubeClient } from '../kube-client.js';
import { microTime } from '../time.js';

export interface LeaderElectorOptions {
  client: KubeClient;
  namespace: string;
  name: string;
  /** @default `${hostname()}_${random}` */
  identity?: string;
  /** How long a lease holds without renewal. @default 15000 */
  leaseDurationMs?: number;
  /** The leader gives up when it could not renew for this long. @default 10000 */
  renewDeadlineMs?: number;
  /** Pause between acquire/renew attempts. @default 2000 */
  retryPeriodMs?: number;
  onStartedLeading: () => void | Promise<void>;
  onStoppedLeading: () => void | Promise<void>;
  onNewLeader?: (identity: string) => void;
}

interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

type Lease = KubeObject & { spec?: LeaseSpec };

const log = createLogger('leader-election');

/**
 * Leader election on a coordination.k8s.io/v1 Lease, as client-go does it: try to acquire
 * (create, or take over an expired lease) every retry period; as leader renew every retry
 * period and stop leading when renewals fail for the renew deadline; release on `stop`.
 * Writes are optimistic (resourceVersion), so two candidates never both win.
 */
export class LeaderElector {
  readonly identity: string;
  private leading = false;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  private lastRenew = 0;
  private observed: { holder?: string; renewTime?: string; since: number } = { since: 0 };
  private loop: Promise<void> | undefined;
  private readonly opts: Required<Omit<LeaderElectorOptions, 'onNewLeader' | 'identity'>> &
    Pick<LeaderElectorOptions, 'onNewLeader'>;

  constructor(options: LeaderElectorOptions) {
    this.identity = options.identity ?? `${hostname()}_${randomBytes(4).toString('hex')}`;
    this.opts = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000, ...options };
  }

  get isLeader(): boolean {
    return this.leading;
  }

  start(): void {
    this.loop = this.tick();
  }

  /** Stops campaigning; a leader releases the lease so another candidate takes over at once. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.loop;
    if (this.leading) {
      this.leading = false;
      // Stop acting first, then hand the lease over.
      await this.opts.onStoppedLeading();
      try {
        const lease = await this.opts.client.tryGet<Lease>(
          'coordination.k8s.io/v1',
          'Lease',
          this.opts.namespace,
          this.opts.name,
        );
        if (lease?.spec?.holderIdentity === this.identity) {
          await this.opts.client.update({
            ...lease,
            spec: { ...lease.spec, holderIdentity: '', leaseDurationSeconds: 1, renewTime: microTime(new Date(0)) },
          });
        }
      } catch (err) {
        log.warn({ err: messageOf(err) }, 'could not release the lease');
      }
    }
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => (this.loop = this.tick()), this.opts.retryPeriodMs);
  }

  private async tick(): Promise<void> {
    if (this.stopped) return;
    let ok = false;
    try {
      ok = await this.tryAcquireOrRenew();
    } catch (err) {
      log.debug({ err: messageOf(err) }, 'lease attempt failed');
    }
    if (this.stopped) return;
    const now = Date.now();
    if (ok) {
      this.lastRenew = now;
      if (!this.leading) {
        this.leading = true;
        log.info({ identity: this.identity, lease: `${this.opts.namespace}/${this.opts.name}` }, 'started leading');
        // Not awaited: starting the controllers must not delay renewals.
        void Promise.resolve(this.opts.onStartedLeading()).catch((err: unknown) =>
          log.error({ err: messageOf(err) }, 'onStartedLeading failed'),
        );
      }
    } else if (this.leading && now - this.lastRenew > this.opts.renewDeadlineMs) {
      this.leading = false;
      log.warn({ identity: this.identity }, 'lost the lease');
      void Promise.resolve(this.opts.onStoppedLeading()).catch((err: unknown) =>
        log.error({ err: messageOf(err) }, 'onStoppedLeading failed'),
      );
    }
    this.schedule();
  }

  private async tryAcquireOrRenew(): Promise<boolean> {
    const { client, namespace, name } = this.opts;
    const now = new Date();
    const spec: LeaseSpec = {
      holderIdentity: this.identity,
      leaseDurationSeconds: Math.max(1, Math.ceil(this.opts.leaseDurationMs / 1000)),
      acquireTime: microTime(now),
      renewTime: microTime(now),
      leaseTransitions: 0,
    };
    const lease = await client.tryGet<Lease>('coordination.k8s.io/v1', 'Lease', namespace, name);
    if (!lease) {
      try {
        await client.create({
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: { name, namespace },
          spec,
        });
        return true;
      } catch (err) {
        if (hasCode(err, 409)) return false;
        throw err;
      }
    }
    const cur = lease.spec ?? {};
    if (cur.holderIdentity !== this.observed.holder || cur.renewTime !== this.observed.renewTime) {
      if (cur.holderIdentity && cur.holderIdentity !== this.observed.holder)
        this.opts.onNewLeader?.(cur.holderIdentity);
      this.observed = { holder: cur.holderIdentity, renewTime: cur.renewTime, since: Date.now() };
    }
    const held = cur.holderIdentity && cur.holderIdentity !== this.identity;
    // Expiry is judged by our own clock since we last saw the lease change, as client-go does.
    if (held && Date.now() - this.observed.since < this.opts.leaseDurationMs) return false;
    const next: LeaseSpec =
      cur.holderIdentity === this.identity
        ? { ...cur, renewTime: spec.renewTime, leaseDurationSeconds: spec.leaseDurationSeconds }
        : { ...spec, leaseTransitions: (cur.leaseTransitions ?? 0) + 1 };
    try {
      await client.update({ ...lease, apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', spec: next });
      return true;
    } catch (err) {
      if (hasCode(err, 409)) return false;
      throw err;
    }
  }
}
