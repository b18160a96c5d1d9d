// The server and the audit CLI with the master key inside a PKCS#11 token (SoftHSM2) instead of a key file.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, expect, it } from 'vitest';
import { keyStoreConfig, PKCS11_PIN_VARIABLE } from '../../src/cli/server-command.ts';
import { startServer } from '../../src/server/start-server.ts';
import { createSoftHsmToken, describeWithSoftHsm, SOFTHSM_LIBRARY, TEST_USER_PIN } from '../support/softhsm.ts';

const dir = mkdtempSync(join(tmpdir(), 'tessera-p11-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function tessera(args: string[], env: NodeJS.ProcessEnv): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['bin/tessera.js', ...args], { cwd: join(import.meta.dirname, '..', '..'), env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

describeWithSoftHsm('server with a PKCS#11 master key', () => {
  it('starts with the key in the token, writes no key file, and the audit CLI verifies with the same token', async () => {
    createSoftHsmToken('tessera-server');
    const options = { data: dir, pkcs11Module: SOFTHSM_LIBRARY, pkcs11Token: 'tessera-server', pkcs11Key: 'tessera' };
    expect(() => keyStoreConfig({ ...options, pkcs11Token: undefined }, true)).toThrow(expect.objectContaining({ code: 'ERR_CLI_USAGE' }));
    const saved = process.env[PKCS11_PIN_VARIABLE];
    process.env[PKCS11_PIN_VARIABLE] = TEST_USER_PIN;
    let config;
    try {
      config = keyStoreConfig(options, true);
    } finally {
      if (saved === undefined) delete process.env[PKCS11_PIN_VARIABLE];
      else process.env[PKCS11_PIN_VARIABLE] = saved;
    }
    const server = await startServer({ dataDir: dir, listen: '127.0.0.1:0', plainHttp: true, keyStore: config, out: new PassThrough(), logStream: new PassThrough() });
    try {
      const health = await fetch(`${server.url}/api/v1/health`);
      expect(health.status).toBe(200);
      expect((await fetch(`${server.url}/api/v1/me`)).status).toBe(401);
    } finally {
      await server.close();
    }
    expect(existsSync(join(dir, 'master.key'))).toBe(false);
    const args = ['audit', 'verify', '--data', dir, '--pkcs11-module', SOFTHSM_LIBRARY, '--pkcs11-token', 'tessera-server'];
    const withoutPin = await tessera(args, { ...process.env, [PKCS11_PIN_VARIABLE]: '' });
    expect(withoutPin.stderr).toContain('TESSERA_PKCS11_PIN');
    const verified = await tessera(args, { ...process.env, [PKCS11_PIN_VARIABLE]: TEST_USER_PIN });
    expect(verified.stderr).toBe('');
    expect(verified.stdout).toMatch(/^audit chain intact: 3 events/);
  });
});
