// Opens Tessera's database from a URL: PostgreSQL for `postgres://` URLs, SQLite (a file) otherwise.
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import pg from 'pg';
import { Kysely, PostgresDialect, SqliteDialect } from 'kysely';
import { TesseraError } from '../../errors.ts';
import type { Database } from './database-schema.ts';

export class DatabaseUrlError extends TesseraError {
  readonly code = 'ERR_DATABASE_URL';
}

export type DatabaseKind = 'sqlite' | 'postgres';

export interface OpenedDatabase {
  db: Kysely<Database>;
  kind: DatabaseKind;
  /** Where the data lives, without any password: a file path or host/database. */
  location: string;
}

/** `postgres://...` or `postgresql://...` → PostgreSQL; `sqlite:PATH`, `file:PATH` or a plain path → SQLite. */
export function openDatabase(url: string): OpenedDatabase {
  if (/^postgres(ql)?:\/\//i.test(url)) {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch (error) {
      throw new DatabaseUrlError('the PostgreSQL URL cannot be parsed', { cause: error });
    }
    const pool = new pg.Pool({ connectionString: url, max: 10 });
    // An idle connection dropped by the server must not crash the process; the next query reconnects.
    pool.on('error', () => undefined);
    return {
      db: new Kysely<Database>({ dialect: new PostgresDialect({ pool }) }),
      kind: 'postgres',
      location: `${parsed.hostname}:${parsed.port || '5432'}${parsed.pathname}`,
    };
  }
  const path = url.replace(/^(sqlite|file):(\/\/)?/i, '');
  if (path === '' ) throw new DatabaseUrlError('the SQLite database path is empty');
  if (path !== ':memory:') mkdirSync(dirname(resolve(path)), { recursive: true });
  const sqlite = new BetterSqlite3(path);
  // WAL lets readers proceed while one writer works; the busy timeout queues writers instead of failing them.
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('busy_timeout = 5000');
  sqlite.pragma('foreign_keys = ON');
  return {
    db: new Kysely<Database>({ dialect: new SqliteDialect({ database: sqlite }) }),
    kind: 'sqlite',
    location: path === ':memory:' ? path : resolve(path),
  };
}
