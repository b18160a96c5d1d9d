// Calls every API route as each built-in role and without a session, and compares with the declared matrix.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUTHORIZATION_MATRIX, type Outcome } from './authorization-matrix.ts';
import { signIn, startTestServer, type TestServer } from './test-server.ts';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer('sqlite');
});
afterAll(async () => server?.close());

describe('authorisation matrix', () => {
  it('declares every API route, and only existing ones', () => {
    expect([...server.app.tessera.apiRoutes].sort()).toEqual(Object.keys(AUTHORIZATION_MATRIX).sort());
  });

  it('answers each route × role × no session as declared', async () => {
    const mismatches: string[] = [];
    for (const [route, expected] of Object.entries(AUTHORIZATION_MATRIX)) {
      const [method, pattern] = route.split(' ') as [string, string];
      const url = pattern.replace(/:[A-Za-z]+/g, 'no-such-id');
      for (const role of ['administrator', 'helpdesk', 'anonymous'] as const) {
        // A fresh session per call, so a sign-out route cannot end the session later calls use.
        const operator = role === 'administrator' ? server.admin : role === 'helpdesk' ? server.helpdesk : null;
        const token = operator ? await signIn(server.app, operator.name, operator.privateKey) : null;
        const response = await server.app.inject({
          method: method as 'GET',
          url,
          headers: token ? { authorization: `Bearer ${token}` } : {},
          ...(method === 'POST' || method === 'PUT' ? { payload: {} } : {}),
        });
        const actual: Outcome = response.statusCode === 401 ? 401 : response.statusCode === 403 ? 403 : 'allowed';
        if (actual !== expected[role]) mismatches.push(`${route} as ${role}: expected ${expected[role]}, got ${response.statusCode} ${response.body}`);
        if (actual === 403) expect(response.json().code).toBe('ERR_FORBIDDEN_PERMISSION');
        if (actual === 401) expect(response.json().code).toBe('ERR_AUTH_REQUIRED');
      }
    }
    expect(mismatches).toEqual([]);
  });

  it('refuses an expired or unknown bearer token with 401', async () => {
    const response = await server.app.inject({ method: 'GET', url: '/api/v1/me', headers: { authorization: 'Bearer AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' } });
    expect(response.statusCode).toBe(401);
    expect(response.json()).toEqual({ code: 'ERR_AUTH_REQUIRED', message: expect.any(String) });
  });
});
