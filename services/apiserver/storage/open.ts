import { readFile } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import { EncryptedStore, loadEncryptionConfig, type EncryptionRule } from './encryption.js';
import { EtcdStore, type EtcdStoreOptions } from './etcd.js';
import { MemoryStore, type MemoryStoreOptions } from './memory.js';
import { SqliteStore, type SqliteStoreOptions } from './sqlite.js';
import { StoreError, type Store } from './types.js';

export interface OpenStoreOptions {
  /** Directory relative SQLite paths resolve against. @default process.cwd() */
  baseDir?: string;
  memory?: MemoryStoreOptions;
  sqlite?: SqliteStoreOptions;
  etcd?: EtcdStoreOptions;
  /** An EncryptionConfiguration file (kube's format); values under its resources are encrypted at rest. */
  encryptionConfigFile?: string;
  /** Encryption rules given directly (instead of, or besides, the file). */
  encryption?: EncryptionRule[];
  /** For `etcds://`: PEM files of the CA that signed etcd's certificate and of our client certificate (kube's --etcd-cafile/--etcd-certfile/--etcd-keyfile). */
  etcdTls?: { caFile: string; certFile?: string; keyFile?: string };
}

export type StoreLocation =
  | { backend: 'memory' }
  | { backend: 'sqlite'; path: string }
  | { backend: 'etcd'; endpoints: string[]; keyPrefix?: string; tls?: boolean };

/**
 * Parses a storage URL:
 * - `memory://`
 * - `sqlite:///abs/path.db`, `sqlite://relative.db` (against `baseDir`), or a bare file path
 * - `etcd://host:port[,host:port...][/key-prefix]`, or `etcds://...` for TLS
 */
export function parseStoreUrl(url: string, baseDir = process.cwd()): StoreLocation {
  const match = /^([a-z0-9+]+):\/\/(.*)$/i.exec(url);
  if (!match) {
    if (!url) throw new StoreError('Internal', 'empty storage URL');
    return { backend: 'sqlite', path: resolve(baseDir, url) };
  }
  const scheme = match[1]!.toLowerCase();
  const rest = match[2]!;
  switch (scheme) {
    case 'memory':
      return { backend: 'memory' };
    case 'sqlite': {
      if (!rest) throw new StoreError('Internal', 'sqlite:// URL needs a file path');
      return { backend: 'sqlite', path: isAbsolute(rest) ? rest : resolve(baseDir, rest) };
    }
    case 'etcd':
    case 'etcds': {
      const slash = rest.indexOf('/');
      const hosts = slash < 0 ? rest : rest.slice(0, slash);
      const endpoints = hosts
        .split(',')
        .map((h) => h.trim())
        .filter(Boolean);
      if (endpoints.length === 0 || endpoints.some((e) => !/^[^:/]+:\d+$/.test(e))) {
        throw new StoreError('Internal', `etcd URL needs host:port endpoints, got "${hosts}"`);
      }
      const location: StoreLocation = { backend: 'etcd', endpoints };
      if (scheme === 'etcds') location.tls = true;
      if (slash >= 0 && rest.length > slash + 1) location.keyPrefix = rest.slice(slash).replace(/\/$/, '');
      return location;
    }
    default:
      throw new StoreError(
        'Internal',
        `unknown storage scheme "${scheme}" (use memory://, sqlite://, etcd://, etcds://)`,
      );
  }
}

/**
 * Opens the store a URL names (see `parseStoreUrl`), wrapped for encryption at rest when
 * configured. An etcd store is probed once, so an unreachable etcd fails here with
 * `StoreError('Unavailable')` rather than on the first request.
 */
export async function openStore(url: string, options: OpenStoreOptions = {}): Promise<Store> {
  const location = parseStoreUrl(url, options.baseDir);
  const rules = [
    ...(options.encryption ?? []),
    ...(options.encryptionConfigFile ? await loadEncryptionConfig(options.encryptionConfigFile) : []),
  ];
  const store = await openLocation(location, options);
  return rules.length > 0 ? new EncryptedStore(store, rules) : store;
}

async function openLocation(location: StoreLocation, options: OpenStoreOptions): Promise<Store> {
  switch (location.backend) {
    case 'memory':
      return new MemoryStore(options.memory);
    case 'sqlite':
      return new SqliteStore(location.path, options.sqlite);
    case 'etcd': {
      const etcdOptions: EtcdStoreOptions = { ...options.etcd };
      if (location.keyPrefix) etcdOptions.keyPrefix = location.keyPrefix;
      if (location.tls) {
        const files = options.etcdTls;
        if (!files)
          throw new StoreError(
            'Internal',
            'etcds:// needs the etcd CA file (and a client certificate and key when etcd requires them)',
          );
        etcdOptions.tls = { ca: await readFile(files.caFile) };
        if (files.certFile && files.keyFile)
          Object.assign(etcdOptions.tls, { cert: await readFile(files.certFile), key: await readFile(files.keyFile) });
      }
      const store = new EtcdStore(location.endpoints, etcdOptions);
      try {
        await store.revision();
      } catch (err) {
        await store.close();
        throw err;
      }
      return store;
    }
  }
}
