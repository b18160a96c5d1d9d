// The credential-provider key file: created 0600, never overwritten, refused when others can read it; signatures verify.
import { createPublicKey, verify } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createWorkstationKeyFile, loadWorkstationKeyFile, signCredentialProviderRequest } from './workstation-key-file.ts';
import { CP_HEADERS, credentialProviderMessage } from './workstation-signature.ts';

const dirs: string[] = [];
const tempDir = (): string => {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-ws-key-'));
  dirs.push(dir);
  return dir;
};
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('workstation key file', () => {
  it('creates a P-256 key readable only by its owner and loads it back', () => {
    const path = join(tempDir(), 'workstation.key');
    const created = createWorkstationKeyFile(path);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const loaded = loadWorkstationKeyFile(path);
    expect(loaded.publicKeyPem).toBe(created.publicKeyPem);
    expect(() => createWorkstationKeyFile(path)).toThrow(expect.objectContaining({ code: 'ERR_WORKSTATION_KEY_FILE' }));
  });

  it('refuses a key file others can read, a missing file and a file without a key', () => {
    const dir = tempDir();
    const path = join(dir, 'workstation.key');
    createWorkstationKeyFile(path);
    chmodSync(path, 0o644);
    expect(() => loadWorkstationKeyFile(path)).toThrow(/readable by others/);
    expect(() => loadWorkstationKeyFile(join(dir, 'missing.key'))).toThrow(expect.objectContaining({ code: 'ERR_WORKSTATION_KEY_FILE' }));
    const junk = join(dir, 'junk.key');
    writeFileSync(junk, 'not a key', { mode: 0o600 });
    expect(() => loadWorkstationKeyFile(junk)).toThrow(/holds no private key/);
  });

  it('signs method, path, timestamp, nonce and body hash', () => {
    const key = createWorkstationKeyFile(join(tempDir(), 'w.key'));
    const body = '{"credentialId":"x"}';
    const headers = signCredentialProviderRequest(key.privateKey, { workstationId: 'ws', method: 'post', path: '/api/v1/identity-checks', body });
    const message = credentialProviderMessage({ method: 'POST', path: '/api/v1/identity-checks', timestamp: headers[CP_HEADERS.timestamp]!, nonce: headers[CP_HEADERS.nonce]!, body: Buffer.from(body) });
    const publicKey = createPublicKey(key.publicKeyPem);
    expect(verify('sha256', message, { key: publicKey, dsaEncoding: 'der' }, Buffer.from(headers[CP_HEADERS.signature]!, 'base64'))).toBe(true);
    const tampered = credentialProviderMessage({ method: 'POST', path: '/api/v1/identity-checks', timestamp: headers[CP_HEADERS.timestamp]!, nonce: headers[CP_HEADERS.nonce]!, body: Buffer.from('{}') });
    expect(verify('sha256', tampered, { key: publicKey, dsaEncoding: 'der' }, Buffer.from(headers[CP_HEADERS.signature]!, 'base64'))).toBe(false);
  });
});
