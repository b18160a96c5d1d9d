// The audit chain's table, written once for SQLite and PostgreSQL through Kysely's schema builder.
import type { Kysely, Migration } from 'kysely';

/**
 * `audit_events`: one row per event, `seq` 1, 2, 3... without gaps. `prev_mac` repeats the previous event's MAC
 * (the MAC covers it too); it is unique, so even a bug in serialisation could never fork the chain: a second
 * event linking to the same predecessor is refused by the database.
 */
export const auditMigration = {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations must not depend on today's row types
  async up(db: Kysely<any>): Promise<void> {
    await db.schema
      .createTable('audit_events')
      .addColumn('seq', 'integer', (c) => c.primaryKey())
      .addColumn('at', 'varchar(32)', (c) => c.notNull())
      .addColumn('action', 'varchar(128)', (c) => c.notNull())
      .addColumn('actor', 'varchar(128)')
      .addColumn('credential_id', 'varchar(64)')
      .addColumn('outcome', 'varchar(16)', (c) => c.notNull())
      .addColumn('reason', 'text')
      .addColumn('details', 'text')
      .addColumn('prev_mac', 'varchar(64)', (c) => c.notNull().unique())
      .addColumn('mac', 'varchar(64)', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('audit_events_credential_idx').on('audit_events').column('credential_id').execute();
    await db.schema.createIndex('audit_events_actor_idx').on('audit_events').column('actor').execute();
    await db.schema.createIndex('audit_events_action_idx').on('audit_events').column('action').execute();
    await db.schema.createIndex('audit_events_at_idx').on('audit_events').column('at').execute();
    await db.schema.createIndex('audit_events_mac_idx').on('audit_events').column('mac').execute();
  },
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- see up()
  async down(db: Kysely<any>): Promise<void> {
    await db.schema.dropTable('audit_events').execute();
  },
} satisfies Migration;
