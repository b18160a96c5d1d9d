// Checks the audit chain on SQLite and PostgreSQL: every kind of tampering is named at the right event; secrets are refused; export filters.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect, sql } from 'kysely';
import fc from 'fast-check';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createTestPostgresDatabase, describeWithPostgres, type TestPostgresDatabase } from '../../../test/support/postgres.ts';
import { Secret } from '../../secret.ts';
import { eventMac } from './audit-canonical.ts';
import { AuditLog, type AuditVerification } from './audit-log.ts';
import { auditMigration } from './audit-migration.ts';

const macKey = Secret.fromHex('6a'.repeat(32));
const tmpRoot = mkdtempSync(join(tmpdir(), 'tessera-audit-'));
afterAll(() => rmSync(tmpRoot, { recursive: true, force: true }));
let dirCounter = 0;
const newDir = (): string => join(tmpRoot, `checkpoints-${++dirCounter}`);

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests reach into the table like an attacker would
type AnyDb = Kysely<any>;

interface Backend {
  name: 'sqlite' | 'postgres';
  /** A database with a fresh, empty audit table. */
  freshDb(): Promise<AnyDb>;
}

function sampleEvent(i: number): Parameters<AuditLog['append']>[0] {
  return {
    action: i % 3 === 0 ? 'credential.transition' : 'template.create',
    actor: i % 2 === 0 ? 'alice' : 'bob',
    credentialId: `cred-${i % 4}`,
    outcome: i % 5 === 0 ? 'refused' : 'ok',
    reason: i % 5 === 0 ? 'not allowed' : undefined,
    details: { index: i, nested: { b: 2, a: [1, 'x'] } },
  };
}

async function seeded(db: AnyDb, count = 25): Promise<AuditLog> {
  const log = new AuditLog({ db, macKey, checkpointDir: newDir(), checkpointEvery: 10 });
  for (let i = 1; i <= count; i++) await log.append(sampleEvent(i));
  return log;
}

async function setSeq(db: AnyDb, from: number, to: number): Promise<void> {
  await db.updateTable('audit_events').set({ seq: to }).where('seq', '=', from).execute();
}

function expectFailure(result: AuditVerification, kind: string, seq: number): void {
  expect(result).toMatchObject({ ok: false, kind, seq });
}

/** Makes the database itself refuse audit inserts, as a full disk or a broken table would. */
async function refuseAuditInserts(db: AnyDb, dialect: Backend['name']): Promise<void> {
  if (dialect === 'sqlite') {
    await sql`CREATE TRIGGER audit_refuses BEFORE INSERT ON audit_events BEGIN SELECT RAISE(ABORT, 'audit store refuses'); END`.execute(db);
  } else {
    await sql`CREATE FUNCTION audit_refuses() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'audit store refuses'; END $$`.execute(db);
    await sql`CREATE TRIGGER audit_refuses BEFORE INSERT ON audit_events FOR EACH ROW EXECUTE FUNCTION audit_refuses()`.execute(db);
  }
}

async function allowAuditInserts(db: AnyDb, dialect: Backend['name']): Promise<void> {
  await sql`DROP TRIGGER audit_refuses${sql.raw(dialect === 'postgres' ? ' ON audit_events' : '')}`.execute(db);
  if (dialect === 'postgres') await sql`DROP FUNCTION audit_refuses()`.execute(db);
}

function tamperingSuite(backend: Backend): void {
  let db: AnyDb;
  beforeEach(async () => {
    db = await backend.freshDb();
  });

  it('verifies an intact chain and its checkpoints', async () => {
    const log = await seeded(db);
    expect(await log.verify()).toEqual({ ok: true, count: 25, headMac: expect.stringMatching(/^[0-9a-f]{64}$/), checkpointsChecked: 2 });
    expect(await new AuditLog({ db, macKey, checkpointDir: newDir() }).verify()).toMatchObject({ ok: true, count: 25 });
  });

  it('names an edited event (content changed, MAC left)', async () => {
    const log = await seeded(db);
    await db.updateTable('audit_events').set({ reason: 'nothing to see' }).where('seq', '=', 7).execute();
    expectFailure(await log.verify(), 'edited', 7);
  });

  it('names an edited details field', async () => {
    const log = await seeded(db, 20);
    await db.updateTable('audit_events').set({ details: '{"index":3}' }).where('seq', '=', 3).execute();
    expectFailure(await log.verify(), 'edited', 3);
  });

  it('names an edited head event, vouched for by its checkpoint', async () => {
    const log = await seeded(db, 20);
    await db.updateTable('audit_events').set({ outcome: 'ok' }).where('seq', '=', 20).execute();
    expectFailure(await log.verify(), 'edited', 20);
  });

  it('names a removed event (gap)', async () => {
    const log = await seeded(db);
    await db.deleteFrom('audit_events').where('seq', '=', 12).execute();
    expectFailure(await log.verify(), 'removed', 12);
  });

  it('names a removed event even when the later ones were renumbered to close the gap', async () => {
    const log = await seeded(db);
    await db.deleteFrom('audit_events').where('seq', '=', 12).execute();
    for (let seq = 13; seq <= 25; seq++) await setSeq(db, seq, seq - 1);
    expectFailure(await log.verify(), 'removed', 12);
  });

  it('names reordered events (two events swapped)', async () => {
    const log = await seeded(db);
    await setSeq(db, 8, -1);
    await setSeq(db, 9, 8);
    await setSeq(db, -1, 9);
    expectFailure(await log.verify(), 'reordered', 8);
  });

  it('names a truncated log (fewer events than the last checkpoint counted)', async () => {
    const log = await seeded(db);
    await db.deleteFrom('audit_events').where('seq', '>', 15).execute();
    expectFailure(await log.verify(), 'truncated', 16);
  });

  it('names a truncated log that the server has since appended to (head mismatch at the checkpoint)', async () => {
    const log = await seeded(db);
    await db.deleteFrom('audit_events').where('seq', '>', 15).execute();
    for (let i = 100; i < 110; i++) await log.append(sampleEvent(i));
    expectFailure(await log.verify(), 'truncated', 20);
  });

  it('names a forged event: inserted with a made-up MAC, or edited with a MAC under a guessed key', async () => {
    const log = await seeded(db);
    const head = await db.selectFrom('audit_events').selectAll().where('seq', '=', 25).executeTakeFirstOrThrow();
    await db
      .insertInto('audit_events')
      .values({ ...head, seq: 26, action: 'operator.create', prev_mac: head.mac, mac: 'f'.repeat(64) })
      .execute();
    expectFailure(await log.verify(), 'forged', 26);

    const db2 = await backend.freshDb();
    const log2 = await seeded(db2);
    const row = await db2.selectFrom('audit_events').selectAll().where('seq', '=', 5).executeTakeFirstOrThrow();
    const edited = { ...row, outcome: 'ok', reason: null };
    const guessedKey = new Uint8Array(32);
    const forgedMac = eventMac(guessedKey, row.prev_mac, { seq: 5, at: row.at, action: row.action, actor: row.actor, credentialId: row.credential_id, outcome: 'ok', reason: null, details: row.details });
    await db2.updateTable('audit_events').set({ ...edited, mac: forgedMac }).where('seq', '=', 5).execute();
    expectFailure(await log2.verify(), 'forged', 5);
  });

  it('names a forged checkpoint file', async () => {
    const dir = newDir();
    const log = new AuditLog({ db, macKey, checkpointDir: dir, checkpointEvery: 10 });
    for (let i = 1; i <= 12; i++) await log.append(sampleEvent(i));
    const name = readdirSync(dir).find((n) => n.endsWith('.json'))!;
    const checkpoint = JSON.parse(readFileSync(join(dir, name), 'utf8')) as Record<string, unknown>;
    writeFileSync(join(dir, name), JSON.stringify({ ...checkpoint, at: '2020-01-01T00:00:00.000Z' }));
    expectFailure(await log.verify(), 'forged', 10);
  });

  it('refuses secrets and bad input in events, writing nothing', async () => {
    const log = await seeded(db, 3);
    const refusals: Array<[Parameters<AuditLog['append']>[0], string]> = [
      [{ action: 'x', outcome: 'ok', details: { puk: Secret.fromText('12345678') } }, 'ERR_AUDIT_SECRET_IN_DETAILS'],
      [{ action: 'x', outcome: 'ok', details: { deep: [{ key: Secret.fromText('k') }] } }, 'ERR_AUDIT_SECRET_IN_DETAILS'],
      [{ action: 'x', outcome: 'ok', details: { pin: '123456' } }, 'ERR_AUDIT_SECRET_IN_DETAILS'],
      [{ action: 'x', outcome: 'ok', details: { adminKey: 'ab' } }, 'ERR_AUDIT_SECRET_IN_DETAILS'],
      [{ action: 'x', outcome: 'ok', details: { blob: Buffer.from('00', 'hex') } }, 'ERR_AUDIT_SECRET_IN_DETAILS'],
      [{ action: '', outcome: 'ok' }, 'ERR_AUDIT_INPUT'],
      // eslint-disable-next-line @typescript-eslint/no-explicit-any -- deliberately ill-typed
      [{ action: 'x', outcome: 'maybe' as any }, 'ERR_AUDIT_INPUT'],
      [{ action: 'x', outcome: 'ok', details: { n: Number.NaN } }, 'ERR_AUDIT_INPUT'],
      [{ action: 'x', outcome: 'ok', details: { when: new Map() } }, 'ERR_AUDIT_INPUT'],
      [{ action: 'x'.repeat(129), outcome: 'ok' }, 'ERR_AUDIT_INPUT'],
      [{ action: 'x', outcome: 'ok', details: { big: 'y'.repeat(20_000) } }, 'ERR_AUDIT_INPUT'],
    ];
    for (const [input, code] of refusals) await expect(log.append(input)).rejects.toMatchObject({ code });
    expect(await log.verify()).toMatchObject({ ok: true, count: 3 });
  });

  it('exports JSON lines and CSV with filters', async () => {
    const log = await seeded(db, 12);
    await log.append({ action: 'note', actor: '=cmd|calc', outcome: 'ok', reason: 'a "quoted", multi\nline reason' });
    const all = (await log.export({}, 'jsonl')).trim().split('\n').map((l) => JSON.parse(l) as { seq: number; details: unknown });
    expect(all.map((e) => e.seq)).toEqual(Array.from({ length: 13 }, (_, i) => i + 1));
    expect(all[0]!.details).toEqual({ index: 1, nested: { a: [1, 'x'], b: 2 } });
    const cred = (await log.export({ credentialId: 'cred-1' }, 'jsonl')).trim().split('\n').map((l) => JSON.parse(l) as { seq: number; credentialId: string });
    expect(cred.map((e) => e.seq)).toEqual([1, 5, 9]);
    const aliceTransitions = (await log.export({ actor: 'alice', action: 'credential.transition' })).trim().split('\n').map((l) => (JSON.parse(l) as { seq: number }).seq);
    expect(aliceTransitions).toEqual([6, 12]);
    expect(await log.export({ from: '2999-01-01T00:00:00Z' })).toBe('');
    expect((await log.export({ to: new Date(0) }, 'csv')).split('\r\n')[0]).toBe('seq,at,action,actor,credentialId,outcome,reason,details,prevMac,mac');
    const csv = await log.export({ action: 'note' }, 'csv');
    expect(csv).toContain(`13,`);
    expect(csv).toContain(`'=cmd|calc`);
    expect(csv).toContain('"a ""quoted"", multi\nline reason"');
    await expect(log.export({ from: 'yesterday' })).rejects.toMatchObject({ code: 'ERR_AUDIT_INPUT' });
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- deliberately ill-typed
    await expect(log.export({}, 'xml' as any)).rejects.toMatchObject({ code: 'ERR_AUDIT_INPUT' });
  });

  it('reports a checkpoint that cannot be written, after recording the event', async () => {
    const blocked = join(tmpRoot, `not-a-dir-${++dirCounter}`);
    writeFileSync(blocked, 'a file where the checkpoint directory should be');
    const strict = new AuditLog({ db, macKey, checkpointDir: blocked, checkpointEvery: 1 });
    await expect(strict.append({ action: 'a', outcome: 'ok' })).rejects.toMatchObject({ code: 'ERR_AUDIT_CHECKPOINT' });
    const seen: string[] = [];
    const lenient = new AuditLog({ db, macKey, checkpointDir: blocked, checkpointEvery: 1, onCheckpointError: (e) => seen.push((e as Error & { code: string }).code) });
    expect(await lenient.append({ action: 'b', outcome: 'ok' })).toMatchObject({ seq: 2 });
    expect(seen).toEqual(['ERR_AUDIT_CHECKPOINT']);
    expect(await new AuditLog({ db, macKey, checkpointDir: newDir() }).verify()).toMatchObject({ ok: true, count: 2 });
  });

  it('refuses, in the database itself, a second event chained to the same predecessor (no fork)', async () => {
    await seeded(db, 3);
    const head = await db.selectFrom('audit_events').selectAll().where('seq', '=', 3).executeTakeFirstOrThrow();
    await expect(db.insertInto('audit_events').values({ ...head, seq: 4 }).execute()).rejects.toThrow();
  });

  it('rolls back both the change and its event when the transaction fails after the append, and checkpoints only committed events', async () => {
    await sql`CREATE TABLE widgets (id integer PRIMARY KEY, colour text NOT NULL)`.execute(db);
    const dir = newDir();
    // A checkpoint after every event: one naming a rolled-back event would make verify() report truncation.
    const log = new AuditLog({ db, macKey, checkpointDir: dir, checkpointEvery: 1 });
    await log.transaction(db, async (trx, append) => {
      await trx.insertInto('widgets').values({ id: 1, colour: 'red' }).execute();
      await append({ action: 'widget.create', outcome: 'ok', details: { id: 1 } });
    });
    class Boom extends Error {}
    const failed = log.transaction(db, async (trx, append) => {
      await trx.updateTable('widgets').set({ colour: 'blue' }).where('id', '=', 1).execute();
      await trx.insertInto('widgets').values({ id: 2, colour: 'green' }).execute();
      expect(await append({ action: 'widget.recolour', outcome: 'ok' })).toMatchObject({ seq: 2 });
      throw new Boom('dies after the append');
    });
    await expect(failed).rejects.toBeInstanceOf(Boom);
    expect(await db.selectFrom('widgets').selectAll().orderBy('id').execute()).toEqual([{ id: 1, colour: 'red' }]);
    expect(readdirSync(dir).filter((n) => n.endsWith('.json'))).toEqual(['audit-checkpoint-000000000001.json']);
    expect(await log.verify()).toMatchObject({ ok: true, count: 1, checkpointsChecked: 1 });
    // The chain carries on from the committed head, and seq 2 is given again.
    await log.transaction(db, async (trx, append) => {
      await trx.updateTable('widgets').set({ colour: 'blue' }).where('id', '=', 1).execute();
      await append({ action: 'widget.recolour', outcome: 'ok' });
    });
    expect(await log.verify()).toMatchObject({ ok: true, count: 2, checkpointsChecked: 2 });
    await sql`DROP TABLE widgets`.execute(db);
  });

  it('rolls back the change when the audit append fails (bad event, or the database refusing the insert)', async () => {
    await sql`CREATE TABLE widgets (id integer PRIMARY KEY, colour text NOT NULL)`.execute(db);
    const log = await seeded(db, 3);
    const attempt = (details: Record<string, unknown>): Promise<unknown> =>
      log.transaction(db, async (trx, append) => {
        await trx.insertInto('widgets').values({ id: 1, colour: 'red' }).execute();
        await append({ action: 'widget.create', outcome: 'ok', details });
      });
    await expect(attempt({ pin: '123456' })).rejects.toMatchObject({ code: 'ERR_AUDIT_SECRET_IN_DETAILS' });
    await refuseAuditInserts(db, backend.name);
    await expect(attempt({ id: 1 })).rejects.toThrow(/audit store refuses/);
    await allowAuditInserts(db, backend.name);
    expect(await db.selectFrom('widgets').selectAll().execute()).toEqual([]);
    expect(await log.verify()).toMatchObject({ ok: true, count: 3 });
    await sql`DROP TABLE widgets`.execute(db);
  });

  it('appends inside a transaction the caller runs, checkpointing once the caller reports the commit', async () => {
    await sql`CREATE TABLE widgets (id integer PRIMARY KEY, colour text NOT NULL)`.execute(db);
    const dir = newDir();
    const log = new AuditLog({ db, macKey, checkpointDir: dir, checkpointEvery: 2 });
    // On SQLite the caller's transaction must hold the write lock from its start.
    const run = async <T,>(work: (trx: AnyDb) => Promise<T>): Promise<T> =>
      backend.name === 'postgres' ? await db.transaction().execute(work) : await db.connection().execute(async (c) => {
        await sql`BEGIN IMMEDIATE`.execute(c);
        const result = await work(c);
        await sql`COMMIT`.execute(c);
        return result;
      });
    const events = await run(async (trx) => {
      await trx.insertInto('widgets').values({ id: 1, colour: 'red' }).execute();
      return [await log.appendWithin(trx, { action: 'widget.create', outcome: 'ok' }), await log.appendWithin(trx, { action: 'widget.check', outcome: 'ok' })];
    });
    expect(events.map((e) => e.seq)).toEqual([1, 2]);
    expect(existsSync(dir)).toBe(false);
    await log.writeDueCheckpoints(events);
    expect(await log.verify()).toMatchObject({ ok: true, count: 2, checkpointsChecked: 1 });
    await sql`DROP TABLE widgets`.execute(db);
  });

  it('gives nothing for a wrong MAC key but a failure at the first event', async () => {
    await seeded(db, 5);
    const other = new AuditLog({ db, macKey: Secret.fromHex('11'.repeat(32)), checkpointDir: newDir() });
    expect(await other.verify()).toMatchObject({ ok: false, seq: 1 });
  });
}

describe('audit log on SQLite', () => {
  const open: AnyDb[] = [];
  afterEach(async () => {
    for (const db of open.splice(0)) await db.destroy();
  });
  tamperingSuite({
    name: 'sqlite',
    async freshDb() {
      const db = new Kysely({ dialect: new SqliteDialect({ database: new BetterSqlite3(':memory:') }) });
      await auditMigration.up(db);
      open.push(db);
      return db;
    },
  });

  it('serialises two writers on separate connections to one SQLite file into one chain', async () => {
    const file = join(tmpRoot, 'shared.sqlite');
    const connect = (): AnyDb => {
      const handle = new BetterSqlite3(file);
      handle.pragma('journal_mode = WAL');
      // In one process a synchronous busy wait would stall the other writer: the log retries asynchronously instead.
      handle.pragma('busy_timeout = 0');
      return new Kysely({ dialect: new SqliteDialect({ database: handle }) });
    };
    const [a, b] = [connect(), connect()];
    open.push(a, b);
    await auditMigration.up(a);
    const dir = newDir();
    const logs = [new AuditLog({ db: a, macKey, checkpointDir: dir, checkpointEvery: 50 }), new AuditLog({ db: b, macKey, checkpointDir: dir, checkpointEvery: 50 })];
    await Promise.all(logs.flatMap((log, l) => Array.from({ length: 100 }, (_, i) => log.append({ action: `writer-${l}`, outcome: 'ok', details: { i } }))));
    expect(await logs[0]!.verify()).toMatchObject({ ok: true, count: 200, checkpointsChecked: 4 });
  });
});

describe('audit chain property', () => {
  it('detects any single-field edit of any event, and reports that very event', async () => {
    const fields = ['at', 'action', 'actor', 'credential_id', 'outcome', 'reason', 'details', 'mac', 'prev_mac'] as const;
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 12 }), fc.constantFrom(...fields), fc.string({ minLength: 1, maxLength: 8 }), async (length, pick, field, junk) => {
        const target = Math.min(pick, length);
        const db: AnyDb = new Kysely({ dialect: new SqliteDialect({ database: new BetterSqlite3(':memory:') }) });
        try {
          await auditMigration.up(db);
          const log = await seeded(db, length);
          const row = await db.selectFrom('audit_events').selectAll().where('seq', '=', target).executeTakeFirstOrThrow();
          const value = `${String(row[field] ?? '')}${junk}`;
          await db.updateTable('audit_events').set({ [field]: value }).where('seq', '=', target).execute();
          const result = await log.verify();
          expect(result.ok).toBe(false);
          // A changed link is seen at the event itself or, for prev_mac, as the chain breaking just before it.
          expect(result.ok === false && result.seq >= target - 1 && result.seq <= target).toBe(true);
        } finally {
          await db.destroy();
        }
      }),
      { numRuns: 60 },
    );
  });
});

describeWithPostgres('audit log on PostgreSQL', () => {
  let database: TestPostgresDatabase;
  let db: AnyDb;
  beforeAll(async () => {
    database = await createTestPostgresDatabase();
    db = new Kysely({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: database.url, max: 4 }) }) });
  });
  afterAll(async () => {
    await db?.destroy();
    await database?.drop();
  });

  tamperingSuite({
    name: 'postgres',
    async freshDb() {
      await sql`DROP TABLE IF EXISTS audit_events`.execute(db);
      await auditMigration.up(db);
      return db;
    },
  });

  it('keeps one unforked chain when two instances on separate pools append concurrently (2 × 200)', async () => {
    await sql`DROP TABLE IF EXISTS audit_events`.execute(db);
    await auditMigration.up(db);
    const pools = [new pg.Pool({ connectionString: database.url, max: 8 }), new pg.Pool({ connectionString: database.url, max: 8 })];
    const dbs = pools.map((pool) => new Kysely({ dialect: new PostgresDialect({ pool }) }));
    const dir = newDir();
    try {
      const logs = dbs.map((d) => new AuditLog({ db: d, keyStore: { macKey: async () => macKey }, checkpointDir: dir, checkpointEvery: 50 }));
      const appended = await Promise.all(logs.flatMap((log, l) => Array.from({ length: 200 }, (_, i) => log.append({ action: `instance-${l}`, outcome: 'ok', details: { i } }))));
      const seqs = appended.map((e) => e.seq).sort((x, y) => x - y);
      expect(seqs).toEqual(Array.from({ length: 400 }, (_, i) => i + 1));
      expect(await logs[1]!.verify()).toMatchObject({ ok: true, count: 400, checkpointsChecked: 8 });
      const counts = await db.selectFrom('audit_events').select(['action', sql<number>`count(*)::int`.as('n')]).groupBy('action').orderBy('action').execute();
      expect(counts).toEqual([{ action: 'instance-0', n: 200 }, { action: 'instance-1', n: 200 }]);
    } finally {
      for (const d of dbs) await d.destroy();
    }
  });

  it('migrates down and up again', async () => {
    await auditMigration.down(db);
    await auditMigration.up(db);
    expect(await new AuditLog({ db, macKey, checkpointDir: newDir() }).verify()).toMatchObject({ ok: true, count: 0, headMac: null });
  });
});
