import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type * as Tls from 'node:tls';

/**
 * NODE_EXTRA_CA_CERTS, loaded when a connection needs it rather than when the process starts.
 *
 * Node 20 builds its whole root store (its ~140 bundled roots, then the file) before running any
 * JavaScript whenever NODE_EXTRA_CA_CERTS is set: 40 ms with a one-certificate file, 70–90 ms with a
 * system bundle (/etc/ssl/certs/ca-certificates.crt, which many machines set), twice what `kitfed
 * --help` costs on top of Node. Node 22 loads it lazily. The installed `kitfed` binary (scripts/build.ts
 * writes its first lines) therefore starts the commands whose every TLS connection goes through
 * `KubeClient` with the variable renamed to KITFED_EXTRA_CA_CERTS; `takeDeferredExtraCa()`, the
 * first thing the CLI runs, puts it back for child processes, and `KubeClient` trusts the same
 * certificates Node would have (`defaultCa()`: Node's bundled roots plus the file) on every
 * connection that names no CA of its own. Nothing else changes: a kubeconfig's own CA replaces the
 * default store either way, and a file that cannot be read is ignored with Node's warning.
 */

// node:tls is loaded only when a connection needs the list: the CLI imports this module before anything else.
const builtin = createRequire(import.meta.url);

let deferred: string | undefined;
let loaded: string[] | undefined;

/** Called once at CLI start-up: takes the deferred file name and restores NODE_EXTRA_CA_CERTS for child processes. */
export function takeDeferredExtraCa(env: NodeJS.ProcessEnv = process.env): void {
  const file = env.KITFED_EXTRA_CA_CERTS;
  if (file === undefined) return;
  delete env.KITFED_EXTRA_CA_CERTS;
  if (file === '') return;
  env.NODE_EXTRA_CA_CERTS = file;
  deferred = file;
}

/**
 * The CA certificates a connection without its own CA trusts, when that differs from the process's
 * default store (NODE_EXTRA_CA_CERTS was deferred); undefined when Node's default applies.
 */
export function defaultCa(): string[] | undefined {
  if (deferred === undefined) return undefined;
  if (loaded) return loaded;
  try {
    const tls = builtin('node:tls') as typeof Tls;
    loaded = [...tls.rootCertificates, readFileSync(deferred, 'latin1')];
  } catch (err) {
    // Node's own words and behaviour for an unreadable file: a warning, then the bundled roots alone.
    process.emitWarning(
      `Ignoring extra certs from \`${deferred}\`, load failed: ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
    );
    deferred = undefined;
    return undefined;
  }
  return loaded;
}
