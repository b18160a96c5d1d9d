// vitest globalSetup: one throwaway PostgreSQL cluster for the whole run when TESSERA_TEST_POSTGRES_URL is unset.
import { provideSharedPostgres } from './postgres.ts';

export default async function setup(): Promise<void> {
  // The cluster stops when the vitest process exits (exit hook and watchdog in postgres.ts).
  await provideSharedPostgres();
}
