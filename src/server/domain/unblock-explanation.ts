// Says, for one credential and the operator asking, which unblock methods are open and why the others are closed.
import type { CredentialState } from './credential-lifecycle.ts';
import type { TemplateDefinition } from './credential-template.ts';
import type { Permission } from './permissions.ts';
import { UNBLOCK_METHODS, UNBLOCK_METHOD_TRAITS, type UnblockMethod } from './unblock-methods.ts';

export const UNBLOCK_CLOSED_REASONS = [
  'METHOD_NOT_IN_TEMPLATE',
  'CARD_TYPE_UNSUPPORTED',
  'CREDENTIAL_STATE',
  'PUK_NOT_ESCROWED',
  'IDENTITY_FACTORS_MISSING',
  'ROLE_LACKS_PERMISSION',
  'OPERATOR_IS_HOLDER',
  'OFFLINE_LIMIT_ZERO',
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
    if (traits.operatorPermission !== null) {
      if (!operator.permissions.includes(traits.operatorPermission)) reasons.push('ROLE_LACKS_PERMISSION');
      if (operator.isHolder) reasons.push('OPERATOR_IS_HOLDER');
    }
    if (traits.offline && template.offline.maxResponsesPerCredentialPerDay === 0) reasons.push('OFFLINE_LIMIT_ZERO');
    return { method, open: reasons.length === 0, reasons };
  });
}
