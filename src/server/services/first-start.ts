// First start of a fresh database: built-in roles, one example template per card type, the bootstrap administrator.
import { TesseraError } from '../../errors.ts';
import { exampleTemplates } from '../domain/credential-template.ts';
import { BUILT_IN_ROLES } from '../domain/permissions.ts';
import type { OperatorService } from './operator-service.ts';
import { audited, isoNow, type ServiceContext } from './service-context.ts';
import type { TemplateService } from './template-service.ts';

export interface BootstrapResult {
  operatorName: string;
  enrolmentCode: string;
  enrolmentExpiresAt: string;
}

export const BOOTSTRAP_OPERATOR_NAME = 'admin';

export class BootstrapAlreadyEnrolledError extends TesseraError {
  readonly code = 'ERR_BOOTSTRAP_ALREADY_ENROLLED';
}

/** Seeds the database once; returns the bootstrap administrator's one-time code, or null if it was done before. */
export async function runFirstStart(
  context: ServiceContext,
  services: { operators: OperatorService; templates: TemplateService },
): Promise<BootstrapResult | null> {
  // One transaction: a start that dies half-way leaves neither the claim nor half a seed nor its events.
  return audited(context, undefined, async (scope) => {
    // Claiming a settings row decides which instance seeds when several start together on one PostgreSQL.
    const claimed = await scope.db
      .insertInto('server_settings')
      .values({ key: 'first-start', value: isoNow(context) })
      .onConflict((oc) => oc.column('key').doNothing())
      .executeTakeFirst();
    if (claimed.numInsertedOrUpdatedRows !== 1n) return null;
    for (const role of BUILT_IN_ROLES) {
      await services.operators.createRole(null, { name: role.name, permissions: role.permissions, offlineLimits: role.offlineLimits }, true, scope);
    }
    for (const template of exampleTemplates()) await services.templates.insert(template, scope.db);
    const bootstrap = await services.operators.createOperator(null, { name: BOOTSTRAP_OPERATOR_NAME, roleId: 'administrator' }, scope);
    await scope.audit({
      action: 'server.first-start',
      outcome: 'ok',
      details: { roles: BUILT_IN_ROLES.map((r) => r.id), templates: exampleTemplates().map((t) => t.name), bootstrapOperator: BOOTSTRAP_OPERATOR_NAME },
    });
    return { operatorName: bootstrap.operator.name, enrolmentCode: bootstrap.enrolmentCode, enrolmentExpiresAt: bootstrap.enrolmentExpiresAt };
  });
}

/**
 * A fresh one-time code for the bootstrap administrator, for when the first code was lost or expired before
 * enrolment. Refused once the administrator has enrolled: from then on operators manage each other over the API.
 */
export async function reissueBootstrapCode(context: ServiceContext, operators: OperatorService): Promise<BootstrapResult> {
  return audited(context, undefined, async (scope) => {
    const row = await scope.db.selectFrom('operators').select(['id', 'status']).where('name', '=', BOOTSTRAP_OPERATOR_NAME).executeTakeFirst();
    if (row === undefined || row.status !== 'pending-enrolment') {
      throw new BootstrapAlreadyEnrolledError(`operator "${BOOTSTRAP_OPERATOR_NAME}" has enrolled; an administrator issues new codes over the API`);
    }
    const issued = await operators.reissueEnrolmentCode(null, row.id, scope);
    return { operatorName: issued.operator.name, enrolmentCode: issued.enrolmentCode, enrolmentExpiresAt: issued.enrolmentExpiresAt };
  });
}
