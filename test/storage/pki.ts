/**
 * A throw-away PKI for TLS tests: a CA, a serving certificate for 127.0.0.1/localhost and a
 * client certificate, written as PEM files into `dir`. Keys come from node:crypto; node-forge
 * signs the certificates.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import forge from 'node-forge';

export interface TestPki {
  caFile: string;
  serverCertFile: string;
  serverKeyFile: string;
  clientCertFile: string;
  clientKeyFile: string;
}

function keyPair(): { privateKey: forge.pki.rsa.PrivateKey; publicKey: forge.pki.rsa.PublicKey; pem: string } {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const pem = privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
  const key = forge.pki.privateKeyFromPem(pem);
  return { privateKey: key, publicKey: forge.pki.setRsaPublicKey(key.n, key.e), pem };
}

function certificate(
  subject: string,
  publicKey: forge.pki.PublicKey,
  issuer: { name: string; key: forge.pki.PrivateKey } | undefined,
  extensions: object[],
): forge.pki.Certificate {
  const cert = forge.pki.createCertificate();
  cert.publicKey = publicKey;
  cert.serialNumber = '01' + randomBytes(8).toString('hex');
  cert.validity.notBefore = new Date(Date.now() - 60_000);
  cert.validity.notAfter = new Date(Date.now() + 24 * 3600_000);
  cert.setSubject([{ name: 'commonName', value: subject }]);
  cert.setIssuer([{ name: 'commonName', value: issuer?.name ?? subject }]);
  cert.setExtensions(extensions);
  return cert;
}

/** Writes a CA, a server and a client certificate (PEM) into `dir`. */
export function makeTestPki(dir: string): TestPki {
  const ca = keyPair();
  const caCert = certificate('kitfed-test-ca', ca.publicKey, undefined, [
    { name: 'basicConstraints', cA: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true },
  ]);
  caCert.sign(ca.privateKey, forge.md.sha256.create());
  const issue = (name: string, extensions: object[]) => {
    const pair = keyPair();
    const cert = certificate(name, pair.publicKey, { name: 'kitfed-test-ca', key: ca.privateKey }, extensions);
    cert.sign(ca.privateKey, forge.md.sha256.create());
    return { cert: forge.pki.certificateToPem(cert), key: pair.pem };
  };
  const server = issue('127.0.0.1', [
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
    { name: 'extKeyUsage', serverAuth: true, clientAuth: true },
    {
      name: 'subjectAltName',
      altNames: [
        { type: 7, ip: '127.0.0.1' },
        { type: 2, value: 'localhost' },
      ],
    },
  ]);
  const client = issue('kitfed-client', [
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
    { name: 'extKeyUsage', clientAuth: true },
  ]);
  const files: TestPki = {
    caFile: join(dir, 'ca.crt'),
    serverCertFile: join(dir, 'server.crt'),
    serverKeyFile: join(dir, 'server.key'),
    clientCertFile: join(dir, 'client.crt'),
    clientKeyFile: join(dir, 'client.key'),
  };
  writeFileSync(files.caFile, forge.pki.certificateToPem(caCert));
  writeFileSync(files.serverCertFile, server.cert);
  writeFileSync(files.serverKeyFile, server.key, { mode: 0o600 });
  writeFileSync(files.clientCertFile, client.cert);
  writeFileSync(files.clientKeyFile, client.key, { mode: 0o600 });
  return files;
}
