// The server's HTTPS certificate: loaded from the data directory, or made self-signed on first start.
import { createHash, webcrypto } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { TesseraError } from '../../errors.ts';

export class CertificateError extends TesseraError {
  readonly code = 'ERR_SERVER_CERTIFICATE';
}

export interface ServerCertificate {
  key: string;
  cert: string;
  /** SHA-256 of the certificate, colon-separated hex, for clients to pin or compare. */
  fingerprint: string;
  created: boolean;
  certPath: string;
}

export function certificateFingerprint(certPem: string): string {
  const der = new x509.X509Certificate(certPem).rawData;
  return createHash('sha256').update(Buffer.from(der)).digest('hex').toUpperCase().match(/../g)!.join(':');
}

/** Uses `DIR/tls/server-key.pem` + `server-cert.pem` if present, else makes an ECDSA P-256 self-signed pair. */
export async function loadOrCreateCertificate(dataDir: string, hostNames: string[]): Promise<ServerCertificate> {
  const dir = join(dataDir, 'tls');
  const keyPath = join(dir, 'server-key.pem');
  const certPath = join(dir, 'server-cert.pem');
  if (existsSync(keyPath) && existsSync(certPath)) {
    try {
      const cert = readFileSync(certPath, 'utf8');
      return { key: readFileSync(keyPath, 'utf8'), cert, fingerprint: certificateFingerprint(cert), created: false, certPath };
    } catch (error) {
      throw new CertificateError(`cannot read the certificate in ${dir}`, { cause: error });
    }
  }
  x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);
  const algorithm = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  const keys = (await webcrypto.subtle.generateKey(algorithm, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const names = [...new Set(['localhost', '127.0.0.1', '::1', ...hostNames])];
  const notBefore = new Date(Date.now() - 60_000);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: Buffer.from(webcrypto.getRandomValues(new Uint8Array(16))).toString('hex').replace(/^[89a-f]/, '1'),
    name: 'CN=Tessera CMS (self-signed)',
    notBefore,
    notAfter: new Date(notBefore.getTime() + 825 * 86_400_000),
    keys,
    signingAlgorithm: algorithm,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension(
        names.map((n) => (/^[0-9.]+$|:/.test(n) ? { type: 'ip' as const, value: n } : { type: 'dns' as const, value: n })),
      ),
    ],
  });
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
  const keyPem = `-----BEGIN PRIVATE KEY-----\n${pkcs8.toString('base64').match(/.{1,64}/g)!.join('\n')}\n-----END PRIVATE KEY-----\n`;
  const certPem = cert.toString('pem') + '\n';
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  writeFileSync(keyPath, keyPem, { mode: 0o600, flag: 'wx' });
  chmodSync(keyPath, 0o600);
  writeFileSync(certPath, certPem, { mode: 0o644, flag: 'wx' });
  return { key: keyPem, cert: certPem, fingerprint: certificateFingerprint(certPem), created: true, certPath };
}
