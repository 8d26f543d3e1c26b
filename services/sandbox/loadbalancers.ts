import type { KubeObject } from '../core/kube.js';
import type { SimContext } from './context.js';
import { keyOf } from './informer.js';
import { asObj, specOf, statusOf } from './util.js';

/**
 * The simulated cloud load balancer controller: Services of type LoadBalancer and Ingresses
 * get an address from the cluster's pool in `status.loadBalancer.ingress`, released on delete.
 */
export class LoadBalancers {
  /** ip → "Kind/namespace/name" */
  private readonly owners = new Map<string, string>();
  private readonly byOwner = new Map<string, string>();
  private cursor = 0;

  constructor(private readonly ctx: SimContext) {}

  private addressOf(o: KubeObject): string | undefined {
    const ingress = (asObj(asObj(statusOf(o)).loadBalancer).ingress as Array<{ ip?: string }> | undefined) ?? [];
    return ingress[0]?.ip;
  }

  /** Records an address already assigned (initial sync, restarts). */
  observe(type: 'ADDED' | 'MODIFIED' | 'DELETED', o: KubeObject): void {
    const owner = `${o.kind}/${keyOf(o)}`;
    if (type === 'DELETED') return this.release(owner);
    const ip = this.addressOf(o);
    if (ip && this.ctx.config.lbPool.includes(ip) && !this.owners.has(ip)) {
      this.owners.set(ip, owner);
      this.byOwner.set(owner, ip);
    }
  }

  private release(owner: string): void {
    const ip = this.byOwner.get(owner);
    if (ip) this.owners.delete(ip);
    this.byOwner.delete(owner);
  }

  private allocate(owner: string): string | undefined {
    const existing = this.byOwner.get(owner);
    if (existing) return existing;
    const pool = this.ctx.config.lbPool;
    for (let i = 0; i < pool.length; i++) {
      const ip = pool[(this.cursor + i) % pool.length]!;
      if (this.owners.has(ip)) continue;
      this.cursor = (this.cursor + i + 1) % pool.length;
      this.owners.set(ip, owner);
      this.byOwner.set(owner, ip);
      return ip;
    }
    return undefined;
  }

  async sync(o: KubeObject): Promise<void> {
    if (o.metadata.deletionTimestamp) return;
    const owner = `${o.kind}/${keyOf(o)}`;
    const wants = o.kind === 'Ingress' || specOf(o).type === 'LoadBalancer';
    const current = this.addressOf(o);
    if (!wants) {
      if (current) {
        this.release(owner);
        await this.write(o, undefined);
      }
      return;
    }
    if (current) return;
    const ip = this.allocate(owner);
    if (!ip) {
      this.ctx.events.emit(
        o,
        'Warning',
        'AllocationFailed',
        `no free address in the load balancer pool of cluster ${this.ctx.config.name}`,
        'service-controller',
      );
      return;
    }
    if (o.kind === 'Service')
      this.ctx.events.emit(o, 'Normal', 'EnsuringLoadBalancer', 'Ensuring load balancer', 'service-controller');
    await this.write(o, ip);
    this.ctx.events.emit(
      o,
      'Normal',
      o.kind === 'Service' ? 'EnsuredLoadBalancer' : 'Sync',
      o.kind === 'Service' ? 'Ensured load balancer' : 'Scheduled for sync',
      o.kind === 'Service' ? 'service-controller' : 'loadbalancer-controller',
    );
  }

  private async write(o: KubeObject, ip: string | undefined): Promise<void> {
    const t = o.kind === 'Service' ? this.ctx.types.Service : this.ctx.types.Ingress;
    await this.ctx.registry.mutate(
      t,
      o.metadata.namespace,
      o.metadata.name!,
      (cur) => {
        if (cur.metadata.uid !== o.metadata.uid) return undefined;
        const status = asObj(cur.status);
        status.loadBalancer = ip ? { ingress: [o.kind === 'Service' ? { ip, ipMode: 'VIP' } : { ip }] } : {};
        return { ...cur, status };
      },
      'status',
    );
  }
}
