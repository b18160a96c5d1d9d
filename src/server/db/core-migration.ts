// The first migration of Tessera's own tables; written once for SQLite and PostgreSQL alike.
import { type Kysely, type Migration } from 'kysely';

export const coreMigration: Migration = {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations must not depend on today's row types
  async up(db: Kysely<any>): Promise<void> {
    await db.schema
      .createTable('roles')
      .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
      .addColumn('name', 'varchar(64)', (c) => c.notNull().unique())
      .addColumn('permissions', 'text', (c) => c.notNull())
      .addColumn('offline_limits', 'text', (c) => c.notNull())
      .addColumn('built_in', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
      .execute();
    await db.schema
      .createTable('operators')
      .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
      .addColumn('name', 'varchar(128)', (c) => c.notNull().unique())
      .addColumn('role_id', 'varchar(64)', (c) => c.notNull().references('roles.id'))
      .addColumn('holder_id', 'varchar(128)')
      .addColumn('status', 'varchar(32)', (c) => c.notNull())
      .addColumn('public_key_spki', 'text')
      .addColumn('enrolment_code_hash', 'varchar(128)')
      .addColumn('enrolment_expires_at', 'varchar(32)')
      .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
      .execute();
    await db.schema
      .createTable('credential_templates')
      .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
      .addColumn('name', 'varchar(128)', (c) => c.notNull().unique())
      .addColumn('card_type', 'varchar(16)', (c) => c.notNull())
      .addColumn('definition', 'text', (c) => c.notNull())
      .addColumn('version', 'integer', (c) => c.notNull())
      .addColumn('locked_by', 'varchar(64)')
      .addColumn('locked_at', 'varchar(32)')
      .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
      .addColumn('updated_at', 'varchar(32)', (c) => c.notNull())
      .execute();
    await db.schema
      .createTable('credentials')
      .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
      .addColumn('card_type', 'varchar(16)', (c) => c.notNull())
      .addColumn('card_identifier', 'varchar(32)', (c) => c.notNull())
      .addColumn('holder_id', 'varchar(128)', (c) => c.notNull())
      .addColumn('holder_name', 'varchar(256)', (c) => c.notNull())
      .addColumn('holder_email', 'varchar(256)')
      .addColumn('template_id', 'varchar(64)', (c) => c.notNull().references('credential_templates.id'))
      .addColumn('state', 'varchar(32)', (c) => c.notNull())
      .addColumn('pin_changed_at', 'varchar(32)')
      .addColumn('pin_expires_at', 'varchar(32)')
      .addColumn('key_version', 'integer', (c) => c.notNull())
      .addColumn('puk_escrow_state', 'varchar(32)', (c) => c.notNull())
      .addColumn('puk_sealed', 'text')
      .addColumn('yubikey_serial', 'varchar(32)')
      .addColumn('row_version', 'integer', (c) => c.notNull())
      .addColumn('lease_owner', 'varchar(64)')
      .addColumn('lease_expires_at', 'varchar(32)')
      .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
      .addColumn('updated_at', 'varchar(32)', (c) => c.notNull())
      .addUniqueConstraint('credentials_card_unique', ['card_type', 'card_identifier'])
      .execute();
    await db.schema.createIndex('credentials_holder_idx').on('credentials').column('holder_id').execute();
    await db.schema
      .createTable('pin_history')
      .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
      .addColumn('credential_id', 'varchar(64)', (c) => c.notNull().references('credentials.id'))
      .addColumn('mac', 'varchar(128)', (c) => c.notNull())
      .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
      .execute();
    await db.schema
      .createTable('operator_sessions')
      .addColumn('token_hash', 'varchar(128)', (c) => c.primaryKey())
      .addColumn('operator_id', 'varchar(64)', (c) => c.notNull().references('operators.id'))
      .addColumn('expires_at', 'varchar(32)', (c) => c.notNull())
      .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
      .execute();
    await db.schema
      .createTable('sign_in_challenges')
      .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
      .addColumn('operator_name', 'varchar(128)', (c) => c.notNull())
      .addColumn('nonce', 'varchar(128)', (c) => c.notNull())
      .addColumn('expires_at', 'varchar(32)', (c) => c.notNull())
      .addColumn('used', 'integer', (c) => c.notNull().defaultTo(0))
      .execute();
    await db.schema
      .createTable('server_settings')
      .addColumn('key', 'varchar(64)', (c) => c.primaryKey())
      .addColumn('value', 'text', (c) => c.notNull())
      .execute();
  },
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- see up()
  async down(db: Kysely<any>): Promise<void> {
    for (const table of ['server_settings', 'sign_in_challenges', 'operator_sessions', 'pin_history', 'credentials', 'credential_templates', 'operators', 'roles']) {
      await db.schema.dropTable(table).execute();
    }
  },
};
