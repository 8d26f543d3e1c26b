/** Reading input files: YAML with parse errors turned into problems, repo-relative names for messages. */
// Input files are small and few: synchronous reads avoid a thread-pool round trip per file,
// which dominates on a busy machine. The functions stay async for callers.
import { readFileSync, readdirSync, statSync, type Dirent } from 'node:fs';
import path from 'node:path';
import * as jsyaml from 'js-yaml';
import { CORE_SCHEMA, load, YAMLException, type Type } from 'js-yaml';
import type { Problems } from './problems.js';

/** A path as messages show it: relative to the repo when inside it, posix separators. */
export function displayPath(repo: string, abs: string): string {
  const rel = path.relative(repo, abs);
  const shown = rel === '' ? '.' : rel.startsWith('..') || path.isAbsolute(rel) ? abs : rel;
  return shown.split(path.sep).join('/');
}

export async function exists(abs: string): Promise<boolean> {
  try {
    statSync(abs);
    return true;
  } catch {
    return false;
  }
}

export async function isDir(abs: string): Promise<boolean> {
  try {
    return statSync(abs).isDirectory();
  } catch {
    return false;
  }
}

/** YAML 1.2 core types plus `<<` merge keys; no timestamps (dates stay strings, as templates expect). */
// js-yaml exports its built-in types at run time; @types/js-yaml does not declare them.
const builtins = (jsyaml as unknown as { types: { merge: Type } }).types;
export const YAML_SCHEMA = CORE_SCHEMA.extend({ implicit: [builtins.merge] });

/**
 * Parses YAML text (js-yaml, the parser kit used; duplicate keys are errors). Syntax errors become
 * problems (with line and column) and yield undefined; an empty file is `null`.
 */
export function parseYaml(text: string, file: string, problems: Problems): unknown {
  try {
    return load(text, { filename: file, schema: YAML_SCHEMA }) ?? null;
  } catch (err) {
    const why =
      err instanceof YAMLException
        ? `${err.reason} (line ${err.mark.line + 1}, column ${err.mark.column + 1})`
        : String(err);
    problems.add(file, '', `invalid YAML: ${why}`);
    return undefined;
  }
}

/** Reads and parses a YAML file; a missing file is a problem unless `optional`. */
export async function loadYaml(abs: string, file: string, problems: Problems, optional = false): Promise<unknown> {
  let text: string;
  try {
    text = readFileSync(abs, 'utf8');
  } catch (err) {
    if (!optional || (err as NodeJS.ErrnoException).code !== 'ENOENT')
      problems.add(file, '', `cannot read file (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
    return undefined;
  }
  return parseYaml(text, file, problems);
}

/** Entries of a directory, sorted by name so every run sees the same order; [] when missing. */
export async function listDir(abs: string): Promise<Dirent[]> {
  try {
    const entries = readdirSync(abs, { withFileTypes: true });
    return entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  } catch {
    return [];
  }
}
