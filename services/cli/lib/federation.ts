import { existsSync } from 'node:fs';
import YAML from 'yaml';
import { KubeClient } from '../../core/kube-client.js';
import type { KubeObject } from '../../core/kube.js';
import { UsageError } from '../main.js';

export interface FederationFlags {
  kubeconfig?: string;
  context?: string;
}

/** The kubeconfig to use: the flag, $KUBECONFIG, or the embedded default's `.kitfed/kubeconfig`. */
export function resolveKubeconfig(flag?: string): string {
  const file = flag ?? process.env.KUBECONFIG?.split(':')[0] ?? '.kitfed/kubeconfig';
  if (!existsSync(file))
    throw new UsageError(
      `kubeconfig ${file} not found (pass --kubeconfig, set KUBECONFIG, or run \`kitfed up\` first)`,
    );
  return file;
}

export async function federationClient(flags: FederationFlags): Promise<KubeClient> {
  return KubeClient.fromKubeconfig({ file: resolveKubeconfig(flags.kubeconfig) }, flags.context ?? 'federation', {
    timeoutMs: 10_000,
  });
}

/** A client for a joined member, from its credential Secret in kitfed-system. */
export async function memberClient(federation: KubeClient, cluster: KubeObject): Promise<KubeClient | undefined> {
  const spec = (cluster.spec ?? {}) as { secretRef?: { name?: string } };
  const name = spec.secretRef?.name;
  if (!name) return undefined;
  const secret = await federation.tryGet('v1', 'Secret', 'kitfed-system', name);
  const data = (secret?.data ?? {}) as Record<string, string>;
  if (!data.kubeconfig) return undefined;
  return KubeClient.fromKubeconfig({ text: Buffer.from(data.kubeconfig, 'base64').toString('utf8') }, undefined, {
    timeoutMs: 5000,
  });
}

export type OutputFormat = 'table' | 'json' | 'yaml' | 'name';

export function parseOutput(value: string | undefined): OutputFormat {
  const v = value ?? 'table';
  if (!['table', 'json', 'yaml', 'name'].includes(v))
    throw new UsageError(`-o must be one of table, json, yaml, name (got ${JSON.stringify(v)})`);
  return v as OutputFormat;
}

export function printData(data: unknown, format: 'json' | 'yaml'): void {
  process.stdout.write(format === 'json' ? `${JSON.stringify(data, null, 2)}\n` : YAML.stringify(data));
}

/** Fixed-width columns as kubectl prints them. */
export function printTable(headers: string[], rows: string[][]): void {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]! + 3)))
      .join('')
      .trimEnd();
  process.stdout.write(`${[line(headers), ...rows.map(line)].join('\n')}\n`);
}

export function age(timestamp: string | undefined, now = Date.now()): string {
  if (!timestamp) return '<unknown>';
  const s = Math.max(0, Math.floor((now - Date.parse(timestamp)) / 1000));
  if (s < 120) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 120) return `${m}m`;
  const h = Math.floor(m / 60);
  return h < 48 ? `${h}h` : `${Math.floor(h / 24)}d`;
}
