// Two real server processes on one PostgreSQL serve concurrent requests: no lost or forked audit events, no conflicting updates.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { AuditLog } from '../../src/server/audit/audit-log.ts';
import { openDatabase } from '../../src/server/db/open-database.ts';
import { openKeyStore } from '../../src/server/keys/key-store.ts';
import { createTestPostgresDatabase, describeWithPostgres, type TestPostgresDatabase } from '../support/postgres.ts';
import { newOperatorKey, signChallenge } from './test-server.ts';

interface ServerProcess {
  child: ChildProcess;
  url: string;
  output: string;
}

async function startServerProcess(databaseUrl: string, dataDir: string): Promise<ServerProcess> {
  const child = spawn(process.execPath, ['bin/tessera.js', 'server', '--db', databaseUrl, '--data', dataDir, '--listen', '127.0.0.1:0', '--plain-http', '--log-level', 'warn'], {
    cwd: join(import.meta.dirname, '..', '..'),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      const match = /listening on (http:\/\/[^\s]+)/.exec(output);
      // The banner is written in one piece; wait for its last line when it has one.
      if (match && (!output.includes('First start') || /tessera operator login .*\n/.test(output))) resolve({ child, url: match[1]!, output });
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('exit', (code) => reject(new Error(`server exited with ${code}: ${output}`)));
  });
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- answers are checked field by field in the test
async function call(server: ServerProcess, token: string | null, method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
  const response = await fetch(`${server.url}${path}`, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: response.status, json: response.status === 204 ? null : await response.json() };
}

describeWithPostgres('two server processes on one PostgreSQL', () => {
  let database: TestPostgresDatabase;
  let dataDir: string;
  const servers: ServerProcess[] = [];

  beforeAll(async () => {
    database = await createTestPostgresDatabase();
    dataDir = mkdtempSync(join(tmpdir(), 'tessera-two-'));
    // One after the other: the first seeds the database, the second finds it seeded and shares its key file.
    servers.push(await startServerProcess(database.url, dataDir));
    servers.push(await startServerProcess(database.url, dataDir));
  });
  afterAll(async () => {
    await Promise.all(
      servers.map((s) => new Promise<void>((resolve) => {
        if (s.child.exitCode !== null) return resolve();
        s.child.once('exit', () => resolve());
        s.child.kill('SIGTERM');
      })),
    );
    await database?.drop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('serve concurrent requests without lost or forked audit events or conflicting credential updates', async () => {
    const [a, b] = servers as [ServerProcess, ServerProcess];
    expect(a.output).toContain('First start');
    expect(b.output).not.toContain('First start');
    const code = /enrolment code for "admin": ([A-Z0-9-]+)/.exec(a.output)![1]!;
    const key = newOperatorKey();
    expect((await call(b, null, 'POST', '/api/v1/enrolment', { operatorName: 'admin', enrolmentCode: code, publicKey: key.publicKeyPem })).status).toBe(200);
    // Challenge on one instance, answer on the other: the servers keep no state outside the database.
    const challenge = (await call(a, null, 'POST', '/api/v1/sessions/challenge', { operatorName: 'admin' })).json;
    const token = (await call(b, null, 'POST', '/api/v1/sessions', { challengeId: challenge.challengeId, signature: signChallenge(key.privateKey, challenge.toSign) })).json.token as string;
    const templateId = (await call(a, token, 'GET', '/api/v1/templates')).json.find((t: { cardType: string }) => t.cardType === 'piv').id;

    const credentialCount = 12;
    const registered = await Promise.all(
      Array.from({ length: credentialCount }, (_, i) =>
        call(i % 2 ? a : b, token, 'POST', '/api/v1/credentials', {
          cardType: 'piv',
          cardIdentifier: i.toString(16).padStart(32, '0'),
          holder: { id: `holder-${i}`, name: `Holder ${i}` },
          templateId,
        }),
      ),
    );
    expect(registered.map((r) => r.status)).toEqual(Array(credentialCount).fill(201));
    const ids = registered.map((r) => r.json.id as string);

    // Each credential gets six competing suspensions, three through each instance.
    const attempts = await Promise.all(
      ids.flatMap((id) => Array.from({ length: 6 }, (_, k) => call(k % 2 ? a : b, token, 'POST', `/api/v1/credentials/${id}/transitions`, { to: 'suspended', reason: `race ${k}` }))),
    );
    const wins = attempts.filter((r) => r.status === 200).length;
    const refusals = attempts.filter((r) => r.status === 409).length;
    expect(wins).toBe(credentialCount);
    expect(refusals).toBe(credentialCount * 5);
    for (const id of ids) expect((await call(a, token, 'GET', `/api/v1/credentials/${id}`)).json).toMatchObject({ state: 'suspended', version: 2 });

    const { db } = openDatabase(database.url);
    const keyStore = await openKeyStore({ kind: 'file', path: join(dataDir, 'master.key') });
    try {
      const auditLog = new AuditLog({ db, keyStore, checkpointDir: join(dataDir, 'audit-checkpoints') });
      const verification = await auditLog.verify();
      expect(verification.ok).toBe(true);
      const events = (await auditLog.export({}, 'jsonl')).trim().split('\n').map((line: string) => JSON.parse(line) as { action: string; outcome: string });
      expect(events.filter((e: { action: string; outcome: string }) => e.action === 'credential.register')).toHaveLength(credentialCount);
      expect(events.filter((e: { action: string; outcome: string }) => e.action === 'credential.transition' && e.outcome === 'ok')).toHaveLength(credentialCount);
      expect(events.filter((e: { action: string; outcome: string }) => e.outcome === 'refused' && e.action === 'POST /api/v1/credentials/:credentialId/transitions')).toHaveLength(refusals);
    } finally {
      await keyStore.close();
      await db.destroy();
    }
  });
});
