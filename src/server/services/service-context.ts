// What every domain service is built from, and who is acting.
import type { Kysely } from 'kysely';
import type { AuditTrail } from '../audit-trail.ts';
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
