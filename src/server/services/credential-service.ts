// Credentials: registration, lifecycle transitions (one operation at a time) and the unblock-method explanation.
import { randomUUID } from 'node:crypto';
import { ConflictError, InvalidRequestError, NotFoundError, OwnCredentialError } from '../api-errors.ts';
import type { Kysely } from 'kysely';
import type { CredentialRow, Database } from '../db/database-schema.ts';
import type { CardType } from '../domain/card-types.ts';
import { assertTransition, type CredentialState } from '../domain/credential-lifecycle.ts';
import { explainUnblockMethods, type IdentityReadiness, type UnblockMethodStatus } from '../domain/unblock-explanation.ts';
import type { TemplateDefinition } from '../domain/credential-template.ts';
import type { Secret } from '../../secret.ts';
import { checkPin, type PinPolicyViolation } from '../domain/pin-policy.ts';
import { audited, isoNow, type Actor, type AuditScope, type ServiceContext } from './service-context.ts';
import type { TemplateService } from './template-service.ts';

export const PUK_ESCROW_STATES = ['none', 'escrowed', 'rotation-pending', 'blocked'] as const;

export interface Credential {
  id: string;
  cardType: CardType;
  cardIdentifier: string;
  holder: { id: string; name: string; email: string | null };
  templateId: string;
  state: CredentialState;
  pinChangedAt: string | null;
  pinExpiresAt: string | null;
  keyVersion: number;
  pukEscrowState: string;
  yubikeySerial: string | null;
  version: number;
  createdAt: string;
  updatedAt: string;
}

export interface RegisterCredentialInput {
  cardType: CardType;
  cardIdentifier: string;
  holder: { id: string; name: string; email?: string };
  templateId: string;
  yubikeySerial?: string;
}

function credentialFromRow(row: CredentialRow): Credential {
  return {
    id: row.id,
    cardType: row.card_type as CardType,
    cardIdentifier: row.card_identifier,
    holder: { id: row.holder_id, name: row.holder_name, email: row.holder_email },
    templateId: row.template_id,
    state: row.state as CredentialState,
    pinChangedAt: row.pin_changed_at,
    pinExpiresAt: row.pin_expires_at,
    keyVersion: row.key_version,
    pukEscrowState: row.puk_escrow_state,
    yubikeySerial: row.yubikey_serial,
    version: row.row_version,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

// Long enough for any card operation a lease guards; an instance that dies frees the credential after it.
const LEASE_SECONDS = 60;

export class CredentialService {
  /** Set by the identity module: what a holder lacks for self-service, so the explanation names missing enrolments. */
  identityReadiness: ((credential: Credential, template: TemplateDefinition) => Promise<IdentityReadiness>) | null = null;

  constructor(
    private readonly context: ServiceContext,
    private readonly templates: TemplateService,
  ) {}

  async register(actor: Actor, input: RegisterCredentialInput, scope?: AuditScope): Promise<Credential> {
    assertNotHolder(actor, input.holder.id);
    return audited(this.context, scope, async ({ db, audit }) => {
      const template = await this.templates.get(input.templateId, db).catch((error: unknown) => {
        if (error instanceof NotFoundError) throw new InvalidRequestError('ERR_CREDENTIAL_TEMPLATE_UNKNOWN', 'the template does not exist');
        throw error;
      });
      if (template.cardType !== input.cardType) {
        throw new InvalidRequestError('ERR_CREDENTIAL_TEMPLATE_CARD_TYPE', `the template is for ${template.cardType} cards`);
      }
      const now = isoNow(this.context);
      const row: CredentialRow = {
        id: randomUUID(),
        card_type: input.cardType,
        card_identifier: input.cardIdentifier.toLowerCase(),
        holder_id: input.holder.id,
        holder_name: input.holder.name,
        holder_email: input.holder.email ?? null,
        template_id: template.id,
        state: 'issued-pin-locked',
        pin_changed_at: null,
        pin_expires_at: null,
        key_version: 1,
        puk_escrow_state: 'none',
        puk_sealed: null,
        yubikey_serial: input.yubikeySerial ?? null,
        row_version: 1,
        lease_owner: null,
        lease_expires_at: null,
        created_at: now,
        updated_at: now,
      };
      const inserted = await db
        .insertInto('credentials')
        .values(row)
        .onConflict((oc) => oc.columns(['card_type', 'card_identifier']).doNothing())
        .executeTakeFirst();
      if (inserted.numInsertedOrUpdatedRows !== 1n) {
        throw new ConflictError('ERR_CREDENTIAL_EXISTS', 'a credential for this card already exists');
      }
      await audit({
        action: 'credential.register',
        actor: actor.operatorName,
        credentialId: row.id,
        outcome: 'ok',
        details: { cardType: row.card_type, cardIdentifier: row.card_identifier, holderId: row.holder_id, templateId: row.template_id },
      });
      return credentialFromRow(row);
    });
  }

  async list(filter: { holderId?: string; state?: string }): Promise<Credential[]> {
    let query = this.context.db.selectFrom('credentials').selectAll().orderBy('created_at').limit(1000);
    if (filter.holderId !== undefined) query = query.where('holder_id', '=', filter.holderId);
    if (filter.state !== undefined) query = query.where('state', '=', filter.state);
    return (await query.execute()).map(credentialFromRow);
  }

  async get(id: string, db: Kysely<Database> = this.context.db): Promise<Credential> {
    return credentialFromRow(await this.row(id, db));
  }

  /**
   * Moves a credential along its lifecycle, holding the credential's lease so no other operation interleaves; the
   * change and its audit event commit in one transaction inside the lease.
   */
  async transition(actor: Actor, id: string, to: CredentialState, reason: string): Promise<Credential> {
    return this.withLease(id, async (row) => {
      assertNotHolder(actor, row.holder_id);
      const from = row.state as CredentialState;
      assertTransition(from, to);
      return audited(this.context, undefined, async ({ db, audit }) => {
        const result = await db
          .updateTable('credentials')
          .set({ state: to, row_version: row.row_version + 1, updated_at: isoNow(this.context) })
          .where('id', '=', id)
          .where('row_version', '=', row.row_version)
          .executeTakeFirst();
        if (result.numUpdatedRows !== 1n) throw new ConflictError('ERR_CREDENTIAL_BUSY', 'the credential changed meanwhile; try again');
        await audit({ action: 'credential.transition', actor: actor.operatorName, credentialId: id, outcome: 'ok', reason, details: { from, to, version: row.row_version + 1 } });
        return this.get(id, db);
      });
    });
  }

  /** The template's PIN rules plus history: a PIN among the last `historyDepth` (compared by keyed MAC) is refused. */
  async checkPin(id: string, pin: Secret): Promise<PinPolicyViolation[]> {
    const credential = await this.get(id);
    const template = await this.templates.get(credential.templateId);
    const depth = template.pinPolicy.historyDepth;
    let inHistory = false;
    if (depth > 0) {
      const mac = await this.context.keyStore.pinHistoryMac(id, pin);
      const recent = await this.context.db
        .selectFrom('pin_history')
        .select('mac')
        .where('credential_id', '=', id)
        .orderBy('created_at', 'desc')
        .orderBy('id', 'desc')
        .limit(depth)
        .execute();
      inHistory = recent.some((row) => row.mac === mac);
    }
    return checkPin(template.pinPolicy, pin, { inHistory });
  }

  /**
   * Remembers a PIN the card accepted (as a keyed MAC only) for the history rule, and restarts the PIN's age;
   * called by the PIN-setting flows, which pass their audit scope so this commits with the event they append for the change.
   */
  async recordPin(id: string, pin: Secret, scope?: AuditScope): Promise<Credential> {
    // Computed before the transaction: a PKCS#11 token may be slow, and the write lock should not wait for it.
    const mac = await this.context.keyStore.pinHistoryMac(id, pin);
    return audited(this.context, scope, async ({ db }) => {
      const credential = await this.get(id, db);
      const { maxAgeDays } = (await this.templates.get(credential.templateId, db)).pinPolicy;
      const changedAt = this.context.clock().getTime();
      const now = new Date(changedAt).toISOString();
      await db
        .insertInto('pin_history')
        .values({ id: randomUUID(), credential_id: id, mac, created_at: now })
        .execute();
      await db
        .updateTable('credentials')
        .set({ pin_changed_at: now, pin_expires_at: maxAgeDays === 0 ? null : new Date(changedAt + maxAgeDays * 86_400_000).toISOString(), updated_at: now })
        .where('id', '=', id)
        .execute();
      return this.get(id, db);
    });
  }

  async explainUnblockMethods(actor: Actor, id: string): Promise<UnblockMethodStatus[]> {
    const credential = await this.get(id);
    const template = await this.templates.get(credential.templateId);
    return explainUnblockMethods({
      template,
      credential,
      ...(this.identityReadiness !== null ? { identity: await this.identityReadiness(credential, template) } : {}),
      operator: { permissions: actor.permissions, isHolder: actor.holderId !== null && actor.holderId === credential.holder.id },
    });
  }

  /**
   * Runs `operation` while this caller holds the credential's lease: a row-level claim with an expiry,
   * so it works across server instances sharing one database and never outlives a crashed instance for long.
   */
  async withLease<T>(id: string, operation: (row: CredentialRow) => Promise<T>): Promise<T> {
    const owner = randomUUID();
    const now = isoNow(this.context);
    const claimed = await this.context.db
      .updateTable('credentials')
      .set({ lease_owner: owner, lease_expires_at: isoNow(this.context, LEASE_SECONDS) })
      .where('id', '=', id)
      .where((eb) => eb.or([eb('lease_owner', 'is', null), eb('lease_expires_at', '<', now)]))
      .executeTakeFirst();
    if (claimed.numUpdatedRows !== 1n) {
      await this.row(id);
      throw new ConflictError('ERR_CREDENTIAL_BUSY', 'another operation on this credential is in progress');
    }
    try {
      return await operation(await this.row(id));
    } finally {
      await this.context.db
        .updateTable('credentials')
        .set({ lease_owner: null, lease_expires_at: null })
        .where('id', '=', id)
        .where('lease_owner', '=', owner)
        .execute();
    }
  }

  private async row(id: string, db: Kysely<Database> = this.context.db): Promise<CredentialRow> {
    const row = await db.selectFrom('credentials').selectAll().where('id', '=', id).executeTakeFirst();
    if (row === undefined) throw new NotFoundError('ERR_CREDENTIAL_NOT_FOUND', 'no such credential');
    return row;
  }
}

export function assertNotHolder(actor: Actor, holderId: string): void {
  if (actor.holderId !== null && actor.holderId === holderId) {
    throw new OwnCredentialError('nobody may act on their own credential');
  }
}
