import { createCipheriv, createDecipheriv, randomBytes, type CipherGCM, type DecipherGCM } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { parse } from 'yaml';
import {
  StoreError,
  type KeyValue,
  type ListOptions,
  type ListResult,
  type Store,
  type StoreEvent,
  type WatchOptions,
} from './types.js';

/**
 * Encryption at rest, configured the way kube-apiserver's `--encryption-provider-config` is:
 *
 *   apiVersion: apiserver.config.k8s.io/v1
 *   kind: EncryptionConfiguration
 *   resources:
 *     - resources: [secrets]
 *       providers:
 *         - aesgcm:
 *             keys:
 *               - name: key2            # the first key of the first provider encrypts
 *                 secret: <base64 of 32 random bytes>
 *               - name: key1            # every listed key decrypts (rotation)
 *                 secret: <base64>
 *         - identity: {}                # optional: values written before encryption stay readable
 *
 * Stored values read `k8s:enc:aesgcm:v1:<keyname>:<base64(nonce | ciphertext | tag)>`; the
 * storage key is the GCM additional data, so a value moved to another key does not decrypt.
 * Key material and plaintext never appear in errors or logs.
 */

export interface AesGcmKey {
  name: string;
  /** 16, 24 or 32 bytes (AES-128/192/256-GCM). */
  secret: Buffer;
}

export type EncryptionProvider = { kind: 'aesgcm'; keys: AesGcmKey[] } | { kind: 'identity' };

export interface EncryptionRule {
  /** Store key prefixes this rule covers, e.g. `/registry/secrets/`. */
  prefixes: string[];
  /** In order: the first one writes, all of them read. */
  providers: EncryptionProvider[];
}

const PREFIX = 'k8s:enc:aesgcm:v1:';

export class EncryptionConfigError extends Error {
  override readonly name = 'EncryptionConfigError';
}

/** Maps a kube resource name (`secrets`, `widgets.example.com`) to its store key prefix. */
export function resourcePrefix(resource: string): string {
  const dot = resource.indexOf('.');
  return dot < 0 ? `/registry/${resource}/` : `/registry/${resource.slice(dot + 1)}/${resource.slice(0, dot)}/`;
}

/** Parses an EncryptionConfiguration document (YAML or JSON text). */
export function parseEncryptionConfig(text: string): EncryptionRule[] {
  const doc = parse(text) as unknown;
  if (!isObject(doc) || doc.kind !== 'EncryptionConfiguration')
    throw new EncryptionConfigError('not an EncryptionConfiguration (kind must be EncryptionConfiguration)');
  if (!Array.isArray(doc.resources))
    throw new EncryptionConfigError('EncryptionConfiguration.resources must be a list');
  return doc.resources.map((entry: unknown, i: number) => {
    if (
      !isObject(entry) ||
      !Array.isArray(entry.resources) ||
      !Array.isArray(entry.providers) ||
      entry.providers.length === 0
    ) {
      throw new EncryptionConfigError(`resources[${i}] needs a list of resources and a non-empty list of providers`);
    }
    return {
      prefixes: entry.resources.map((r: unknown) => resourcePrefix(String(r))),
      providers: entry.providers.map((p: unknown, j: number) => parseProvider(p, `resources[${i}].providers[${j}]`)),
    };
  });
}

function parseProvider(p: unknown, where: string): EncryptionProvider {
  if (isObject(p) && 'identity' in p) return { kind: 'identity' };
  const aesgcm = isObject(p) ? p.aesgcm : undefined;
  const list = isObject(aesgcm) ? aesgcm.keys : undefined;
  if (!Array.isArray(list) || list.length === 0) {
    throw new EncryptionConfigError(
      `${where}: only the aesgcm (with a non-empty keys list) and identity providers are supported`,
    );
  }
  const keys = list.map((k: unknown, i: number) => {
    if (!isObject(k) || typeof k.name !== 'string' || !k.name || typeof k.secret !== 'string') {
      throw new EncryptionConfigError(`${where}.aesgcm.keys[${i}] needs a name and a base64 secret`);
    }
    const secret = Buffer.from(k.secret, 'base64');
    if (![16, 24, 32].includes(secret.length)) {
      throw new EncryptionConfigError(
        `${where}.aesgcm.keys[${i}] (${k.name}): the secret must be 16, 24 or 32 bytes once base64-decoded`,
      );
    }
    return { name: k.name, secret };
  });
  return { kind: 'aesgcm', keys };
}

/** Reads an EncryptionConfiguration file. */
export async function loadEncryptionConfig(path: string): Promise<EncryptionRule[]> {
  return parseEncryptionConfig(await readFile(path, 'utf8'));
}

/** A Store that encrypts values under the configured prefixes and decrypts them on the way out. */
export class EncryptedStore implements Store {
  readonly backend: string;

  constructor(
    private readonly inner: Store,
    private readonly rules: EncryptionRule[],
  ) {
    this.backend = inner.backend;
  }

  async get(key: string): Promise<KeyValue | undefined> {
    const kv = await this.inner.get(key);
    return kv && this.open(kv);
  }

  async list(prefix: string, options?: ListOptions): Promise<ListResult> {
    const result = await this.inner.list(prefix, options);
    return { ...result, items: result.items.map((kv) => this.open(kv)) };
  }

  create(key: string, value: string): Promise<number> {
    return this.guard(() => this.inner.create(key, this.seal(key, value)));
  }

  update(key: string, value: string, expectedModRevision?: number): Promise<number> {
    return this.guard(() => this.inner.update(key, this.seal(key, value), expectedModRevision));
  }

  async delete(key: string, expectedModRevision?: number): Promise<{ revision: number; prev: KeyValue }> {
    const result = await this.guard(() => this.inner.delete(key, expectedModRevision));
    return { revision: result.revision, prev: this.open(result.prev) };
  }

  revision(): Promise<number> {
    return this.inner.revision();
  }

  compactedRevision(): Promise<number> {
    return this.inner.compactedRevision();
  }

  async watch(prefix: string, options: WatchOptions): Promise<() => void> {
    let ended = false;
    let stopInner: (() => void) | undefined;
    const end = () => {
      ended = true;
      stopInner?.();
    };
    stopInner = await this.inner.watch(prefix, {
      sinceRevision: options.sinceRevision,
      withoutPrevious: options.withoutPrevious,
      onProgress: (rev) => {
        if (!ended) options.onProgress?.(rev);
      },
      onError: (err) => {
        if (!ended) options.onError(err);
        end();
      },
      onEvent: (event) => {
        if (ended) return;
        let opened: StoreEvent;
        try {
          // A DELETED event of a watch `withoutPrevious` may come without its value.
          opened = { ...event, value: event.value === '' ? '' : this.decrypt(event.key, event.value) };
          if (event.prevValue !== undefined) opened.prevValue = this.decrypt(event.key, event.prevValue);
        } catch (err) {
          // An undecryptable value ends the watch: the caller must not miss an event silently.
          end();
          options.onError(err as StoreError);
          return;
        }
        options.onEvent(opened);
      },
    });
    if (ended) stopInner();
    return end;
  }

  compact(revision: number): Promise<void> {
    return this.inner.compact(revision);
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  /**
   * Rewrites every value under `prefix` with the current write key (after a rotation, so the
   * old key can be dropped). Values changed concurrently are skipped: their writer re-sealed them.
   */
  async rewrite(prefix: string): Promise<number> {
    let rewritten = 0;
    let startAfter: string | undefined;
    for (;;) {
      const page = await this.inner.list(prefix, { limit: 500, startAfter });
      for (const kv of page.items) {
        if (this.current(kv.key, kv.value)) continue;
        try {
          await this.inner.update(kv.key, this.seal(kv.key, this.decrypt(kv.key, kv.value)), kv.modRevision);
          rewritten++;
        } catch (err) {
          if (!(err instanceof StoreError && (err.code === 'Conflict' || err.code === 'NotFound'))) throw err;
        }
      }
      if (!page.more || page.items.length === 0) return rewritten;
      startAfter = page.items[page.items.length - 1]!.key;
    }
  }

  private rule(key: string): EncryptionRule | undefined {
    return this.rules.find((r) => r.prefixes.some((p) => key.startsWith(p)));
  }

  /** True when a stored value is already in the form the current write provider produces. */
  private current(key: string, stored: string): boolean {
    const writer = this.rule(key)?.providers[0];
    if (!writer || writer.kind === 'identity') return !stored.startsWith(PREFIX);
    return stored.startsWith(`${PREFIX}${writer.keys[0]!.name}:`);
  }

  /** Encrypts `value` for storage under `key` with the first provider of its rule. */
  seal(key: string, value: string): string {
    const writer = this.rule(key)?.providers[0];
    if (!writer || writer.kind === 'identity') return value;
    const { name, secret } = writer.keys[0]!;
    const nonce = randomBytes(12);
    const cipher = createCipheriv(`aes-${secret.length * 8}-gcm`, secret, nonce) as CipherGCM;
    cipher.setAAD(Buffer.from(key));
    const body = Buffer.concat([nonce, cipher.update(value, 'utf8'), cipher.final(), cipher.getAuthTag()]);
    return `${PREFIX}${name}:${body.toString('base64')}`;
  }

  /** Decrypts a stored value; throws `StoreError('Internal')` naming the key (never the data) when it cannot. */
  decrypt(key: string, stored: string): string {
    const rule = this.rule(key);
    if (!rule) return stored;
    if (!stored.startsWith(PREFIX)) {
      if (rule.providers.some((p) => p.kind === 'identity')) return stored;
      throw new StoreError('Internal', `value of ${key} is not encrypted and no identity provider is configured`);
    }
    const sep = stored.indexOf(':', PREFIX.length);
    const name = stored.slice(PREFIX.length, sep);
    const aes = rule.providers.flatMap((p) => (p.kind === 'aesgcm' ? p.keys : [])).find((k) => k.name === name);
    if (sep < 0 || !aes)
      throw new StoreError('Internal', `value of ${key} is encrypted with key "${name}", which is not configured`);
    try {
      const body = Buffer.from(stored.slice(sep + 1), 'base64');
      const decipher = createDecipheriv(
        `aes-${aes.secret.length * 8}-gcm`,
        aes.secret,
        body.subarray(0, 12),
      ) as DecipherGCM;
      decipher.setAAD(Buffer.from(key));
      decipher.setAuthTag(body.subarray(body.length - 16));
      return Buffer.concat([decipher.update(body.subarray(12, body.length - 16)), decipher.final()]).toString('utf8');
    } catch {
      throw new StoreError(
        'Internal',
        `value of ${key} failed to decrypt with key "${name}" (wrong key or tampered data)`,
      );
    }
  }

  private open(kv: KeyValue): KeyValue {
    return { ...kv, value: this.decrypt(kv.key, kv.value) };
  }

  /** Errors carrying the current value (KeyExists, Conflict) get it decrypted. */
  private async guard<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof StoreError && err.current) {
        throw new StoreError(err.code, err.message, this.open(err.current), { cause: err.cause });
      }
      throw err;
    }
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
