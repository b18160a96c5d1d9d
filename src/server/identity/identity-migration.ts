// Tables of holder identity: local holders, security questions, lockouts, one-time unblock codes, enrolled workstations.
import type { Kysely, Migration } from 'kysely';

export const identityMigration: Migration = {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations must not depend on today's row types
  async up(db: Kysely<any>): Promise<void> {
    await db.schema
      .createTable('holders')
      .addColumn('username', 'varchar(128)', (c) => c.primaryKey())
      .addColumn('display_name', 'varchar(256)', (c) => c.notNull())
      .addColumn('email', 'varchar(256)')
      .addColumn('status', 'varchar(16)', (c) => c.notNull())
      .addColumn('password_hash', 'text')
      .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
      .addColumn('updated_at', 'varchar(32)', (c) => c.notNull())
      .execute();
    await db.schema
      .createTable('security_questions')
      .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
      .addColumn('holder_id', 'varchar(128)', (c) => c.notNull())
      .addColumn('position', 'integer', (c) => c.notNull())
      .addColumn('question', 'varchar(256)', (c) => c.notNull())
      .addColumn('answer_hash', 'text', (c) => c.notNull())
      .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('security_questions_holder_idx').on('security_questions').column('holder_id').execute();
    await db.schema
      .createTable('identity_lockouts')
      .addColumn('holder_id', 'varchar(128)', (c) => c.notNull())
      .addColumn('factor', 'varchar(32)', (c) => c.notNull())
      .addColumn('failures', 'integer', (c) => c.notNull())
      .addColumn('locked_at', 'varchar(32)')
      .addColumn('updated_at', 'varchar(32)', (c) => c.notNull())
      .addPrimaryKeyConstraint('identity_lockouts_pk', ['holder_id', 'factor'])
      .execute();
    await db.schema
      .createTable('unblock_codes')
      .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
      .addColumn('holder_id', 'varchar(128)', (c) => c.notNull())
      .addColumn('credential_id', 'varchar(64)', (c) => c.notNull().references('credentials.id'))
      .addColumn('code_hash', 'text', (c) => c.notNull())
      .addColumn('delivery', 'varchar(16)', (c) => c.notNull())
      .addColumn('attempts_left', 'integer', (c) => c.notNull())
      .addColumn('expires_at', 'varchar(32)', (c) => c.notNull())
      .addColumn('used_at', 'varchar(32)')
      .addColumn('issued_by', 'varchar(128)', (c) => c.notNull())
      .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('unblock_codes_credential_idx').on('unblock_codes').column('credential_id').execute();
    await db.schema
      .createTable('workstations')
      .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
      .addColumn('name', 'varchar(128)', (c) => c.notNull().unique())
      .addColumn('public_key_spki', 'text', (c) => c.notNull())
      .addColumn('status', 'varchar(16)', (c) => c.notNull())
      .addColumn('enrolled_by', 'varchar(128)', (c) => c.notNull())
      .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
      .addColumn('revoked_at', 'varchar(32)')
      .execute();
    await db.schema
      .createTable('workstation_nonces')
      .addColumn('workstation_id', 'varchar(64)', (c) => c.notNull())
      .addColumn('nonce', 'varchar(64)', (c) => c.notNull())
      .addColumn('expires_at', 'varchar(32)', (c) => c.notNull())
      .addPrimaryKeyConstraint('workstation_nonces_pk', ['workstation_id', 'nonce'])
      .execute();
  },
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- see up()
  async down(db: Kysely<any>): Promise<void> {
    for (const table of ['workstation_nonces', 'workstations', 'unblock_codes', 'identity_lockouts', 'security_questions', 'holders']) {
      await db.schema.dropTable(table).execute();
    }
  },
};
