// Credential templates: create, change (versioned, under the editing operator's lock) and check PINs against them.
import { randomUUID } from 'node:crypto';
import type { Secret } from '../../secret.ts';
import { ConflictError, InvalidRequestError, NotFoundError } from '../api-errors.ts';
import type { Kysely } from 'kysely';
import type { Database, TemplateRow } from '../db/database-schema.ts';
import { templateViolations, type TemplateDefinition } from '../domain/credential-template.ts';
import { checkPin, type PinPolicyViolation } from '../domain/pin-policy.ts';
import { audited, isoNow, type Actor, type AuditScope, type ServiceContext } from './service-context.ts';

export interface CredentialTemplate extends TemplateDefinition {
  id: string;
  version: number;
  lockedBy: string | null;
  lockedAt: string | null;
  createdAt: string;
  updatedAt: string;
}

export function templateFromRow(row: TemplateRow): CredentialTemplate {
  const definition = JSON.parse(row.definition) as TemplateDefinition;
  return {
    id: row.id,
    ...definition,
    version: row.version,
    lockedBy: row.locked_by,
    lockedAt: row.locked_at,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

function assertValid(definition: TemplateDefinition): void {
  const violations = templateViolations(definition);
  if (violations.length > 0) {
    throw new InvalidRequestError('ERR_TEMPLATE_INVALID', `the template breaks ${violations.length} rule(s)`, { details: violations });
  }
}

export class TemplateService {
  constructor(private readonly context: ServiceContext) {}

  async list(): Promise<CredentialTemplate[]> {
    const rows = await this.context.db.selectFrom('credential_templates').selectAll().orderBy('name').execute();
    return rows.map(templateFromRow);
  }

  async get(id: string, db: Kysely<Database> = this.context.db): Promise<CredentialTemplate> {
    const row = await db.selectFrom('credential_templates').selectAll().where('id', '=', id).executeTakeFirst();
    if (row === undefined) throw new NotFoundError('ERR_TEMPLATE_NOT_FOUND', 'no such credential template');
    return templateFromRow(row);
  }

  /** Creates a template without auditing it; used by first start, which audits the whole bootstrap in its transaction `db`. */
  async insert(definition: TemplateDefinition, db: Kysely<Database> = this.context.db): Promise<CredentialTemplate> {
    assertValid(definition);
    const now = isoNow(this.context);
    const row: TemplateRow = {
      id: randomUUID(),
      name: definition.name,
      card_type: definition.cardType,
      definition: JSON.stringify(definition),
      version: 1,
      locked_by: null,
      locked_at: null,
      created_at: now,
      updated_at: now,
    };
    const existing = await db.selectFrom('credential_templates').select('id').where('name', '=', definition.name).executeTakeFirst();
    if (existing !== undefined) throw new ConflictError('ERR_TEMPLATE_NAME_TAKEN', 'a template with this name exists');
    await db.insertInto('credential_templates').values(row).execute();
    return templateFromRow(row);
  }

  async create(actor: Actor, definition: TemplateDefinition, scope?: AuditScope): Promise<CredentialTemplate> {
    return audited(this.context, scope, async ({ db, audit }) => {
      const template = await this.insert(definition, db);
      await audit({ action: 'template.create', actor: actor.operatorName, outcome: 'ok', details: { templateId: template.id, name: template.name } });
      return template;
    });
  }

  /** Replaces the definition; the caller names the version it edited, and must hold the lock if anyone does. */
  async update(actor: Actor, id: string, expectedVersion: number, definition: TemplateDefinition, scope?: AuditScope): Promise<CredentialTemplate> {
    return audited(this.context, scope, async ({ db, audit }) => {
      const current = await this.get(id, db);
      this.assertMayEdit(actor, current);
      if (definition.cardType !== current.cardType) {
        throw new InvalidRequestError('ERR_TEMPLATE_CARD_TYPE_FIXED', 'the card type of a template cannot change');
      }
      assertValid(definition);
      const result = await db
        .updateTable('credential_templates')
        .set({ name: definition.name, definition: JSON.stringify(definition), version: expectedVersion + 1, updated_at: isoNow(this.context) })
        .where('id', '=', id)
        .where('version', '=', expectedVersion)
        .where((eb) => eb.or([eb('locked_by', 'is', null), eb('locked_by', '=', actor.operatorId)]))
        .executeTakeFirst();
      if (result.numUpdatedRows !== 1n) {
        throw new ConflictError('ERR_TEMPLATE_VERSION_CONFLICT', 'the template changed since it was read; read it again');
      }
      await audit({ action: 'template.update', actor: actor.operatorName, outcome: 'ok', details: { templateId: id, version: expectedVersion + 1 } });
      return this.get(id, db);
    });
  }

  async lock(actor: Actor, id: string, scope?: AuditScope): Promise<CredentialTemplate> {
    return audited(this.context, scope, async ({ db, audit }) => {
      const current = await this.get(id, db);
      this.assertMayEdit(actor, current);
      const result = await db
        .updateTable('credential_templates')
        .set({ locked_by: actor.operatorId, locked_at: isoNow(this.context) })
        .where('id', '=', id)
        .where((eb) => eb.or([eb('locked_by', 'is', null), eb('locked_by', '=', actor.operatorId)]))
        .executeTakeFirst();
      if (result.numUpdatedRows !== 1n) throw new ConflictError('ERR_TEMPLATE_LOCKED', 'another operator holds the lock on this template');
      await audit({ action: 'template.lock', actor: actor.operatorName, outcome: 'ok', details: { templateId: id } });
      return this.get(id, db);
    });
  }

  async unlock(actor: Actor, id: string, scope?: AuditScope): Promise<CredentialTemplate> {
    return audited(this.context, scope, async ({ db, audit }) => {
      const current = await this.get(id, db);
      if (current.lockedBy === null) throw new ConflictError('ERR_TEMPLATE_NOT_LOCKED', 'the template is not locked');
      this.assertMayEdit(actor, current);
      await db.updateTable('credential_templates').set({ locked_by: null, locked_at: null }).where('id', '=', id).where('locked_by', '=', actor.operatorId).execute();
      await audit({ action: 'template.unlock', actor: actor.operatorName, outcome: 'ok', details: { templateId: id } });
      return this.get(id, db);
    });
  }

  async checkPin(id: string, pin: Secret): Promise<PinPolicyViolation[]> {
    const template = await this.get(id);
    return checkPin(template.pinPolicy, pin);
  }

  private assertMayEdit(actor: Actor, template: CredentialTemplate): void {
    if (template.lockedBy !== null && template.lockedBy !== actor.operatorId) {
      throw new ConflictError('ERR_TEMPLATE_LOCKED', 'another operator holds the lock on this template');
    }
  }
}
