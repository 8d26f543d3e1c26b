/**
 * kit's env/config plugins. Only the file-config plugin exists in kitfed: it reads
 * `<configPath>/<container name>/<cluster name>-env.json` and its content is merged over the container.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { RepoLayout } from './config.js';
import { displayPath } from './files.js';
import { check, pluginResultSchema } from './schema.js';
import type { Problems } from './problems.js';

export interface ConfigPlugin {
  /** Returns what to merge over the container, or records problems and returns undefined. */
  fetch(containerName: string, clusterName: string, problems: Problems): Promise<Record<string, unknown> | undefined>;
}

export function createPlugin(layout: RepoLayout, problems: Problems): ConfigPlugin | undefined {
  if (!layout.plugin) return undefined;
  const confFile = layout.conf ? displayPath(layout.repo, layout.conf) : 'kit.yaml';
  const configPath = layout.plugin.options.configPath;
  if (typeof configPath !== 'string' || configPath === '') {
    problems.add(confFile, 'plugin.options.configPath', 'is required for the file-config plugin');
    return undefined;
  }
  const root = path.resolve(layout.repo, configPath);
  return {
    async fetch(containerName, clusterName, out) {
      const abs = path.join(root, containerName, `${clusterName}-env.json`);
      const file = displayPath(layout.repo, abs);
      let data: unknown;
      try {
        data = JSON.parse(await readFile(abs, 'utf8'));
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        out.add(file, '', code ? `cannot read plugin config (${code})` : `invalid JSON: ${(err as Error).message}`);
        return undefined;
      }
      return check(pluginResultSchema, data, file, out) ? (data as Record<string, unknown>) : undefined;
    },
  };
}
