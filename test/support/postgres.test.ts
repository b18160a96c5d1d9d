// Checks the PostgreSQL test helper: fresh databases are isolated from each other and really dropped.
import pg from 'pg';
import { afterAll, expect, it } from 'vitest';
import { createTestPostgresDatabase, describeWithPostgres, type TestPostgresDatabase } from './postgres.ts';

describeWithPostgres('createTestPostgresDatabase', () => {
  const created: TestPostgresDatabase[] = [];
  afterAll(async () => {
    for (const database of created) await database.drop();
  });

  async function query(url: string, text: string): Promise<pg.QueryResult> {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      return await client.query(text);
    } finally {
      await client.end();
    }
  }

  it('creates two distinct empty databases that do not see each other', async () => {
    const a = await createTestPostgresDatabase();
    const b = await createTestPostgresDatabase();
    created.push(a, b);
    expect(a.url).not.toBe(b.url);
    await query(a.url, 'CREATE TABLE only_in_a (x integer)');
    const inB = await query(b.url, "SELECT count(*)::int AS n FROM information_schema.tables WHERE table_name = 'only_in_a'");
    expect(inB.rows[0].n).toBe(0);
    const inA = await query(a.url, "SELECT count(*)::int AS n FROM information_schema.tables WHERE table_name = 'only_in_a'");
    expect(inA.rows[0].n).toBe(1);
  });

  it('drop() removes the database even while a connection is still open, and is idempotent', async () => {
    const database = await createTestPostgresDatabase();
    const name = new URL(database.url).pathname.slice(1);
    const lingering = new pg.Client({ connectionString: database.url });
    await lingering.connect();
    lingering.on('error', () => undefined); // the forced drop terminates it
    await database.drop();
    await database.drop();
    const adminUrl = new URL(database.url);
    adminUrl.pathname = '/postgres';
    const left = await query(adminUrl.toString(), `SELECT count(*)::int AS n FROM pg_database WHERE datname = '${name}'`);
    expect(left.rows[0].n).toBe(0);
    await lingering.end().catch(() => undefined);
  });
});
