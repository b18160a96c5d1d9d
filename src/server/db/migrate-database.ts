// The one ordered list of migrations (Tessera's tables, then the audit chain's) and the runner.
import { Migrator, type Kysely, type Migration } from 'kysely';
import { TesseraError } from '../../errors.ts';
import { auditMigration } from '../audit/audit-migration.ts';
import { coreMigration } from './core-migration.ts';
import { identityMigration } from '../identity/identity-migration.ts';

export class MigrationFailedError extends TesseraError {
  readonly code = 'ERR_DATABASE_MIGRATION';
}

// Names sort in the order they must run; never rename or reorder one that has shipped.
const migrations: Record<string, Migration> = {
  '0001-core': coreMigration,
  '0002-audit': auditMigration,
  '0003-identity': identityMigration,
};

/** Brings the database to the latest schema; safe to call from several server instances at once. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the migrator works on any schema
export async function migrateDatabase(db: Kysely<any>): Promise<void> {
  const migrator = new Migrator({ db, provider: { getMigrations: async () => migrations } });
  const { error, results } = await migrator.migrateToLatest();
  if (error !== undefined) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
    throw new MigrationFailedError(`database migration ${failed} failed`, { cause: error });
  }
}
