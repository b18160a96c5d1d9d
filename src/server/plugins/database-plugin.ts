// Fastify plugin owning the database: opens it, brings the schema up to date, destroys the pool on close.
import fp from 'fastify-plugin';
import { migrateDatabase } from '../db/migrate-database.ts';
import { openDatabase, type OpenedDatabase } from '../db/open-database.ts';

declare module 'fastify' {
  interface FastifyInstance {
    database: OpenedDatabase;
  }
}

export const databasePlugin = fp<{ url: string }>(
  async (app, { url }) => {
    const database = openDatabase(url);
    // Registered before migrating, so a failed migration still releases the pool when the app closes.
    app.addHook('onClose', async () => database.db.destroy());
    app.decorate('database', database);
    await migrateDatabase(database.db);
  },
  { name: 'tessera-database' },
);
