// Row types of the identity tables, added to the server's schema with `db.withTables<IdentityTables>()`.
import type { Kysely } from 'kysely';
import type { Database } from '../db/database-schema.ts';

export interface HolderRow {
  username: string;
  display_name: string;
  email: string | null;
  status: string;
  password_hash: string | null;
  created_at: string;
  updated_at: string;
}

export interface SecurityQuestionRow {
  id: string;
  holder_id: string;
  position: number;
  question: string;
  answer_hash: string;
  created_at: string;
}

export interface IdentityLockoutRow {
  holder_id: string;
  factor: string;
  failures: number;
  locked_at: string | null;
  updated_at: string;
}

export interface UnblockCodeRow {
  id: string;
  holder_id: string;
  credential_id: string;
  code_hash: string;
  delivery: string;
  attempts_left: number;
  expires_at: string;
  used_at: string | null;
  issued_by: string;
  created_at: string;
}

export interface WorkstationRow {
  id: string;
  name: string;
  public_key_spki: string;
  status: string;
  enrolled_by: string;
  created_at: string;
  revoked_at: string | null;
}

export interface WorkstationNonceRow {
  workstation_id: string;
  nonce: string;
  expires_at: string;
}

// A type alias (not an interface) so it meets withTables' index-signature constraint.
export type IdentityTables = {
  holders: HolderRow;
  security_questions: SecurityQuestionRow;
  identity_lockouts: IdentityLockoutRow;
  unblock_codes: UnblockCodeRow;
  workstations: WorkstationRow;
  workstation_nonces: WorkstationNonceRow;
};

export type IdentityDb = Kysely<Database & IdentityTables>;

export function identityDb(db: Kysely<Database>): IdentityDb {
  return db.withTables<IdentityTables>();
}
