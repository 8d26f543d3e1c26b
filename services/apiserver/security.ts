import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { join } from 'node:path';
import forge from 'node-forge';
import { createLogger } from '../core/log.js';
import { withAuthenticatedGroup, type UserInfo } from './auth/user.js';
import type { Authenticator } from './auth/index.js';
import { TokenIndex } from './auth/token-index.js';

const log = createLogger('apiserver-security');

/**
 * The API server's identity and authentication: a CA and serving certificate generated
 * on first start and kept in the data dir (or given), bearer tokens from a static token
 * file (kube's CSV format), and client certificates signed by the CA.
 */

export interface Pki {
  caCert: string;
  caKey: string;
  cert: string;
  key: string;
}

export interface TokenEntry {
  token: string;
  user: string;
  uid: string;
  groups: string[];
}

async function readIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

function serial(): string {
  return `01${randomBytes(15).toString('hex')}`;
}

function newCert(
  subject: forge.pki.CertificateField[],
  publicKey: forge.pki.PublicKey,
  issuer: forge.pki.CertificateField[],
  signKey: forge.pki.rsa.PrivateKey,
  extensions: object[],
  years: number,
): forge.pki.Certificate {
  const cert = forge.pki.createCertificate();
  cert.publicKey = publicKey;
  cert.serialNumber = serial();
  cert.validity.notBefore = new Date(Date.now() - 60_000);
  cert.validity.notAfter = new Date(Date.now() + years * 365 * 24 * 3600_000);
  cert.setSubject(subject);
  cert.setIssuer(issuer);
  cert.setExtensions(extensions);
  cert.sign(signKey, forge.md.sha256.create());
  return cert;
}

/** A CA (10 years) and a serving certificate for `hosts` (1 year) signed by it. */
export function generatePki(hosts: string[]): Pki {
  const caKeys = forge.pki.rsa.generateKeyPair(2048);
  const caSubject = [{ name: 'commonName', value: 'kitfed-ca' }];
  const ca = newCert(
    caSubject,
    caKeys.publicKey,
    caSubject,
    caKeys.privateKey,
    [
      { name: 'basicConstraints', cA: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true },
    ],
    10,
  );
  const keys = forge.pki.rsa.generateKeyPair(2048);
  const altNames = hosts.map((h) =>
    /^[\d.]+$/.test(h) || h.includes(':') ? { type: 7, ip: h } : { type: 2, value: h },
  );
  const cert = newCert(
    [{ name: 'commonName', value: 'kitfed-apiserver' }],
    keys.publicKey,
    caSubject,
    caKeys.privateKey,
    [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames },
    ],
    1,
  );
  return {
    caCert: forge.pki.certificateToPem(ca),
    caKey: forge.pki.privateKeyToPem(caKeys.privateKey),
    cert: forge.pki.certificateToPem(cert),
    key: forge.pki.privateKeyToPem(keys.privateKey),
  };
}

/**
 * A client certificate for `user` (CN) in `groups` (O), signed by the CA, valid `days` days.
 * The key pair comes from node's crypto (native, fast); forge only signs the certificate.
 */
export function issueClientCert(
  pki: Pki,
  user: string,
  groups: readonly string[] = [],
  days = 365,
): { cert: string; key: string; notAfter: Date } {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const ca = forge.pki.certificateFromPem(pki.caCert);
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(publicKey.export({ type: 'spki', format: 'pem' }).toString());
  cert.serialNumber = serial();
  cert.validity.notBefore = new Date(Date.now() - 60_000);
  cert.validity.notAfter = new Date(Date.now() + days * 24 * 3600_000);
  cert.setSubject([
    { name: 'commonName', value: user },
    ...groups.map((g) => ({ name: 'organizationName', value: g })),
  ]);
  cert.setIssuer(ca.subject.attributes);
  cert.setExtensions([
    { name: 'basicConstraints', cA: false },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
    { name: 'extKeyUsage', clientAuth: true },
  ]);
  cert.sign(forge.pki.privateKeyFromPem(pki.caKey), forge.md.sha256.create());
  return {
    cert: forge.pki.certificateToPem(cert),
    key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    notAfter: cert.validity.notAfter,
  };
}

/** The PKI in `<dir>/pki` as `kitfed apiserver` left it; an error naming what is missing otherwise. */
export async function loadPki(dir: string): Promise<Pki> {
  const pkiDir = join(dir, 'pki');
  const files = { caCert: 'ca.crt', caKey: 'ca.key', cert: 'apiserver.crt', key: 'apiserver.key' } as const;
  const out: Partial<Pki> = {};
  for (const [k, f] of Object.entries(files)) {
    const text = await readIfExists(join(pkiDir, f));
    if (text === undefined)
      throw new Error(
        `${join(pkiDir, f)} not found: start the API server once (kitfed up, kitfed apiserver) with this --data-dir`,
      );
    out[k as keyof Pki] = text;
  }
  return out as Pki;
}

/** Loads the PKI from `<dir>/pki`, generating it on first start. */
export async function ensurePki(dir: string, hosts: string[]): Promise<Pki> {
  const pkiDir = join(dir, 'pki');
  const files = { caCert: 'ca.crt', caKey: 'ca.key', cert: 'apiserver.crt', key: 'apiserver.key' } as const;
  const loaded = await Promise.all(Object.values(files).map((f) => readIfExists(join(pkiDir, f))));
  if (loaded.every((x) => x !== undefined)) {
    const [caCert, caKey, cert, key] = loaded;
    return { caCert: caCert!, caKey: caKey!, cert: cert!, key: key! };
  }
  log.info({ dir: pkiDir }, 'generating a CA and serving certificate');
  const pki = generatePki(hosts);
  await mkdir(pkiDir, { recursive: true, mode: 0o700 });
  for (const [k, f] of Object.entries(files)) {
    await writeFile(join(pkiDir, f), pki[k as keyof Pki], { mode: f.endsWith('.key') ? 0o600 : 0o644 });
  }
  return pki;
}

/** Parses kube's static token file: `token,user,uid[,"group1,group2"]` per line. */
export function parseTokenFile(text: string, file = 'token file'): TokenEntry[] {
  const out: TokenEntry[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith('#')) return;
    const fields = line.match(/("[^"]*"|[^,]+)/g)?.map((f) => f.replace(/^"|"$/g, '').trim()) ?? [];
    if (fields.length < 3 || !fields[0] || !fields[1])
      throw new Error(`${file}:${i + 1}: expected token,user,uid[,"groups"]`);
    out.push({
      token: fields[0],
      user: fields[1],
      uid: fields[2]!,
      groups: fields[3]
        ? fields[3]
            .split(',')
            .map((g) => g.trim())
            .filter(Boolean)
        : [],
    });
  });
  return out;
}

/** Loads the token file, creating it with one admin token on first start. Returns the entries and the admin token. */
export async function ensureTokenFile(path: string): Promise<{ entries: TokenEntry[]; adminToken: string }> {
  let text = await readIfExists(path);
  if (text === undefined) {
    const token = randomBytes(24).toString('base64url');
    text = `${token},kitfed-admin,kitfed-admin,"system:masters"\n`;
    await writeFile(path, text, { mode: 0o600 });
  }
  await chmod(path, 0o600).catch(() => undefined);
  const entries = parseTokenFile(text, path);
  const admin = entries.find((e) => e.groups.includes('system:masters')) ?? entries[0];
  if (!admin) throw new Error(`${path}: no tokens`);
  return { entries, adminToken: admin.token };
}

/** Bearer tokens, then client certificates verified against the CA (CN = user, O = groups). */
export function makeAuthenticator(tokens: TokenEntry[]): Authenticator {
  // O(1) per request whatever the size of the token file (auth/token-index.ts).
  const users = new TokenIndex<UserInfo>(
    tokens.map((e) => [
      e.token,
      { name: e.user, ...(e.uid ? { uid: e.uid } : {}), groups: withAuthenticatedGroup(e.groups) },
    ]),
  );
  const byToken = (presented: string): UserInfo | undefined => users.get(presented);
  const certUsers = new WeakMap<object, UserInfo | null>();
  return {
    authenticate(req: IncomingMessage): UserInfo | undefined {
      const auth = req.headers.authorization;
      if (auth?.startsWith('Bearer ')) return byToken(auth.slice(7).trim());
      const socket = req.socket as Partial<TLSSocket>;
      if (!socket.authorized || typeof socket.getPeerCertificate !== 'function') return undefined;
      // One TLS connection has one peer certificate: read it once per connection.
      let user = certUsers.get(socket);
      if (user === undefined) {
        const subject = socket.getPeerCertificate().subject;
        const cn = subject?.CN;
        const o = subject?.O;
        const name = Array.isArray(cn) ? cn[0] : cn;
        const groups = o === undefined ? [] : Array.isArray(o) ? o : [o];
        user = name ? { name, groups: withAuthenticatedGroup(groups) } : null;
        certUsers.set(socket, user);
      }
      return user ?? undefined;
    },
    authenticateToken: byToken,
  };
}
