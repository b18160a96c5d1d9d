// Operator sign-in by challenge (a server nonce signed by the Operator Credential) and short-lived bearer sessions.
import { createHash, createPublicKey, randomBytes, randomUUID, verify } from 'node:crypto';
import { AuthenticationRequiredError, SignInFailedError } from '../api-errors.ts';
import { roleFromRow } from './operator-service.ts';
import { audited, isoNow, type Actor, type ServiceContext } from './service-context.ts';

export interface SignInChallenge {
  challengeId: string;
  /** Base64 of the bytes the Operator Credential signs (ECDSA P-256 over their SHA-256). */
  toSign: string;
  expiresAt: string;
}

const CHALLENGE_SECONDS = 120;

/** What the card signs: a fixed context string binds the signature to Tessera sign-in, not to any other use of the key. */
export function signInMessage(challengeId: string, nonce: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`tessera operator sign-in v1\n${challengeId}\n`), nonce]);
}

function tokenHash(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export class SessionService {
  constructor(
    private readonly context: ServiceContext,
    private readonly sessionSeconds: number,
  ) {}

  /** Issued for any name, known or not, so the answer does not reveal which operators exist. */
  async createChallenge(operatorName: string): Promise<SignInChallenge> {
    const challengeId = randomUUID();
    const nonce = randomBytes(32);
    const expiresAt = isoNow(this.context, CHALLENGE_SECONDS);
    await this.context.db.deleteFrom('sign_in_challenges').where('expires_at', '<', isoNow(this.context)).execute();
    await this.context.db
      .insertInto('sign_in_challenges')
      .values({ id: challengeId, operator_name: operatorName, nonce: nonce.toString('base64'), expires_at: expiresAt, used: 0 })
      .execute();
    return { challengeId, toSign: signInMessage(challengeId, nonce).toString('base64'), expiresAt };
  }

  async signIn(challengeId: string, signatureBase64: string): Promise<{ token: string; expiresAt: string; actor: Actor }> {
    // Spend the challenge first, whatever happens next: each nonce gets exactly one try.
    const spent = await this.context.db
      .updateTable('sign_in_challenges')
      .set({ used: 1 })
      .where('id', '=', challengeId)
      .where('used', '=', 0)
      .where('expires_at', '>', isoNow(this.context))
      .executeTakeFirst();
    if (spent.numUpdatedRows !== 1n) throw new SignInFailedError('the sign-in challenge is unknown, used or expired');
    const challenge = await this.context.db.selectFrom('sign_in_challenges').selectAll().where('id', '=', challengeId).executeTakeFirstOrThrow();
    const operator = await this.context.db
      .selectFrom('operators')
      .selectAll()
      .where('name', '=', challenge.operator_name)
      .where('status', '=', 'active')
      .executeTakeFirst();
    let valid = false;
    if (operator?.public_key_spki) {
      const key = createPublicKey({ key: Buffer.from(operator.public_key_spki, 'base64'), format: 'der', type: 'spki' });
      const message = signInMessage(challengeId, Buffer.from(challenge.nonce, 'base64'));
      try {
        valid = verify('sha256', message, { key, dsaEncoding: 'der' }, Buffer.from(signatureBase64, 'base64'));
      } catch {
        valid = false;
      }
    }
    if (!valid || operator === undefined) throw new SignInFailedError('the signature does not match the Operator Credential registered for this operator');
    const token = randomBytes(32).toString('base64url');
    const expiresAt = isoNow(this.context, this.sessionSeconds);
    await audited(this.context, undefined, async ({ db, audit }) => {
      await db.deleteFrom('operator_sessions').where('expires_at', '<', isoNow(this.context)).execute();
      await db
        .insertInto('operator_sessions')
        .values({ token_hash: tokenHash(token), operator_id: operator.id, expires_at: expiresAt, created_at: isoNow(this.context) })
        .execute();
      await audit({ action: 'session.sign-in', actor: operator.name, outcome: 'ok', details: { operatorId: operator.id } });
    });
    const actor = await this.authenticate(token);
    return { token, expiresAt, actor };
  }

  /** The operator behind a bearer token, or 401. */
  async authenticate(token: string): Promise<Actor> {
    const row = await this.context.db
      .selectFrom('operator_sessions as s')
      .innerJoin('operators as o', 'o.id', 's.operator_id')
      .innerJoin('roles as r', 'r.id', 'o.role_id')
      .select(['o.id as operator_id', 'o.name as operator_name', 'o.holder_id', 'o.status', 'r.id', 'r.name', 'r.permissions', 'r.offline_limits', 'r.built_in', 'r.created_at', 's.expires_at'])
      .where('s.token_hash', '=', tokenHash(token))
      .executeTakeFirst();
    if (row === undefined || row.expires_at <= isoNow(this.context) || row.status !== 'active') {
      throw new AuthenticationRequiredError('the session is missing, expired or revoked; sign in again');
    }
    const role = roleFromRow(row);
    return {
      operatorId: row.operator_id,
      operatorName: row.operator_name,
      roleId: role.id,
      permissions: role.permissions,
      offlineLimits: role.offlineLimits,
      holderId: row.holder_id,
    };
  }

  async signOut(actor: Actor, token: string): Promise<void> {
    await audited(this.context, undefined, async ({ db, audit }) => {
      await db.deleteFrom('operator_sessions').where('token_hash', '=', tokenHash(token)).execute();
      await audit({ action: 'session.sign-out', actor: actor.operatorName, outcome: 'ok' });
    });
  }
}
