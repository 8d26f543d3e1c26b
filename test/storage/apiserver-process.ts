/**
 * `kitfed apiserver` as a separate process for storage tests (crash and etcd-fault tests):
 * plain HTTP (--insecure) on a free port, with a temp data dir, SIGKILLable.
 */
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import type { ExecutionContext } from 'ava';
import { answerOf } from '../../services/core/http.js';

const CLI = join(import.meta.dirname, '..', '..', 'services', 'cli', 'kitfed.ts');

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

export interface Running {
  url: string;
  kill(): Promise<void>;
}

/** Starts `kitfed apiserver` on `storage`; resolves once /readyz answers 200 (bounded). */
export async function startServer(
  t: Pick<ExecutionContext, 'teardown'>,
  storage: string,
  port: number,
  dataDir: string,
): Promise<Running> {
  const args = [
    '--import',
    'tsx',
    CLI,
    'apiserver',
    '--listen',
    `127.0.0.1:${port}`,
    '--storage',
    storage,
    '--data-dir',
    dataDir,
    '--insecure',
  ];
  const child = spawn(process.execPath, args, {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, KITFED_LOG_LEVEL: 'warn' },
  });
  t.teardown(() => child.kill('SIGKILL'));
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (c: string) => (stderr = (stderr + c).slice(-4000)));
  let exited = false;
  const exit = new Promise<void>((resolve) => child.once('exit', () => ((exited = true), resolve())));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (exited) throw new Error(`kitfed apiserver exited: ${stderr}`);
    if (Date.now() > deadline) throw new Error(`kitfed apiserver not ready within 30 s: ${stderr}`);
    const ready = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(1000) }).then(
      (r) => r.ok,
      () => false,
    );
    if (ready) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    async kill() {
      child.kill('SIGKILL');
      await exit;
    },
  };
}

/** POSTs a ConfigMap; `status` 0 when the request failed without an answer. */
export async function postConfigMap(
  url: string,
  name: string,
  timeoutMs = 15_000,
): Promise<{ status: number; body: unknown }> {
  try {
    const res = await fetch(`${url}/api/v1/namespaces/default/configmaps`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data: { name } }),
      signal: AbortSignal.timeout(timeoutMs),
    });
    return await answerOf(res);
  } catch {
    return { status: 0, body: undefined };
  }
}

/** True when the create was acknowledged (2xx). */
export async function createConfigMap(url: string, name: string): Promise<boolean> {
  const { status } = await postConfigMap(url, name, 5000);
  return status >= 200 && status < 300;
}

export async function listNames(url: string): Promise<Set<string>> {
  const res = await fetch(`${url}/api/v1/namespaces/default/configmaps`, { signal: AbortSignal.timeout(10_000) });
  const body = (await res.json()) as { items?: { metadata: { name: string } }[] };
  return new Set((body.items ?? []).map((i) => i.metadata.name));
}
