// Every state change commits with its audit event or not at all, through the real services on SQLite and PostgreSQL.
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql, type Kysely } from 'kysely';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestPostgresDatabase, describeWithPostgres, type TestPostgresDatabase } from '../../../test/support/postgres.ts';
import { AuditLog } from '../audit/audit-log.ts';
import type { Database } from '../db/database-schema.ts';
import { migrateDatabase } from '../db/migrate-database.ts';
import { openDatabase } from '../db/open-database.ts';
import { exampleTemplates } from '../domain/credential-template.ts';
import { PERMISSIONS } from '../domain/permissions.ts';
import { openKeyStore, type KeyStore } from '../keys/key-store.ts';
import { runFirstStart } from './first-start.ts';
import { audited, type Actor, type ServiceContext } from './service-context.ts';
import { createServices, type Services } from './services.ts';

type Dialect = 'sqlite' | 'postgres';

const actor: Actor = {
  operatorId: 'operator-alice',
  operatorName: 'alice',
  roleId: 'administrator',
  permissions: [...PERMISSIONS],
  offlineLimits: { maxResponsesPerDay: 10 },
  holderId: null,
};

class Crash extends Error {}

/** Makes the database refuse audit inserts, as a full disk or a damaged table would. */
async function refuseAuditInserts(db: Kysely<Database>, dialect: Dialect): Promise<void> {
  if (dialect === 'sqlite') {
    await sql`CREATE TRIGGER audit_refuses BEFORE INSERT ON audit_events BEGIN SELECT RAISE(ABORT, 'audit store refuses'); END`.execute(db);
  } else {
    await sql`CREATE FUNCTION audit_refuses() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'audit store refuses'; END $$`.execute(db);
    await sql`CREATE TRIGGER audit_refuses BEFORE INSERT ON audit_events FOR EACH ROW EXECUTE FUNCTION audit_refuses()`.execute(db);
  }
}

async function allowAuditInserts(db: Kysely<Database>, dialect: Dialect): Promise<void> {
  await sql`DROP TRIGGER audit_refuses${sql.raw(dialect === 'postgres' ? ' ON audit_events' : '')}`.execute(db);
  if (dialect === 'postgres') await sql`DROP FUNCTION audit_refuses()`.execute(db);
}

function atomicitySuite(dialect: Dialect, databaseUrl: (dir: string) => Promise<string>): void {
  let dir: string;
  let db: Kysely<Database>;
  let keyStore: KeyStore;
  let auditLog: AuditLog;
  let services: Services;
  let context: ServiceContext;
  let templateId: string;

  const auditCount = async (): Promise<number> => (await auditLog.verify()).count;
  const register = (cardIdentifier: string): Promise<unknown> =>
    services.credentials.register(actor, { cardType: 'piv', cardIdentifier, holder: { id: 'holder-1', name: 'Holder One' }, templateId });

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tessera-atomic-'));
    db = openDatabase(await databaseUrl(dir)).db;
    await migrateDatabase(db);
    keyStore = await openKeyStore({ kind: 'file', path: join(dir, 'master.key'), createIfMissing: true });
    // A checkpoint after every event: one naming a rolled-back event would make verify() report truncation.
    auditLog = new AuditLog({ db, keyStore, checkpointDir: join(dir, 'checkpoints'), checkpointEvery: 1 });
    context = { db, audit: auditLog, keyStore, clock: () => new Date() };
    services = createServices(context, { sessionSeconds: 60 });
    await runFirstStart(context, services);
    templateId = (await services.templates.list()).find((t) => t.cardType === 'piv')!.id;
  });
  afterEach(async () => {
    await keyStore.close();
    await db.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  it('seeds the first start and its events in one transaction', async () => {
    expect(await auditLog.verify()).toMatchObject({ ok: true, count: 2, checkpointsChecked: 2 });
    expect(await runFirstStart(context, services)).toBeNull();
  });

  it('leaves neither the change nor its event when the transaction fails after the audit append', async () => {
    const before = await auditCount();
    const files = readdirSync(join(dir, 'checkpoints')).sort();
    await expect(
      audited(context, undefined, async (scope) => {
        await services.credentials.register(actor, { cardType: 'piv', cardIdentifier: 'ab'.repeat(16), holder: { id: 'h', name: 'H' }, templateId }, scope);
        await services.templates.create(actor, { ...exampleTemplates()[0]!, name: 'Second PIV' }, scope);
        const inside = await sql<{ n: number | string }>`SELECT count(*) AS n FROM audit_events`.execute(scope.db);
        expect(Number(inside.rows[0]!.n)).toBe(before + 2);
        throw new Crash('the process dies before the commit');
      }),
    ).rejects.toBeInstanceOf(Crash);
    expect(await services.credentials.list({})).toEqual([]);
    expect((await services.templates.list()).map((t) => t.name)).not.toContain('Second PIV');
    expect(readdirSync(join(dir, 'checkpoints')).sort()).toEqual(files);
    expect(await auditLog.verify()).toMatchObject({ ok: true, count: before });
  });

  it('rolls back the state change when the audit append fails, and keeps the credential lease free', async () => {
    await register('01'.repeat(16));
    const [credential] = await services.credentials.list({});
    const before = await auditCount();
    await refuseAuditInserts(db, dialect);
    try {
      await expect(services.credentials.transition(actor, credential!.id, 'suspended', 'lost card')).rejects.toThrow(/audit store refuses/);
      await expect(register('02'.repeat(16))).rejects.toThrow(/audit store refuses/);
      await expect(services.templates.lock(actor, templateId)).rejects.toThrow(/audit store refuses/);
    } finally {
      await allowAuditInserts(db, dialect);
    }
    expect(await services.credentials.get(credential!.id)).toMatchObject({ state: 'issued-pin-locked', version: 1 });
    expect(await services.credentials.list({})).toHaveLength(1);
    expect(await services.templates.get(templateId)).toMatchObject({ lockedBy: null });
    const row = await db.selectFrom('credentials').select(['lease_owner']).where('id', '=', credential!.id).executeTakeFirstOrThrow();
    expect(row.lease_owner).toBeNull();
    expect(await auditLog.verify()).toMatchObject({ ok: true, count: before });
    // Once the audit store works again, the same change goes through with its event.
    expect(await services.credentials.transition(actor, credential!.id, 'suspended', 'lost card')).toMatchObject({ state: 'suspended', version: 2 });
    expect(await auditLog.verify()).toMatchObject({ ok: true, count: before + 1 });
  });
}

describe('audited state changes on SQLite', () => {
  atomicitySuite('sqlite', async (dir) => join(dir, 'tessera.sqlite'));
});

describeWithPostgres('audited state changes on PostgreSQL', () => {
  const databases: TestPostgresDatabase[] = [];
  afterAll(async () => {
    for (const database of databases) await database.drop();
  });
  atomicitySuite('postgres', async () => {
    const database = await createTestPostgresDatabase();
    databases.push(database);
    return database.url;
  });
});
