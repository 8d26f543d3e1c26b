/**
 * Regenerates `descriptions.json`: the field descriptions of every Kubernetes API type that
 * `kubectl explain` shows, keyed by the @kubernetes/client-node model name the API server's
 * schemas use (`V1DeploymentSpec`), with each type's OpenAPI definition name
 * (`io.k8s.api.apps.v1.DeploymentSpec`).
 *
 * Source: the TypeScript declarations of the `kubernetes-models` package (a dependency; its
 * JSDoc carries the Kubernetes OpenAPI descriptions, also for fields typed by reference, which
 * client-node's declarations omit). Run after upgrading either package:
 *
 *     node --import tsx services/apiserver/openapi/generate-descriptions.ts
 */
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, sep } from 'node:path';
import * as models from '@kubernetes/client-node';

const require = createRequire(import.meta.url);
const kmRoot = dirname(require.resolve('kubernetes-models/package.json'));
const amRoot = dirname(require.resolve('@kubernetes-models/apimachinery/package.json'));

interface TypeDoc {
  /** OpenAPI definition name. */
  n: string;
  /** The type's description. */
  d?: string;
  /** Field descriptions. */
  p: Record<string, string>;
  /** Required fields. */
  r?: string[];
}

function walk(dir: string, out: string[] = []): string[] {
  for (const f of readdirSync(dir)) {
    const p = join(dir, f);
    if (f === 'node_modules' || f.startsWith('_')) continue;
    if (statSync(p).isDirectory()) walk(p, out);
    else if (f.endsWith('.d.ts') && f !== 'index.d.ts') out.push(p);
  }
  return out;
}

const SPECIAL_GROUPS: Record<string, string> = {
  'apiextensions.k8s.io': 'io.k8s.apiextensions-apiserver.pkg.apis.apiextensions',
  'apiregistration.k8s.io': 'io.k8s.kube-aggregator.pkg.apis.apiregistration',
};

/** OpenAPI definition name and client-node name prefixes of one declaration file. */
function identify(file: string): { def: string; group: string; version: string; kind: string } | undefined {
  if (file.startsWith(amRoot)) {
    const rel = relative(amRoot, file)
      .replace(/\.d\.ts$/, '')
      .split(sep);
    return {
      def: `io.k8s.apimachinery.pkg.${rel.join('.')}`,
      group: rel.at(-3) ?? '',
      version: rel.at(-2) ?? '',
      kind: rel.at(-1)!,
    };
  }
  const rel = relative(kmRoot, file)
    .replace(/\.d\.ts$/, '')
    .split(sep);
  if (rel.length === 2 && rel[0] === 'v1')
    return { def: `io.k8s.api.core.v1.${rel[1]}`, group: 'core', version: 'v1', kind: rel[1]! };
  if (rel.length !== 3) return undefined;
  const [group, version, kind] = rel as [string, string, string];
  const prefix = SPECIAL_GROUPS[group] ?? `io.k8s.api.${group.split('.')[0]!}`;
  return { def: `${prefix}.${version}.${kind}`, group: group.split('.')[0]!, version, kind };
}

const cap = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

function clientNodeName(id: { group: string; version: string; kind: string }): string | undefined {
  const has = (n: string) => typeof (models as unknown as Record<string, unknown>)[n] === 'function';
  const grouped = `${cap(id.group)}${cap(id.version)}${id.kind}`;
  const plain = `${cap(id.version)}${id.kind}`;
  if (has(grouped)) return grouped;
  return has(plain) ? plain : undefined;
}

function clean(jsdoc: string): string {
  return jsdoc
    .split('\n')
    .map((l) => l.replace(/^\s*\*\s?/, ''))
    .join('\n')
    .trim();
}

/** The interface's own description and its fields' descriptions. */
function parse(text: string): { d?: string; p: Record<string, string>; r?: string[] } {
  const m = /(?:\/\*\*((?:(?!\*\/)[\s\S])*)\*\/\s*)?export interface I\w+(?: extends [\w<>, ]+)? \{([\s\S]*?)\n\}/.exec(
    text,
  );
  if (!m) return { p: {} };
  const p: Record<string, string> = {};
  const field = /\/\*\*((?:(?!\*\/)[\s\S])*)\*\/\s*"([^"]+)"\??:/g;
  for (let f = field.exec(m[2]!); f; f = field.exec(m[2]!)) p[f[2]!] = clean(f[1]!);
  const r = [...m[2]!.matchAll(/^\s*"([^"]+)":/gm)].map((x) => x[1]!).filter((n) => n !== 'apiVersion' && n !== 'kind');
  return { ...(m[1] ? { d: clean(m[1]) } : {}), p, ...(r.length ? { r } : {}) };
}

const out: Record<string, TypeDoc> = {};
for (const file of [
  ...walk(kmRoot),
  ...walk(join(amRoot, 'apis')),
  ...walk(join(amRoot, 'api')),
  ...walk(join(amRoot, 'util')),
  ...walk(join(amRoot, 'runtime')),
]) {
  const id = identify(file);
  if (!id) continue;
  const name = clientNodeName(id);
  if (!name || out[name]) continue;
  const { d, p, r } = parse(readFileSync(file, 'utf8'));
  out[name] = { n: id.def, ...(d ? { d } : {}), p, ...(r ? { r } : {}) };
}
const sorted = Object.fromEntries(
  Object.keys(out)
    .sort()
    .map((k) => [k, out[k]]),
);
const target = new URL('descriptions.json', import.meta.url);
writeFileSync(target, `${JSON.stringify(sorted)}\n`);
console.log(`${Object.keys(sorted).length} types → ${target.pathname}`);
