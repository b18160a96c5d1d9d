// What the server needs of the audit log: state changes audited in the same transaction, refusals on their own (AuditLog provides it).
import type { Kysely } from 'kysely';

export interface AuditEventInput {
  action: string;
  actor?: string;
  credentialId?: string;
  outcome: 'ok' | 'refused' | 'error';
  reason?: string;
  details?: Record<string, unknown>;
}

export interface AuditTrail {
  /** An event in a transaction of its own: for refusals, which change nothing. */
  append(event: AuditEventInput): Promise<unknown>;
  /** Runs `work` in one write transaction; what it appends commits or rolls back with its changes. */
  transaction<DB, T>(db: Kysely<DB>, work: (trx: Kysely<DB>, append: (event: AuditEventInput) => Promise<unknown>) => Promise<T>): Promise<T>;
}
