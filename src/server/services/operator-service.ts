// Operators and roles: creation, one-time enrolment codes, and binding an operator to its Operator Credential key.
import { createHash, createPublicKey, randomBytes, randomUUID, timingSafeEqual, type KeyObject } from 'node:crypto';
import { ConflictError, InvalidRequestError, NotFoundError, SignInFailedError } from '../api-errors.ts';
import type { OperatorRow, RoleRow } from '../db/database-schema.ts';
import type { OperatorOfflineLimits, Permission } from '../domain/permissions.ts';
import { audited, isoNow, type Actor, type AuditScope, type ServiceContext } from './service-context.ts';

export interface Role {
  id: string;
  name: string;
  permissions: Permission[];
  offlineLimits: OperatorOfflineLimits;
  builtIn: boolean;
}

export interface Operator {
  id: string;
  name: string;
  roleId: string;
  holderId: string | null;
  status: 'pending-enrolment' | 'active' | 'disabled';
  createdAt: string;
}

export interface NewOperator {
  operator: Operator;
  /** Shown once to whoever hands it to the operator; only its hash is stored. */
  enrolmentCode: string;
  enrolmentExpiresAt: string;
}

const ENROLMENT_CODE_DAYS = 7;
const CODE_ALPHABET = 'ABCDEFGHJKMNPQRSTUVWXYZ23456789';

export function roleFromRow(row: RoleRow): Role {
  return {
    id: row.id,
    name: row.name,
    permissions: JSON.parse(row.permissions) as Permission[],
    offlineLimits: JSON.parse(row.offline_limits) as OperatorOfflineLimits,
    builtIn: row.built_in === 1,
  };
}

function operatorFromRow(row: OperatorRow): Operator {
  return { id: row.id, name: row.name, roleId: row.role_id, holderId: row.holder_id, status: row.status as Operator['status'], createdAt: row.created_at };
}

/** 16 characters from an unambiguous alphabet (about 78 bits), grouped for reading aloud. */
function newEnrolmentCode(): string {
  const bytes = randomBytes(16);
  const characters = [...bytes].map((b) => CODE_ALPHABET[b % CODE_ALPHABET.length]!).join('');
  return characters.match(/.{4}/g)!.join('-');
}

export function hashCode(code: string): string {
  return createHash('sha256').update(code.toUpperCase().replace(/[^A-Z0-9]/g, '')).digest('hex');
}

/** Accepts an SPKI public key as PEM or base64 DER; only ECC P-256 (PIV slot 9A, algorithm 11) is allowed. */
export function parseOperatorPublicKey(text: string): KeyObject {
  let key: KeyObject;
  try {
    key = text.includes('-----BEGIN')
      ? createPublicKey({ key: text, format: 'pem' })
      : createPublicKey({ key: Buffer.from(text, 'base64'), format: 'der', type: 'spki' });
  } catch (error) {
    throw new InvalidRequestError('ERR_OPERATOR_PUBLIC_KEY_INVALID', 'the public key is not an SPKI public key', { cause: error });
  }
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw new InvalidRequestError('ERR_OPERATOR_PUBLIC_KEY_INVALID', 'the Operator Credential key must be ECC P-256');
  }
  return key;
}

export class OperatorService {
  constructor(private readonly context: ServiceContext) {}

  async listRoles(): Promise<Role[]> {
    return (await this.context.db.selectFrom('roles').selectAll().orderBy('name').execute()).map(roleFromRow);
  }

  async createRole(
    actor: Actor | null,
    input: { name: string; permissions: Permission[]; offlineLimits: OperatorOfflineLimits },
    builtIn = false,
    scope?: AuditScope,
  ): Promise<Role> {
    const row: RoleRow = {
      id: input.name,
      name: input.name,
      permissions: JSON.stringify([...new Set(input.permissions)]),
      offline_limits: JSON.stringify(input.offlineLimits),
      built_in: builtIn ? 1 : 0,
      created_at: isoNow(this.context),
    };
    return audited(this.context, scope, async ({ db, audit }) => {
      const inserted = await db.insertInto('roles').values(row).onConflict((oc) => oc.doNothing()).executeTakeFirst();
      if (inserted.numInsertedOrUpdatedRows !== 1n) throw new ConflictError('ERR_ROLE_EXISTS', 'a role with this name exists');
      // Built-in roles (no actor) are audited by first start, in the same transaction.
      if (actor !== null) await audit({ action: 'role.create', actor: actor.operatorName, outcome: 'ok', details: { roleId: row.id, permissions: input.permissions } });
      return roleFromRow(row);
    });
  }

  async listOperators(): Promise<Operator[]> {
    return (await this.context.db.selectFrom('operators').selectAll().orderBy('name').execute()).map(operatorFromRow);
  }

  async createOperator(actor: Actor | null, input: { name: string; roleId: string; holderId?: string }, scope?: AuditScope): Promise<NewOperator> {
    return audited(this.context, scope, async ({ db, audit }) => {
      const role = await db.selectFrom('roles').select('id').where('id', '=', input.roleId).executeTakeFirst();
      if (role === undefined) throw new InvalidRequestError('ERR_ROLE_UNKNOWN', 'the role does not exist');
      const enrolmentCode = newEnrolmentCode();
      const enrolmentExpiresAt = isoNow(this.context, ENROLMENT_CODE_DAYS * 86400);
      const row: OperatorRow = {
        id: randomUUID(),
        name: input.name,
        role_id: input.roleId,
        holder_id: input.holderId ?? null,
        status: 'pending-enrolment',
        public_key_spki: null,
        enrolment_code_hash: hashCode(enrolmentCode),
        enrolment_expires_at: enrolmentExpiresAt,
        created_at: isoNow(this.context),
      };
      const inserted = await db.insertInto('operators').values(row).onConflict((oc) => oc.column('name').doNothing()).executeTakeFirst();
      if (inserted.numInsertedOrUpdatedRows !== 1n) throw new ConflictError('ERR_OPERATOR_EXISTS', 'an operator with this name exists');
      await audit({
        action: 'operator.create',
        ...(actor === null ? {} : { actor: actor.operatorName }),
        outcome: 'ok',
        details: { operatorId: row.id, name: row.name, roleId: row.role_id, holderId: row.holder_id },
      });
      return { operator: operatorFromRow(row), enrolmentCode, enrolmentExpiresAt };
    });
  }

  /** A fresh one-time code for an operator whose card was lost or replaced; the old key stops working. */
  async reissueEnrolmentCode(actor: Actor | null, operatorId: string, scope?: AuditScope): Promise<NewOperator> {
    if (operatorId === actor?.operatorId) throw new ConflictError('ERR_OPERATOR_SELF', 'an operator cannot re-enrol themselves');
    const enrolmentCode = newEnrolmentCode();
    const enrolmentExpiresAt = isoNow(this.context, ENROLMENT_CODE_DAYS * 86400);
    return audited(this.context, scope, async ({ db, audit }) => {
      const result = await db
        .updateTable('operators')
        .set({ status: 'pending-enrolment', public_key_spki: null, enrolment_code_hash: hashCode(enrolmentCode), enrolment_expires_at: enrolmentExpiresAt })
        .where('id', '=', operatorId)
        .executeTakeFirst();
      if (result.numUpdatedRows !== 1n) throw new NotFoundError('ERR_OPERATOR_NOT_FOUND', 'no such operator');
      await db.deleteFrom('operator_sessions').where('operator_id', '=', operatorId).execute();
      await audit({
        action: 'operator.enrolment-code',
        // No actor: issued at the server console (a lost bootstrap code), by whoever can start the server.
        ...(actor === null ? { reason: 'server-console' } : { actor: actor.operatorName }),
        outcome: 'ok',
        details: { operatorId },
      });
      const row = await db.selectFrom('operators').selectAll().where('id', '=', operatorId).executeTakeFirstOrThrow();
      return { operator: operatorFromRow(row), enrolmentCode, enrolmentExpiresAt };
    });
  }

  /** Binds the operator's Operator Credential public key, spending the one-time code. */
  async enrol(input: { operatorName: string; enrolmentCode: string; publicKey: string }, scope?: AuditScope): Promise<Operator> {
    const key = parseOperatorPublicKey(input.publicKey);
    const spki = key.export({ format: 'der', type: 'spki' }).toString('base64');
    return audited(this.context, scope, async ({ db, audit }) => {
      const row = await db.selectFrom('operators').selectAll().where('name', '=', input.operatorName).executeTakeFirst();
      const presented = Buffer.from(hashCode(input.enrolmentCode), 'hex');
      const valid =
        row !== undefined &&
        row.status === 'pending-enrolment' &&
        row.enrolment_code_hash !== null &&
        timingSafeEqual(Buffer.from(row.enrolment_code_hash, 'hex'), presented) &&
        row.enrolment_expires_at !== null &&
        row.enrolment_expires_at > isoNow(this.context);
      if (!valid) throw new SignInFailedError('the operator name or enrolment code is wrong, used or expired');
      const keyTaken = await db.selectFrom('operators').select('id').where('public_key_spki', '=', spki).executeTakeFirst();
      if (keyTaken !== undefined) throw new ConflictError('ERR_OPERATOR_KEY_IN_USE', 'this Operator Credential is registered to another operator');
      // The code hash in the WHERE clause makes the code single-use even when two enrolments race.
      const result = await db
        .updateTable('operators')
        .set({ status: 'active', public_key_spki: spki, enrolment_code_hash: null, enrolment_expires_at: null })
        .where('id', '=', row.id)
        .where('enrolment_code_hash', '=', row.enrolment_code_hash)
        .executeTakeFirst();
      if (result.numUpdatedRows !== 1n) throw new SignInFailedError('the enrolment code was used meanwhile');
      await audit({ action: 'operator.enrol', actor: row.name, outcome: 'ok', details: { operatorId: row.id } });
      return { ...operatorFromRow(row), status: 'active' as const };
    });
  }
}
