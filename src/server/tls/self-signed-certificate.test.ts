// The first-start certificate: made once with a 0600 key, then reused with the same fingerprint.
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadOrCreateCertificate } from './self-signed-certificate.ts';

const dir = mkdtempSync(join(tmpdir(), 'tessera-tls-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('loadOrCreateCertificate', () => {
  it('creates a self-signed certificate for loopback names and reuses it on the next start', async () => {
    const first = await loadOrCreateCertificate(dir, ['cms.example']);
    expect(first.created).toBe(true);
    expect(statSync(join(dir, 'tls', 'server-key.pem')).mode & 0o777).toBe(0o600);
    const cert = new X509Certificate(first.cert);
    expect(cert.subjectAltName).toContain('DNS:localhost');
    expect(cert.subjectAltName).toContain('IP Address:127.0.0.1');
    expect(cert.subjectAltName).toContain('DNS:cms.example');
    expect(cert.fingerprint256).toBe(first.fingerprint);
    const second = await loadOrCreateCertificate(dir, []);
    expect(second.created).toBe(false);
    expect(second.fingerprint).toBe(first.fingerprint);
  });
});
