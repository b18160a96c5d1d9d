// Says, for one credential and the operator asking, which unblock methods are open and why the others are closed.
import type { CredentialState } from './credential-lifecycle.ts';
import type { TemplateDefinition } from './credential-template.ts';
import type { Permission } from './permissions.ts';
import { UNBLOCK_METHODS, UNBLOCK_METHOD_TRAITS, type UnblockMethod } from './unblock-methods.ts';

/** What the holder lacks for the template's self-service identity factors (found by the identity module). */
export const MISSING_ENROLMENT_REASONS = [
  'HOLDER_NOT_IN_DIRECTORY',
  'HOLDER_DISABLED',
  'DIRECTORY_UNAVAILABLE',
  'DIRECTORY_PASSWORD_NOT_SET',
  'DIRECTORY_PASSWORD_LOCKED',
  'SECURITY_QUESTIONS_NOT_ENROLLED',
  'SECURITY_QUESTIONS_LOCKED',
  'EMAIL_OFF',
  'HOLDER_EMAIL_MISSING',
  'NO_WORKSTATION_ENROLLED',
] as const;
export type MissingEnrolmentReason = (typeof MISSING_ENROLMENT_REASONS)[number];

export const UNBLOCK_CLOSED_REASONS = [
  'METHOD_NOT_IN_TEMPLATE',
  'CARD_TYPE_UNSUPPORTED',
  'CREDENTIAL_STATE',
  'PUK_NOT_ESCROWED',
  'IDENTITY_FACTORS_MISSING',
  'ROLE_LACKS_PERMISSION',
  'OPERATOR_IS_HOLDER',
  'OFFLINE_LIMIT_ZERO',
  ...MISSING_ENROLMENT_REASONS,
] as const;
export type UnblockClosedReason = (typeof UNBLOCK_CLOSED_REASONS)[number];

export interface UnblockMethodStatus {
  method: UnblockMethod;
  open: boolean;
  reasons: UnblockClosedReason[];
}

export interface UnblockExplanationInput {
  template: TemplateDefinition;
  credential: { state: CredentialState; pukEscrowState: string };
  operator: { permissions: readonly Permission[]; isHolder: boolean };
  /** Whether the holder can meet the self-service identity factors today, and what they lack when not. */
  identity?: IdentityReadiness;
}

export interface IdentityReadiness {
  enough: boolean;
  reasons: UnblockClosedReason[];
  workstationsEnrolled: boolean;
}

// A PIN can be reset only on a card that is in service (and, once issued, not waiting for replacement).
const UNBLOCKABLE_STATES: readonly CredentialState[] = ['issued-pin-locked', 'active'];

export function explainUnblockMethods(input: UnblockExplanationInput): UnblockMethodStatus[] {
  const { template, credential, operator } = input;
  return UNBLOCK_METHODS.map((method) => {
    const traits = UNBLOCK_METHOD_TRAITS[method];
    const reasons: UnblockClosedReason[] = [];
    if (!template.unblockMethods.includes(method)) reasons.push('METHOD_NOT_IN_TEMPLATE');
    if (method === 'windows-native' && template.cardType !== 'gids') reasons.push('CARD_TYPE_UNSUPPORTED');
    if (!UNBLOCKABLE_STATES.includes(credential.state)) reasons.push('CREDENTIAL_STATE');
    // A PIV PIN cannot be reset with the management key alone: without an escrowed PUK no method works.
    if (template.cardType === 'piv' && credential.pukEscrowState !== 'escrowed') reasons.push('PUK_NOT_ESCROWED');
    if (traits.selfService && template.selfServiceIdentity.minimumFactors < 1) reasons.push('IDENTITY_FACTORS_MISSING');
    // Enrolment gaps matter only for a self-service method the template opens; otherwise they would bury the real reason.
    const opened = template.unblockMethods.includes(method);
    if (opened && traits.selfService && input.identity !== undefined && !input.identity.enough) reasons.push(...input.identity.reasons);
    if (opened && method === 'credential-provider' && input.identity?.workstationsEnrolled === false) reasons.push('NO_WORKSTATION_ENROLLED');
    if (traits.operatorPermission !== null) {
      if (!operator.permissions.includes(traits.operatorPermission)) reasons.push('ROLE_LACKS_PERMISSION');
      if (operator.isHolder) reasons.push('OPERATOR_IS_HOLDER');
    }
    if (traits.offline && template.offline.maxResponsesPerCredentialPerDay === 0) reasons.push('OFFLINE_LIMIT_ZERO');
    return { method, open: reasons.length === 0, reasons };
  });
}
