/**
 * A program for shutdown.test.ts: one sandbox cluster on SQLite (asynchronous writes, like
 * `kitfed up`'s members), a burst of Deployments, `close()` while their rollouts are in flight,
 * then nothing more. The process must end by itself: anything the simulator leaves armed keeps it alive.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeClient } from '../../../services/core/kube-client.js';
import { startSandbox } from '../../../services/sandbox/index.js';
import { openStore } from '../../../services/apiserver/storage/open.js';

const dir = await mkdtemp(join(tmpdir(), 'kitfed-stop-'));
const sandbox = await startSandbox({
  clusters: [{ name: 'c1', region: 'us-east1', zones: ['us-east1-a'] }],
  readyDelayMs: 200,
  store: () => openStore(`sqlite://${join(dir, 'c1.db')}`),
});
const client = await KubeClient.fromKubeconfig({ text: sandbox.kubeconfig() }, 'c1');
await Promise.all(
  Array.from({ length: 40 }, (_, i) =>
    client.create({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: `web-${i}`, namespace: 'default' },
      spec: {
        replicas: 2,
        selector: { matchLabels: { app: `web-${i}` } },
        template: {
          metadata: { labels: { app: `web-${i}` } },
          spec: { containers: [{ name: 'web', image: 'nginx:1.27' }] },
        },
      },
    }),
  ),
);
// Close while the simulator is busy scaling them up (pods being created and made ready).
const delay = Number(process.argv[2] ?? 100);
await new Promise((r) => setTimeout(r, delay));
client.close();
await sandbox.close();
await rm(dir, { recursive: true, force: true });
process.stdout.write('closed\n');
