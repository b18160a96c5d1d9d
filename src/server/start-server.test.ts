// A real listening server: HTTPS with the first-start certificate, the first-run banner, and the loopback rule for plain HTTP.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { get } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import BetterSqlite3 from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { isLoopback, parseListen, startServer } from './start-server.ts';

const dataDir = mkdtempSync(join(tmpdir(), 'tessera-start-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

function capture(): { stream: Writable; text: () => string } {
  let text = '';
  const stream = new PassThrough();
  stream.on('data', (chunk: Buffer) => (text += chunk.toString()));
  return { stream, text: () => text };
}

function httpsGet(url: string, ca: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    get(url, { ca }, (response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => (body += chunk.toString()));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
    }).on('error', reject);
  });
}

const tessera = (...args: string[]) =>
  spawnSync(process.execPath, ['bin/tessera.js', ...args], { cwd: join(import.meta.dirname, '..', '..'), encoding: 'utf8' });

describe('parseListen and isLoopback', () => {
  it('reads HOST:PORT and [IPv6]:PORT and refuses anything else', () => {
    expect(parseListen('127.0.0.1:8443')).toEqual({ host: '127.0.0.1', port: 8443 });
    expect(parseListen('[::1]:0')).toEqual({ host: '::1', port: 0 });
    for (const bad of ['8443', 'host:', 'host:99999', ':80', 'a:b:c']) expect(() => parseListen(bad)).toThrow(expect.objectContaining({ code: 'ERR_SERVER_OPTION' }));
    expect(['127.0.0.1', '127.1.2.3', '::1', 'localhost'].every(isLoopback)).toBe(true);
    expect(['0.0.0.0', '10.0.0.1', '::', 'example.org'].some(isLoopback)).toBe(false);
  });
});

describe('startServer', () => {
  it('refuses plain HTTP on a non-loopback address before touching anything', async () => {
    await expect(startServer({ dataDir: join(dataDir, 'never'), listen: '0.0.0.0:0', plainHttp: true })).rejects.toMatchObject({ code: 'ERR_SERVER_OPTION' });
  });

  it('serves HTTPS with a first-start certificate, prints the first-run story once, and the audit CLI verifies what it wrote', async () => {
    const out = capture();
    const logs = capture();
    const server = await startServer({ dataDir, listen: '127.0.0.1:0', out: out.stream, logStream: logs.stream });
    try {
      expect(server.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
      expect(out.text()).toContain(`SHA-256 fingerprint ${server.certificate!.fingerprint}`);
      expect(statSync(join(dataDir, 'master.key')).mode & 0o777).toBe(0o600);
      const code = /enrolment code for "admin": ([A-Z0-9-]{19})/.exec(out.text())![1]!;
      const health = await httpsGet(`${server.url}/api/v1/health`, server.certificate!.cert);
      expect(health).toEqual({ status: 200, body: '{"status":"ok","database":"sqlite"}' });
      expect((await httpsGet(`${server.url}/docs/json`, server.certificate!.cert)).body).toContain('"/api/v1/credentials/{credentialId}/unblock-methods"');
      expect((await httpsGet(`${server.url}/api/v1/operators`, server.certificate!.cert)).status).toBe(401);
      expect(logs.text()).toContain('"url":"/api/v1/health"');
      expect(logs.text()).not.toContain(code);
    } finally {
      await server.close();
    }
    const again = capture();
    const second = await startServer({ dataDir, listen: '127.0.0.1:0', out: again.stream, logStream: capture().stream });
    await second.close();
    expect(again.text()).not.toContain('First start');
    expect(again.text()).toContain(server.certificate!.fingerprint);

    const verified = tessera('audit', 'verify', '--data', dataDir);
    expect(verified.stdout).toMatch(/^audit chain intact: 3 events/);
    expect(verified.status).toBe(0);
    const exported = tessera('audit', 'export', '--data', dataDir, '--format', 'jsonl', '--action', 'GET /api/v1/operators');
    expect(exported.stdout.trim().split('\n').map((line) => JSON.parse(line))).toMatchObject([{ outcome: 'refused', reason: 'ERR_AUTH_REQUIRED' }]);
    expect(tessera('audit', 'export', '--data', dataDir, '--format', 'csv').stdout.split('\n')[0]).toContain('seq,at,action');

    const sqlite = new BetterSqlite3(join(dataDir, 'tessera.sqlite'));
    sqlite.prepare("UPDATE audit_events SET outcome = 'ok' WHERE seq = 3").run();
    sqlite.close();
    const broken = tessera('audit', 'verify', '--data', dataDir);
    expect(broken.status).toBe(1);
    expect(broken.stderr).toMatch(/audit chain broken at event 3 \((edited|forged)\).*\[ERR_AUDIT_CHAIN_BROKEN\]/);
  });
});
