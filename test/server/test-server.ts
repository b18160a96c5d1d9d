// Builds the real app on a temporary SQLite file or a fresh PostgreSQL database, with signed-in operators for tests.
import { strict as assert } from 'node:assert';
import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import { buildApp, type AppOptions } from '../../src/server/app.ts';
import { createServerLogger } from '../../src/server/start-server.ts';
import { createTestPostgresDatabase } from '../support/postgres.ts';

export type Backend = 'sqlite' | 'postgres';
export const BACKENDS: Backend[] = ['sqlite', 'postgres'];

export interface SignedInOperator {
  name: string;
  token: string;
  privateKey: KeyObject;
  holderId: string | null;
}

export interface TestServer {
  app: FastifyInstance;
  backend: Backend;
  databaseUrl: string;
  dataDir: string;
  admin: SignedInOperator;
  helpdesk: SignedInOperator;
  /** Every log line the server wrote so far. */
  logs(): string;
  /** Secret values the test sent, to check none of them reached a log. */
  usedSecrets: string[];
  request(operator: SignedInOperator | null, options: InjectOptions): Promise<LightMyRequestResponse>;
  close(): Promise<void>;
}

export function newOperatorKey(): { privateKey: KeyObject; publicKeyPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  return { privateKey, publicKeyPem: publicKey.export({ format: 'pem', type: 'spki' }).toString() };
}

/** What the operator's card does: ECDSA P-256 over SHA-256 of the server's to-be-signed bytes, DER-encoded. */
export function signChallenge(privateKey: KeyObject, toSign: string): string {
  return sign('sha256', Buffer.from(toSign, 'base64'), { key: privateKey, dsaEncoding: 'der' }).toString('base64');
}

export async function signIn(app: FastifyInstance, name: string, privateKey: KeyObject): Promise<string> {
  const challenge = await app.inject({ method: 'POST', url: '/api/v1/sessions/challenge', payload: { operatorName: name } });
  const { challengeId, toSign } = challenge.json<{ challengeId: string; toSign: string }>();
  const session = await app.inject({ method: 'POST', url: '/api/v1/sessions', payload: { challengeId, signature: signChallenge(privateKey, toSign) } });
  if (session.statusCode !== 200) assert.fail(`sign-in of ${name} failed: ${session.body}`);
  return session.json<{ token: string }>().token;
}

export async function startTestServer(backend: Backend, extra: Pick<AppOptions, 'identity' | 'clock'> = {}): Promise<TestServer> {
  const dataDir = mkdtempSync(join(tmpdir(), 'tessera-server-'));
  const database = backend === 'postgres' ? await createTestPostgresDatabase() : null;
  const databaseUrl = database?.url ?? join(dataDir, 'tessera.sqlite');
  let logText = '';
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logText += chunk.toString();
      done();
    },
  });
  const app = await buildApp({
    databaseUrl,
    keyStore: { kind: 'file', path: join(dataDir, 'master.key'), createIfMissing: true },
    auditCheckpointDir: join(dataDir, 'audit-checkpoints'),
    logger: createServerLogger(sink, 'debug'),
    ...extra,
  });
  await app.ready();
  const usedSecrets: string[] = [];
  const bootstrap = app.tessera.firstStart!;
  usedSecrets.push(bootstrap.enrolmentCode);

  const enrol = async (name: string, code: string, holderId: string | null): Promise<SignedInOperator> => {
    const key = newOperatorKey();
    const enrolled = await app.inject({ method: 'POST', url: '/api/v1/enrolment', payload: { operatorName: name, enrolmentCode: code, publicKey: key.publicKeyPem } });
    if (enrolled.statusCode !== 200) assert.fail(`enrolment of ${name} failed: ${enrolled.body}`);
    const token = await signIn(app, name, key.privateKey);
    usedSecrets.push(token);
    return { name, token, privateKey: key.privateKey, holderId };
  };
  const admin = await enrol(bootstrap.operatorName, bootstrap.enrolmentCode, null);
  const created = await app.inject({
    method: 'POST',
    url: '/api/v1/operators',
    headers: { authorization: `Bearer ${admin.token}` },
    payload: { name: 'helen', roleId: 'helpdesk', holderId: 'holder-helen' },
  });
  const helpdeskCode = created.json<{ enrolmentCode: string }>().enrolmentCode;
  usedSecrets.push(helpdeskCode);
  const helpdesk = await enrol('helen', helpdeskCode, 'holder-helen');

  return {
    app,
    backend,
    databaseUrl,
    dataDir,
    admin,
    helpdesk,
    logs: () => logText,
    usedSecrets,
    request: (operator, options) =>
      app.inject({ ...options, headers: { ...(options.headers ?? {}), ...(operator ? { authorization: `Bearer ${operator.token}` } : {}) } }),
    async close() {
      await app.close();
      await database?.drop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
