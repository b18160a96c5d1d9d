// A credential template: what a credential's card is, its PIN policy and which unblock paths it opens.
import { z } from 'zod';
import { CARD_TYPES, CARD_TYPE_LIMITS } from './card-types.ts';
import { UNBLOCK_METHODS, UNBLOCK_METHOD_TRAITS } from './unblock-methods.ts';
import type { ApiErrorDetail } from '../api-errors.ts';

export const IDENTITY_FACTORS = ['directory-password', 'security-questions', 'one-time-code'] as const;
export const PIN_CHARACTER_SETS = ['digits', 'alphanumeric', 'printable-ascii'] as const;

export const pinPolicySchema = z.strictObject({
  minLength: z.number().int().min(1).max(16),
  maxLength: z.number().int().min(1).max(16),
  allowedCharacters: z.enum(PIN_CHARACTER_SETS),
  forbidAllSame: z.boolean(),
  forbidSequences: z.boolean(),
  useBuiltInBlocklist: z.boolean(),
  blocklist: z.array(z.string().min(1).max(16)).max(1000),
  historyDepth: z.number().int().min(0).max(24),
  /** 0 = the PIN never expires. */
  maxAgeDays: z.number().int().min(0).max(3650),
  warningDays: z.number().int().min(0).max(365),
  pinRetryLimit: z.number().int().min(1).max(15),
  /** PIV only; GIDS has no PUK. */
  pukRetryLimit: z.number().int().min(1).max(15).nullable(),
});
export type PinPolicy = z.infer<typeof pinPolicySchema>;

export const templateDefinitionSchema = z.strictObject({
  name: z.string().min(1).max(128).regex(/^[\p{L}\p{N} ._-]+$/u),
  cardType: z.enum(CARD_TYPES),
  pinPolicy: pinPolicySchema,
  unblockMethods: z.array(z.enum(UNBLOCK_METHODS)).max(UNBLOCK_METHODS.length),
  selfServiceIdentity: z.strictObject({
    factors: z.array(z.enum(IDENTITY_FACTORS)).max(IDENTITY_FACTORS.length),
    minimumFactors: z.number().int().min(0).max(IDENTITY_FACTORS.length),
    /** Wrong answers (per holder and factor) before that factor locks until an operator lifts it; 5 when absent. */
    lockoutAfterFailures: z.number().int().min(1).max(20).optional(),
  }),
  offline: z.strictObject({
    approvalRequired: z.boolean(),
    maxResponsesPerCredentialPerDay: z.number().int().min(0).max(100),
  }),
});
export type TemplateDefinition = z.infer<typeof templateDefinitionSchema>;

/**
 * Rules that span fields (and so cannot live in the JSON schema). Returns every broken rule,
 * so an administrator sees them all at once.
 */
export function templateViolations(template: TemplateDefinition): ApiErrorDetail[] {
  const violations: ApiErrorDetail[] = [];
  const limits = CARD_TYPE_LIMITS[template.cardType];
  const policy = template.pinPolicy;
  const add = (code: string, path: string, message: string): void => {
    violations.push({ code, path, message });
  };
  if (policy.minLength < limits.pinLength.min || policy.maxLength > limits.pinLength.max) {
    add(
      'ERR_TEMPLATE_PIN_LENGTH_OUT_OF_RANGE',
      'pinPolicy.minLength',
      `${template.cardType} PINs are ${limits.pinLength.min} to ${limits.pinLength.max} characters`,
    );
  }
  if (policy.minLength > policy.maxLength) {
    add('ERR_TEMPLATE_PIN_LENGTH_INVERTED', 'pinPolicy.maxLength', 'minLength is greater than maxLength');
  }
  if (policy.maxAgeDays === 0 ? policy.warningDays !== 0 : policy.warningDays >= policy.maxAgeDays) {
    add('ERR_TEMPLATE_WARNING_DAYS', 'pinPolicy.warningDays', 'warningDays must be shorter than maxAgeDays (0 when PINs never expire)');
  }
  if (policy.pinRetryLimit < limits.retryLimit.min || policy.pinRetryLimit > limits.retryLimit.max) {
    add('ERR_TEMPLATE_RETRY_LIMIT', 'pinPolicy.pinRetryLimit', 'the PIN retry limit is outside the card type range');
  }
  if (limits.hasPuk !== (policy.pukRetryLimit !== null)) {
    add(
      'ERR_TEMPLATE_PUK_RETRY_LIMIT',
      'pinPolicy.pukRetryLimit',
      limits.hasPuk ? 'a PIV template needs a PUK retry limit' : 'a GIDS card has no PUK: pukRetryLimit must be null',
    );
  }
  if (new Set(template.unblockMethods).size !== template.unblockMethods.length) {
    add('ERR_TEMPLATE_DUPLICATE_METHOD', 'unblockMethods', 'an unblock method is listed twice');
  }
  if (template.cardType !== 'gids' && template.unblockMethods.includes('windows-native')) {
    add('ERR_TEMPLATE_METHOD_UNSUPPORTED', 'unblockMethods', 'windows-native needs a GIDS (minidriver) credential');
  }
  const identity = template.selfServiceIdentity;
  if (new Set(identity.factors).size !== identity.factors.length) {
    add('ERR_TEMPLATE_DUPLICATE_FACTOR', 'selfServiceIdentity.factors', 'an identity factor is listed twice');
  }
  if (identity.minimumFactors > new Set(identity.factors).size) {
    add('ERR_TEMPLATE_MINIMUM_FACTORS', 'selfServiceIdentity.minimumFactors', 'more factors are required than the template names');
  }
  // A card is not an identity: self-service without any identity check is refused outright.
  if (template.unblockMethods.some((m) => UNBLOCK_METHOD_TRAITS[m].selfService) && identity.minimumFactors < 1) {
    add(
      'ERR_TEMPLATE_SELF_SERVICE_WITHOUT_IDENTITY',
      'selfServiceIdentity.minimumFactors',
      'self-service unblock needs at least one identity factor',
    );
  }
  return violations;
}

/** The example templates created on first start, one per card type. */
export function exampleTemplates(): TemplateDefinition[] {
  const common = {
    allowedCharacters: 'digits' as const,
    forbidAllSame: true,
    forbidSequences: true,
    useBuiltInBlocklist: true,
    blocklist: [],
    historyDepth: 5,
    maxAgeDays: 365,
    warningDays: 14,
  };
  return [
    {
      name: 'Example PIV',
      cardType: 'piv',
      pinPolicy: { ...common, minLength: 6, maxLength: 8, pinRetryLimit: 3, pukRetryLimit: 3 },
      unblockMethods: ['user-app', 'operator', 'user-app-helpdesk'],
      selfServiceIdentity: { factors: ['directory-password', 'one-time-code'], minimumFactors: 1 },
      offline: { approvalRequired: false, maxResponsesPerCredentialPerDay: 3 },
    },
    {
      name: 'Example GIDS',
      cardType: 'gids',
      pinPolicy: { ...common, minLength: 6, maxLength: 16, pinRetryLimit: 3, pukRetryLimit: null },
      unblockMethods: ['user-app', 'credential-provider', 'operator', 'user-app-helpdesk', 'credential-provider-helpdesk', 'windows-native'],
      selfServiceIdentity: { factors: ['directory-password', 'security-questions'], minimumFactors: 1 },
      offline: { approvalRequired: true, maxResponsesPerCredentialPerDay: 3 },
    },
  ];
}
