#!/usr/bin/env node
import { EXIT_FAILURE } from './lib/usage.js';
import { main } from './main.js';

// `kitfed get … | head`: the reader went away; stop quietly instead of crashing with EPIPE.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw err;
});

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`error: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = EXIT_FAILURE;
  },
);
