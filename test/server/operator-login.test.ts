// `tessera operator enrol` and `login` against a real HTTPS server with a virtual PIV card as the Operator Credential.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_MANAGEMENT_KEY_HEX, PIV_ALGORITHM, PIV_SLOT } from '../../src/card/piv/piv-constants.ts';
import { PivSession } from '../../src/card/piv/piv-session.ts';
import { callApi } from '../../src/cli/operator-commands.ts';
import { Secret } from '../../src/secret.ts';
import { reissueBootstrapCode } from '../../src/server/services/first-start.ts';
import { startServer, type RunningServer } from '../../src/server/start-server.ts';
import { createVirtualCardFile } from '../../src/virtual-card/card-file.ts';
import { InProcessTransport } from '../../src/virtual-card/in-process-transport.ts';

const dir = mkdtempSync(join(tmpdir(), 'tessera-oc-'));
const cardFile = join(dir, 'oc.card');
const sessionFile = join(dir, 'session.json');
let server: RunningServer;
let code: string;

/** Runs the CLI as a child process (asynchronously: the server answers from this process). */
function tessera(args: string[], stdin = ''): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['bin/tessera.js', ...args], { cwd: join(import.meta.dirname, '..', '..') });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('close', (status) => resolve({ status, stdout, stderr }));
    child.stdin.end(stdin);
  });
}

beforeAll(async () => {
  const out = new PassThrough();
  let banner = '';
  out.on('data', (chunk: Buffer) => (banner += chunk.toString()));
  server = await startServer({ dataDir: join(dir, 'data'), listen: '127.0.0.1:0', out, logStream: new PassThrough() });
  code = /enrolment code for "admin": ([A-Z0-9-]+)/.exec(banner)![1]!;
  // Issue the Operator Credential: an ECC P-256 key generated on the card in slot 9A.
  const { card } = createVirtualCardFile('piv', cardFile);
  const session = await PivSession.open(new InProcessTransport(card));
  await session.authenticate(PIV_ALGORITHM.TDES, Secret.fromHex(DEFAULT_MANAGEMENT_KEY_HEX));
  await session.generateKey(PIV_SLOT.AUTHENTICATION, PIV_ALGORITHM.ECC_P256);
});
afterAll(async () => {
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('tessera operator enrol and login', () => {
  it('enrols the card with the one-time code, then signs in with the card and the PIN', async () => {
    const connection = ['--server', server.url, '--ca-cert', server.certificate!.certPath, '--card', cardFile, '--name', 'admin'];
    // The console can replace a lost bootstrap code until the administrator enrols; the old code then stops working.
    const { services } = server.app.tessera;
    const reissued = await reissueBootstrapCode(services.context, services.operators);
    expect((await tessera(['operator', 'enrol', ...connection, '--code', code])).stderr).toContain('[ERR_AUTH_SIGN_IN_FAILED]');
    const enrolled = await tessera(['operator', 'enrol', ...connection, '--code', reissued.enrolmentCode]);
    expect(enrolled.stderr).toBe('');
    expect(enrolled.status).toBe(0);
    await expect(reissueBootstrapCode(services.context, services.operators)).rejects.toMatchObject({ code: 'ERR_BOOTSTRAP_ALREADY_ENROLLED' });
    const wrongPin = await tessera(['operator', 'login', ...connection, '--session-file', sessionFile], '654321\n');
    expect(wrongPin.status).toBe(1);
    expect(wrongPin.stderr).toMatch(/\[ERR_\w*PIN\w*\]/);
    const login = await tessera(['operator', 'login', ...connection, '--session-file', sessionFile, '--json'], '123456\n');
    expect(login.stderr).toBe('');
    expect(JSON.parse(login.stdout)).toMatchObject({ operatorName: 'admin', roleId: 'administrator' });
    expect(statSync(sessionFile).mode & 0o777).toBe(0o600);
    const { token } = JSON.parse(readFileSync(sessionFile, 'utf8')) as { token: string };
    expect(await callApi({ server: server.url, caCert: server.certificate!.certPath }, 'GET', 'api/v1/me', undefined, token)).toMatchObject({ operatorName: 'admin' });
  });

  it('refuses to trust the server without its certificate', async () => {
    const result = await tessera(['operator', 'login', '--server', server.url, '--card', cardFile, '--name', 'admin', '--session-file', sessionFile], '123456\n');
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('[ERR_SERVER_UNREACHABLE]');
  });
});
