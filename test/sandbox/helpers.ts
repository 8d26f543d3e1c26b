import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ExecutionContext } from 'ava';
import { startSandbox, type Sandbox, type SandboxOptions } from '../../services/sandbox/index.js';

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface TestSandbox {
  sandbox: Sandbox;
  dir: string;
  kubeconfig: string;
  /** Runs kubectl against the sandbox (own kubeconfig and cache dir). */
  kubectl(args: string[], opts?: { input?: string; timeoutMs?: number }): Promise<KubectlResult>;
  /** Writes `text` to a file in the test's temp dir and returns its path. */
  file(name: string, text: string): Promise<string>;
}

export function run(
  cmd: string,
  args: string[],
  opts: { input?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {},
): Promise<KubectlResult> {
  return new Promise((resolve) => {
    const child = execFile(
      cmd,
      args,
      { timeout: opts.timeoutMs ?? 60_000, maxBuffer: 16 << 20, env: opts.env ?? process.env },
      (err, stdout, stderr) => {
        const code = err
          ? typeof (err as { code?: unknown }).code === 'number'
            ? (err as { code: number }).code
            : 1
          : 0;
        resolve({ code, stdout: String(stdout), stderr: String(stderr) });
      },
    );
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}

export async function tempDir(t: ExecutionContext, prefix = 'kitfed-sandbox-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

export async function startTestSandbox(t: ExecutionContext, opts: Partial<SandboxOptions> = {}): Promise<TestSandbox> {
  const dir = await tempDir(t);
  const sandbox = await startSandbox({
    clusters: [{ name: 'c1', region: 'us-east1', zones: ['us-east1-a', 'us-east1-b'] }],
    readyDelayMs: 50,
    ...opts,
  });
  t.teardown(() => sandbox.close());
  const kubeconfig = join(dir, 'kubeconfig');
  await writeFile(kubeconfig, sandbox.kubeconfig());
  const cache = join(dir, 'kube-cache');
  return {
    sandbox,
    dir,
    kubeconfig,
    kubectl: (args, o = {}) => run('kubectl', ['--kubeconfig', kubeconfig, '--cache-dir', cache, ...args], o),
    file: async (name, text) => {
      const p = join(dir, name);
      await writeFile(p, text);
      return p;
    },
  };
}

/** Polls `check` until it returns a truthy value or `timeoutMs` passes (then throws with `what`). */
export async function waitFor<T>(
  what: string,
  check: () => T | Promise<T>,
  timeoutMs = 15_000,
  everyMs = 25,
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export function deploymentYaml(
  name: string,
  opts: {
    replicas?: number;
    image?: string;
    maxSurge?: number | string;
    maxUnavailable?: number | string;
    progressDeadlineSeconds?: number;
  } = {},
): string {
  const strategy =
    opts.maxSurge !== undefined || opts.maxUnavailable !== undefined
      ? '  strategy:\n    type: RollingUpdate\n    rollingUpdate:\n' +
        `      maxSurge: ${JSON.stringify(opts.maxSurge ?? '25%')}\n` +
        `      maxUnavailable: ${JSON.stringify(opts.maxUnavailable ?? '25%')}\n`
      : '';
  return `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
  namespace: default
spec:
  replicas: ${opts.replicas ?? 2}
${opts.progressDeadlineSeconds ? `  progressDeadlineSeconds: ${opts.progressDeadlineSeconds}\n` : ''}${strategy}  selector:
    matchLabels: {app: ${name}}
  template:
    metadata:
      labels: {app: ${name}}
    spec:
      containers:
      - name: main
        image: ${opts.image ?? 'nginx:1.25'}
`;
}
