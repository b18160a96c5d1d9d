// Holder identity through the API on SQLite and PostgreSQL: security questions, one-time codes by e-mail, the identity check, lockouts, explain.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exampleTemplates, IDENTITY_FACTORS, type TemplateDefinition } from '../../src/server/domain/credential-template.ts';
import { TEST_ARGON2_COST } from '../../src/server/identity/password-hasher.ts';
import { describeWithPostgres } from '../support/postgres.ts';
import { startTestSmtp, type TestSmtp } from '../support/smtp.ts';
import { startTestServer, type Backend, type SignedInOperator, type TestServer } from './test-server.ts';

type Factor = (typeof IDENTITY_FACTORS)[number];

const QUESTIONS = [
  { question: 'Name of your first school?', answer: 'École Sainte-Thérèse' },
  { question: 'City where your parents met?', answer: 'Zürich' },
  { question: 'Your childhood best friend?', answer: 'Zoë  O’Neil' },
];
const PASSWORD = 'Holder-Password-1984';

function identitySuite(backend: Backend): void {
  let server: TestServer;
  let smtp: TestSmtp;
  let clockOffsetMs = 0;
  let cardCounter = 0;
  beforeAll(async () => {
    smtp = await startTestSmtp();
    server = await startTestServer(backend, {
      clock: () => new Date(Date.now() + clockOffsetMs),
      identity: { argon2: TEST_ARGON2_COST, smtp: { host: smtp.host, port: smtp.port, from: 'Tessera <tessera@tessera.test>' } },
    });
    server.usedSecrets.push(PASSWORD, ...QUESTIONS.map((q) => q.answer));
  });
  afterAll(async () => {
    await server?.close();
    await smtp?.stop();
  });

  const as = (operator: SignedInOperator | null, method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, payload?: object) =>
    server.request(operator, { method, url, ...(payload !== undefined ? { payload } : {}) });

  async function addHolder(username: string, options: { password?: string; email?: string } = {}): Promise<void> {
    const response = await as(server.admin, 'POST', '/api/v1/holders', {
      username,
      displayName: `Holder ${username}`,
      ...(options.email !== undefined ? { email: options.email } : { email: `${username}@tessera.test` }),
      ...(options.password !== undefined ? { password: options.password } : { password: PASSWORD }),
    });
    expect(response.statusCode, response.body).toBe(201);
  }

  async function addTemplate(name: string, identity: TemplateDefinition['selfServiceIdentity']): Promise<string> {
    const definition: TemplateDefinition = { ...exampleTemplates()[0]!, name, selfServiceIdentity: identity };
    const response = await as(server.admin, 'POST', '/api/v1/templates', definition);
    expect(response.statusCode, response.body).toBe(201);
    return response.json().id;
  }

  async function addCredential(holderId: string, templateId: string): Promise<string> {
    cardCounter++;
    const response = await as(server.admin, 'POST', '/api/v1/credentials', {
      cardType: 'piv',
      cardIdentifier: cardCounter.toString(16).padStart(32, '0'),
      holder: { id: holderId, name: `Holder ${holderId}` },
      templateId,
    });
    expect(response.statusCode, response.body).toBe(201);
    return response.json().id;
  }

  async function enrolQuestions(holderId: string): Promise<{ id: string; question: string }[]> {
    const response = await as(null, 'POST', '/api/v1/self-service/security-questions', { username: holderId, password: PASSWORD, questions: QUESTIONS });
    expect(response.statusCode, response.body).toBe(200);
    return response.json().questions;
  }

  async function issueCode(credentialId: string, validMinutes?: number): Promise<string> {
    const response = await as(server.helpdesk, 'POST', `/api/v1/credentials/${credentialId}/unblock-codes`, { delivery: 'show', ...(validMinutes ? { validMinutes } : {}) });
    expect(response.statusCode, response.body).toBe(201);
    const code = response.json().code as string;
    server.usedSecrets.push(code);
    return code;
  }

  const check = (payload: object, headers: Record<string, string> = {}) => server.request(null, { method: 'POST', url: '/api/v1/identity-checks', payload, headers });
  type FactorAnswer = { factor: string; result: string; reason: string; locked: boolean };
  const factorOf = (body: { factors: FactorAnswer[] }, factor: Factor): FactorAnswer | undefined => body.factors.find((f) => f.factor === factor);
  const auditEvents = async (action: string): Promise<{ actor: string | null; outcome: string; reason: string | null; details: Record<string, unknown> | null }[]> =>
    (await server.app.tessera.auditLog.export({ action }, 'jsonl'))
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line));

  describe(`security questions (${backend})`, () => {
    it('enrols after directory-password sign-in, refuses a wrong password, and checks normalised answers', async () => {
      await addHolder('sq-dana');
      const wrong = await as(null, 'POST', '/api/v1/self-service/security-questions', { username: 'sq-dana', password: 'not-it-at-all', questions: QUESTIONS });
      expect(wrong.statusCode).toBe(401);
      expect(wrong.json().code).toBe('ERR_AUTH_SIGN_IN_FAILED');
      const unknown = await as(null, 'POST', '/api/v1/self-service/security-questions', { username: 'sq-nobody', password: PASSWORD, questions: QUESTIONS });
      expect(unknown.json()).toEqual(wrong.json());
      const questions = await enrolQuestions('sq-dana');
      expect(questions.map((q) => q.question)).toEqual(QUESTIONS.map((q) => q.question));
      const stored = await server.app.tessera.identity.securityQuestions.questionsOf('sq-dana');
      expect(stored).toHaveLength(3);
      // The directory password alone cannot replace enrolled questions (two factors would become one).
      const replace = await as(null, 'POST', '/api/v1/self-service/security-questions', { username: 'sq-dana', password: PASSWORD, questions: QUESTIONS });
      expect(replace.statusCode).toBe(409);
      expect(replace.json().code).toBe('ERR_SECURITY_QUESTIONS_ENROLLED');

      const templateId = await addTemplate('SQ only', { factors: ['security-questions'], minimumFactors: 1, lockoutAfterFailures: 3 });
      const credentialId = await addCredential('sq-dana', templateId);
      const prompt = await as(null, 'POST', '/api/v1/self-service/security-questions/prompt', { credentialId });
      expect(prompt.json().questions).toEqual(questions);
      // Case, spacing and accents do not matter.
      const typed = ['ecole sainte-therese', '  ZURICH ', 'zoe o’neil'];
      const passed = await check({ credentialId, securityAnswers: questions.map((q, i) => ({ questionId: q.id, answer: typed[i]! })) });
      expect(passed.json()).toMatchObject({ passed: true, reason: 'OK', mode: 'user-app' });
      expect(factorOf(passed.json(), 'security-questions')).toEqual({ factor: 'security-questions', result: 'pass', reason: 'OK', locked: false });
      const incomplete = await check({ credentialId, securityAnswers: [{ questionId: questions[0]!.id, answer: typed[0] }] });
      expect(factorOf(incomplete.json(), 'security-questions')?.reason).toBe('ANSWERS_INCOMPLETE');

      const rows = await server.app.tessera.services.context.db.withTables<{ security_questions: { answer_hash: string } }>().selectFrom('security_questions').select('answer_hash').execute();
      for (const row of rows) {
        expect(row.answer_hash).toMatch(/^\$argon2id\$/);
        for (const q of QUESTIONS) expect(row.answer_hash.toLowerCase()).not.toContain(q.answer.toLowerCase());
      }
    });

    it('locks after the template number of wrong answers; an operator lifts it (audited), never for their own holder', async () => {
      await addHolder('sq-eve');
      const questions = await enrolQuestions('sq-eve');
      const templateId = await addTemplate('SQ lockout', { factors: ['security-questions'], minimumFactors: 1, lockoutAfterFailures: 3 });
      const credentialId = await addCredential('sq-eve', templateId);
      const wrongAnswers = { credentialId, securityAnswers: questions.map((q) => ({ questionId: q.id, answer: 'wrong answer' })) };
      const rightAnswers = { credentialId, securityAnswers: questions.map((q, i) => ({ questionId: q.id, answer: QUESTIONS[i]!.answer })) };
      for (let i = 1; i <= 3; i++) {
        const response = (await check(wrongAnswers)).json();
        expect(response).toMatchObject({ passed: false, reason: 'FACTOR_FAILED' });
        expect(factorOf(response, 'security-questions')).toMatchObject({ result: 'fail', reason: 'ANSWERS_WRONG', locked: i === 3 });
      }
      const locked = (await check(rightAnswers)).json();
      expect(factorOf(locked, 'security-questions')).toMatchObject({ result: 'fail', reason: 'FACTOR_LOCKED', locked: true });
      const explained = (await as(server.admin, 'GET', `/api/v1/credentials/${credentialId}/unblock-methods`)).json();
      expect(explained.methods.find((m: { method: string }) => m.method === 'user-app').reasons).toContain('SECURITY_QUESTIONS_LOCKED');

      const helenOwn = await as(server.helpdesk, 'POST', '/api/v1/holders/holder-helen/lockout-lifts', { reason: 'self' });
      expect(helenOwn.json().code).toBe('ERR_FORBIDDEN_OWN_CREDENTIAL');
      const lifted = await as(server.helpdesk, 'POST', '/api/v1/holders/sq-eve/lockout-lifts', { reason: 'caller verified by manager' });
      expect(lifted.statusCode, lifted.body).toBe(200);
      expect(lifted.json().lockouts).toEqual([]);
      const again = await as(server.helpdesk, 'POST', '/api/v1/holders/sq-eve/lockout-lifts', { reason: 'twice' });
      expect(again.json().code).toBe('ERR_HOLDER_NOT_LOCKED');
      expect((await check(rightAnswers)).json()).toMatchObject({ passed: true });
      const lifts = (await auditEvents('identity.lockout.lift')).filter((e) => e.details?.holderId === 'sq-eve');
      expect(lifts).toHaveLength(1);
      expect(lifts[0]).toMatchObject({ actor: 'helen', outcome: 'ok', details: { factors: ['security-questions'] } });
    });

    it('lets an operator enrol questions for a holder, never for themselves', async () => {
      await addHolder('sq-fay');
      const enrolled = await as(server.admin, 'PUT', '/api/v1/holders/sq-fay/security-questions', { questions: QUESTIONS });
      expect(enrolled.statusCode, enrolled.body).toBe(200);
      const view = (await as(server.helpdesk, 'GET', '/api/v1/holders/sq-fay')).json();
      expect(view.securityQuestions).toEqual({ enrolled: 3, questions: QUESTIONS.map((q) => q.question) });
      const tooFew = await as(server.admin, 'PUT', '/api/v1/holders/sq-fay/security-questions', { questions: QUESTIONS.slice(0, 2) });
      expect(tooFew.json().code).toBe('ERR_SECURITY_QUESTIONS_COUNT');
      const unknown = await as(server.admin, 'PUT', '/api/v1/holders/sq-ghost/security-questions', { questions: QUESTIONS });
      expect(unknown.json().code).toBe('ERR_HOLDER_NOT_FOUND');
    });
  });

  describe(`one-time unblock codes (${backend})`, () => {
    let credentialId: string;
    beforeAll(async () => {
      await addHolder('otc-gus');
      const templateId = await addTemplate('OTC only', { factors: ['one-time-code'], minimumFactors: 1 });
      credentialId = await addCredential('otc-gus', templateId);
    });

    it('e-mails a code that arrives at the SMTP listener and works exactly once', async () => {
      const before = smtp.received.length;
      const issued = await as(server.helpdesk, 'POST', `/api/v1/credentials/${credentialId}/unblock-codes`, { delivery: 'email' });
      expect(issued.statusCode, issued.body).toBe(201);
      expect(issued.json()).toMatchObject({ delivery: 'email', sentTo: 'otc-gus@tessera.test', attempts: 5 });
      expect(issued.json().code).toBeUndefined();
      const mail = (await smtp.waitFor(before + 1))[before]!;
      expect(mail.to).toEqual(['otc-gus@tessera.test']);
      expect(mail.from).toBe('tessera@tessera.test');
      const code = /\b([0-9A-HJKMNP-TV-Z]{5}-[0-9A-HJKMNP-TV-Z]{5})\b/.exec(mail.raw)![1]!;
      server.usedSecrets.push(code);
      // Typed loosely: lower case, no dash.
      const first = (await check({ credentialId, oneTimeCode: code.toLowerCase().replace('-', '') })).json();
      expect(first).toMatchObject({ passed: true, reason: 'OK' });
      const second = (await check({ credentialId, oneTimeCode: code })).json();
      expect(second).toMatchObject({ passed: false, reason: 'FACTOR_FAILED' });
      expect(factorOf(second, 'one-time-code')?.reason).toBe('CODE_USED');
      const stored = await server.app.tessera.services.context.db.withTables<{ unblock_codes: { code_hash: string } }>().selectFrom('unblock_codes').select('code_hash').execute();
      for (const row of stored) expect(row.code_hash).not.toContain(code);
    });

    it('expires codes and limits attempts; a new code replaces the old one', async () => {
      const shortLived = await issueCode(credentialId, 1);
      clockOffsetMs = 2 * 60_000;
      try {
        expect(factorOf((await check({ credentialId, oneTimeCode: shortLived })).json(), 'one-time-code')?.reason).toBe('CODE_EXPIRED');
      } finally {
        clockOffsetMs = 0;
      }
      const code = await issueCode(credentialId);
      for (let i = 0; i < 5; i++) expect(factorOf((await check({ credentialId, oneTimeCode: 'AAAAA-AAAAA' })).json(), 'one-time-code')?.reason).toBe('CODE_WRONG');
      expect(factorOf((await check({ credentialId, oneTimeCode: code })).json(), 'one-time-code')?.reason).toBe('CODE_ATTEMPTS_EXHAUSTED');
      const replaced = await issueCode(credentialId);
      const newest = await issueCode(credentialId);
      expect(factorOf((await check({ credentialId, oneTimeCode: replaced })).json(), 'one-time-code')?.reason).toBe('CODE_WRONG');
      expect((await check({ credentialId, oneTimeCode: newest })).json().passed).toBe(true);
    });

    it('refuses codes for the operator’s own credential and for a credential that does not exist', async () => {
      const templateId = await addTemplate('OTC helen', { factors: ['one-time-code'], minimumFactors: 1 });
      const own = await addCredential('holder-helen', templateId);
      expect((await as(server.helpdesk, 'POST', `/api/v1/credentials/${own}/unblock-codes`, { delivery: 'show' })).json().code).toBe('ERR_FORBIDDEN_OWN_CREDENTIAL');
      expect((await as(server.helpdesk, 'POST', '/api/v1/credentials/nope/unblock-codes', { delivery: 'show' })).json().code).toBe('ERR_CREDENTIAL_NOT_FOUND');
      expect(factorOf((await check({ credentialId: own, oneTimeCode: 'AAAAA-AAAAA' })).json(), 'one-time-code')?.reason).toBe('CODE_NONE_ISSUED');
    });
  });

  describe(`identity check combinations (${backend})`, () => {
    const subsets: Factor[][] = [];
    for (let mask = 1; mask < 1 << IDENTITY_FACTORS.length; mask++) subsets.push(IDENTITY_FACTORS.filter((_, i) => mask & (1 << i)));

    it('answers every factor set × minimum the template can ask for, with per-factor reasons', async () => {
      let n = 0;
      for (const factors of subsets) {
        for (let minimum = 1; minimum <= factors.length; minimum++) {
          n++;
          const holderId = `combo-${n}`;
          await addHolder(holderId);
          const questions = factors.includes('security-questions') ? await enrolQuestions(holderId) : [];
          const templateId = await addTemplate(`Combo ${n}`, { factors, minimumFactors: minimum });
          const credentialId = await addCredential(holderId, templateId);
          const right = async (factor: Factor): Promise<object> =>
            factor === 'directory-password'
              ? { directoryPassword: PASSWORD }
              : factor === 'security-questions'
                ? { securityAnswers: questions.map((q, i) => ({ questionId: q.id, answer: QUESTIONS[i]!.answer })) }
                : { oneTimeCode: await issueCode(credentialId) };
          const wrong = (factor: Factor): object =>
            factor === 'directory-password'
              ? { directoryPassword: 'wrong-password' }
              : factor === 'security-questions'
                ? { securityAnswers: (questions.length > 0 ? questions : [{ id: 'none' }]).map((q) => ({ questionId: q.id, answer: 'wrong' })) }
                : { oneTimeCode: 'AAAAA-AAAAA' };
          const label = `${factors.join('+')} min ${minimum}`;

          // Exactly the minimum, all right: passes; the rest not presented.
          let body: object = { credentialId };
          for (const factor of factors.slice(0, minimum)) body = { ...body, ...(await right(factor)) };
          const pass = (await check(body)).json();
          expect(pass, label).toMatchObject({ passed: true, reason: 'OK', minimumFactors: minimum });
          for (const factor of factors.slice(minimum)) expect(factorOf(pass, factor)?.result, label).toBe('not-presented');

          // One fewer than the minimum: not enough.
          body = { credentialId };
          for (const factor of factors.slice(0, minimum - 1)) body = { ...body, ...(await right(factor)) };
          const short = (await check(body)).json();
          expect(short, label).toMatchObject({ passed: false, reason: 'NOT_ENOUGH_FACTORS' });

          // All right but one wrong: fails, naming the wrong factor.
          const bad = factors[factors.length - 1]!;
          // A live code to miss (the one used above is spent).
          if (bad === 'one-time-code') await issueCode(credentialId);
          body = { credentialId, ...wrong(bad) };
          for (const factor of factors.slice(0, -1)) body = { ...body, ...(await right(factor)) };
          const failed = (await check(body)).json();
          expect(failed, label).toMatchObject({ passed: false, reason: 'FACTOR_FAILED' });
          expect(factorOf(failed, bad), label).toMatchObject({ result: 'fail', reason: { 'directory-password': 'PASSWORD_WRONG', 'security-questions': 'ANSWERS_WRONG', 'one-time-code': 'CODE_WRONG' }[bad] });

          // A factor the template does not name counts against the check.
          const outside = IDENTITY_FACTORS.find((f) => !factors.includes(f));
          if (outside !== undefined) {
            body = { credentialId, ...wrong(outside) };
            for (const factor of factors) body = { ...body, ...(await right(factor)) };
            const extra = (await check(body)).json();
            expect(extra, label).toMatchObject({ passed: false, reason: 'FACTOR_FAILED' });
            expect(factorOf(extra, outside)?.reason, label).toBe('NOT_IN_TEMPLATE');
          }
        }
      }
      expect(n).toBe(12);
    });

    it('fails the check for a holder missing from the directory, and locks the directory password after failures', async () => {
      const templateId = await addTemplate('DP only', { factors: ['directory-password'], minimumFactors: 1, lockoutAfterFailures: 2 });
      const ghost = await addCredential('not-in-directory', templateId);
      const ghostCheck = (await check({ credentialId: ghost, directoryPassword: PASSWORD })).json();
      expect(ghostCheck).toMatchObject({ passed: false, reason: 'HOLDER_NOT_IN_DIRECTORY' });
      expect(factorOf(ghostCheck, 'directory-password')?.reason).toBe('HOLDER_NOT_IN_DIRECTORY');
      await addHolder('dp-ian');
      const credentialId = await addCredential('dp-ian', templateId);
      await check({ credentialId, directoryPassword: 'wrong-1' });
      expect(factorOf((await check({ credentialId, directoryPassword: 'wrong-2' })).json(), 'directory-password')?.locked).toBe(true);
      expect(factorOf((await check({ credentialId, directoryPassword: PASSWORD })).json(), 'directory-password')?.reason).toBe('FACTOR_LOCKED');
    });

    it('audits every check without the presented secrets', async () => {
      const events = await auditEvents('identity.check');
      expect(events.length).toBeGreaterThan(30);
      const text = JSON.stringify(events);
      for (const secret of [PASSWORD, ...QUESTIONS.map((q) => q.answer), 'wrong-password', 'AAAAA-AAAAA']) expect(text).not.toContain(secret);
      for (const secret of server.usedSecrets) {
        expect(text).not.toContain(secret);
        expect(server.logs()).not.toContain(secret);
      }
    });
  });

  describe(`explain reports missing enrolments (${backend})`, () => {
    it('names what the holder lacks for the self-service factors', async () => {
      await addHolder('ex-jo', { email: 'jo@tessera.test' });
      const templateId = await addTemplate('Explain SQ', { factors: ['security-questions'], minimumFactors: 1 });
      const credentialId = await addCredential('ex-jo', templateId);
      const methods = async () => (await as(server.admin, 'GET', `/api/v1/credentials/${credentialId}/unblock-methods`)).json().methods as { method: string; reasons: string[] }[];
      expect((await methods()).find((m) => m.method === 'user-app')!.reasons).toContain('SECURITY_QUESTIONS_NOT_ENROLLED');
      await enrolQuestions('ex-jo');
      expect((await methods()).find((m) => m.method === 'user-app')!.reasons).not.toContain('SECURITY_QUESTIONS_NOT_ENROLLED');
    });
  });
}

describe('holder identity on SQLite', () => identitySuite('sqlite'));
describeWithPostgres('holder identity on PostgreSQL', () => identitySuite('postgres'));
