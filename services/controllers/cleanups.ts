import PQueue from 'p-queue';
import { hasCode } from '../core/errors.js';
import type { KubeObject } from '../core/kube.js';
import type { KubeClient } from '../core/kube-client.js';
import { FEDERATION_NAMESPACE } from '../core/controller/index.js';

/** A member-side action that could not happen because the member was unavailable. */
export interface CleanupEntry {
  apiVersion: string;
  kind: string;
  namespace?: string;
  name: string;
  /** uid of the federated object the member copy was made from. */
  uid: string;
  /** delete: cascading delete; orphan: remove the ownership markers. */
  action: 'delete' | 'orphan';
}

export function cleanupConfigMapName(cluster: string): string {
  return `kitfed-cleanup-${cluster}`;
}

function entryKey(e: Pick<CleanupEntry, 'kind' | 'namespace' | 'name'>): string {
  return `${e.kind}.${e.namespace ?? '_'}.${e.name}`;
}

type ConfigMap = KubeObject & { data?: Record<string, string> };

/**
 * Cleanups owed to unavailable members, durable in the federation API: one ConfigMap per
 * cluster (`kitfed-system/kitfed-cleanup-<cluster>`), one data entry per object. Writes for
 * one cluster are serialized; conflicts re-read and retry.
 */
export class PendingCleanups {
  private readonly queues = new Map<string, PQueue>();

  constructor(private readonly federation: KubeClient) {}

  private queue(cluster: string): PQueue {
    let q = this.queues.get(cluster);
    if (!q) this.queues.set(cluster, (q = new PQueue({ concurrency: 1 })));
    return q;
  }

  /** Entries owed to `cluster`. */
  async entries(cluster: string): Promise<CleanupEntry[]> {
    const cm = await this.federation.tryGet<ConfigMap>(
      'v1',
      'ConfigMap',
      FEDERATION_NAMESPACE,
      cleanupConfigMapName(cluster),
    );
    return Object.values(cm?.data ?? {}).map((v) => JSON.parse(v) as CleanupEntry);
  }

  async has(cluster: string, e: CleanupEntry): Promise<boolean> {
    return (await this.entries(cluster)).some((x) => entryKey(x) === entryKey(e) && x.uid === e.uid);
  }

  remember(cluster: string, e: CleanupEntry): Promise<void> {
    return this.edit(cluster, (data) => {
      const k = entryKey(e);
      const v = JSON.stringify(e);
      if (data[k] === v) return false;
      data[k] = v;
      return true;
    });
  }

  forget(cluster: string, e: CleanupEntry): Promise<void> {
    return this.edit(cluster, (data) => {
      const k = entryKey(e);
      const cur = data[k];
      if (!cur || (JSON.parse(cur) as CleanupEntry).uid !== e.uid) return false;
      delete data[k];
      return true;
    });
  }

  /** Drops everything owed to `cluster` (it was unjoined). */
  async drop(cluster: string): Promise<void> {
    try {
      await this.federation.delete('v1', 'ConfigMap', FEDERATION_NAMESPACE, cleanupConfigMapName(cluster));
    } catch (err) {
      if (!hasCode(err, 404)) throw err;
    }
  }

  private edit(cluster: string, fn: (data: Record<string, string>) => boolean): Promise<void> {
    return this.queue(cluster).add(async () => {
      for (let attempt = 0; ; attempt++) {
        const name = cleanupConfigMapName(cluster);
        const cm = await this.federation.tryGet<ConfigMap>('v1', 'ConfigMap', FEDERATION_NAMESPACE, name);
        const data = { ...(cm?.data ?? {}) };
        if (!fn(data)) return;
        try {
          if (cm) await this.federation.update({ ...cm, apiVersion: 'v1', kind: 'ConfigMap', data });
          else
            await this.federation.create({
              apiVersion: 'v1',
              kind: 'ConfigMap',
              metadata: { name, namespace: FEDERATION_NAMESPACE, labels: { 'kitfed.io/cleanup-for': cluster } },
              data,
            });
          return;
        } catch (err) {
          if (!hasCode(err, 409) || attempt > 10) throw err;
        }
      }
    });
  }
}
