/**
 * `kitfed apiserver` as a separate process for storage tests (crash and etcd-fault tests):
 * plain HTTP (--insecure) on a port the server picks itself (port 0, read back from its
 * "API server listening" log line), with a temp data dir, SIGKILLable. A restarted server gets a new
 * port: a port freed by a kill can be taken by anything else on a busy machine.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import type { ExecutionContext } from 'ava';
import { answerOf } from '../../services/core/http.js';

const CLI = join(import.meta.dirname, '..', '..', 'services', 'cli', 'kitfed.ts');

export interface Running {
  url: string;
  kill(): Promise<void>;
}

/** Starts `kitfed apiserver` on `storage`; resolves once /readyz answers 200 (bounded). */
export async function startServer(
  t: Pick<ExecutionContext, 'teardown'>,
  storage: string,
  dataDir: string,
): Promise<Running> {
  const args = [
    '--import',
    'tsx',
    CLI,
    'apiserver',
    '--listen',
    '127.0.0.1:0',
    '--storage',
    storage,
    '--data-dir',
    dataDir,
    '--insecure',
  ];
  const child = spawn(process.execPath, args, {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, KITFED_LOG_LEVEL: 'info', KITFED_LOG_FORMAT: 'json' },
  });
  t.teardown(() => child.kill('SIGKILL'));
  let stderr = '';
  let url: string | undefined;
  child.stderr.setEncoding('utf8').on('data', (c: string) => {
    stderr = (stderr + c).slice(-4000);
    url ??= /"url":"(http:\/\/127\.0\.0\.1:\d+)".*"msg":"API server listening"/.exec(stderr)?.[1];
  });
  let exited = false;
  const exit = new Promise<void>((resolve) => child.once('exit', () => ((exited = true), resolve())));
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (exited) throw new Error(`kitfed apiserver exited: ${stderr}`);
    if (Date.now() > deadline) throw new Error(`kitfed apiserver not ready within 60 s: ${stderr}`);
    const ready =
      url !== undefined &&
      (await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(1000) }).then(
        (r) => r.ok,
        () => false,
      ));
    if (ready) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url: url!,
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
