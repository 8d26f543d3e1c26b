import PQueue from 'p-queue';
import { hasCode, messageOf } from '../../core/errors.js';
import { createLogger } from '../../core/log.js';
import type { KubeObject } from '../../core/kube.js';
import type { Registry } from '../registry.js';
import { keyPrefix, type ResourceType } from '../resources.js';
import type { CachedEvent } from '../watch-cache.js';

/**
 * What kube's service-account and root-CA-publisher controllers do, run in the API server's
 * housekeeping: every active namespace holds a `default` ServiceAccount and, when the server
 * has a CA, the `kube-root-ca.crt` ConfigMap with it; both come back if deleted, and the
 * ConfigMap is put right if edited. Several API servers on one etcd may each have their own CA:
 * each adds its CA to the ConfigMap's bundle and keeps the certificates already there, so they
 * settle on a bundle that verifies all of them instead of overwriting each other forever. Also
 * keeps the ServiceAccounts' uids in memory, which token authentication checks on every request
 * (a token outlives neither its ServiceAccount nor a recreated one of the same name).
 */

const log = createLogger('serviceaccounts');

export const ROOT_CA_CONFIGMAP = 'kube-root-ca.crt';
export const DEFAULT_SERVICE_ACCOUNT = 'default';
const ROOT_CA_DESCRIPTION =
  'Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the ' +
  'internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters.';
const MANAGER = 'kube-controller-manager';
const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;

/** The `ca.crt` of a `kube-root-ca.crt` ConfigMap. */
function caOf(o: KubeObject): string | undefined {
  return (o.data as Record<string, string> | undefined)?.['ca.crt'];
}

/** The certificates of a PEM bundle, each with its base64 body (no whitespace) to compare by. */
function certificates(pem: string | undefined): Array<{ text: string; body: string }> {
  return [...(pem ?? '').matchAll(PEM_CERTIFICATE)].map((m) => ({
    text: m[0],
    body: m[0].replace(/-----[A-Z ]+-----|\s/g, ''),
  }));
}

export interface ServiceAccountRef {
  uid: string;
  deleting: boolean;
}

export class ServiceAccounts {
  /** `ns/name` → the ServiceAccount's uid. */
  private readonly accounts = new Map<string, ServiceAccountRef>();
  /** Active namespaces (not terminating). */
  private readonly active = new Set<string>();
  private readonly queue = new PQueue({ concurrency: 4 });
  private readonly pending = new Set<string>();
  private readonly stops: Array<() => void> = [];
  private stopped = false;
  /** The certificates of `caCert`. */
  private readonly ours: Array<{ text: string; body: string }>;

  constructor(
    private readonly registry: Registry,
    /** PEM published as `kube-root-ca.crt` in every namespace; none without TLS. */
    private readonly caCert: string | undefined,
  ) {
    this.ours = certificates(caCert);
  }

  private type(kind: string): ResourceType | undefined {
    return this.registry.catalog.byKind('', 'v1', kind);
  }

  lookup(namespace: string, name: string): ServiceAccountRef | undefined {
    return this.accounts.get(`${namespace}/${name}`);
  }

  async start(): Promise<void> {
    const saType = this.type('ServiceAccount');
    const nsType = this.type('Namespace');
    const cmType = this.type('ConfigMap');
    if (!saType || !nsType) return;
    // Follow changes from the cache's current revision first, then list: a revision read before the
    // (awaited) lists may have left a small watch cache by the time they return (Compacted). The lists
    // are consistent reads, at least as new as any event delivered before they return.
    const rev = this.registry.cache.revision;
    this.stops.push(
      this.registry.cache.subscribe(keyPrefix(saType), rev, (e) => this.onServiceAccount(e)),
      this.registry.cache.subscribe(keyPrefix(nsType), rev, (e) => this.onNamespace(e)),
    );
    if (cmType && this.caCert)
      this.stops.push(this.registry.cache.subscribe(keyPrefix(cmType), rev, (e) => this.onConfigMap(e)));
    for (const o of (await this.registry.list(saType, undefined)).items) this.remember(o);
    for (const o of (await this.registry.list(nsType, undefined)).items)
      if (!o.metadata.deletionTimestamp) this.active.add(o.metadata.name!);
    for (const ns of this.active) this.ensure(ns);
  }

  stop(): void {
    this.stopped = true;
    for (const s of this.stops.splice(0)) s();
    this.queue.clear();
  }

  /** Resolves when no namespace waits for its ServiceAccount or ConfigMap. */
  async idle(): Promise<void> {
    await this.queue.onIdle();
  }

  private reloadAccounts(delayMs = 500): void {
    const t = this.type('ServiceAccount');
    if (!t || this.stopped) return;
    setTimeout(() => {
      if (this.stopped) return;
      this.registry.list(t, undefined).then(
        (list) => {
          this.accounts.clear();
          for (const o of list.items) this.remember(o);
        },
        () => this.reloadAccounts(Math.min(delayMs * 2, 5000)),
      );
    }, delayMs).unref();
  }

  private remember(o: KubeObject): void {
    this.accounts.set(`${o.metadata.namespace}/${o.metadata.name}`, {
      uid: o.metadata.uid ?? '',
      deleting: !!o.metadata.deletionTimestamp,
    });
  }

  private onServiceAccount(e: CachedEvent): void {
    if (e.revision < 0) {
      // The cache lost its store watch: deletions may have been missed, reload the uids.
      this.reloadAccounts();
      return;
    }
    const ns = e.object.metadata.namespace!;
    if (e.type === 'DELETED') {
      this.accounts.delete(`${ns}/${e.object.metadata.name}`);
      if (e.object.metadata.name === DEFAULT_SERVICE_ACCOUNT) this.ensure(ns);
    } else this.remember(e.object);
  }

  private onNamespace(e: CachedEvent): void {
    if (e.revision < 0) return;
    const name = e.object.metadata.name!;
    if (e.type === 'DELETED' || e.object.metadata.deletionTimestamp) {
      this.active.delete(name);
      return;
    }
    if (!this.active.has(name)) {
      this.active.add(name);
      this.ensure(name);
    }
  }

  private onConfigMap(e: CachedEvent): void {
    if (e.revision < 0 || e.object.metadata.name !== ROOT_CA_CONFIGMAP) return;
    if (e.type === 'DELETED' || this.bundle(caOf(e.object)) !== undefined) this.ensure(e.object.metadata.namespace!);
  }

  /**
   * The `ca.crt` to write over `current`, or undefined when it already holds this server's CA:
   * the certificates there (another API server's CA, say) and ours after them. Without any
   * certificate there (missing, or edited into something else), exactly ours.
   */
  private bundle(current: string | undefined): string | undefined {
    const have = certificates(current);
    if (have.length === 0) return current === this.caCert ? undefined : this.caCert;
    const missing = this.ours.filter((c) => !have.some((h) => h.body === c.body));
    if (missing.length === 0) return undefined;
    return `${[...have, ...missing].map((c) => c.text).join('\n')}\n`;
  }

  private ensure(namespace: string): void {
    if (this.stopped || this.pending.has(namespace)) return;
    this.pending.add(namespace);
    void this.queue.add(async () => {
      this.pending.delete(namespace);
      if (!this.active.has(namespace)) return;
      try {
        await this.ensureServiceAccount(namespace);
        await this.ensureRootCa(namespace);
      } catch (err) {
        // A namespace going away under us (404, 403 terminating) or a concurrent writer (409).
        if (!hasCode(err, 404) && !hasCode(err, 403) && !hasCode(err, 409))
          log.warn({ namespace, err: messageOf(err) }, 'could not publish the default ServiceAccount or root CA');
      }
    });
  }

  private async ensureServiceAccount(namespace: string): Promise<void> {
    const t = this.type('ServiceAccount')!;
    if (this.accounts.has(`${namespace}/${DEFAULT_SERVICE_ACCOUNT}`)) return;
    if (await this.registry.tryGet(t, namespace, DEFAULT_SERVICE_ACCOUNT)) return;
    await this.registry.create(
      t,
      namespace,
      { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: DEFAULT_SERVICE_ACCOUNT, namespace } },
      { fieldManager: MANAGER },
    );
  }

  private async ensureRootCa(namespace: string): Promise<void> {
    const t = this.type('ConfigMap');
    if (!t || !this.caCert) return;
    const current = await this.registry.tryGet(t, namespace, ROOT_CA_CONFIGMAP);
    if (!current) {
      await this.registry.create(
        t,
        namespace,
        {
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: {
            name: ROOT_CA_CONFIGMAP,
            namespace,
            annotations: { 'kubernetes.io/description': ROOT_CA_DESCRIPTION },
          },
          data: { 'ca.crt': this.caCert },
        },
        { fieldManager: MANAGER },
      );
      return;
    }
    if (this.bundle(caOf(current)) === undefined) return;
    // Worked out again on the object the write compares against (another server may have added its CA).
    await this.registry.mutate(t, namespace, ROOT_CA_CONFIGMAP, (o) => {
      const next = this.bundle(caOf(o));
      return next === undefined ? o : { ...o, data: { 'ca.crt': next } };
    });
  }
}
