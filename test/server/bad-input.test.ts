// Malformed, unknown, oversize and wrongly typed input: 4xx with a code, nothing written, nothing echoed.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeWithPostgres } from '../support/postgres.ts';
import { startTestServer, type Backend, type TestServer } from './test-server.ts';

function badInputSuite(backend: Backend): void {
  let server: TestServer;
  let templateId: string;
  beforeAll(async () => {
    server = await startTestServer(backend);
    templateId = (await server.request(server.admin, { method: 'GET', url: '/api/v1/templates' })).json()[0].id;
  });
  afterAll(async () => server?.close());

  const counts = async () => {
    const db = server.app.tessera.services.context.db;
    const [t, c, o, r] = await Promise.all(
      (['credential_templates', 'credentials', 'operators', 'roles'] as const).map((table) =>
        db.selectFrom(table).select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow(),
      ),
    );
    return [t, c, o, r].map((x) => Number(x!.n));
  };
  const post = (url: string, payload: string | object, contentType = 'application/json') =>
    server.request(server.admin, { method: 'POST', url, payload, headers: { 'content-type': contentType } });
  const validCredential = () => ({ cardType: 'piv', cardIdentifier: 'ab'.repeat(16), holder: { id: 'h1', name: 'H' }, templateId });

  it('refuses unknown fields, wrong types and oversize fields with 400 ERR_VALIDATION and writes nothing', async () => {
    const before = await counts();
    const cases: object[] = [
      { ...validCredential(), extra: 1 },
      { ...validCredential(), holder: { id: 'h1', name: 'H', isAdmin: true } },
      { ...validCredential(), cardIdentifier: 'ab'.repeat(15) },
      { ...validCredential(), cardIdentifier: 'zz'.repeat(16) },
      { ...validCredential(), cardType: 'cac' },
      { ...validCredential(), holder: { id: 'h'.repeat(5000), name: 'H' } },
      { ...validCredential(), yubikeySerial: 1234 },
      { ...validCredential(), holder: 'h1' },
      [],
    ];
    for (const body of cases) {
      const response = await post('/api/v1/credentials', body);
      expect(response.statusCode, JSON.stringify(body).slice(0, 80)).toBe(400);
      expect(response.json()).toMatchObject({ code: 'ERR_VALIDATION', message: expect.any(String) });
    }
    const wrongType = await post('/api/v1/roles', { name: 'r', permissions: ['audit:read'], offlineLimits: { maxResponsesPerDay: '5' } });
    expect(wrongType.json().code).toBe('ERR_VALIDATION');
    expect(await counts()).toEqual(before);
  });

  it('answers a malformed JSON body without echoing it', async () => {
    server.usedSecrets.push('90817263');
    const response = await post(`/api/v1/templates/${templateId}/pin-check`, '{"pin":"90817263"');
    expect(response.statusCode).toBe(400);
    expect(response.json()).toEqual({ code: 'ERR_BODY_MALFORMED', message: 'the request body is not valid JSON' });
    expect(response.body).not.toContain('90817263');
  });

  it('refuses a body over the limit and a body that is not JSON', async () => {
    const before = await counts();
    const big = await post('/api/v1/roles', { name: 'big', permissions: [], offlineLimits: { maxResponsesPerDay: 1 }, pad: 'x'.repeat(70_000) });
    expect(big.statusCode).toBe(413);
    expect(big.json().code).toBe('ERR_BODY_TOO_LARGE');
    const text = await post('/api/v1/roles', 'name=big', 'application/x-www-form-urlencoded');
    expect(text.statusCode).toBe(415);
    expect(text.json().code).toBe('ERR_UNSUPPORTED_MEDIA_TYPE');
    expect(await counts()).toEqual(before);
  });

  it('answers unknown routes with a code', async () => {
    const response = await server.request(null, { method: 'GET', url: '/api/v1/nothing' });
    expect(response.statusCode).toBe(404);
    expect(response.json().code).toBe('ERR_ROUTE_NOT_FOUND');
  });

  it('never writes anything for arbitrary JSON sent to the write routes', async () => {
    const before = await counts();
    const routes = ['/api/v1/credentials', '/api/v1/templates', '/api/v1/roles', '/api/v1/operators'];
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...routes), fc.oneof(fc.jsonValue(), fc.dictionary(fc.string(), fc.jsonValue())), async (url, body) => {
        const response = await post(url, JSON.stringify(body));
        expect(response.statusCode).toBeGreaterThanOrEqual(400);
        expect(response.statusCode).toBeLessThan(500);
        expect(typeof response.json().code).toBe('string');
      }),
      { numRuns: backend === 'sqlite' ? 100 : 40 },
    );
    expect(await counts()).toEqual(before);
  });

  it('keeps every secret of this suite out of the logs', () => {
    for (const secret of server.usedSecrets) expect(server.logs()).not.toContain(secret);
  });
}

describe('bad input on SQLite', () => badInputSuite('sqlite'));
describeWithPostgres('bad input on PostgreSQL', () => badInputSuite('postgres'));
