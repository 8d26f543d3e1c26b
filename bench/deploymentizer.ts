/**
 * Deploymentizer benchmark (issue 7): a generated repo of 50 services × 20 clusters (1,000 manifests)
 * rendered by `render()`, against the same layout as a kustomize base + 20 overlays rendered with
 * `kubectl kustomize` (one process per overlay, sequential, as users run it). Same run, same machine.
 *
 *   node --import tsx bench/deploymentizer.ts
 *
 * Targets: render ≤ 1 s total, ≥ 20× faster than kustomize.
 */
import { execFile, execFileSync } from 'node:child_process';
import { mkdtemp, mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { render } from '../services/deploymentizer/index.js';

const SERVICES = 50;
const CLUSTERS = 20;
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const pad = (n: number): string => String(n).padStart(2, '0');
const svc = (i: number): string => `svc-${pad(i)}`;
const cluster = (j: number): string => `c-${pad(j)}`;
const region = (j: number): string => ['us-east1', 'europe-west1', 'asia-east1', 'us-west1'][j % 4]!;
const type = (j: number): string => (j % 2 === 0 ? 'production' : 'staging');
const branch = (j: number): string => (j % 2 === 0 ? 'master' : 'develop');
const replicas = (j: number): number => 2 + (j % 5);
const image = (i: number, b: string): string =>
  `registry.example.com/bench/${svc(i)}:${b}-${(1000003 * (i + 1)).toString(16).slice(0, 7)}`;

async function put(file: string, text: string): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, text);
}

const TEMPLATE = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{{name}}}
  labels:
    app: {{{name}}}
    region: {{{region}}}
spec:
  replicas: {{deployment.replicaCount}}
  selector:
    matchLabels:
      app: {{{name}}}
  template:
    metadata:
      labels:
        app: {{{name}}}
    spec:
      containers:
        - name: app
          image: {{{app.image}}}
          ports:
            - containerPort: 8080
          readinessProbe:
            httpGet:
              path: /healthz
              port: 8080
          resources:
            requests:
              cpu: 100m
              memory: 128Mi
          env:
{{#app.env}}
            - name: {{{name}}}
              value: "{{{value}}}"
{{/app.env}}
`;

/** kit layout (kitfed defaults: templates/ + clusters/). */
async function kitRepo(dir: string): Promise<void> {
  const resources = Array.from(
    { length: SERVICES },
    (_, i) =>
      `  ${svc(i)}:\n    file: ./${svc(i)}/${svc(i)}-deployment.mustache\n    containers:\n      ` +
      `app:\n        image_tag: bench/${svc(i)}\n        env: [{name: LOG_LEVEL, value: info}, ` +
      `{name: SERVICE, value: ${svc(i)}}]\n`,
  ).join('');
  await put(
    path.join(dir, 'templates/base-cluster.yaml'),
    `kind: ClusterNamespace\nmetadata: {name: base, branch: master}\nresources:\n${resources}`,
  );
  await put(path.join(dir, 'templates/base-var.yaml'), 'kind: ResourceConfig\ndeployment: {replicaCount: 1}\n');
  for (const t of ['production', 'staging'])
    await put(path.join(dir, `templates/type/${t}-var.yaml`), `kind: ResourceConfig\nmetadata: {type: ${t}}\n`);
  for (let i = 0; i < SERVICES; i++) {
    await put(path.join(dir, `templates/resources/${svc(i)}/${svc(i)}-deployment.mustache`), TEMPLATE);
    for (const b of ['master', 'develop'])
      await put(path.join(dir, `templates/images/bench/${svc(i)}/${b}.yaml`), `image: ${image(i, b)}\n`);
  }
  for (let j = 0; j < CLUSTERS; j++) {
    const envOverride = Array.from(
      { length: SERVICES },
      (_, i) => `  ${svc(i)}: {containers: {app: {env: [{name: REGION, value: ${region(j)}}]}}}\n`,
    ).join('');
    await put(
      path.join(dir, `clusters/${cluster(j)}/cluster.yaml`),
      `kind: ClusterNamespace\nmetadata: {name: ${cluster(j)}, type: ${type(j)}, branch: ${branch(j)}}\nresources:\n${envOverride}`,
    );
    await put(
      path.join(dir, `clusters/${cluster(j)}/configuration-var.yaml`),
      `kind: ResourceConfig\nregion: ${region(j)}\ndeployment: {replicaCount: ${replicas(j)}}\n`,
    );
  }
}

/** The same manifests as a kustomize base + one overlay per cluster. */
async function kustomizeRepo(dir: string): Promise<void> {
  for (let i = 0; i < SERVICES; i++) {
    const text = TEMPLATE.replaceAll('{{{name}}}', svc(i))
      .replace('{{{region}}}', 'base')
      .replace('{{deployment.replicaCount}}', '1')
      .replace('{{{app.image}}}', `registry.example.com/bench/${svc(i)}:base`)
      .replace(
        /\{\{#app\.env\}\}[\s\S]*\{\{\/app\.env\}\}\n/,
        `            - name: LOG_LEVEL\n              value: "info"\n            - name: SERVICE\n              value: "${svc(i)}"\n`,
      );
    await put(path.join(dir, `base/${svc(i)}.yaml`), text);
  }
  await put(
    path.join(dir, 'base/kustomization.yaml'),
    `resources:\n${Array.from({ length: SERVICES }, (_, i) => `  - ${svc(i)}.yaml\n`).join('')}`,
  );
  for (let j = 0; j < CLUSTERS; j++) {
    const b = branch(j);
    const images = Array.from(
      { length: SERVICES },
      (_, i) => `  - name: registry.example.com/bench/${svc(i)}\n    newTag: ${image(i, b).split(':')[1]}\n`,
    ).join('');
    const reps = Array.from({ length: SERVICES }, (_, i) => `  - name: ${svc(i)}\n    count: ${replicas(j)}\n`).join(
      '',
    );
    await put(
      path.join(dir, `overlays/${cluster(j)}/kustomization.yaml`),
      `resources:
  - ../../base
images:
${images}replicas:
${reps}labels:
  - pairs: {region: ${region(j)}}
patches:
  - target: {kind: Deployment}
    patch: |-
      - op: add
        path: /spec/template/spec/containers/0/env/-
        value: {name: REGION, value: ${region(j)}}
`,
    );
  }
}

async function isDir(p: string): Promise<boolean> {
  return stat(p).then(
    (s) => s.isDirectory(),
    () => false,
  );
}

/** CPU time (user+sys, ms) of this process, and of its waited-for children, from /proc (Linux). */
async function cpuTimes(): Promise<{ self: number; children: number } | undefined> {
  try {
    const stat = (await readFile('/proc/self/stat', 'utf8')).split(') ')[1]!.split(' ');
    const tick = 1000 / 100; // USER_HZ is 100 on Linux
    // fields after "(comm) ": index 11 utime, 12 stime, 13 cutime, 14 cstime
    return {
      self: (Number(stat[11]) + Number(stat[12])) * tick,
      children: (Number(stat[13]) + Number(stat[14])) * tick,
    };
  } catch {
    return undefined;
  }
}

function ms(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e6;
}

async function countFiles(dir: string): Promise<number> {
  let n = 0;
  for (const c of await readdir(dir, { withFileTypes: true }))
    if (c.isDirectory()) n += (await readdir(path.join(dir, c.name))).filter((f) => f.endsWith('.yaml')).length;
  return n;
}

async function main(): Promise<void> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'kitfed-bench-dz-'));
  try {
    await kitRepo(path.join(dir, 'kit'));
    await kustomizeRepo(path.join(dir, 'kustomize'));

    const cpu0 = await cpuTimes();
    let t0 = process.hrtime.bigint();
    const first = await render({ repo: path.join(dir, 'kit'), out: path.join(dir, 'out-kit') });
    const renderCold = ms(t0);
    const cpu1 = await cpuTimes();
    const phases = first.timings;
    const manifests = await countFiles(path.join(dir, 'out-kit'));
    const warm: number[] = [];
    for (let k = 0; k < 5; k++) {
      t0 = process.hrtime.bigint();
      await render({ repo: path.join(dir, 'kit'), out: path.join(dir, 'out-kit') });
      warm.push(ms(t0));
    }
    warm.sort((a, b) => a - b);
    const renderWarm = warm[2]!;

    // The same render with the output on a memory-backed filesystem, to show what the disk costs.
    let tmpfs: number | undefined;
    if (await isDir('/dev/shm')) {
      const shm = await mkdtemp('/dev/shm/kitfed-bench-dz-');
      try {
        t0 = process.hrtime.bigint();
        await render({ repo: path.join(dir, 'kit'), out: path.join(shm, 'out') });
        tmpfs = ms(t0);
      } finally {
        await rm(shm, { recursive: true, force: true });
      }
    }

    t0 = process.hrtime.bigint();
    await promisify(execFile)(
      process.execPath,
      [
        '--import',
        'tsx',
        path.join(ROOT, 'services/cli/kitfed.ts'),
        'render',
        '--repo',
        path.join(dir, 'kit'),
        '--out',
        path.join(dir, 'out-cli'),
      ],
      { cwd: ROOT, env: { ...process.env, KITFED_LOG_LEVEL: 'warn' } },
    );
    const cli = ms(t0);

    await mkdir(path.join(dir, 'out-kustomize'));
    const cpu2 = await cpuTimes();
    t0 = process.hrtime.bigint();
    let kustomizeDocs = 0;
    for (let j = 0; j < CLUSTERS; j++) {
      const yaml = execFileSync('kubectl', ['kustomize', path.join(dir, 'kustomize/overlays', cluster(j))], {
        encoding: 'utf8',
        maxBuffer: 64 << 20,
      });
      kustomizeDocs += yaml.split(/^---$/m).length;
      await writeFile(path.join(dir, 'out-kustomize', `${cluster(j)}.yaml`), yaml);
    }
    const kustomize = ms(t0);
    const cpu3 = await cpuTimes();
    const renderCpu = cpu0 && cpu1 ? cpu1.self - cpu0.self : undefined;
    const kustomizeCpu = cpu2 && cpu3 ? cpu3.children - cpu2.children : undefined;
    const cpuRatio = renderCpu && kustomizeCpu ? kustomizeCpu / renderCpu : undefined;

    const ratio = kustomize / renderCold;
    const lines = [
      `machine: ${os.cpus()[0]?.model ?? 'unknown'} × ${os.cpus().length}, node ${process.version}, ${os.platform()}`,
      `input: ${SERVICES} services × ${CLUSTERS} clusters; render wrote ${manifests} manifests in ` +
        `${first.clusters.length} cluster folders; kustomize emitted ${kustomizeDocs} objects`,
      `render() first run (cold, in process):  ${renderCold.toFixed(0)} ms   target ≤ 1000 ms: ${renderCold <= 1000 ? 'met' : 'MISSED'}`,
      `  phases of that run: load+validate inputs ${phases.loadMs.toFixed(0)} ms, render+check in ` +
        `memory ${phases.renderMs.toFixed(0)} ms, write ${phases.writeMs.toFixed(0)} ms`,
      `render() median of 5 warm runs:         ${renderWarm.toFixed(0)} ms`,
      `render() warm, output on tmpfs (/dev/shm): ${tmpfs === undefined ? 'n/a' : `${tmpfs.toFixed(0)} ms`}`,
      `kitfed render CLI process (with node+tsx startup): ${cli.toFixed(0)} ms`,
      `kubectl kustomize, 20 overlays, sequential processes: ${kustomize.toFixed(0)} ms`,
      `ratio kustomize / render (cold): ${ratio.toFixed(1)}×   target ≥ 20×: ${ratio >= 20 ? 'met' : 'MISSED'}`,
      `CPU time (user+sys; less sensitive to other load): render cold ${renderCpu ?? 'n/a'} ms, ` +
        `kustomize ${kustomizeCpu ?? 'n/a'} ms, ratio ${cpuRatio ? `${cpuRatio.toFixed(1)}×` : 'n/a'}`,
      `load average at the end: ${os
        .loadavg()
        .map((l) => l.toFixed(1))
        .join(' ')} on ${os.cpus().length} cores (other engineers' runs share this machine)`,
      `ratio kustomize / render (warm): ${(kustomize / renderWarm).toFixed(1)}×; kustomize / CLI process: ${(kustomize / cli).toFixed(1)}×`,
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
    process.stdout.write(
      `${JSON.stringify({
        bench: 'deploymentizer',
        services: SERVICES,
        clusters: CLUSTERS,
        manifests,
        renderColdMs: Math.round(renderCold),
        renderWarmMs: Math.round(renderWarm),
        renderTmpfsMs: tmpfs === undefined ? null : Math.round(tmpfs),
        coldPhasesMs: {
          load: Math.round(phases.loadMs),
          render: Math.round(phases.renderMs),
          write: Math.round(phases.writeMs),
        },
        cliMs: Math.round(cli),
        kustomizeMs: Math.round(kustomize),
        renderCpuMs: renderCpu ?? null,
        kustomizeCpuMs: kustomizeCpu ?? null,
        ratioCpu: cpuRatio ? Number(cpuRatio.toFixed(1)) : null,
        loadAvg1m: Number(os.loadavg()[0]!.toFixed(1)),
        ratioCold: Number(ratio.toFixed(1)),
        ratioWarm: Number((kustomize / renderWarm).toFixed(1)),
        targets: { renderMs: 1000, ratio: 20 },
        met: renderCold <= 1000 && ratio >= 20,
      })}\n`,
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
