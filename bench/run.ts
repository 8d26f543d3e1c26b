/**
 * `npm run bench [-- name ...]`: runs every benchmark in bench/ (or the named ones) one after
 * the other, each in its own process, streams their output, and prints the final JSON line of
 * each together at the end (also written to bench/results/latest.json).
 */
import { spawn } from 'node:child_process';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { cpus, loadavg, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const here = dirname(fileURLToPath(import.meta.url));
const all = (await readdir(here))
  .filter((f) => f.endsWith('.ts') && f !== 'run.ts')
  .map((f) => f.slice(0, -3))
  .sort();
const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const unknown = wanted.filter((w) => !all.includes(w));
if (unknown.length > 0) {
  process.stderr.write(`unknown benchmark(s): ${unknown.join(', ')} (have: ${all.join(', ')})\n`);
  process.exit(2);
}
const names = wanted.length > 0 ? wanted : all;
const results: Record<string, unknown> = {};
console.log(
  `machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}, load ${loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}`,
);
for (const name of names) {
  console.log(`\n=== bench/${name}.ts ===`);
  const started = Date.now();
  let last = '';
  const code = await new Promise<number>((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(here, `${name}.ts`)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    child.stdout.on('data', (d: Buffer) => {
      process.stdout.write(d);
      const lines = d.toString().trim().split('\n');
      for (const l of lines) if (l.startsWith('{')) last = l;
    });
    child.on('exit', (c) => resolve(c ?? 1));
  });
  try {
    results[name] = {
      ...(JSON.parse(last) as object),
      exitCode: code,
      seconds: Math.round((Date.now() - started) / 1000),
    };
  } catch {
    results[name] = { exitCode: code, seconds: Math.round((Date.now() - started) / 1000) };
  }
}
await mkdir(join(here, 'results'), { recursive: true });
await writeFile(
  join(here, 'results', 'latest.json'),
  `${JSON.stringify({ at: new Date().toISOString(), results }, null, 2)}\n`,
);
console.log('\n=== summary (bench/results/latest.json) ===');
console.log(JSON.stringify(results));
