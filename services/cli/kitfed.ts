#!/usr/bin/env node
import module from 'node:module';
import { takeDeferredExtraCa } from '../core/extra-ca.js';

// The installed binary may have set NODE_EXTRA_CA_CERTS aside (core/extra-ca.ts): back for child processes.
takeDeferredExtraCa();

// Node ≥ 22.1: V8's compile cache (in the OS temp dir; NODE_DISABLE_COMPILE_CACHE=1 turns it off) lets
// later runs skip parsing and compiling kitfed's chunks. It covers modules loaded after this call, so
// everything else is imported below it. Node 20 has no compile cache: the call is skipped.
(module as { enableCompileCache?: () => unknown }).enableCompileCache?.();
const [{ EXIT_FAILURE }, { main }] = await Promise.all([import('./lib/usage.js'), import('./main.js')]);

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
