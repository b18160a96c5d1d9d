// The CMS API end to end through app.inject, on SQLite and on PostgreSQL: templates, credentials, operators, sign-in.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeWithPostgres } from '../support/postgres.ts';
import { newOperatorKey, signChallenge, signIn, startTestServer, type Backend, type SignedInOperator, type TestServer } from './test-server.ts';

const PIV_GUID = '0123456789abcdef0123456789abcdef';

function apiSuite(backend: Backend): void {
  let server: TestServer;
  let pivTemplateId: string;
  beforeAll(async () => {
    server = await startTestServer(backend);
    const templates = await server.request(server.admin, { method: 'GET', url: '/api/v1/templates' });
    pivTemplateId = templates.json<{ id: string; cardType: string }[]>().find((t) => t.cardType === 'piv')!.id;
  });
  afterAll(async () => server?.close());

  const as = (operator: SignedInOperator | null, method: string, url: string, payload?: unknown) =>
    server.request(operator, { method: method as 'GET', url, ...(payload === undefined ? {} : { payload: payload as object }) });

  async function addOperator(name: string, roleId: string, holderId?: string): Promise<SignedInOperator> {
    const created = await as(server.admin, 'POST', '/api/v1/operators', { name, roleId, ...(holderId ? { holderId } : {}) });
    expect(created.statusCode).toBe(201);
    const code = created.json().enrolmentCode as string;
    server.usedSecrets.push(code);
    const key = newOperatorKey();
    expect((await as(null, 'POST', '/api/v1/enrolment', { operatorName: name, enrolmentCode: code, publicKey: key.publicKeyPem })).statusCode).toBe(200);
    const token = await signIn(server.app, name, key.privateKey);
    server.usedSecrets.push(token);
    return { name, token, privateKey: key.privateKey, holderId: holderId ?? null };
  }

  async function registerCredential(holderId: string, cardIdentifier: string) {
    return as(server.admin, 'POST', '/api/v1/credentials', {
      cardType: 'piv',
      cardIdentifier,
      holder: { id: holderId, name: `Holder ${holderId}`, email: `${holderId}@example.org` },
      templateId: pivTemplateId,
      yubikeySerial: '12345678',
    });
  }

  describe(`first start and sign-in (${backend})`, () => {
    it('created the built-in roles, one example template per card type and an enrolled administrator', async () => {
      const roles = (await as(server.admin, 'GET', '/api/v1/roles')).json<{ id: string; builtIn: boolean }[]>();
      expect(roles.map((r) => r.id).sort()).toEqual(['administrator', 'helpdesk']);
      expect(roles.every((r) => r.builtIn)).toBe(true);
      const templates = (await as(server.admin, 'GET', '/api/v1/templates')).json<{ cardType: string }[]>();
      expect(templates.map((t) => t.cardType).sort()).toEqual(['gids', 'piv']);
      const me = (await as(server.admin, 'GET', '/api/v1/me')).json();
      expect(me).toMatchObject({ operatorName: 'admin', roleId: 'administrator' });
      expect(me.permissions).toContain('operator:manage');
    });

    it('spends the enrolment code once', async () => {
      const again = await as(null, 'POST', '/api/v1/enrolment', {
        operatorName: 'admin',
        enrolmentCode: server.usedSecrets[0],
        publicKey: newOperatorKey().publicKeyPem,
      });
      expect(again.statusCode).toBe(401);
      expect(again.json().code).toBe('ERR_AUTH_SIGN_IN_FAILED');
    });

    it('refuses a key that is not ECC P-256', async () => {
      const { generateKeyPairSync } = await import('node:crypto');
      const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ format: 'pem', type: 'spki' }).toString();
      const response = await as(null, 'POST', '/api/v1/enrolment', { operatorName: 'nobody', enrolmentCode: 'AAAA-BBBB', publicKey: rsa });
      expect(response.json().code).toBe('ERR_OPERATOR_PUBLIC_KEY_INVALID');
    });

    it('refuses a signature by another key, a reused challenge and an unknown operator', async () => {
      const challenge = (await as(null, 'POST', '/api/v1/sessions/challenge', { operatorName: 'admin' })).json();
      const wrong = await as(null, 'POST', '/api/v1/sessions', { challengeId: challenge.challengeId, signature: signChallenge(newOperatorKey().privateKey, challenge.toSign) });
      expect(wrong.statusCode).toBe(401);
      const reused = await as(null, 'POST', '/api/v1/sessions', { challengeId: challenge.challengeId, signature: signChallenge(server.admin.privateKey, challenge.toSign) });
      expect(reused.json().code).toBe('ERR_AUTH_SIGN_IN_FAILED');
      const ghost = (await as(null, 'POST', '/api/v1/sessions/challenge', { operatorName: 'ghost' })).json();
      const ghostSignIn = await as(null, 'POST', '/api/v1/sessions', { challengeId: ghost.challengeId, signature: signChallenge(server.admin.privateKey, ghost.toSign) });
      expect(ghostSignIn.statusCode).toBe(401);
    });

    it('ends a session on sign-out', async () => {
      const token = await signIn(server.app, 'admin', server.admin.privateKey);
      const session = { ...server.admin, token };
      expect((await as(session, 'DELETE', '/api/v1/sessions/current')).statusCode).toBe(204);
      expect((await as(session, 'GET', '/api/v1/me')).statusCode).toBe(401);
    });
  });

  describe(`credential templates (${backend})`, () => {
    it('reports every broken template rule at once with its code', async () => {
      const template = (await as(server.admin, 'GET', `/api/v1/templates/${pivTemplateId}`)).json();
      const { id: _id, version: _v, lockedBy: _l, lockedAt: _la, createdAt: _c, updatedAt: _u, ...definition } = template;
      const response = await as(server.admin, 'POST', '/api/v1/templates', {
        ...definition,
        name: 'Broken',
        pinPolicy: { ...definition.pinPolicy, minLength: 4, maxLength: 3 },
        unblockMethods: ['windows-native'],
      });
      expect(response.statusCode).toBe(400);
      expect(response.json().code).toBe('ERR_TEMPLATE_INVALID');
      expect(response.json().details.map((d: { code: string }) => d.code).sort()).toEqual(
        ['ERR_TEMPLATE_METHOD_UNSUPPORTED', 'ERR_TEMPLATE_PIN_LENGTH_INVERTED', 'ERR_TEMPLATE_PIN_LENGTH_OUT_OF_RANGE'].sort(),
      );
      expect((await as(server.admin, 'GET', '/api/v1/templates')).json()).toHaveLength(2);
    });

    it('versions changes and lets only the locking operator change a locked template', async () => {
      const tina = await addOperator('tina', 'administrator');
      const template = (await as(server.admin, 'GET', `/api/v1/templates/${pivTemplateId}`)).json();
      const { id: _id, version, lockedBy: _l, lockedAt: _la, createdAt: _c, updatedAt: _u, ...definition } = template;
      const locked = await as(tina, 'POST', `/api/v1/templates/${pivTemplateId}/lock`);
      expect(locked.json().lockedBy).toBeTruthy();
      const changed = { ...definition, pinPolicy: { ...definition.pinPolicy, historyDepth: 10 } };
      const byAdmin = await as(server.admin, 'PUT', `/api/v1/templates/${pivTemplateId}`, { expectedVersion: version, template: changed });
      expect(byAdmin.statusCode).toBe(409);
      expect(byAdmin.json().code).toBe('ERR_TEMPLATE_LOCKED');
      expect((await as(server.admin, 'DELETE', `/api/v1/templates/${pivTemplateId}/lock`)).json().code).toBe('ERR_TEMPLATE_LOCKED');
      const byTina = await as(tina, 'PUT', `/api/v1/templates/${pivTemplateId}`, { expectedVersion: version, template: changed });
      expect(byTina.statusCode).toBe(200);
      expect(byTina.json()).toMatchObject({ version: version + 1, pinPolicy: { historyDepth: 10 } });
      const stale = await as(tina, 'PUT', `/api/v1/templates/${pivTemplateId}`, { expectedVersion: version, template: changed });
      expect(stale.json().code).toBe('ERR_TEMPLATE_VERSION_CONFLICT');
      expect((await as(tina, 'DELETE', `/api/v1/templates/${pivTemplateId}/lock`)).json().lockedBy).toBeNull();
    });

    it('checks a PIN against the policy and names every broken rule', async () => {
      server.usedSecrets.push('Zq!7', '583920');
      const bad = await as(server.helpdesk, 'POST', `/api/v1/templates/${pivTemplateId}/pin-check`, { pin: 'Zq!7' });
      expect(bad.json()).toEqual({
        acceptable: false,
        violations: [
          { code: 'ERR_POLICY_PIN_TOO_SHORT', message: expect.any(String) },
          { code: 'ERR_POLICY_PIN_CHARACTERS', message: expect.any(String) },
        ],
      });
      const good = await as(server.helpdesk, 'POST', `/api/v1/templates/${pivTemplateId}/pin-check`, { pin: '583920' });
      expect(good.json()).toEqual({ acceptable: true, violations: [] });
    });
  });

  describe(`credentials (${backend})`, () => {
    it('registers a credential, refuses the same card twice and a template of another card type', async () => {
      const created = await registerCredential('holder-bob', PIV_GUID.toUpperCase());
      expect(created.statusCode).toBe(201);
      expect(created.json()).toMatchObject({ cardIdentifier: PIV_GUID, state: 'issued-pin-locked', keyVersion: 1, pukEscrowState: 'none', version: 1 });
      const twice = await registerCredential('holder-carol', PIV_GUID);
      expect(twice.statusCode).toBe(409);
      expect(twice.json().code).toBe('ERR_CREDENTIAL_EXISTS');
      const gidsTemplate = (await as(server.admin, 'GET', '/api/v1/templates')).json().find((t: { cardType: string }) => t.cardType === 'gids');
      const mismatch = await as(server.admin, 'POST', '/api/v1/credentials', {
        cardType: 'piv',
        cardIdentifier: 'ff'.repeat(16),
        holder: { id: 'x', name: 'X' },
        templateId: gidsTemplate.id,
      });
      expect(mismatch.json().code).toBe('ERR_CREDENTIAL_TEMPLATE_CARD_TYPE');
    });

    it('moves along the lifecycle and refuses an invalid transition with a code', async () => {
      const id = (await registerCredential('holder-dan', '11'.repeat(16))).json().id;
      const go = (to: string) => as(server.admin, 'POST', `/api/v1/credentials/${id}/transitions`, { to, reason: 'test' });
      expect((await go('active')).json()).toMatchObject({ state: 'active', version: 2 });
      expect((await go('retired')).json().state).toBe('retired');
      const back = await go('active');
      expect(back.statusCode).toBe(409);
      expect(back.json().code).toBe('ERR_CREDENTIAL_INVALID_TRANSITION');
      expect((await as(server.admin, 'GET', `/api/v1/credentials/${id}`)).json().state).toBe('retired');
    });

    it('runs one operation at a time on a credential', async () => {
      const id = (await registerCredential('holder-eve', '22'.repeat(16))).json().id;
      const results = await Promise.all(
        Array.from({ length: 8 }, () => as(server.admin, 'POST', `/api/v1/credentials/${id}/transitions`, { to: 'suspended', reason: 'race' })),
      );
      const statuses = results.map((r) => r.statusCode);
      expect(statuses.filter((s) => s === 200)).toHaveLength(1);
      for (const r of results.filter((x) => x.statusCode !== 200)) {
        expect(['ERR_CREDENTIAL_BUSY', 'ERR_CREDENTIAL_INVALID_TRANSITION']).toContain(r.json().code);
      }
      expect((await as(server.admin, 'GET', `/api/v1/credentials/${id}`)).json()).toMatchObject({ state: 'suspended', version: 2 });
    });

    it('refuses a PIN from the credential history, compared by keyed MAC', async () => {
      const id = (await registerCredential('holder-hal', '66'.repeat(16))).json().id;
      const pins = ['583920', '702814'];
      server.usedSecrets.push(...pins);
      const { Secret } = await import('../../src/secret.ts');
      for (const pin of pins) await server.app.tessera.services.credentials.recordPin(id, Secret.fromText(pin));
      const credential = (await as(server.helpdesk, 'GET', `/api/v1/credentials/${id}`)).json();
      // The example PIV template lets a PIN live 365 days.
      expect(Date.parse(credential.pinExpiresAt) - Date.parse(credential.pinChangedAt)).toBe(365 * 86_400_000);
      const reused = await as(server.helpdesk, 'POST', `/api/v1/credentials/${id}/pin-check`, { pin: '702814' });
      expect(reused.json()).toMatchObject({ acceptable: false, violations: [{ code: 'ERR_POLICY_PIN_REUSED' }] });
      const fresh = await as(server.helpdesk, 'POST', `/api/v1/credentials/${id}/pin-check`, { pin: '491637' });
      expect(fresh.json()).toEqual({ acceptable: true, violations: [] });
      const stored = await server.app.tessera.services.context.db.selectFrom('pin_history').select('mac').where('credential_id', '=', id).execute();
      expect(stored).toHaveLength(2);
      for (const row of stored) for (const pin of pins) expect(row.mac).not.toContain(pin);
    });

    it('explains which unblock methods are open and why the others are closed', async () => {
      const id = (await registerCredential('holder-helen', '33'.repeat(16))).json().id;
      const byHelen = (await as(server.helpdesk, 'GET', `/api/v1/credentials/${id}/unblock-methods`)).json();
      expect(byHelen.methods).toHaveLength(6);
      const helenOperator = byHelen.methods.find((m: { method: string }) => m.method === 'operator');
      expect(helenOperator).toEqual({ method: 'operator', open: false, reasons: ['PUK_NOT_ESCROWED', 'OPERATOR_IS_HOLDER'] });
      const byAdmin = (await as(server.admin, 'GET', `/api/v1/credentials/${id}/unblock-methods`)).json();
      expect(byAdmin.methods.find((m: { method: string }) => m.method === 'credential-provider').reasons).toEqual(['METHOD_NOT_IN_TEMPLATE', 'PUK_NOT_ESCROWED']);
    });

    it('lets nobody act on their own credential', async () => {
      const alice = await addOperator('alice', 'administrator', 'holder-alice');
      const own = await as(alice, 'POST', '/api/v1/credentials', {
        cardType: 'piv',
        cardIdentifier: '44'.repeat(16),
        holder: { id: 'holder-alice', name: 'Alice' },
        templateId: pivTemplateId,
      });
      expect(own.statusCode).toBe(403);
      expect(own.json().code).toBe('ERR_FORBIDDEN_OWN_CREDENTIAL');
      const id = (await registerCredential('holder-alice', '55'.repeat(16))).json().id;
      const transition = await as(alice, 'POST', `/api/v1/credentials/${id}/transitions`, { to: 'suspended', reason: 'self' });
      expect(transition.json().code).toBe('ERR_FORBIDDEN_OWN_CREDENTIAL');
      expect((await as(alice, 'GET', `/api/v1/credentials/${id}`)).json().state).toBe('issued-pin-locked');
    });
  });

  describe(`operators and roles (${backend})`, () => {
    it('creates a role with offline limits and an operator bound to it', async () => {
      const role = await as(server.admin, 'POST', '/api/v1/roles', { name: 'auditor', permissions: ['audit:read'], offlineLimits: { maxResponsesPerDay: 0 } });
      expect(role.statusCode).toBe(201);
      const auditor = await addOperator('otto', 'auditor');
      expect((await as(auditor, 'GET', '/api/v1/me')).json()).toMatchObject({ roleId: 'auditor', permissions: ['audit:read'], offlineLimits: { maxResponsesPerDay: 0 } });
      expect((await as(auditor, 'GET', '/api/v1/operators')).statusCode).toBe(403);
    });

    it('re-issuing an enrolment code revokes the old key and sessions', async () => {
      const olga = await addOperator('olga', 'helpdesk');
      const operators = (await as(server.admin, 'GET', '/api/v1/operators')).json();
      const id = operators.find((o: { name: string }) => o.name === 'olga').id;
      const reissued = await as(server.admin, 'POST', `/api/v1/operators/${id}/enrolment-code`);
      expect(reissued.json().operator.status).toBe('pending-enrolment');
      server.usedSecrets.push(reissued.json().enrolmentCode);
      expect((await as(olga, 'GET', '/api/v1/me')).statusCode).toBe(401);
    });
  });

  describe(`audit (${backend})`, () => {
    const events = async (query = '') => {
      const response = await as(server.admin, 'GET', `/api/v1/audit/events${query}`);
      expect(response.statusCode).toBe(200);
      return response.body.trim().split('\n').map((line) => JSON.parse(line));
    };

    it('appends one event per state change and per refusal, and the chain verifies', async () => {
      const before = (await events()).length;
      expect((await as(server.admin, 'POST', '/api/v1/roles', { name: 'viewer', permissions: [], offlineLimits: { maxResponsesPerDay: 0 } })).statusCode).toBe(201);
      expect((await as(server.helpdesk, 'GET', '/api/v1/operators')).statusCode).toBe(403);
      expect((await as(server.admin, 'POST', '/api/v1/roles', { name: 'viewer', permissions: [], offlineLimits: { maxResponsesPerDay: 0 } })).statusCode).toBe(409);
      const after = await events();
      // The GET of the export itself is a read and appends nothing.
      expect(after.slice(before)).toMatchObject([
        { action: 'role.create', actor: 'admin', outcome: 'ok' },
        { action: 'GET /api/v1/operators', actor: 'helen', outcome: 'refused', reason: 'ERR_FORBIDDEN_PERMISSION' },
        { action: 'POST /api/v1/roles', actor: 'admin', outcome: 'refused', reason: 'ERR_ROLE_EXISTS' },
      ]);
      expect((await as(server.admin, 'GET', '/api/v1/audit/verify')).json()).toMatchObject({ ok: true, count: after.length });
    });

    it('exports with filters, as JSON lines or CSV', async () => {
      const byHelen = await events('?actor=helen');
      expect(byHelen.length).toBeGreaterThan(0);
      expect(byHelen.every((e: { actor: string }) => e.actor === 'helen')).toBe(true);
      const transitions = await events('?action=credential.transition');
      expect(transitions.every((e: { credentialId: string }) => typeof e.credentialId === 'string')).toBe(true);
      const csv = await as(server.admin, 'GET', '/api/v1/audit/events?format=csv&from=2000-01-01T00:00:00Z');
      expect(csv.headers['content-type']).toContain('text/csv');
      expect(csv.body.split('\n')[0]).toContain('seq,at,action');
      expect((await as(server.admin, 'GET', '/api/v1/audit/events?format=xml')).json().code).toBe('ERR_VALIDATION');
    });
  });

  describe(`logs (${backend})`, () => {
    it('hold request lines but no PIN, code, token or key used in this suite', async () => {
      // The card keys and a PUK of the credentials this suite registered, as the key store gives them.
      const keyStore = server.app.tessera.services.context.keyStore;
      const credentials = (await as(server.admin, 'GET', '/api/v1/credentials')).json();
      for (const credential of credentials) {
        const key = await keyStore.deriveCardKey({ cardType: 'piv', cardIdentifier: Buffer.from(credential.cardIdentifier, 'hex'), keyVersion: 1, purpose: 'piv-management' });
        const hex = Buffer.from(key.expose()).toString('hex');
        server.usedSecrets.push(hex, hex.toUpperCase(), Buffer.from(key.expose()).toString('base64'));
      }
      server.usedSecrets.push(keyStore.generatePuk().exposeText());
      const logs = server.logs();
      expect(logs).toContain('"url":"/api/v1/templates"');
      for (const secret of server.usedSecrets) expect(logs).not.toContain(secret);
    });
  });
}

describe('CMS API on SQLite', () => apiSuite('sqlite'));
describeWithPostgres('CMS API on PostgreSQL', () => apiSuite('postgres'));
