// One-time unblock codes: issued by an operator for one holder and one credential, short-lived, single use, few attempts, stored hashed.
import { randomInt, randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import { Secret } from '../../secret.ts';
import type { Database } from '../db/database-schema.ts';
import { InvalidRequestError } from '../api-errors.ts';
import { assertNotHolder, type CredentialService } from '../services/credential-service.ts';
import { audited, isoNow, type Actor, type ServiceContext } from '../services/service-context.ts';
import type { HolderDirectory } from './holder-directory.ts';
import { identityDb, type UnblockCodeRow } from './identity-schema.ts';
import type { Mailer } from './mailer.ts';
import type { PasswordHasher } from './password-hasher.ts';

/** Crockford base32 without I, L, O, U: easy to read out over the phone. */
const CODE_ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const CODE_LENGTH = 10;

export interface UnblockCodeSettings {
  /** Default validity (minutes) when the operator does not choose one. */
  validMinutes: number;
  /** Wrong tries before the code is dead. */
  attempts: number;
}

export const DEFAULT_UNBLOCK_CODE_SETTINGS: UnblockCodeSettings = { validMinutes: 15, attempts: 5 };

export type UnblockCodeDelivery = 'show' | 'email';

export interface IssuedUnblockCode {
  codeId: string;
  credentialId: string;
  holderId: string;
  delivery: UnblockCodeDelivery;
  expiresAt: string;
  attempts: number;
  /** Only when delivery is `show`: the operator reads it to the holder. Never stored or logged. */
  code?: string;
  /** Only when delivery is `email`: where it went. */
  sentTo?: string;
}

export type UnblockCodeCheck = 'pass' | 'wrong' | 'none-issued' | 'expired' | 'used' | 'attempts-exhausted';

/** 10 characters shown as `XXXXX-XXXXX` (50 bits: with 5 tries, guessing is hopeless). */
export function generateUnblockCode(): string {
  let code = '';
  for (let i = 0; i < CODE_LENGTH; i++) code += CODE_ALPHABET[randomInt(CODE_ALPHABET.length)];
  return `${code.slice(0, 5)}-${code.slice(5)}`;
}

/** Accepts what people type: any case, spaces or dashes, O for 0 and I/L for 1. */
export function normaliseUnblockCode(typed: string): string {
  return typed.toUpperCase().replace(/[\s-]/g, '').replace(/O/g, '0').replace(/[IL]/g, '1');
}

export class UnblockCodeService {
  constructor(
    private readonly context: ServiceContext,
    private readonly credentials: CredentialService,
    private readonly directory: HolderDirectory,
    private readonly mailer: Mailer,
    private readonly hasher: PasswordHasher,
    private readonly settings: UnblockCodeSettings,
  ) {}

  /** A new code replaces any earlier one of the credential. The e-mail goes out before anything is written, so a failed send leaves no live code. */
  async issue(actor: Actor, credentialId: string, delivery: UnblockCodeDelivery, validMinutes?: number): Promise<IssuedUnblockCode> {
    const credential = await this.credentials.get(credentialId);
    assertNotHolder(actor, credential.holder.id);
    let sentTo: string | undefined;
    if (delivery === 'email') {
      if (!this.mailer.enabled) await this.mailer.send({ to: '', subject: '', text: '' });
      const holder = await this.directory.findHolder(credential.holder.id);
      sentTo = holder?.email ?? credential.holder.email ?? undefined;
      if (sentTo === undefined) throw new InvalidRequestError('ERR_HOLDER_EMAIL_MISSING', 'the holder has no e-mail address in the directory');
    }
    const code = generateUnblockCode();
    const minutes = validMinutes ?? this.settings.validMinutes;
    const row: UnblockCodeRow = {
      id: randomUUID(),
      holder_id: credential.holder.id,
      credential_id: credentialId,
      code_hash: await this.hasher.hash(Secret.fromText(normaliseUnblockCode(code))),
      delivery,
      attempts_left: this.settings.attempts,
      expires_at: isoNow(this.context, minutes * 60),
      used_at: null,
      issued_by: actor.operatorName,
      created_at: isoNow(this.context),
    };
    if (sentTo !== undefined) {
      await this.mailer.send({
        to: sentTo,
        subject: 'Your Tessera unblock code',
        text: [
          `Hello ${credential.holder.name},`,
          '',
          `An operator (${actor.operatorName}) issued a one-time code to unblock the PIN of your ${credential.cardType.toUpperCase()} credential:`,
          '',
          `    ${code}`,
          '',
          `It works once, until ${row.expires_at}. If you did not ask for it, call your helpdesk.`,
        ].join('\n'),
      });
    }
    await audited(this.context, undefined, async ({ db, audit }) => {
      const idb = identityDb(db);
      await idb.updateTable('unblock_codes').set({ attempts_left: 0 }).where('credential_id', '=', credentialId).where('used_at', 'is', null).execute();
      await idb.insertInto('unblock_codes').values(row).execute();
      await audit({
        action: 'identity.unblock-code.issue',
        actor: actor.operatorName,
        credentialId,
        outcome: 'ok',
        details: { codeId: row.id, holderId: row.holder_id, delivery, expiresAt: row.expires_at },
      });
    });
    return {
      codeId: row.id,
      credentialId,
      holderId: row.holder_id,
      delivery,
      expiresAt: row.expires_at,
      attempts: row.attempts_left,
      ...(delivery === 'show' ? { code } : { sentTo: sentTo! }),
    };
  }

  /**
   * Checks a presented code against the credential's latest one. A match spends the code (once, even under
   * concurrent tries); a miss spends one attempt. Writes go through `db` so the caller's audit transaction holds them.
   */
  async check(credentialId: string, presented: Secret): Promise<{ result: UnblockCodeCheck; settle: (db: Kysely<Database>) => Promise<UnblockCodeCheck> }> {
    const latest = await identityDb(this.context.db).selectFrom('unblock_codes').selectAll().where('credential_id', '=', credentialId).orderBy('created_at', 'desc').orderBy('id', 'desc').limit(1).executeTakeFirst();
    const none = async (): Promise<UnblockCodeCheck> => result;
    let result: UnblockCodeCheck;
    if (latest === undefined) result = 'none-issued';
    else if (latest.used_at !== null) result = 'used';
    else if (latest.attempts_left <= 0) result = 'attempts-exhausted';
    else if (latest.expires_at <= isoNow(this.context)) result = 'expired';
    else result = (await this.hasher.verify(latest.code_hash, Secret.fromText(normaliseUnblockCode(presented.exposeText())))) ? 'pass' : 'wrong';
    if (latest === undefined || (result !== 'pass' && result !== 'wrong')) return { result, settle: none };
    const now = isoNow(this.context);
    return {
      result,
      settle: async (db) => {
        const idb = identityDb(db);
        if (result === 'pass') {
          const spent = await idb.updateTable('unblock_codes').set({ used_at: now }).where('id', '=', latest.id).where('used_at', 'is', null).where('attempts_left', '>', 0).executeTakeFirst();
          // Another check spent it first: this one does not pass.
          return spent.numUpdatedRows === 1n ? 'pass' : 'used';
        }
        await idb.updateTable('unblock_codes').set((eb) => ({ attempts_left: eb('attempts_left', '-', 1) })).where('id', '=', latest.id).where('attempts_left', '>', 0).execute();
        return 'wrong';
      },
    };
  }
}
