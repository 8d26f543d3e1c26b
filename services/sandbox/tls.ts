import { randomBytes } from 'node:crypto';
import forge from 'node-forge';
import { loadCredentials, type Authenticator, type Credentials, type Pki } from '../apiserver/index.js';

/**
 * TLS identities for sandbox clusters: one CA per sandbox; each cluster gets its own serving
 * certificate (CN = the cluster name, signed by the CA; the key pair is shared so that 100
 * clusters start without 100 RSA key generations) and its own bearer token.
 */

export interface ClusterIdentity {
  cert: string;
  key: string;
  caCert: string;
  token: string;
  authenticator: Authenticator;
}

export class SandboxCa {
  private readonly pki: Pki;
  private readonly caCert: forge.pki.Certificate;
  private readonly caKey: forge.pki.rsa.PrivateKey;
  private readonly publicKey: forge.pki.PublicKey;

  /** A new CA (and the shared serving key pair) for `hosts`. */
  static async create(hosts: string[]): Promise<SandboxCa> {
    return new SandboxCa(hosts, await loadCredentials());
  }

  private constructor(
    private readonly hosts: string[],
    private readonly credentials: Credentials,
  ) {
    this.pki = credentials.generatePki(hosts);
    this.caCert = forge.pki.certificateFromPem(this.pki.caCert);
    this.caKey = forge.pki.privateKeyFromPem(this.pki.caKey);
    this.publicKey = forge.pki.certificateFromPem(this.pki.cert).publicKey;
  }

  get caPem(): string {
    return this.pki.caCert;
  }

  identity(cluster: string): ClusterIdentity {
    const cert = forge.pki.createCertificate();
    cert.publicKey = this.publicKey;
    cert.serialNumber = `01${randomBytes(15).toString('hex')}`;
    cert.validity.notBefore = new Date(Date.now() - 60_000);
    cert.validity.notAfter = new Date(Date.now() + 365 * 24 * 3600_000);
    cert.setSubject([{ name: 'commonName', value: cluster }]);
    cert.setIssuer(this.caCert.subject.attributes);
    const altNames = [...new Set(['localhost', '127.0.0.1', ...this.hosts])].map((h) =>
      /^[\d.]+$/.test(h) || h.includes(':') ? { type: 7, ip: h } : { type: 2, value: h },
    );
    cert.setExtensions([
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames },
    ]);
    cert.sign(this.caKey, forge.md.sha256.create());
    const token = randomBytes(24).toString('base64url');
    return {
      cert: forge.pki.certificateToPem(cert),
      key: this.pki.key,
      caCert: this.pki.caCert,
      token,
      authenticator: this.credentials.makeAuthenticator([
        { token, user: 'sandbox-admin', uid: 'sandbox-admin', groups: ['system:masters'] },
      ]),
    };
  }
}
