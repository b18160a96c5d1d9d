// Bad input on every identity route: 400 with a code and nothing written; e-mail off is said with a stable code.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exampleTemplates } from '../../src/server/domain/credential-template.ts';
import { TEST_ARGON2_COST } from '../../src/server/identity/password-hasher.ts';
import { describeWithPostgres } from '../support/postgres.ts';
import { startTestServer, type Backend, type TestServer } from './test-server.ts';

const IDENTITY_TABLES = ['holders', 'security_questions', 'identity_lockouts', 'unblock_codes', 'workstations', 'workstation_nonces'] as const;

function badInputSuite(backend: Backend): void {
  let server: TestServer;
  let credentialId: string;
  beforeAll(async () => {
    // No SMTP server configured: e-mail is off.
    server = await startTestServer(backend, { identity: { argon2: TEST_ARGON2_COST } });
    await server.request(server.admin, { method: 'POST', url: '/api/v1/holders', payload: { username: 'bi-lee', displayName: 'Lee', email: 'lee@tessera.test', password: 'Lee-Directory-Pw1' } });
    const template = await server.request(server.admin, {
      method: 'POST',
      url: '/api/v1/templates',
      payload: { ...exampleTemplates()[0]!, name: 'Code only', selfServiceIdentity: { factors: ['one-time-code'], minimumFactors: 1 } },
    });
    credentialId = (
      await server.request(server.admin, { method: 'POST', url: '/api/v1/credentials', payload: { cardType: 'piv', cardIdentifier: 'bb'.repeat(16), holder: { id: 'bi-lee', name: 'Lee' }, templateId: template.json().id } })
    ).json().id;
  });
  afterAll(async () => server?.close());

  const counts = async (): Promise<number[]> => {
    const db = server.app.tessera.services.context.db.withTables<Record<(typeof IDENTITY_TABLES)[number], { x: string }>>();
    return await Promise.all(IDENTITY_TABLES.map(async (table) => Number((await db.selectFrom(table).select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow()).n)));
  };

  it('answers malformed, unknown, oversize and wrongly typed input on every new route with 400 and a code, writing nothing', async () => {
    const before = await counts();
    // Longer than an id may be, shorter than the router's own parameter limit (which answers 414).
    const longId = 'x'.repeat(80);
    const cases: [string, string, unknown][] = [
      ['GET', '/api/v1/holders?search=', undefined],
      ['GET', '/api/v1/holders?search=a&extra=1', undefined],
      ['GET', '/api/v1/holders?search=a&limit=ten', undefined],
      ['GET', '/api/v1/holders/a%20b', undefined],
      ['GET', '/api/v1/holders/a*b', undefined],
      ['POST', '/api/v1/holders', {}],
      ['POST', '/api/v1/holders', { username: 'a b', displayName: 'A' }],
      ['POST', '/api/v1/holders', { username: 'ab', displayName: 'A', email: 'not-mail' }],
      ['POST', '/api/v1/holders', { username: 'ab', displayName: 'A', admin: true }],
      ['POST', '/api/v1/holders', { username: 'ab', displayName: 'A', password: 'short' }],
      ['PUT', '/api/v1/holders/bi-lee/security-questions', {}],
      ['PUT', '/api/v1/holders/bi-lee/security-questions', { questions: [] }],
      ['PUT', '/api/v1/holders/bi-lee/security-questions', { questions: [{ question: 'q?', answer: 'a' }] }],
      ['PUT', '/api/v1/holders/bi-lee/security-questions', { questions: [{ question: 'Your pet?', answer: 'a'.repeat(300) }] }],
      ['PUT', '/api/v1/holders/bi-lee/security-questions', { questions: [{ question: 'Your pet?', answer: 'rex', hint: 'dog' }] }],
      ['PUT', '/api/v1/holders/bi-lee/security-questions', { questions: [1, 2, 3].map(() => ({ question: 'Same question?', answer: 'same' })) }],
      ['PUT', '/api/v1/holders/bi-lee/security-questions', { questions: ['First pet?', 'First car?', 'First job?'].map((question) => ({ question, answer: 'x' })) }],
      ['POST', '/api/v1/holders/bi-lee/lockout-lifts', {}],
      ['POST', '/api/v1/holders/bi-lee/lockout-lifts', { reason: '' }],
      ['POST', `/api/v1/credentials/${credentialId}/unblock-codes`, {}],
      ['POST', `/api/v1/credentials/${credentialId}/unblock-codes`, { delivery: 'sms' }],
      ['POST', `/api/v1/credentials/${credentialId}/unblock-codes`, { delivery: 'show', validMinutes: 0 }],
      ['POST', `/api/v1/credentials/${credentialId}/unblock-codes`, { delivery: 'show', validMinutes: '5' }],
      ['POST', `/api/v1/credentials/${longId}/unblock-codes`, { delivery: 'show' }],
      ['POST', '/api/v1/self-service/security-questions', {}],
      ['POST', '/api/v1/self-service/security-questions', { username: 'bi-lee', questions: [] }],
      ['POST', '/api/v1/self-service/security-questions', { username: 'bi-lee', password: 'Lee-Directory-Pw1', questions: 'all' }],
      ['POST', '/api/v1/self-service/security-questions/prompt', {}],
      ['POST', '/api/v1/self-service/security-questions/prompt', { credentialId: 5 }],
      ['POST', '/api/v1/identity-checks', {}],
      ['POST', '/api/v1/identity-checks', { credentialId, securityAnswers: [] }],
      ['POST', '/api/v1/identity-checks', { credentialId, directoryPassword: 123 }],
      ['POST', '/api/v1/identity-checks', { credentialId, oneTimeCode: 'A'.repeat(40) }],
      ['POST', '/api/v1/identity-checks', { credentialId, fingerprint: true }],
      ['POST', '/api/v1/workstations', {}],
      ['POST', '/api/v1/workstations', { name: 'a b', publicKey: '-----BEGIN PUBLIC KEY-----' }],
      ['POST', '/api/v1/workstations', { name: 'ws', publicKey: 'ssh-ed25519 AAAA' }],
      ['POST', '/api/v1/workstations', { name: 'ws', publicKey: '-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----', owner: 'x' }],
      ['POST', '/api/v1/workstations', { name: 'ws', publicKey: '-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----' }],
      ['DELETE', `/api/v1/workstations/${longId}`, undefined],
    ];
    for (const [method, url, payload] of cases) {
      const response = await server.request(server.admin, { method: method as 'GET', url, ...(payload !== undefined ? { payload: payload as object } : {}) });
      const label = `${method} ${url.slice(0, 60)} ${JSON.stringify(payload)?.slice(0, 60)}`;
      expect(response.statusCode, label).toBe(400);
      expect(response.json().code, label).toMatch(/^ERR_[A-Z_]+$/);
    }
    const malformed = await server.request(null, { method: 'POST', url: '/api/v1/identity-checks', payload: '{"credentialId":', headers: { 'content-type': 'application/json' } });
    expect(malformed.json()).toEqual({ code: 'ERR_BODY_MALFORMED', message: 'the request body is not valid JSON' });
    const oversize = await server.request(null, { method: 'POST', url: '/api/v1/identity-checks', payload: { credentialId, pad: 'x'.repeat(70_000) } });
    expect(oversize.statusCode).toBe(413);
    expect(oversize.json().code).toBe('ERR_BODY_TOO_LARGE');
    expect(await counts()).toEqual(before);
  });

  it('says e-mail is off when no SMTP server is configured, and writes no code', async () => {
    const before = await counts();
    const response = await server.request(server.helpdesk, { method: 'POST', url: `/api/v1/credentials/${credentialId}/unblock-codes`, payload: { delivery: 'email' } });
    expect(response.statusCode).toBe(409);
    expect(response.json().code).toBe('ERR_EMAIL_OFF');
    expect(await counts()).toEqual(before);
    const explained = (await server.request(server.admin, { method: 'GET', url: `/api/v1/credentials/${credentialId}/unblock-methods` })).json();
    expect(explained.methods.find((m: { method: string }) => m.method === 'user-app').reasons).toContain('EMAIL_OFF');
    // Shown codes still work without e-mail.
    const shown = await server.request(server.helpdesk, { method: 'POST', url: `/api/v1/credentials/${credentialId}/unblock-codes`, payload: { delivery: 'show' } });
    expect(shown.statusCode).toBe(201);
    server.usedSecrets.push(shown.json().code);
  });

  it('keeps every secret of this suite out of the logs', () => {
    for (const secret of [...server.usedSecrets, 'Lee-Directory-Pw1']) expect(server.logs()).not.toContain(secret);
  });
}

describe('identity bad input on SQLite', () => badInputSuite('sqlite'));
describeWithPostgres('identity bad input on PostgreSQL', () => badInputSuite('postgres'));
