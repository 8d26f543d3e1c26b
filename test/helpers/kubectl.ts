import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ExecutionContext } from 'ava';
import { kubeconfigFor } from '../../services/apiserver/run.js';
import { startApiServer, type ApiServer, type ApiServerOptions } from '../../services/apiserver/server.js';

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

export type Kubectl = (args: string[], input?: string, timeoutMs?: number) => Promise<KubectlResult>;

/** Runs the real kubectl against `kubeconfig` with a private discovery cache. */
export function kubectlFor(kubeconfig: string, cacheDir: string, context?: string): Kubectl {
  return (args, input, timeoutMs = 30_000) =>
    new Promise((resolve) => {
      const child = execFile(
        'kubectl',
        ['--kubeconfig', kubeconfig, '--cache-dir', cacheDir, ...(context ? ['--context', context] : []), ...args],
        { timeout: timeoutMs, env: { ...process.env, KUBECTL_KUBERC: 'false' } },
        (err, stdout, stderr) => {
          const code = err
            ? typeof (err as { code?: unknown }).code === 'number'
              ? (err as { code: number }).code
              : 1
            : 0;
          resolve({ code, stdout: String(stdout), stderr: String(stderr) });
        },
      );
      if (input !== undefined) child.stdin?.end(input);
      else child.stdin?.end();
    });
}

export interface TestServer {
  server: ApiServer;
  dir: string;
  kubeconfig: string;
  kubectl: Kubectl;
}

/** An API server on a free loopback port, a kubeconfig for it, and kubectl; all torn down after the test. */
export async function startTestServer(t: ExecutionContext, options: ApiServerOptions = {}): Promise<TestServer> {
  const dir = await mkdtemp(join(tmpdir(), 'kitfed-test-'));
  const server = await startApiServer(options);
  const kubeconfig = join(dir, 'kubeconfig');
  await writeFile(kubeconfig, kubeconfigFor(server.url, 'test'));
  t.teardown(async () => {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });
  return { server, dir, kubeconfig, kubectl: kubectlFor(kubeconfig, join(dir, 'cache')) };
}

/** The 2016 seed walkthrough manifests (copied verbatim from shared/data/seed-walkthrough). */
export const SEED = fileURLToPath(new URL('../fixtures/seed-walkthrough', import.meta.url));
