// Failure counters per holder and identity factor: a factor locks after the template's number of failures until an operator lifts it.
import type { Kysely } from 'kysely';
import type { Database } from '../db/database-schema.ts';
import type { IDENTITY_FACTORS } from '../domain/credential-template.ts';
import { identityDb } from './identity-schema.ts';

export type IdentityFactor = (typeof IDENTITY_FACTORS)[number];

export const DEFAULT_LOCKOUT_AFTER_FAILURES = 5;

export interface LockoutState {
  factor: string;
  failures: number;
  locked: boolean;
  lockedAt: string | null;
}

export async function lockoutsOf(db: Kysely<Database>, holderId: string): Promise<LockoutState[]> {
  const rows = await identityDb(db).selectFrom('identity_lockouts').selectAll().where('holder_id', '=', holderId).orderBy('factor').execute();
  return rows.map((r) => ({ factor: r.factor, failures: r.failures, locked: r.locked_at !== null, lockedAt: r.locked_at }));
}

export async function isLocked(db: Kysely<Database>, holderId: string, factor: IdentityFactor): Promise<boolean> {
  const row = await identityDb(db).selectFrom('identity_lockouts').select('locked_at').where('holder_id', '=', holderId).where('factor', '=', factor).executeTakeFirst();
  return row?.locked_at != null;
}

/** Counts one failure (atomically, so concurrent checks cannot both slip under the limit) and locks at the limit. */
export async function recordFailure(db: Kysely<Database>, holderId: string, factor: IdentityFactor, limit: number, now: string): Promise<LockoutState> {
  const idb = identityDb(db);
  await idb
    .insertInto('identity_lockouts')
    .values({ holder_id: holderId, factor, failures: 0, locked_at: null, updated_at: now })
    .onConflict((oc) => oc.columns(['holder_id', 'factor']).doNothing())
    .execute();
  await idb
    .updateTable('identity_lockouts')
    .set((eb) => ({ failures: eb('failures', '+', 1), updated_at: now }))
    .where('holder_id', '=', holderId)
    .where('factor', '=', factor)
    .execute();
  await idb.updateTable('identity_lockouts').set({ locked_at: now }).where('holder_id', '=', holderId).where('factor', '=', factor).where('failures', '>=', limit).where('locked_at', 'is', null).execute();
  const row = await idb.selectFrom('identity_lockouts').selectAll().where('holder_id', '=', holderId).where('factor', '=', factor).executeTakeFirstOrThrow();
  return { factor, failures: row.failures, locked: row.locked_at !== null, lockedAt: row.locked_at };
}

/** A success clears the count of an unlocked factor (a locked one stays locked until an operator lifts it). */
export async function recordSuccess(db: Kysely<Database>, holderId: string, factor: IdentityFactor, now: string): Promise<void> {
  await identityDb(db).updateTable('identity_lockouts').set({ failures: 0, updated_at: now }).where('holder_id', '=', holderId).where('factor', '=', factor).where('locked_at', 'is', null).execute();
}

/** Lifts every lockout of a holder; returns the factors that were locked. */
export async function liftLockouts(db: Kysely<Database>, holderId: string): Promise<string[]> {
  const idb = identityDb(db);
  const locked = await idb.selectFrom('identity_lockouts').select('factor').where('holder_id', '=', holderId).where('locked_at', 'is not', null).execute();
  await idb.deleteFrom('identity_lockouts').where('holder_id', '=', holderId).execute();
  return locked.map((r) => r.factor);
}
