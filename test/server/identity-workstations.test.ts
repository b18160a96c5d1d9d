// Credential-provider mode is proven, not claimed: enrolled workstations accepted; unenrolled, revoked, forged, stale or replayed requests downgraded.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exampleTemplates } from '../../src/server/domain/credential-template.ts';
import { TEST_ARGON2_COST } from '../../src/server/identity/password-hasher.ts';
import { createWorkstationKeyFile, signCredentialProviderRequest, type WorkstationKey } from '../../src/server/identity/workstation-key-file.ts';
import { CP_HEADERS } from '../../src/server/identity/workstation-signature.ts';
import { describeWithPostgres } from '../support/postgres.ts';
import { startTestServer, type Backend, type TestServer } from './test-server.ts';

const URL_PATH = '/api/v1/identity-checks';

function workstationSuite(backend: Backend): void {
  let server: TestServer;
  let dir: string;
  let key: WorkstationKey;
  let otherKey: WorkstationKey;
  let workstationId: string;
  let credentialId: string;
  beforeAll(async () => {
    server = await startTestServer(backend, { identity: { argon2: TEST_ARGON2_COST } });
    dir = mkdtempSync(join(tmpdir(), 'tessera-ws-'));
    key = createWorkstationKeyFile(join(dir, 'ws1.key'));
    otherKey = createWorkstationKeyFile(join(dir, 'ws2.key'));
    const admin = server.admin;
    await server.request(admin, { method: 'POST', url: '/api/v1/holders', payload: { username: 'cp-kim', displayName: 'Kim', password: 'Kim-Directory-Pw1' } });
    const template = await server.request(admin, {
      method: 'POST',
      url: '/api/v1/templates',
      payload: { ...exampleTemplates()[1]!, name: 'CP GIDS', selfServiceIdentity: { factors: ['directory-password'], minimumFactors: 1 } },
    });
    const credential = await server.request(admin, {
      method: 'POST',
      url: '/api/v1/credentials',
      payload: { cardType: 'gids', cardIdentifier: 'cd'.repeat(16), holder: { id: 'cp-kim', name: 'Kim' }, templateId: template.json().id },
    });
    credentialId = credential.json().id;
    const explainedBefore = (await server.request(admin, { method: 'GET', url: `/api/v1/credentials/${credentialId}/unblock-methods` })).json();
    expect(explainedBefore.methods.find((m: { method: string }) => m.method === 'credential-provider').reasons).toContain('NO_WORKSTATION_ENROLLED');
    const enrolled = await server.request(admin, { method: 'POST', url: '/api/v1/workstations', payload: { name: 'logon-ws-1', publicKey: key.publicKeyPem } });
    expect(enrolled.statusCode, enrolled.body).toBe(201);
    workstationId = enrolled.json().id;
    const explainedAfter = (await server.request(admin, { method: 'GET', url: `/api/v1/credentials/${credentialId}/unblock-methods` })).json();
    expect(explainedAfter.methods.find((m: { method: string }) => m.method === 'credential-provider').reasons).not.toContain('NO_WORKSTATION_ENROLLED');
  });
  afterAll(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const body = () => JSON.stringify({ credentialId, directoryPassword: 'Kim-Directory-Pw1' });
  const send = async (headers: Record<string, string>, payload = body()) =>
    (await server.request(null, { method: 'POST', url: URL_PATH, payload, headers: { 'content-type': 'application/json', ...headers } })).json();
  const signed = (options: { id?: string; signer?: WorkstationKey; payload?: string; now?: Date } = {}) =>
    signCredentialProviderRequest((options.signer ?? key).privateKey, { workstationId: options.id ?? workstationId, method: 'POST', path: URL_PATH, body: options.payload ?? body(), ...(options.now ? { now: options.now } : {}) });

  describe(`credential-provider requests (${backend})`, () => {
    it('accepts a fresh signature from an enrolled workstation', async () => {
      const answer = await send(signed());
      expect(answer).toMatchObject({ passed: true, mode: 'credential-provider', downgradeReason: null });
    });

    it('treats a request without the claim as the user application', async () => {
      expect(await send({})).toMatchObject({ passed: true, mode: 'user-app', downgradeReason: null });
    });

    it('downgrades an unenrolled workstation, a forged signature, a changed body, a stale timestamp, a replay and malformed headers', async () => {
      expect(await send(signed({ id: '00000000-0000-4000-8000-000000000000' }))).toMatchObject({ mode: 'user-app', downgradeReason: 'WORKSTATION_UNKNOWN' });
      expect(await send(signed({ signer: otherKey }))).toMatchObject({ mode: 'user-app', downgradeReason: 'SIGNATURE_INVALID' });
      const forBody = signed();
      expect(await send(forBody, JSON.stringify({ credentialId, directoryPassword: 'Kim-Directory-Pw1', oneTimeCode: 'X' }))).toMatchObject({ mode: 'user-app', downgradeReason: 'SIGNATURE_INVALID' });
      expect(await send(signed({ now: new Date(Date.now() - 10 * 60_000) }))).toMatchObject({ mode: 'user-app', downgradeReason: 'TIMESTAMP_OUT_OF_WINDOW' });
      const once = signed();
      expect(await send(once)).toMatchObject({ mode: 'credential-provider' });
      expect(await send(once)).toMatchObject({ mode: 'user-app', downgradeReason: 'NONCE_REPLAYED' });
      expect(await send({ ...signed(), [CP_HEADERS.nonce]: 'short' })).toMatchObject({ mode: 'user-app', downgradeReason: 'HEADERS_MALFORMED' });
      const events = (await server.app.tessera.auditLog.export({ action: 'identity.check' })).split('\n').filter(Boolean).map((l) => JSON.parse(l));
      expect(events.some((e) => e.details?.downgradeReason === 'NONCE_REPLAYED')).toBe(true);
    });

    it('downgrades a revoked workstation; revocation and enrolment are audited and checked', async () => {
      const revoked = await server.request(server.admin, { method: 'DELETE', url: `/api/v1/workstations/${workstationId}` });
      expect(revoked.json()).toMatchObject({ status: 'revoked' });
      expect(await send(signed())).toMatchObject({ mode: 'user-app', downgradeReason: 'WORKSTATION_REVOKED' });
      expect((await server.request(server.admin, { method: 'DELETE', url: `/api/v1/workstations/${workstationId}` })).json().code).toBe('ERR_WORKSTATION_REVOKED');
      const duplicate = await server.request(server.admin, { method: 'POST', url: '/api/v1/workstations', payload: { name: 'logon-ws-1', publicKey: otherKey.publicKeyPem } });
      expect(duplicate.json().code).toBe('ERR_WORKSTATION_EXISTS');
      const rsa = await server.request(server.admin, { method: 'POST', url: '/api/v1/workstations', payload: { name: 'rsa', publicKey: '-----BEGIN PUBLIC KEY-----\nnot a key\n-----END PUBLIC KEY-----\n' } });
      expect(rsa.json().code).toBe('ERR_WORKSTATION_KEY_INVALID');
      const actions = (await server.app.tessera.auditLog.export({})).split('\n').filter(Boolean).map((l) => JSON.parse(l).action);
      expect(actions).toEqual(expect.arrayContaining(['identity.workstation.enrol', 'identity.workstation.revoke']));
    });
  });
}

describe('workstations on SQLite', () => workstationSuite('sqlite'));
describeWithPostgres('workstations on PostgreSQL', () => workstationSuite('postgres'));
