/**
 * Shared by the GitOps benchmarks (gitops.ts, rollout.ts): the gitops test fixture grown to
 * N clusters × M services, and sandbox member clusters in a child process (clusters are remote in
 * real life, so they do not share the measured process).
 */
import { spawn } from 'node:child_process';
import readline from 'node:readline';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const FIXTURE = path.join(ROOT, 'test/gitops/fixtures/manifests');

export const pad = (n: number): string => String(n).padStart(2, '0');
export const clusterName = (j: number): string => `c-${pad(j)}`;

/** Grows the fixture in `dir` to `clusters` clusters (`c-00`…) × `services` services (Deployment + Service each). */
export async function generateServices(dir: string, clusters: number, services: number): Promise<void> {
  const resources = Array.from({ length: services }, (_, i) =>
    [
      `  svc-${pad(i)}:`,
      `    file: ./svc-${pad(i)}/svc-${pad(i)}-deployment.mustache`,
      '    svc:',
      `      name: svc-${pad(i)}`,
      '    containers:',
      '      web-con:',
      `        image_tag: acme/svc-${pad(i)}`,
    ].join('\n'),
  );
  await writeFile(
    path.join(dir, 'templates/base-cluster.yaml'),
    `kind: ClusterNamespace\nmetadata:\n  name: base\n  branch: master\nresources:\n${resources.join('\n')}\n`,
  );
  const template = await readFile(path.join(dir, 'templates/resources/web/web-deployment.mustache'), 'utf8');
  for (let i = 0; i < services; i++) {
    await mkdir(path.join(dir, `templates/resources/svc-${pad(i)}`), { recursive: true });
    await writeFile(path.join(dir, `templates/resources/svc-${pad(i)}/svc-${pad(i)}-deployment.mustache`), template);
    await mkdir(path.join(dir, `templates/images/acme/svc-${pad(i)}`), { recursive: true });
    await writeFile(
      path.join(dir, `templates/images/acme/svc-${pad(i)}/master.yaml`),
      `image: registry.example/acme/svc-${pad(i)}:master-0000000\n`,
    );
  }
  await rm(path.join(dir, 'clusters'), { recursive: true, force: true });
  for (let j = 0; j < clusters; j++) {
    const c = path.join(dir, 'clusters', clusterName(j));
    await mkdir(c, { recursive: true });
    await writeFile(
      path.join(c, 'cluster.yaml'),
      `kind: ClusterNamespace\nmetadata:\n  name: ${clusterName(j)}\n  type: test\n`,
    );
    await writeFile(
      path.join(c, 'configuration-var.yaml'),
      `kind: ResourceConfig\ncluster:\n  name: ${clusterName(j)}\n`,
    );
  }
}

export interface SandboxProcess {
  kubeconfig: string;
  /** The sandbox admin endpoint (request counters per cluster), when asked for. */
  adminUrl: string | undefined;
  close: () => Promise<void>;
}

/**
 * `clusters` sandbox clusters (`c-00`…) in a child process; closed by ending its stdin.
 * `crash`: per-cluster crash-loop image patterns (an environment-specific failure).
 */
export async function sandboxProcess(opts: {
  clusters: number;
  readyDelayMs: number;
  admin?: boolean;
  crash?: Record<string, string>;
}): Promise<SandboxProcess> {
  const code = `
import { startSandbox } from ${JSON.stringify(path.join(ROOT, 'services/sandbox/index.ts'))};
const crash = ${JSON.stringify(opts.crash ?? {})};
const sb = await startSandbox({
  clusters: Array.from({ length: ${opts.clusters} }, (_, j) => {
    const name = 'c-' + String(j).padStart(2, '0');
    return { name, region: 'r' + (j % 3), ...(crash[name] ? { crashImagePattern: new RegExp(crash[name]) } : {}) };
  }),
  readyDelayMs: ${opts.readyDelayMs},
  ${opts.admin ? 'adminPort: 0,' : ''}
});
process.stdout.write(JSON.stringify({ kubeconfig: sb.kubeconfig(), adminUrl: sb.adminUrl }) + '\\n');
process.stdin.on('end', () => sb.close().then(() => process.exit(0)));
process.stdin.resume();
`;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
    cwd: ROOT,
    stdio: ['pipe', 'pipe', 'inherit'],
    env: { ...process.env, KITFED_LOG_LEVEL: 'warn' },
  });
  const line = await new Promise<string>((resolve, reject) => {
    readline.createInterface({ input: child.stdout }).once('line', resolve);
    child.once('exit', (c) => reject(new Error(`sandbox exited ${c}`)));
  });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const info = JSON.parse(line) as { kubeconfig: string; adminUrl?: string };
  return {
    kubeconfig: info.kubeconfig,
    adminUrl: info.adminUrl,
    close: () => {
      child.stdin.end();
      return exited;
    },
  };
}
