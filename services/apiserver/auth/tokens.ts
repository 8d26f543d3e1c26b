import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPair,
  randomUUID,
  sign,
  verify,
  type KeyObject,
} from 'node:crypto';
import { chmod, mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createLogger } from '../../core/log.js';

/**
 * ServiceAccount tokens: JWTs signed RS256 with the API server's signing key (kube's bound
 * service account tokens: issuer, audiences, expiry, the ServiceAccount's name and uid), and
 * their verification against every accepted public key (the signing key's and, during a
 * rotation, the previous ones). Node's crypto does the signing; the JWT framing is small enough
 * to write here (header.payload.signature, base64url JSON).
 */

const log = createLogger('apiserver-tokens');
const generateKeyPairAsync = promisify(generateKeyPair);

/** kube's default issuer (and API audience) of a cluster's tokens. */
export const DEFAULT_ISSUER = 'https://kubernetes.default.svc.cluster.local';

export interface ServiceAccountKeys {
  signingKey: KeyObject;
  signingKid: string;
  /** kid → public key: the signing key's and every other accepted one. */
  verifyKeys: Map<string, KeyObject>;
}

export interface TokenClaims {
  iss: string;
  sub: string;
  aud: string[];
  exp: number;
  iat: number;
  nbf: number;
  jti: string;
  'kubernetes.io': {
    namespace: string;
    serviceaccount: { name: string; uid: string };
    secret?: { name: string; uid: string };
  };
}

/** kube's key id: base64url(SHA-256(DER of the public key)). */
export function keyId(publicKey: KeyObject): string {
  return createHash('sha256')
    .update(publicKey.export({ type: 'spki', format: 'der' }))
    .digest('base64url');
}

function keysOf(signingKey: KeyObject, extra: KeyObject[]): ServiceAccountKeys {
  const verifyKeys = new Map<string, KeyObject>();
  const own = createPublicKey(signingKey);
  for (const k of [own, ...extra]) verifyKeys.set(keyId(k), k);
  return { signingKey, signingKid: keyId(own), verifyKeys };
}

/** A fresh in-memory RSA 2048 key (servers without a data dir: sandboxes, tests). */
export async function generateServiceAccountKeys(): Promise<ServiceAccountKeys> {
  const { privateKey } = await generateKeyPairAsync('rsa', { modulusLength: 2048 });
  return keysOf(privateKey, []);
}

/**
 * The signing key `<pkiDir>/sa.key` (generated 0600 on first start, with `sa.pub`) and, for
 * verification, its public key plus every `<pkiDir>/sa.*.pub` (keys being rotated out) and
 * `extraPublicKeyFiles`.
 */
export async function loadServiceAccountKeys(
  pkiDir: string,
  options: { signingKeyFile?: string; extraPublicKeyFiles?: readonly string[] } = {},
): Promise<ServiceAccountKeys> {
  const keyFile = options.signingKeyFile ?? join(pkiDir, 'sa.key');
  let pem: string;
  try {
    pem = await readFile(keyFile, 'utf8');
    await chmod(keyFile, 0o600).catch(() => undefined);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || options.signingKeyFile) throw err;
    const { privateKey, publicKey } = await generateKeyPairAsync('rsa', { modulusLength: 2048 });
    await mkdir(pkiDir, { recursive: true, mode: 0o700 });
    pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    await writeFile(keyFile, pem, { mode: 0o600 });
    await writeFile(join(pkiDir, 'sa.pub'), publicKey.export({ type: 'spki', format: 'pem' }).toString(), {
      mode: 0o644,
    });
    log.info({ file: keyFile }, 'generated the ServiceAccount token signing key');
  }
  let signingKey: KeyObject;
  try {
    signingKey = createPrivateKey(pem);
  } catch (err) {
    throw new Error(`${keyFile}: not a PEM private key (${(err as Error).message})`);
  }
  const files = [...(options.extraPublicKeyFiles ?? [])];
  try {
    for (const f of (await readdir(pkiDir)).sort())
      if (/^sa\..+\.pub$/.test(f) && f !== 'sa.pub') files.push(join(pkiDir, f));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const extra: KeyObject[] = [];
  for (const f of files) {
    try {
      extra.push(createPublicKey(await readFile(f, 'utf8')));
    } catch (err) {
      throw new Error(`${f}: not a PEM public key (${(err as Error).message})`);
    }
  }
  if (extra.length > 0) log.info({ files }, 'accepting ServiceAccount tokens signed by previous keys too');
  return keysOf(signingKey, extra);
}

function b64json(v: unknown): string {
  return Buffer.from(JSON.stringify(v)).toString('base64url');
}

/** Signs claims into a compact JWS (RS256). */
export function signToken(keys: ServiceAccountKeys, claims: TokenClaims): string {
  const input = `${b64json({ alg: 'RS256', kid: keys.signingKid })}.${b64json(claims)}`;
  return `${input}.${sign('sha256', Buffer.from(input), keys.signingKey).toString('base64url')}`;
}

export type VerifyResult = { ok: true; claims: TokenClaims } | { ok: false; error: string; jwt: boolean };

/** Whether a bearer token looks like a JWT (three base64url parts) — static tokens never do. */
export function looksLikeJwt(token: string): boolean {
  return /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(token);
}

/**
 * Checks a token's signature, issuer, audience and validity window. The ServiceAccount itself
 * (still there, same uid) is checked by the caller.
 */
export function verifyToken(
  keys: ServiceAccountKeys,
  token: string,
  expect: { issuer: string; audiences: readonly string[]; now?: number },
): VerifyResult {
  const parts = token.split('.');
  if (parts.length !== 3) return { ok: false, error: 'not a JWT', jwt: false };
  let header: { alg?: string; kid?: string };
  let claims: TokenClaims;
  try {
    header = JSON.parse(Buffer.from(parts[0]!, 'base64url').toString('utf8')) as typeof header;
    claims = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8')) as TokenClaims;
  } catch {
    return { ok: false, error: 'not a JWT', jwt: false };
  }
  if (!claims || typeof claims !== 'object' || claims.iss !== expect.issuer)
    return { ok: false, error: 'token issuer is not this API server', jwt: false };
  if (header.alg !== 'RS256')
    return { ok: false, error: `unsupported signing algorithm ${String(header.alg)}`, jwt: true };
  const candidates = header.kid ? [keys.verifyKeys.get(header.kid)].filter((k) => !!k) : [...keys.verifyKeys.values()];
  const input = Buffer.from(`${parts[0]}.${parts[1]}`);
  const signature = Buffer.from(parts[2]!, 'base64url');
  if (!candidates.some((k) => verify('sha256', input, k, signature)))
    return { ok: false, error: 'invalid bearer token, token signature is invalid', jwt: true };
  const now = Math.floor((expect.now ?? Date.now()) / 1000);
  const leeway = 60;
  if (typeof claims.exp !== 'number' || now > claims.exp + leeway)
    return { ok: false, error: 'service account token has expired', jwt: true };
  if (typeof claims.nbf === 'number' && now + leeway < claims.nbf)
    return { ok: false, error: 'service account token is not valid yet', jwt: true };
  const aud = Array.isArray(claims.aud) ? claims.aud : [claims.aud as unknown as string];
  if (!aud.some((a) => expect.audiences.includes(a)))
    return { ok: false, error: 'token audiences is invalid for the target audiences', jwt: true };
  const k8s = claims['kubernetes.io'];
  if (!k8s?.namespace || !k8s.serviceaccount?.name || !k8s.serviceaccount.uid)
    return { ok: false, error: 'service account token claims are incomplete', jwt: true };
  return { ok: true, claims };
}

/** The claims of a new token for a ServiceAccount. */
export function newClaims(
  issuer: string,
  audiences: readonly string[],
  sa: { namespace: string; name: string; uid: string },
  expirationSeconds: number,
  now = Date.now(),
): TokenClaims {
  const iat = Math.floor(now / 1000);
  return {
    aud: [...audiences],
    exp: iat + expirationSeconds,
    iat,
    iss: issuer,
    jti: randomUUID(),
    'kubernetes.io': { namespace: sa.namespace, serviceaccount: { name: sa.name, uid: sa.uid } },
    nbf: iat,
    sub: `system:serviceaccount:${sa.namespace}:${sa.name}`,
  };
}
