// What every domain service is built from, and who is acting.
import type { Kysely } from 'kysely';
import type { AuditEventInput, AuditTrail } from '../audit-trail.ts';
import type { Database } from '../db/database-schema.ts';
import type { OperatorOfflineLimits, Permission } from '../domain/permissions.ts';
import type { KeyStore } from '../keys/key-store.ts';

export interface ServiceContext {
  db: Kysely<Database>;
  audit: AuditTrail;
  keyStore: KeyStore;
  clock: () => Date;
}

/** The signed-in operator on whose behalf a call runs. */
export interface Actor {
  operatorId: string;
  operatorName: string;
  roleId: string;
  permissions: readonly Permission[];
  offlineLimits: OperatorOfflineLimits;
  /** The operator's own holder identity, so they can be kept away from their own credentials. */
  holderId: string | null;
}

export function isoNow(context: ServiceContext, offsetSeconds = 0): string {
  return new Date(context.clock().getTime() + offsetSeconds * 1000).toISOString();
}

/**
 * One database transaction and the audit append that goes with it: a state change and the event recording it
 * commit together or not at all. Inside it, read and write only through `db` (on SQLite the transaction holds the
 * one connection, so a query on the context's own `db` would wait for it forever), and append as the last write.
 */
export interface AuditScope {
  db: Kysely<Database>;
  audit(event: AuditEventInput): Promise<unknown>;
}

/** Runs `work` inside `scope` when the caller already has one (so several steps commit as one), else in a new audited transaction. */
export async function audited<T>(context: ServiceContext, scope: AuditScope | undefined, work: (scope: AuditScope) => Promise<T>): Promise<T> {
  if (scope !== undefined) return await work(scope);
  return await context.audit.transaction(context.db, async (db, audit) => await work({ db, audit }));
}
